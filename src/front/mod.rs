//! The terminal front end: the loop that draws the cockpit and reads keys (`tui`), the
//! headless recording loop (`drill`), their clocks, the drawing (`ui`), recordings
//! (`record`) and session logs with their replay (`session`).

pub(crate) mod clock;
pub(crate) mod drill;
pub mod record;
pub mod session;
pub(crate) mod tui;
pub mod ui;
