//! Recordings: `--record FILE.cast` writes asciicast v2 of exactly what the cockpit wrote to
//! the terminal, with `"m"` markers at every step, rollback, drain, veto and guardrail event.
//!
//! - `cast`: the file format and the shared `Recorder` (frames, markers, resizes);
//! - `tee`: the writer under ratatui's backend that copies the terminal stream to the cast;
//! - `redact`: secrets masked in every event's text (the crate's one redactor, `crate::redact`);
//! - `validate`: a pure check of a cast, as asciinema 2.2 reads it;
//! - `drill`: headless recordings of the demo on simulated time.

pub mod cast;

pub mod memory;
pub use crate::redact;
pub mod tee;
pub mod validate;

pub use cast::{CastClock, CastWriter, Header, Recorder};
pub use memory::SharedBuffer;
pub use redact::Redactor;
pub use tee::Tee;
pub use validate::{Summary, validate};
