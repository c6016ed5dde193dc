//! Messages into `update` and effects out of it.

use super::plan::{Op, OpOutcome};
use crate::model::Telemetry;
use crossterm::event::KeyEvent;

/// Everything that can change the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// Telemetry for gateway `gateway`.
    Telemetry {
        /// Gateway index.
        gateway: usize,
        /// The event.
        data: Telemetry,
    },
    /// An operation ended.
    OpDone(OpOutcome),
    /// Who holds gateway `gateway`'s lock on its host, read back with its weights.
    Lock {
        /// Gateway index.
        gateway: usize,
        /// The holder's own words (unsanitized), or `None`.
        holder: Option<String>,
    },
    /// Time passed: recompute summaries and evaluate guardrails.
    Tick,
    /// The terminal was resized.
    Resize,
}

/// What `update` asks the outside world to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Carry out an operation on a gateway.
    Execute(Op),
    /// Mark a chapter in the recording (step, rollback, drain, veto, guardrail event).
    Marker(String),
}
