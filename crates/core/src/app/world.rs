//! The world the cockpit talks to: the simulator, a real fleet or a replay.

use super::msg::{AuditNote, LogLine, Msg};
use super::plan::Op;
use crate::model::Ms;

/// A source of messages and a sink of operations, on its own clock.
pub trait World {
    /// Produce every message due up to `until`, each with its time, in time order.
    fn advance(&mut self, until: Ms, out: &mut Vec<(Ms, Msg)>);
    /// Start an operation at `now`; its outcome arrives later as `Msg::OpDone`.
    fn execute(&mut self, now: Ms, op: Op);
    /// Record a decision in the world's audit log (a replay or a world without one drops it).
    fn audit(&mut self, _now: Ms, _note: AuditNote) {}
    /// Move the world's own log lines (a scenario's scripted notes) into `out`, with their
    /// times. Called after every `advance`.
    fn drain_logs(&mut self, _out: &mut Vec<(Ms, LogLine)>) {}
}
