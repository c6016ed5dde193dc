//! Drawing: `view` borrows the state and draws one frame; it never changes state.

pub mod theme;

use crate::app::state::State;
use ratatui::Frame;

/// Draw the whole cockpit.
pub fn view(frame: &mut Frame, state: &State) {
    let _ = (frame, state);
}
