//! `cutover replay FILE`: a recorded session played back into a fresh cockpit state. The
//! world emits the recorded messages at their times and executes nothing; the operator's keys
//! only steer the playback (pause, speed, next marker), so nothing can act on a fleet.

use super::{Event, Session};
use crate::app::driver::Driver;
use crate::app::keymap::KeyMap;
use crate::app::keys::{KeyCode, KeyEvent, KeyModifiers};
use crate::app::msg::Msg;
use crate::app::plan::Op;
use crate::app::state::{Gateway, Mode, State};
use crate::app::world::World;
use crate::front::clock::Clock;
use crate::front::clock::sim_clock;
use crate::model::Ms;

/// Slowest and fastest playback, times real time.
pub(crate) const SPEED_BOUNDS: (f64, f64) = (0.25, 64.0);

/// The recorded messages, handed out as the replay clock reaches them.
#[derive(Debug, Clone)]
pub struct ReplayWorld {
    events: Vec<(Ms, Msg)>,
    next: usize,
}

impl ReplayWorld {
    /// The messages of `session` (markers are not messages: the state makes them again).
    pub(crate) fn new(session: &Session) -> ReplayWorld {
        let events = session
            .events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::Msg(m) => Some((*t, m.clone())),
                Event::Marker(_) => None,
            })
            .collect();
        ReplayWorld { events, next: 0 }
    }

    /// True once every message has been handed out.
    pub fn done(&self) -> bool {
        self.next >= self.events.len()
    }
}

impl World for ReplayWorld {
    fn advance(&mut self, until: Ms, out: &mut Vec<(Ms, Msg)>) {
        // File order is the order the cockpit applied them in, even where times interleave.
        while let Some((t, m)) = self.events.get(self.next) {
            if *t > until {
                break;
            }
            out.push((*t, m.clone()));
            self.next += 1;
        }
    }

    fn execute(&mut self, _now: Ms, _op: Op) {
        // Read-only: what the session did arrives as its recorded outcomes.
    }
}

/// A replay cockpit for `session`: its gateways, guardrails, actor and read-only flag.
/// `keymap` must resolve the recorded keys as the session did (its `[keys]`, else the default).
pub fn driver(session: &Session, keymap: KeyMap, themes: Vec<String>) -> Driver<ReplayWorld> {
    let h = &session.header;
    let windows = crate::sim::windows_for(&h.guardrails);
    let gateways = h
        .gateways
        .iter()
        .map(|g| Gateway::new(g.name.clone(), g.az.clone(), windows))
        .collect();
    let mut state = State::new(Mode::Replay, gateways, h.guardrails, keymap, themes);
    // The recorded flag, not `true`: read-only also turns the auto-rollback into an alarm,
    // and the replay must reach the verdicts the session had. Nothing acts anyway.
    state.session.actor = crate::sanitize::sanitize(&h.actor);
    state.session.ticket = h.ticket.as_deref().map(crate::sanitize::sanitize);
    state.session.read_only = h.read_only;
    Driver::new(state, ReplayWorld::new(session))
}

/// What a key did to the playback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Control {
    /// Leave the replay.
    Quit,
    /// Move the cockpit to this time at once.
    Jump(Ms),
    /// Pause or speed changed.
    Changed,
    /// Not a replay key.
    Ignored,
}

/// Playback state: the replay clock, pause, speed and the markers to jump to.
#[derive(Debug, Clone)]
pub(crate) struct Controls {
    clock: Clock,
    paused: Option<Ms>,
    speed: f64,
    markers: Vec<Ms>,
    end: Ms,
    name: String,
}

impl Controls {
    /// Playback of `session` (shown as `name`) from its start at `speed`.
    pub(crate) fn new(session: &Session, name: String, speed: f64) -> Controls {
        let speed = speed.clamp(SPEED_BOUNDS.0, SPEED_BOUNDS.1);
        Controls {
            clock: Clock::new(0, speed),
            paused: None,
            speed,
            markers: session.markers().into_iter().map(|(t, _)| t).collect(),
            end: session.end(),
            name,
        }
    }

    /// The replay clock now; past the end of the file it stops there, paused.
    pub(crate) fn now(&mut self) -> Ms {
        if let Some(at) = self.paused {
            return at;
        }
        let now = self.clock.now();
        if now >= self.end {
            self.paused = Some(self.end);
            return self.end;
        }
        now
    }

    fn set_speed(&mut self, speed: f64) {
        let now = self.now();
        self.speed = speed.clamp(SPEED_BOUNDS.0, SPEED_BOUNDS.1);
        self.clock = Clock::new(now, self.speed);
    }

    /// First marker after `after`.
    pub(crate) fn next_marker(&self, after: Ms) -> Option<Ms> {
        self.markers.iter().copied().find(|&t| t > after)
    }

    /// Handle an operator key; `state_now` is the cockpit's time.
    pub(crate) fn key(&mut self, k: &KeyEvent, state_now: Ms) -> Control {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Char('c') if ctrl => Control::Quit,
            KeyCode::Char('q') | KeyCode::Esc => Control::Quit,
            KeyCode::Char(' ') => {
                match self.paused.take() {
                    Some(at) => self.clock = Clock::new(at.min(self.end), self.speed),
                    None => self.paused = Some(self.clock.now().min(self.end)),
                }
                Control::Changed
            }
            KeyCode::Char('+' | '>' | '=') => {
                self.set_speed(self.speed * 2.0);
                Control::Changed
            }
            KeyCode::Char('-' | '<') => {
                self.set_speed(self.speed / 2.0);
                Control::Changed
            }
            KeyCode::Char('n') => match self.next_marker(state_now) {
                Some(t) => {
                    match self.paused {
                        Some(_) => self.paused = Some(t),
                        None => self.clock = Clock::new(t, self.speed),
                    }
                    Control::Jump(t)
                }
                None => Control::Changed,
            },
            _ => Control::Ignored,
        }
    }

    /// Header text: file, speed, pause and the next marker.
    pub(crate) fn detail(&self, state_now: Ms) -> String {
        let mut text = format!("{} x{}", self.name, self.speed);
        if self.paused.is_some_and(|at| at >= self.end) {
            text.push_str(" · end of recording, q quits");
            return text;
        }
        if self.paused.is_some() {
            text.push_str(" · PAUSED (space)");
        }
        match self.next_marker(state_now) {
            Some(t) => text.push_str(&format!(" · next marker {} (n)", sim_clock(t))),
            None => text.push_str(" · no more markers"),
        }
        text
    }
}
