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
    /// Write a record to the audit log that no remote operation writes (a veto, work
    /// abandoned by a forced quit).
    Audit(AuditNote),
}

/// An audit record about a decision rather than a remote operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote {
    /// The gateway it concerns.
    pub gateway: usize,
    /// `veto` or `abandon`.
    pub action: &'static str,
    /// The operator's reason, when one was asked.
    pub reason: Option<String>,
    /// What was decided, in words.
    pub detail: String,
}
