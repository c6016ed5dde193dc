//! Everything the cockpit knows and shows; changed only by `update`.

use super::keymap::KeyMap;
use super::plan::{OpKind, Plan, Scope};
use crate::guard::GuardConfig;
use crate::guard::burn::Burn;
use crate::guard::drain::DrainStatus;
use crate::guard::fivexx::{Breach, FivexxState};
use crate::guard::listeners::ListenerAlarm;
use crate::guard::ttft::TtftVerdict;
use crate::model::gateway::Windows;
use crate::model::{Color, GatewayModel, Ms, PerColor, Weights};
use crate::ui::theme::ThemeSet;

/// What the cockpit is looking at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A real fleet.
    Live,
    /// The simulated fleet.
    Demo,
    /// A recorded session.
    Replay,
}

impl Mode {
    /// Header label.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Live => "LIVE",
            Mode::Demo => "DEMO",
            Mode::Replay => "REPLAY",
        }
    }
}

/// Latest guardrail verdicts of one gateway, recomputed on every tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdicts {
    /// TTFT halt.
    pub ttft: TtftVerdict,
    /// 5xx delta and auto-rollback.
    pub fivexx: FivexxState,
    /// Error-budget burn per color.
    pub burn: PerColor<Burn>,
    /// Colors listening beyond loopback.
    pub listeners: Vec<ListenerAlarm>,
    /// Host clock skew beyond the limit, ms.
    pub clock_skew_ms: Option<i64>,
    /// Data older than the stale limit.
    pub stale: bool,
    /// Health probe latency p95 over its SLO, ms.
    pub health_slow_ms: Option<u64>,
}

impl Default for Verdicts {
    fn default() -> Self {
        Verdicts {
            ttft: TtftVerdict::TooFewSamples {
                have: PerColor::default(),
                need: 0,
            },
            fivexx: FivexxState::Clear,
            burn: PerColor::from_fn(|_| Burn {
                short: None,
                long: None,
                page: false,
            }),
            listeners: Vec::new(),
            clock_skew_ms: None,
            stale: false,
            health_slow_ms: None,
        }
    }
}

/// An operation under way on a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    /// Operation id.
    pub id: u64,
    /// What it does.
    pub kind: OpKind,
    /// When it started.
    pub started: Ms,
}

/// A drain under way on a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draining {
    /// The color at 0 being drained.
    pub color: Color,
    /// When the drain began.
    pub started: Ms,
    /// Latest evaluation.
    pub status: DrainStatus,
}

/// One gateway as the cockpit sees it.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// Configured name.
    pub name: String,
    /// Availability zone.
    pub az: String,
    /// Telemetry-derived model.
    pub model: GatewayModel,
    /// Guardrail verdicts.
    pub verdicts: Verdicts,
    /// Auto-rollback breach memory.
    pub breach: Breach,
    /// Operation under way.
    pub op: Option<InFlight>,
    /// Drain under way.
    pub drain: Option<Draining>,
    /// Weights the cockpit last put in force; a different read-back is drift.
    pub expected: Option<Weights>,
    /// Weights read back that nobody here set.
    pub drift: Option<Weights>,
    /// Holder of the gateway's lock, if someone else holds it.
    pub lock: Option<String>,
    /// The last operation's error, shown until the next success.
    pub last_error: Option<String>,
}

impl Gateway {
    /// A gateway with no data yet.
    pub fn new(name: impl Into<String>, az: impl Into<String>, windows: Windows) -> Self {
        Gateway {
            name: name.into(),
            az: az.into(),
            model: GatewayModel::new(windows),
            verdicts: Verdicts::default(),
            breach: Breach::default(),
            op: None,
            drain: None,
            expected: None,
            drift: None,
            lock: None,
            last_error: None,
        }
    }
}

/// Which line editor is open, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Keys are actions.
    Normal,
    /// Typing a filter.
    Filter(String),
    /// Typing a `:` command.
    Command(String),
}

/// An overlay drawn above the panels.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    /// The key help.
    Help,
    /// A plan waiting for y/n.
    Confirm(Plan),
    /// A plan a guardrail refused, with the reasons; the override key runs it anyway.
    Refused {
        /// The plan that was refused.
        plan: Plan,
        /// One line per refused gateway.
        reasons: Vec<String>,
    },
}

/// How loud a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Routine.
    Info,
    /// Needs attention.
    Warn,
    /// Something is wrong.
    Alarm,
}

/// The latest one-line message for the operator (shown in the footer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The message.
    pub text: String,
    /// Its level.
    pub level: Level,
    /// When it was posted.
    pub at: Ms,
}

/// Session facts shown in the header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Session {
    /// Who is operating.
    pub actor: String,
    /// Change ticket, if given.
    pub ticket: Option<String>,
    /// Mutations disabled.
    pub read_only: bool,
    /// A recording is being written.
    pub recording: bool,
    /// Extra header text (e.g. scenario, speed and seed in the demo).
    pub detail: Option<String>,
}

/// The whole cockpit state.
#[derive(Debug, Clone)]
pub struct State {
    /// Live, demo or replay.
    pub mode: Mode,
    /// Actor, ticket and flags.
    pub session: Session,
    /// Gateways in display order (grouped by AZ).
    pub gateways: Vec<Gateway>,
    /// Index of the selected gateway.
    pub selected: usize,
    /// Scope of actions.
    pub scope: Scope,
    /// Active filter (empty: none).
    pub filter: String,
    /// Line editor state.
    pub input: Input,
    /// Overlay.
    pub popup: Option<Popup>,
    /// Latest notice.
    pub notice: Option<Notice>,
    /// Guardrail settings.
    pub cfg: GuardConfig,
    /// Key bindings.
    pub keymap: KeyMap,
    /// Available themes.
    pub themes: ThemeSet,
    /// Index of the active theme in `themes`.
    pub theme: usize,
    /// Session clock.
    pub now: Ms,
    /// Wall-clock text for the header (UTC), supplied by the loop.
    pub clock: String,
    /// Next operation id.
    pub next_op_id: u64,
    /// The loop should exit.
    pub quit: bool,
}

impl State {
    /// A state for `gateways`, which must already be grouped by AZ.
    pub fn new(
        mode: Mode,
        gateways: Vec<Gateway>,
        cfg: GuardConfig,
        keymap: KeyMap,
        themes: ThemeSet,
    ) -> Self {
        State {
            mode,
            session: Session::default(),
            gateways,
            selected: 0,
            scope: Scope::Gateway,
            filter: String::new(),
            input: Input::Normal,
            popup: None,
            notice: None,
            cfg,
            keymap,
            themes,
            theme: 0,
            now: 0,
            clock: String::new(),
            next_op_id: 1,
            quit: false,
        }
    }

    /// The selected gateway, if any.
    pub fn selected_gateway(&self) -> Option<&Gateway> {
        self.gateways.get(self.selected)
    }

    /// True if gateway `i` passes the filter.
    pub fn visible(&self, i: usize) -> bool {
        let g = &self.gateways[i];
        let f = self.filter.to_lowercase();
        f.is_empty() || g.name.to_lowercase().contains(&f) || g.az.to_lowercase().contains(&f)
    }

    /// Indices of the gateways the current scope covers (the filter does not narrow a scope).
    pub fn scope_members(&self) -> Vec<usize> {
        let Some(sel) = self.selected_gateway() else {
            return Vec::new();
        };
        (0..self.gateways.len())
            .filter(|&i| match self.scope {
                Scope::Gateway => i == self.selected,
                Scope::Az => self.gateways[i].az == sel.az,
                Scope::Fleet => true,
            })
            .collect()
    }

    /// Human name of the current scope.
    pub fn scope_label(&self) -> String {
        match (self.scope, self.selected_gateway()) {
            (_, None) => "nothing".into(),
            (Scope::Gateway, Some(g)) => g.name.clone(),
            (Scope::Az, Some(g)) => format!("AZ {}", g.az),
            (Scope::Fleet, Some(_)) => format!("fleet ({} gateways)", self.gateways.len()),
        }
    }

    /// Distinct AZs in display order.
    pub fn azs(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for g in &self.gateways {
            if !out.contains(&g.az.as_str()) {
                out.push(&g.az);
            }
        }
        out
    }
}
