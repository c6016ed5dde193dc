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
use std::collections::VecDeque;

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
    /// The candidate these verdicts compare against the stable color (the TTFT and 5xx
    /// verdicts hold their figures in role order).
    pub candidate: Color,
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
            candidate: Color::Green,
            ttft: TtftVerdict::TooFewSamples {
                have: PerColor::default(),
                need: 0,
            },
            fivexx: FivexxState::Clear,
            burn: PerColor::from_fn(|_| Burn {
                short: None,
                long: None,
                page: false,
                too_few: true,
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
    /// Longest wait for its connections, ms.
    pub window_ms: Ms,
    /// The grace window of a rollback (green's streams finish before it is stopped).
    pub rollback: bool,
    /// Who started it: the stop at its end is audited with the same origin.
    pub origin: super::plan::Origin,
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
    /// Since when the current lock holder was seen (None: no lock).
    pub lock_since: Option<Ms>,
    /// The latest operations that ended here (when, what and how), oldest first.
    pub recent_ops: VecDeque<(Ms, String)>,
    /// The last operation's error, shown until the next success.
    pub last_error: Option<String>,
    /// Why a due auto-rollback was not started (said once per reason).
    pub auto_refusal: Option<String>,
    /// The last operation ended without knowing what the host holds: nothing is planned on
    /// this gateway until its weights are read again.
    pub outcome_unknown: bool,
    /// The TTFT judgement, the windows and candidate it was made for
    /// (`GatewayModel::ttft_key`) and when: the judge runs again only when a window changed,
    /// at most once a second, or the candidate changed.
    pub ttft_judged: Option<([u64; 4], Color, crate::guard::ttft::TtftVerdict, Ms)>,
    /// The color being introduced; the other is the stable one. Steps move toward it,
    /// rollback returns to the stable color, guardrails compare it against the stable one.
    pub candidate: Color,
    /// The operator chose `candidate` (`:candidate`); otherwise it follows the weights.
    pub candidate_chosen: bool,
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
            lock_since: None,
            recent_ops: VecDeque::new(),
            last_error: None,
            auto_refusal: None,
            outcome_unknown: false,
            ttft_judged: None,
            candidate: Color::Green,
            candidate_chosen: false,
        }
    }

    /// The color that carries traffic once a rollback is done: the one that is not the
    /// candidate.
    pub fn stable(&self) -> Color {
        self.candidate.other()
    }

    /// Derive the candidate from the weights read back, when nothing is in progress: the color
    /// that carries no traffic at all is the one a next release goes to. True if it changed.
    pub fn derive_candidate(&mut self) -> bool {
        if self.candidate_chosen || self.op.is_some() || self.drain.is_some() {
            return false;
        }
        let derived = match self.model.weights {
            Some(w) if w.of(Color::Blue) == 100 => Color::Green,
            Some(w) if w.of(Color::Green) == 100 => Color::Blue,
            _ => return false,
        };
        let changed = derived != self.candidate;
        self.candidate = derived;
        changed
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
    /// Typing the reason for an override, a jump or a veto; it goes into the audit log.
    Reason {
        /// What runs once the reason is given.
        pending: Box<Pending>,
        /// The text so far.
        text: String,
    },
}

/// An entry of the command history shown on the `:` line by Up/Down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recall {
    /// Index of the entry shown in `State::command_history`.
    pub index: usize,
    /// What was being typed before the first Up: Down past the newest entry brings it back.
    pub draft: String,
}

/// An action waiting for its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// A confirmed plan (overridden, or with a jump).
    Plan(Plan),
    /// A veto of the pending auto-rollbacks of these gateways.
    Veto(Vec<usize>),
    /// Promoting or aborting the running plan.
    Steer(super::ramp::Steer),
}

impl Pending {
    /// What the reason is asked for, for the prompt.
    pub fn what(&self) -> &'static str {
        match self {
            Pending::Plan(p) if p.overridden => "override",
            Pending::Plan(_) => "jump",
            Pending::Veto(_) => "veto",
            Pending::Steer(super::ramp::Steer::Abort) => "plan abort",
            Pending::Steer(_) => "plan promotion",
        }
    }
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
    /// Veto these gateways' pending auto-rollbacks? (a reason is asked next)
    Veto(Vec<usize>),
    /// Quit with work in flight? Lists what would be abandoned.
    Quit(Vec<String>),
    /// The `:` commands, with what each does.
    Commands,
    /// Start this ramp plan on these gateways? (every step, scope and bake is listed)
    StartPlan(crate::ramp::RampPlan, Vec<usize>),
    /// The failures view: the window's failure groups, or one request opened from them.
    Failures(super::failures_view::FailuresView),
    /// Everything known about one gateway (its index).
    Describe(usize),
    /// The log, scrolled and searched.
    Log(super::log_view::LogView),
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

/// The order of the gateway rows within each AZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// As in the configuration.
    #[default]
    Config,
    /// The candidate's 5xx ratio over the 5xx window, highest first.
    Fivexx,
    /// The candidate's TTFT p95, slowest first.
    Ttft,
    /// The highest short-window burn rate of either color, highest first.
    Burn,
    /// By name.
    Name,
}

impl SortBy {
    /// Every order, in the order `o` cycles through them.
    pub const ALL: [SortBy; 5] = [
        SortBy::Config,
        SortBy::Fivexx,
        SortBy::Ttft,
        SortBy::Burn,
        SortBy::Name,
    ];

    /// Its word in `:sort` and on screen.
    pub fn name(self) -> &'static str {
        match self {
            SortBy::Config => "config",
            SortBy::Fivexx => "5xx",
            SortBy::Ttft => "ttft",
            SortBy::Burn => "burn",
            SortBy::Name => "name",
        }
    }

    /// The order named `word`.
    pub fn parse(word: &str) -> Option<SortBy> {
        SortBy::ALL.into_iter().find(|s| s.name() == word)
    }

    /// The next order in the cycle.
    pub fn next(self) -> SortBy {
        let i = SortBy::ALL.iter().position(|&s| s == self).unwrap_or(0);
        SortBy::ALL[(i + 1) % SortBy::ALL.len()]
    }
}

/// A demo state of `gateways` (name, AZ) with `themes`, for the core's unit tests.
#[cfg(test)]
pub(crate) fn test_state(gateways: &[(&str, &str)], themes: &[&str]) -> State {
    State::new(
        Mode::Demo,
        gateways
            .iter()
            .map(|(n, az)| Gateway::new(*n, *az, Windows::default()))
            .collect(),
        GuardConfig::default(),
        KeyMap::default(),
        themes.iter().map(|t| t.to_string()).collect(),
    )
}

/// Log lines kept for the log view (the front end's log panel keeps its own).
pub const LOGS_KEPT: usize = 2_000;

/// Operations kept per gateway for the describe view.
pub const RECENT_OPS: usize = 8;

/// The failures view's window: the digest's default, five minutes.
pub const FAILURE_WINDOW_MS: Ms = 5 * 60_000;

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
    /// Command lines run on the `:` line, oldest first, at most `command::HISTORY_MAX`.
    /// Kept here rather than in the input: it outlives every line typed.
    pub command_history: Vec<String>,
    /// Where Up/Down stands in `command_history`, if an entry is shown.
    pub command_recall: Option<Recall>,
    /// Overlay.
    pub popup: Option<Popup>,
    /// Latest notice.
    pub notice: Option<Notice>,
    /// Guardrail settings.
    pub cfg: GuardConfig,
    /// Key bindings.
    pub keymap: KeyMap,
    /// Names of the available themes, in cycle order (the front end holds their colors).
    pub themes: Vec<String>,
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
    /// The operator asked to quit once the work in flight is done.
    pub quit_when_done: bool,
    /// Gateways whose metrics-source figures cannot be judged (stale or missing), as of the
    /// last tick: the fleet-wide log line says when this leaves or returns to zero.
    pub metrics_unjudged: usize,
    /// The ramp plan running (or the last one, ended).
    pub ramp: Option<super::ramp::RampRun>,
    /// Failed requests grouped per window by color, status, gateway and AZ (the failures
    /// view and the digest read it).
    pub failures: crate::failures::book::FailureBook,
    /// The order of the rows within each AZ.
    pub sort: SortBy,
    /// The latest log lines with their times, oldest first (the log view).
    pub log_history: VecDeque<(Ms, super::msg::LogLine)>,
}

impl State {
    /// A state for `gateways`, which must already be grouped by AZ.
    pub fn new(
        mode: Mode,
        gateways: Vec<Gateway>,
        cfg: GuardConfig,
        keymap: KeyMap,
        themes: Vec<String>,
    ) -> Self {
        State {
            mode,
            session: Session::default(),
            gateways,
            selected: 0,
            scope: Scope::Gateway,
            filter: String::new(),
            input: Input::Normal,
            command_history: Vec::new(),
            command_recall: None,
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
            quit_when_done: false,
            metrics_unjudged: 0,
            ramp: None,
            failures: crate::failures::book::FailureBook::new(FAILURE_WINDOW_MS),
            sort: SortBy::Config,
            log_history: VecDeque::new(),
        }
    }

    /// The selected gateway, if any.
    pub fn selected_gateway(&self) -> Option<&Gateway> {
        self.gateways.get(self.selected)
    }

    /// True if gateway `i`'s name or AZ contains the filter (case-insensitive; empty matches all).
    pub fn matches(&self, i: usize) -> bool {
        let g = &self.gateways[i];
        let f = self.filter.to_lowercase();
        f.is_empty() || g.name.to_lowercase().contains(&f) || g.az.to_lowercase().contains(&f)
    }

    /// True if gateway `i` has an alarm up: a 5xx breach, a TTFT halt, a page-level burn, a
    /// listener beyond loopback, stale data, an unreachable host, a failed operation or drift.
    pub fn alarmed(&self, i: usize) -> bool {
        let g = &self.gateways[i];
        let v = &g.verdicts;
        matches!(
            v.fivexx,
            FivexxState::Breaching { .. } | FivexxState::Fire { .. }
        ) || v.ttft.halts()
            || v.burn.blue.page
            || v.burn.green.page
            || !v.listeners.is_empty()
            || v.stale
            || g.model.unreachable.is_some()
            || g.last_error.is_some()
            || g.drift.is_some()
    }

    /// True if gateway `i` is shown only because it is alarmed: the filter does not match it.
    pub fn pinned(&self, i: usize) -> bool {
        self.alarmed(i) && !self.matches(i)
    }

    /// True if gateway `i` is shown: it matches the filter, or it is alarmed (a filter never
    /// hides an alarm).
    pub fn visible(&self, i: usize) -> bool {
        self.matches(i) || self.alarmed(i)
    }

    /// Indices of the gateways the current scope covers, among those shown: keys act only on
    /// rows in view, and on nothing when the selected gateway itself is filtered out.
    pub fn scope_members(&self) -> Vec<usize> {
        let Some(sel) = self.selected_gateway() else {
            return Vec::new();
        };
        if !self.visible(self.selected) {
            return Vec::new();
        }
        (0..self.gateways.len())
            .filter(|&i| self.visible(i))
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
    /// The visible gateways in the order they are drawn: AZ by AZ (in configuration order),
    /// and within an AZ by `sort` (ties keep the configuration order). Selection moves in it.
    pub fn display_order(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.gateways.len());
        for az in self.azs() {
            let mut members: Vec<usize> = (0..self.gateways.len())
                .filter(|&i| self.gateways[i].az == az && self.visible(i))
                .collect();
            match self.sort {
                SortBy::Config => {}
                SortBy::Name => {
                    members.sort_by(|&a, &b| self.gateways[a].name.cmp(&self.gateways[b].name))
                }
                _ => members.sort_by(|&a, &b| {
                    // Highest first; a gateway without a figure goes last.
                    let (x, y) = (self.sort_key(a), self.sort_key(b));
                    y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal)
                }),
            }
            out.extend(members);
        }
        out
    }

    /// Gateway `i`'s figure for the current order (-1 when it has none, so it sorts last).
    fn sort_key(&self, i: usize) -> f64 {
        let g = &self.gateways[i];
        let s = &g.model.summary;
        let cand = g.candidate;
        match self.sort {
            SortBy::Fivexx => s[cand].ratio_window.ratio().unwrap_or(-1.0),
            SortBy::Ttft => {
                if s[cand].ttft.count > 0 {
                    s[cand].ttft.p95 as f64
                } else {
                    -1.0
                }
            }
            SortBy::Burn => Color::BOTH
                .into_iter()
                .filter_map(|c| g.verdicts.burn[c].short)
                .fold(-1.0, f64::max),
            SortBy::Config | SortBy::Name => 0.0,
        }
    }

    /// One line about the whole fleet: gateways per phase, how many are not healthy or have
    /// an alarm up, and the candidates' share of the traffic (observed requests per second),
    /// e.g. "4 canary, 2 steady · 1 unhealthy · 1 alarm · candidate 8.1 % of 240 rps".
    pub fn fleet_summary(&self) -> String {
        let mut phases: Vec<(&'static str, usize)> = Vec::new();
        let mut unknown = 0;
        let (mut cand_rps, mut all_rps, mut measured) = (0.0, 0.0, 0);
        for g in &self.gateways {
            match g.model.weights {
                Some(w) => {
                    let p = w.phase_for(g.candidate).name();
                    match phases.iter_mut().find(|(n, _)| *n == p) {
                        Some((_, k)) => *k += 1,
                        None => phases.push((p, 1)),
                    }
                }
                None => unknown += 1,
            }
            let s = &g.model.summary;
            if let (Some(c), Some(o)) = (s[g.candidate].rps, s[g.stable()].rps) {
                cand_rps += c;
                all_rps += c + o;
                measured += 1;
            }
        }
        let mut parts: Vec<String> = phases.iter().map(|(p, k)| format!("{k} {p}")).collect();
        if unknown > 0 {
            parts.push(format!("{unknown} unread"));
        }
        let mut out = parts.join(", ");
        let unhealthy = self
            .gateways
            .iter()
            .filter(|g| !matches!(g.model.health_status(), crate::model::HealthStatus::Ok))
            .count();
        if unhealthy > 0 {
            out.push_str(&format!(" · {unhealthy} unhealthy"));
        }
        let alarms = (0..self.gateways.len())
            .filter(|&i| self.alarmed(i))
            .count();
        if alarms > 0 {
            out.push_str(&format!(
                " · {alarms} alarm{}",
                if alarms == 1 { "" } else { "s" }
            ));
        }
        if measured > 0 && all_rps > 0.0 {
            out.push_str(&format!(
                " · candidate {:.1} % of {:.0} rps",
                cand_rps / all_rps * 100.0,
                all_rps
            ));
        }
        out
    }

    /// The AZs in configuration order (first appearance).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keys::{KeyCode, KeyEvent, KeyModifiers};
    use crate::app::msg::{Effect, Msg};
    use crate::app::update::update;

    /// gw-a1, gw-a2 in AZ a; gw-b1, gw-b2 in AZ b; gw-b2 has a TTFT halt.
    fn fleet() -> State {
        let mut gateways: Vec<Gateway> = [
            ("gw-a1", "a"),
            ("gw-a2", "a"),
            ("gw-b1", "b"),
            ("gw-b2", "b"),
        ]
        .into_iter()
        .map(|(n, az)| Gateway::new(n, az, Windows::default()))
        .collect();
        gateways[3].verdicts.ttft = TtftVerdict::Halt {
            delta_pct: 24.0,
            low_pct: 24.0 - 4.0,
            high_pct: 24.0 + 4.0,
            stable_p50: 250,
            candidate_p50: 310,
        };
        State::new(
            Mode::Demo,
            gateways,
            GuardConfig::default(),
            KeyMap::default(),
            vec!["default".to_string()],
        )
    }

    fn key(s: &mut State, c: char) -> Vec<Effect> {
        let k = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        update(s, Msg::Key(k), 0)
    }

    fn enter(s: &mut State) {
        let k = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        update(s, Msg::Key(k), 0);
    }

    #[test]
    fn a_filtered_alarmed_row_stays_visible_and_pinned() {
        let mut s = fleet();
        s.filter = "gw-a".into();
        assert!(s.visible(0) && !s.pinned(0), "matches the filter");
        assert!(!s.visible(2), "no match, no alarm: hidden");
        assert!(s.alarmed(3) && s.visible(3) && s.pinned(3));
        s.filter.clear();
        assert!(
            s.visible(3) && !s.pinned(3),
            "without a filter nothing is pinned"
        );
    }

    #[test]
    fn every_alarm_pins() {
        let alarms: [fn(&mut Gateway); 8] = [
            |g| g.verdicts.fivexx = FivexxState::Fire { delta_pp: 1.0 },
            |g| {
                g.verdicts.ttft = TtftVerdict::Halt {
                    delta_pct: 9.0,
                    low_pct: 9.0 - 4.0,
                    high_pct: 9.0 + 4.0,
                    stable_p50: 100,
                    candidate_p50: 109,
                }
            },
            |g| g.verdicts.burn.green.page = true,
            |g| {
                g.verdicts.listeners = vec![ListenerAlarm {
                    color: Color::Blue,
                    addr: "0.0.0.0:8787".into(),
                }]
            },
            |g| g.verdicts.stale = true,
            |g| g.model.unreachable = Some("timeout".into()),
            |g| g.last_error = Some("ssh failed".into()),
            |g| g.drift = Some(Weights::STEADY),
        ];
        for (k, raise) in alarms.iter().enumerate() {
            let mut s = fleet();
            s.filter = "nothing".into();
            assert!(!s.alarmed(0));
            raise(&mut s.gateways[0]);
            assert!(s.alarmed(0) && s.pinned(0), "alarm {k}");
        }
        let mut s = fleet();
        s.gateways[0].verdicts.fivexx = FivexxState::TooFewRequests;
        s.gateways[0].verdicts.burn.green.too_few = true;
        assert!(!s.alarmed(0), "too little data is not an alarm");
    }

    #[test]
    fn rows_sort_within_their_az_and_selection_follows_the_drawn_order() {
        use crate::model::gateway::ColorSummary;
        use crate::model::window::Counts;
        let mut s = fleet();
        // gw-a2's candidate has more 5xx than gw-a1's; gw-b1 has none measured.
        let ratio = |requests, errors| ColorSummary {
            ratio_window: Counts { requests, errors },
            ..ColorSummary::default()
        };
        s.gateways[0].model.summary.green = ratio(100, 1);
        s.gateways[1].model.summary.green = ratio(100, 9);
        s.gateways[3].model.summary.green = ratio(100, 2);
        assert_eq!(s.display_order(), [0, 1, 2, 3], "configuration order");
        key(&mut s, 'o');
        assert_eq!(s.sort, SortBy::Fivexx);
        assert_eq!(
            s.display_order(),
            [1, 0, 3, 2],
            "highest first within each AZ, no figure last"
        );
        // j walks the rows as drawn, wrapping around.
        s.selected = 1;
        let walk: Vec<usize> = (0..4)
            .map(|_| {
                key(&mut s, 'j');
                s.selected
            })
            .collect();
        assert_eq!(walk, [0, 3, 2, 1]);
        key(&mut s, 'k');
        assert_eq!(s.selected, 2);
        // A filter hides rows from the order, alarmed ones stay.
        s.filter = "gw-a".into();
        assert_eq!(s.display_order(), [1, 0, 3]);
        let mut fx = Vec::new();
        crate::app::command::run(&mut s, "sort name", &mut fx);
        assert_eq!(s.sort, SortBy::Name);
        crate::app::command::run(&mut s, "sort loudness", &mut fx);
        assert_eq!(s.sort, SortBy::Name, "an unknown order changes nothing");
        assert!(
            s.notice
                .as_ref()
                .unwrap()
                .text
                .contains("config, 5xx, ttft, burn, name")
        );
    }

    #[test]
    fn the_fleet_summary_counts_phases_health_alarms_and_the_candidate_share() {
        use crate::model::{HealthReport, HealthStatus, Telemetry};
        let mut s = fleet();
        for (i, green) in [(0, 10), (1, 10), (2, 0), (3, 50)] {
            s.gateways[i]
                .model
                .set_weights(0, Weights::with_green(green).unwrap());
            s.gateways[i].model.apply(
                0,
                &Telemetry::Health(HealthReport {
                    status: if i == 2 {
                        HealthStatus::Degraded
                    } else {
                        HealthStatus::Ok
                    },
                    failing: vec![],
                    latency_ms: 5,
                }),
            );
            s.gateways[i].model.summary.green.rps = Some(f64::from(green));
            s.gateways[i].model.summary.blue.rps = Some(f64::from(100 - green));
        }
        assert_eq!(
            s.fleet_summary(),
            "2 canary, 1 steady, 1 half · 1 unhealthy · 1 alarm · candidate 17.5 % of 400 rps"
        );
    }

    #[test]
    fn prometheus_figures_judge_while_fresh_and_are_inconclusive_once_old() {
        use crate::app::msg::Msg;
        use crate::app::rules::candidate_verdicts;
        use crate::guard::verdict::{Guardrail, Judgement};
        use crate::model::buckets::BucketHistogram;
        use crate::model::window::Counts;
        use crate::model::{HealthStatus, HostSample, MetricsSample, PerColor, Telemetry};
        let mut s = test_state(&[("gw-a1", "az-a")], &["dark"]);
        let hist = BucketHistogram::from_le_seconds(vec![
            (0.25, 0.0),
            (0.3, 400.0),
            (f64::INFINITY, 400.0),
        ])
        .unwrap();
        let poll = |ok: bool| MetricsSample {
            counts: PerColor::from_fn(|_| {
                ok.then_some(Counts {
                    requests: 1_000,
                    errors: 0,
                })
            }),
            ttft: PerColor::from_fn(|_| ok.then(|| hist.clone())),
            streams: PerColor::default(),
            health: ok.then_some(HealthStatus::Ok),
            problems: if ok {
                vec![]
            } else {
                vec!["requests: connection refused".into()]
            },
        };
        let feed = |s: &mut State, now: Ms, data: Telemetry| {
            crate::app::update::update(s, Msg::Telemetry { gateway: 0, data }, now);
        };
        let host = HostSample {
            running: PerColor::from_fn(|_| true),
            ..HostSample::default()
        };
        feed(
            &mut s,
            1_000,
            Telemetry::Weights(Weights::with_green(10).unwrap()),
        );
        feed(&mut s, 1_000, Telemetry::Host(host));
        feed(&mut s, 1_000, Telemetry::Metrics(Box::new(poll(true))));
        crate::app::update::update(&mut s, Msg::Tick, 1_000);
        let w = Weights::with_green(10).unwrap();
        let of = |v: &[crate::guard::verdict::GuardVerdict], g: Guardrail| {
            v.iter().find(|v| v.guardrail == g).cloned().unwrap()
        };
        let fresh = candidate_verdicts(&s.gateways[0], &s.cfg, 1_000, w);
        let ttft = of(&fresh, Guardrail::Ttft);
        assert_eq!(ttft.verdict, Judgement::Pass, "{ttft:?}");
        assert!(
            ttft.sentence
                .contains("n 400/400 requests, quantiles from prometheus histograms"),
            "{ttft:?}"
        );
        assert_eq!(of(&fresh, Guardrail::Fivexx).verdict, Judgement::Pass);
        // Prometheus stops answering: the polls carry nothing, the figures age.
        let later = 1_000 + s.cfg.stale_after_ms() + 1_000;
        feed(&mut s, later, Telemetry::Metrics(Box::new(poll(false))));
        let fx = crate::app::update::update(&mut s, Msg::Tick, later);
        let logs = |fx: &[crate::app::msg::Effect]| -> Vec<String> {
            fx.iter()
                .filter_map(|e| match e {
                    crate::app::msg::Effect::Log(l) => Some(l.text.clone()),
                    _ => None,
                })
                .collect()
        };
        assert!(
            logs(&fx).iter().any(|l| l.starts_with(
                "prometheus: the figures of 1 gateway(s) cannot be judged (gw-a1: prometheus data is"
            )),
            "{:?}",
            logs(&fx)
        );
        let old = candidate_verdicts(&s.gateways[0], &s.cfg, later, w);
        for g in [Guardrail::Ttft, Guardrail::Fivexx, Guardrail::Health] {
            let v = of(&old, g);
            assert_eq!(v.verdict, Judgement::Inconclusive, "{v:?}");
        }
        let v = of(&old, Guardrail::Fivexx);
        assert!(
            v.sentence.contains(&format!(
                "prometheus data is {} s old",
                (later - 1_000) / 1_000
            )) && v.sentence.contains("connection refused"),
            "{v:?}"
        );
        // It answers again: judged again.
        let back = later + 5_000;
        feed(&mut s, back, Telemetry::Metrics(Box::new(poll(true))));
        let fx = crate::app::update::update(&mut s, Msg::Tick, back);
        assert!(
            logs(&fx).contains(&"prometheus: every gateway's figures are judged again".to_string()),
            "{:?}",
            logs(&fx)
        );
        let again = candidate_verdicts(&s.gateways[0], &s.cfg, back, w);
        assert_eq!(of(&again, Guardrail::Ttft).verdict, Judgement::Pass);
    }

    #[test]
    fn a_missing_histogram_is_inconclusive_and_says_why() {
        use crate::app::msg::Msg;
        use crate::app::rules::candidate_verdicts;
        use crate::guard::verdict::{Guardrail, Judgement};
        use crate::model::window::Counts;
        use crate::model::{MetricsSample, PerColor, Telemetry};
        let mut s = test_state(&[("gw-a1", "az-a")], &["dark"]);
        let w = Weights::with_green(10).unwrap();
        let poll = MetricsSample {
            counts: PerColor::from_fn(|_| {
                Some(Counts {
                    requests: 100,
                    errors: 0,
                })
            }),
            problems: vec!["ttft: no series for green".into()],
            ..MetricsSample::default()
        };
        let data = Telemetry::Metrics(Box::new(poll));
        crate::app::update::update(&mut s, Msg::Telemetry { gateway: 0, data }, 1_000);
        crate::app::update::update(&mut s, Msg::Tick, 1_000);
        let v = candidate_verdicts(&s.gateways[0], &s.cfg, 1_000, w)
            .into_iter()
            .find(|v| v.guardrail == Guardrail::Ttft)
            .unwrap();
        assert_eq!(v.verdict, Judgement::Inconclusive);
        assert!(
            v.sentence
                .starts_with("too few requests in the prometheus TTFT histograms")
                && v.sentence.ends_with("(ttft: no series for green)"),
            "{v:?}"
        );
        // No health in the poll: said as the exporters' health, not as a probe's.
        let h = candidate_verdicts(&s.gateways[0], &s.cfg, 1_000, w)
            .into_iter()
            .find(|v| v.guardrail == Guardrail::Health)
            .unwrap();
        assert_eq!(h.verdict, Judgement::Inconclusive);
        assert_eq!(h.sentence, "no fresh health from prometheus");
    }

    #[test]
    fn scope_members_are_only_rows_in_view() {
        let mut s = fleet();
        s.scope = Scope::Fleet;
        assert_eq!(s.scope_members(), [0, 1, 2, 3]);
        s.filter = "gw-a".into();
        assert_eq!(s.scope_members(), [0, 1, 3], "pinned rows are in view");
        s.scope = Scope::Az;
        s.selected = 2;
        assert!(!s.visible(2));
        assert!(s.scope_members().is_empty(), "selection filtered out");
        s.selected = 3;
        assert_eq!(s.scope_members(), [3], "gw-b1 is out of view");
    }

    #[test]
    fn a_step_under_a_filter_matching_nothing_acts_on_nothing() {
        let mut s = fleet();
        s.scope = Scope::Fleet;
        for c in "/bc".chars() {
            key(&mut s, c);
        }
        assert_eq!(s.filter, "bc");
        assert!(s.visible(3), "the alarmed gw-b2 is pinned in view");
        assert!(
            !s.visible(s.selected),
            "the selection never jumps onto a pinned row"
        );
        assert!(s.scope_members().is_empty());
        enter(&mut s);
        let fx = key(&mut s, '[');
        assert!(
            !fx.iter().any(|e| matches!(e, Effect::Execute(_))),
            "{fx:?}"
        );
        assert!(s.popup.is_none(), "no dialog either");
    }

    #[test]
    fn a_filtered_out_selection_moves_to_the_first_match() {
        let mut s = fleet();
        s.selected = 1;
        for c in "/gw-b1".chars() {
            key(&mut s, c);
        }
        assert_eq!(s.selected, 2);
        enter(&mut s);
        // j and k move over rows in view, pinned ones included.
        key(&mut s, 'j');
        assert_eq!(s.selected, 3);
        key(&mut s, 'j');
        assert_eq!(s.selected, 2);
    }
}
