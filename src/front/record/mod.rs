//! Recordings: `--record FILE.cast` writes asciicast v2 of exactly what the cockpit wrote to
//! the terminal, with `"m"` markers at every step, rollback, drain, veto and guardrail event.
//!
//! - `cast`: the file format and the shared `Recorder` (frames, markers, resizes);
//! - `tee`: the writer under ratatui's backend that copies the terminal stream to the cast;
//! - `redact`: secrets masked in every event's text (the crate's one redactor, `crate::redact`);
//! - `validate`: a pure check of a cast, as asciinema 2.2 reads it;
//! - `drill`: headless recordings of the demo on simulated time.

pub(crate) mod cast;

pub(crate) mod memory;
pub(crate) use crate::redact;
pub(crate) mod tee;
pub(crate) mod validate;

pub(crate) use cast::{CastClock, Header, Recorder};
pub use memory::SharedBuffer;
pub(crate) use redact::Redactor;
pub(crate) use tee::Tee;
pub use validate::{Summary, validate};
