//! The world the cockpit talks to: the simulator, a real fleet or a replay.

use super::msg::{AuditNote, ColorLogAnswer, ColorLogAsk, LogLine, Msg};
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
    /// Read a color's own log for one request. The answer comes back now (returned) or later
    /// (as a message from `advance`); a world that reads no hosts says so at once, so the
    /// view never waits for nothing.
    fn color_log(&mut self, _now: Ms, ask: ColorLogAsk) -> Option<Msg> {
        Some(Msg::ColorLog(ColorLogAnswer {
            ask,
            result: Err("this cockpit reads no hosts (simulated fleet or replay)".into()),
        }))
    }
}
