//! Messages into `update` and effects out of it.

use super::keys::KeyEvent;
use super::plan::{Op, OpOutcome};
use crate::model::Telemetry;

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
    /// Failed requests the access-log tail of gateway `gateway` found (the failures view).
    Failures {
        /// Gateway index.
        gateway: usize,
        /// The failures, in log order.
        failures: Vec<crate::failures::FailedRequest>,
    },
    /// A color's own log lines about one request, as asked by [`Effect::FetchColorLog`].
    ColorLog(ColorLogAnswer),
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
    /// A line for the log panel (the front end writes it where its logs go).
    Log(LogLine),
    /// Read a color's own log for one request (the failures view's drill-down); the answer
    /// arrives as [`Msg::ColorLog`].
    FetchColorLog(ColorLogAsk),
}

/// Which color's log to read for which request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColorLogAsk {
    /// Gateway index.
    pub gateway: usize,
    /// The color that served the try.
    pub color: crate::model::Color,
    /// The request ID (sanitized).
    pub request_id: String,
}

/// A color's log lines about one request, or why there are none.
#[derive(Debug, Clone, PartialEq)]
pub struct ColorLogAnswer {
    /// What was asked.
    pub ask: ColorLogAsk,
    /// The lines (newest last), or why they could not be read.
    pub result: Result<Vec<crate::failures::ColorLogLine>, String>,
}

/// How much a log line matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Something failed or an alarm was raised.
    Error,
    /// Something needs attention.
    Warn,
    /// For the record.
    Info,
}

/// Which part of the cockpit a log line comes from (the log target the front end uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    /// The cockpit itself (`cutover`).
    Cockpit,
    /// Guardrails and rules (`cutover::guard`).
    Guard,
    /// Operations on hosts (`cutover::ops`).
    Ops,
    /// Telemetry collection (`cutover::collect`).
    Collect,
    /// A scenario's scripted events (`cutover::scenario`).
    Scenario,
    /// A ramp plan's transitions (`cutover::plan`).
    Plan,
}

impl LogTarget {
    /// The log target's name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogTarget::Cockpit => "cutover",
            LogTarget::Guard => "cutover::guard",
            LogTarget::Ops => "cutover::ops",
            LogTarget::Collect => "cutover::collect",
            LogTarget::Scenario => "cutover::scenario",
            LogTarget::Plan => "cutover::plan",
        }
    }
}

/// One line for the log panel, produced by `update` like any other effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// How much it matters.
    pub level: LogLevel,
    /// Which part of the cockpit it comes from.
    pub target: LogTarget,
    /// The words (already sanitized where they carry remote text).
    pub text: String,
}

/// An audit record about a decision rather than a remote operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote {
    /// The gateway it concerns.
    pub gateway: usize,
    /// `veto`, `abandon` or `plan`.
    pub action: &'static str,
    /// The operator's reason, when one was asked.
    pub reason: Option<String>,
    /// What was decided, in words.
    pub detail: String,
}
