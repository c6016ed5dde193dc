//! Ties a `State` to a `World`: feeds the world's messages and the operator's
//! keys through `update` at the world's time and hands effects back to the world.
//! Deterministic: the terminal loop, the tests and the recorder all use it.

use super::keys::KeyEvent;
use super::msg::{Effect, LogLevel, LogLine, LogTarget, Msg};
use super::state::State;
use super::update::update;
use super::world::World;
use crate::model::Ms;
use std::io;

/// Granularity at which the world and the state move forward together.
const SLICE_MS: Ms = 100;

/// Where a session's messages and markers are written (the session log of `--session`).
pub trait Journal {
    /// `msg` was applied at `t`.
    fn message(&mut self, t: Ms, msg: &Msg) -> io::Result<()>;
    /// A chapter marker at `t`.
    fn marker(&mut self, t: Ms, label: &str) -> io::Result<()>;
}

/// Receives every log line as it is produced (the front end's log panel or stderr).
pub type LogSink = Box<dyn FnMut(Ms, &LogLine)>;

/// Watches the cockpit from outside without changing it (the metrics exporter): every
/// message as it is applied, and the state right after every tick, when its summaries and
/// verdicts are fresh. It runs on the driver's thread, so it must be quick.
pub trait Observer {
    /// `msg` is about to be applied at `at`.
    fn message(&mut self, at: Ms, msg: &Msg);
    /// A tick was applied: `state` holds this tick's figures and verdicts.
    fn ticked(&mut self, state: &State);
}

/// A state and the world it observes and controls.
pub struct Driver<W: World> {
    /// The cockpit state.
    pub state: State,
    /// The world (simulator, fleet or replay).
    pub world: W,
    inbox: Vec<(Ms, Msg)>,
    markers: Vec<(Ms, String)>,
    changed: bool,
    session: Option<Box<dyn Journal>>,
    observer: Option<Box<dyn Observer>>,
    log_sink: Option<LogSink>,
    world_logs: Vec<(Ms, LogLine)>,
}

impl<W: World> Driver<W> {
    /// Drive `state` against `world`.
    pub fn new(state: State, world: W) -> Self {
        Driver {
            state,
            world,
            inbox: Vec::new(),
            markers: Vec::new(),
            changed: true,
            session: None,
            observer: None,
            log_sink: None,
            world_logs: Vec::new(),
        }
    }

    /// Apply everything the world has up to `until`, in slices of `SLICE_MS` so that
    /// operations started on the way are seen by the world at their own time.
    pub fn advance_to(&mut self, until: Ms) {
        let mut t = self.state.now;
        while t < until {
            t = (t + SLICE_MS).min(until);
            self.world.advance(t, &mut self.inbox);
            self.world.drain_logs(&mut self.world_logs);
            for (at, line) in std::mem::take(&mut self.world_logs) {
                self.log(at, line);
            }
            let inbox = std::mem::take(&mut self.inbox);
            for (at, msg) in inbox {
                self.apply(at, msg);
            }
            self.state.now = self.state.now.max(t);
        }
    }

    /// Record every message applied from now on, and every marker, into `log`.
    pub fn log_session(&mut self, log: impl Journal + 'static) {
        self.session = Some(Box::new(log));
    }

    /// Hand every log line from now on to `sink`, as it is produced.
    pub fn log_to(&mut self, sink: LogSink) {
        self.log_sink = Some(sink);
    }

    /// The latest log lines (up to 512), oldest first, with their times.
    pub fn recent_logs(&self) -> impl Iterator<Item = &(Ms, LogLine)> {
        self.state.log_history.iter()
    }

    fn log(&mut self, at: Ms, line: LogLine) {
        if let Some(sink) = &mut self.log_sink {
            sink(at, &line);
        }
        // Kept in the state too: the log view scrolls and searches them.
        let kept = &mut self.state.log_history;
        if kept.len() == super::state::LOGS_KEPT {
            kept.pop_front();
        }
        kept.push_back((at, line));
    }

    /// Show every message applied from now on, and the state after every tick, to `o`.
    pub fn observe(&mut self, o: Box<dyn Observer>) {
        self.observer = Some(o);
    }

    /// Apply one message at time `t`.
    pub fn apply(&mut self, t: Ms, msg: Msg) {
        self.changed = true;
        if let Some(log) = &mut self.session {
            let res = log.message(t, &msg);
            self.session_result(res);
        }
        let tick = matches!(msg, Msg::Tick);
        if let Some(o) = &mut self.observer {
            o.message(t, &msg);
        }
        let effects = update(&mut self.state, msg, t);
        if let (true, Some(o)) = (tick, &mut self.observer) {
            o.ticked(&self.state);
        }
        self.run_effects(effects);
    }

    /// Hand effects to the world (operations, audit notes) and the recorder (markers).
    pub fn run_effects(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Execute(op) => self.world.execute(self.state.now, op),
                Effect::Audit(note) => self.world.audit(self.state.now, note),
                Effect::Marker(label) => {
                    if let Some(log) = &mut self.session {
                        let res = log.marker(self.state.now, &label);
                        self.session_result(res);
                    }
                    self.markers.push((self.state.now, label));
                }
                Effect::Log(line) => self.log(self.state.now, line),
                Effect::FetchColorLog(ask) => {
                    let now = self.state.now;
                    if let Some(answer) = self.world.color_log(now, ask) {
                        self.apply(now, answer);
                    }
                }
            }
        }
    }

    /// A failed write ends the session log (said once in the log panel); the cockpit goes on.
    fn session_result(&mut self, res: std::io::Result<()>) {
        if let Err(e) = res {
            let text = format!("session log stopped: {e}");
            self.session = None;
            self.log(
                self.state.now,
                LogLine {
                    level: LogLevel::Error,
                    target: LogTarget::Cockpit,
                    text,
                },
            );
        }
    }

    /// A key pressed now.
    pub fn key(&mut self, key: KeyEvent) {
        let now = self.state.now;
        self.apply(now, Msg::Key(key));
    }

    /// Chapter markers produced since the last call (time, label).
    pub fn take_markers(&mut self) -> Vec<(Ms, String)> {
        std::mem::take(&mut self.markers)
    }

    /// True (once) if anything changed since the last call: the screen needs drawing.
    pub fn take_changed(&mut self) -> bool {
        std::mem::replace(&mut self.changed, false)
    }
}
