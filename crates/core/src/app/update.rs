//! `update(&mut State, Msg, now) -> Vec<Effect>`: the only place state changes.
//! Pure: time is passed in, and log lines leave as effects like everything else.

use super::action::Action;
use super::command;
use super::keys::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use super::msg::{AuditNote, Effect, LogLevel, LogLine, LogTarget, Msg};
use super::plan::{Op, OpKind, OpOutcome, Origin, Plan, PlanKind};
use super::planner::{self, Planned};
use super::rules;
use super::state::{Draining, InFlight, Input, Level, Mode, Notice, Pending, Popup, State};
use crate::guard::drain::{self, DrainStatus};
use crate::guard::fivexx::{self, FivexxState};
use crate::guard::{burn, listeners, ttft};
use crate::model::{Color, Ms, PerColor, Telemetry, Weights};
use crate::sanitize::sanitize;

/// Shortest time between two runs of the TTFT judge on one gateway.
const JUDGE_EVERY_MS: Ms = 1_000;
/// How often a TTFT chart point is taken.
pub const HISTORY_EVERY_MS: Ms = 5_000;
/// How long an informational notice stays in the footer.
const NOTICE_TTL_MS: Ms = 8_000;

/// Apply one message at time `now`; returns what the outside world must do.
pub fn update(s: &mut State, msg: Msg, now: Ms) -> Vec<Effect> {
    s.now = s.now.max(now);
    let mut fx = Vec::new();
    match msg {
        Msg::Key(k) => on_key(s, k, &mut fx),
        Msg::Telemetry { gateway, data } => on_telemetry(s, gateway, data, &mut fx),
        Msg::OpDone(o) => on_done(s, o, &mut fx),
        Msg::Lock { gateway, holder } => {
            if let Some(g) = s.gateways.get_mut(gateway) {
                let holder = holder.as_deref().map(crate::sanitize::sanitize);
                if holder != g.lock {
                    g.lock_since = holder.as_ref().map(|_| s.now);
                }
                g.lock = holder;
            }
        }
        Msg::Failures { gateway, failures } => {
            super::failures_view::on_failures(s, gateway, failures);
        }
        Msg::ColorLog(answer) => super::failures_view::on_color_log(s, answer),
        Msg::Tick => on_tick(s, &mut fx),
        Msg::Resize => {}
    }
    fx
}

/// Text from a host or a remote command, fit for the screen and the log panel: no control
/// characters, no secrets (a failing command may echo its token).
fn clean(text: &str) -> String {
    crate::redact::redact(&sanitize(text)).into_owned()
}

/// A line for the log panel.
fn log(fx: &mut Vec<Effect>, level: LogLevel, target: LogTarget, text: String) {
    fx.push(Effect::Log(LogLine {
        level,
        target,
        text,
    }));
}

/// Post a notice for the footer.
pub fn notify(s: &mut State, level: Level, text: impl Into<String>) {
    s.notice = Some(Notice {
        text: text.into(),
        level,
        at: s.now,
    });
}

fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
    if k.kind == KeyEventKind::Release {
        return;
    }
    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
        // Ctrl-C asks like q; a second Ctrl-C in the question is the forced quit.
        s.input = Input::Normal;
        match s.popup.take() {
            Some(Popup::Quit(abandoned)) => force_quit(s, abandoned, fx),
            _ => request_quit(s, fx),
        }
        return;
    }
    match std::mem::replace(&mut s.input, Input::Normal) {
        Input::Filter(buf) => return edit_line(s, k, buf, true, fx),
        Input::Command(buf) => return edit_line(s, k, buf, false, fx),
        Input::Reason { pending, text } => return edit_reason(s, k, *pending, text, fx),
        Input::Normal => {}
    }
    // The log view reads raw keys: its search is typed.
    if let Some(Popup::Log(v)) = &s.popup {
        let v = v.clone();
        s.popup = None;
        return super::log_view::key(s, v, k);
    }
    // Enter opens a failure group's newest request, whatever the keymap binds.
    let enter = k.code == KeyCode::Enter && matches!(s.popup, Some(Popup::Failures(_)));
    let Some(action) = (if enter {
        Some(Action::Confirm)
    } else {
        s.keymap.action(&k)
    }) else {
        return;
    };
    if let Some(popup) = s.popup.take() {
        return on_popup_key(s, popup, action, fx);
    }
    act(s, action, fx);
}

/// Type into the filter or command line; on the command line Up/Down recall the history and
/// Tab completes the last word.
fn edit_line(s: &mut State, k: KeyEvent, mut buf: String, filter: bool, fx: &mut Vec<Effect>) {
    match k.code {
        KeyCode::Enter => {
            if !filter {
                command::remember(s, &buf);
                command::run(s, &buf, fx);
            }
            return;
        }
        KeyCode::Esc => {
            if filter {
                s.filter.clear();
            } else {
                s.command_recall = None;
            }
            return;
        }
        KeyCode::Backspace => {
            buf.pop();
        }
        KeyCode::Up | KeyCode::Down if !filter => {
            buf = command::recall(s, buf, k.code == KeyCode::Up);
        }
        KeyCode::Tab if !filter => buf = super::complete::tab(s, &buf),
        KeyCode::Char(c) if !c.is_control() && buf.chars().count() < 200 => buf.push(c),
        _ => {}
    }
    if filter {
        s.filter = buf.clone();
        keep_selection_visible(s);
        s.input = Input::Filter(buf);
    } else {
        s.input = Input::Command(buf);
    }
}

/// Type the reason for an override, a jump or a veto; Enter with a reason runs it.
fn edit_reason(
    s: &mut State,
    k: KeyEvent,
    pending: Pending,
    mut text: String,
    fx: &mut Vec<Effect>,
) {
    match k.code {
        KeyCode::Enter if !text.trim().is_empty() => {
            let reason = text.trim().to_string();
            match pending {
                Pending::Plan(mut plan) => {
                    plan.reason = Some(reason);
                    execute(s, plan, fx);
                }
                Pending::Veto(gateways) => veto(s, &gateways, reason, fx),
                Pending::Steer(steer) => {
                    if let Err(why) = super::ramp::steer(s, steer, Some(reason), fx) {
                        notify(s, Level::Warn, why);
                    }
                }
            }
            return;
        }
        KeyCode::Enter => notify(
            s,
            Level::Warn,
            "a reason is required: it goes into the audit log",
        ),
        KeyCode::Esc => {
            notify(s, Level::Info, "cancelled: nothing changed");
            return;
        }
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if !c.is_control() && text.chars().count() < 200 => text.push(c),
        _ => {}
    }
    s.input = Input::Reason {
        pending: Box::new(pending),
        text,
    };
}

/// Ask for the reason before `pending` runs.
/// Ask for the reason of `pending` on the footer line (audited with it).
pub(crate) fn ask_reason(s: &mut State, pending: Pending) {
    notify(
        s,
        Level::Warn,
        format!(
            "reason for this {} (audited), then Enter; Esc cancels",
            pending.what()
        ),
    );
    s.input = Input::Reason {
        pending: Box::new(pending),
        text: String::new(),
    };
}

fn on_popup_key(s: &mut State, popup: Popup, action: Action, fx: &mut Vec<Effect>) {
    match (popup, action) {
        (Popup::Failures(v), a) => super::failures_view::key(s, v, a, fx),
        // j/k describe the next gateway; anything that closes, closes.
        (Popup::Describe(_), Action::SelectNext | Action::SelectPrev) => {
            move_selection(s, if action == Action::SelectNext { 1 } else { -1 });
            s.popup = Some(Popup::Describe(s.selected));
        }
        (Popup::Describe(_), Action::Cancel | Action::Quit | Action::Describe) => {}
        (Popup::Confirm(plan), Action::Confirm) if plan.needs_reason() => {
            ask_reason(s, Pending::Plan(plan));
        }
        (Popup::Confirm(plan), Action::Confirm) => execute(s, plan, fx),
        (Popup::Refused { mut plan, reasons }, Action::Override) => {
            log(
                fx,
                LogLevel::Warn,
                LogTarget::Guard,
                format!(
                    "override asked by {}: {}",
                    s.session.actor,
                    reasons.join("; ")
                ),
            );
            plan.overridden = true;
            ask_reason(s, Pending::Plan(plan));
        }
        (Popup::Veto(gateways), Action::Confirm) => ask_reason(s, Pending::Veto(gateways)),
        (Popup::Quit(abandoned), Action::Confirm) => force_quit(s, abandoned, fx),
        (Popup::StartPlan(plan, gateways), Action::Confirm) => {
            if let Err(why) = super::ramp::start(s, plan, gateways, super::ramp::COUNTDOWN_MS, fx) {
                notify(s, Level::Warn, why);
            }
        }
        (Popup::Quit(_), Action::Quit) => {
            s.quit_when_done = true;
            notify(s, Level::Warn, "quitting once the work in flight is done");
        }
        (Popup::Help | Popup::Commands, Action::Help | Action::Cancel | Action::Quit) => {}
        (
            Popup::Confirm(_)
            | Popup::Refused { .. }
            | Popup::Veto(_)
            | Popup::Quit(_)
            | Popup::StartPlan(..),
            Action::Cancel | Action::Quit,
        ) => {
            notify(s, Level::Info, "cancelled: nothing changed");
        }
        // Any other key leaves the dialog open: a stray key must not act behind it.
        (popup, _) => s.popup = Some(popup),
    }
}

/// Carry out an action in normal mode.
pub fn act(s: &mut State, action: Action, fx: &mut Vec<Effect>) {
    if action.mutates() && s.session.read_only {
        notify(s, Level::Warn, "read-only session: changes are disabled");
        return;
    }
    match action {
        Action::SelectNext => move_selection(s, 1),
        Action::SelectPrev => move_selection(s, -1),
        Action::CycleScope => {
            s.scope = s.scope.next();
            notify(s, Level::Info, format!("scope: {}", s.scope_label()));
        }
        Action::StepUp => offer(s, planner::step(s, i16::from(s.cfg.step)), fx),
        Action::StepDown => offer(s, planner::step(s, -i16::from(s.cfg.step)), fx),
        Action::Rollback => offer(s, planner::rollback(s), fx),
        Action::Drain => offer(s, planner::drain(s, None), fx),
        Action::Veto
            if s.ramp.as_ref().is_some_and(|r| {
                r.paused_at.is_none() && matches!(r.phase, super::ramp::RunPhase::Countdown { .. })
            }) =>
        {
            // A plan's step counting down: refusing it is the safe direction, no reason asked.
            if let Err(why) = super::ramp::steer(s, super::ramp::Steer::Veto, None, fx) {
                notify(s, Level::Warn, why);
            }
        }
        Action::Veto => offer_veto(s),
        Action::Filter => s.input = Input::Filter(s.filter.clone()),
        Action::Command => {
            s.input = Input::Command(String::new());
            // What shows beside the line from now on is about it (Tab's candidates).
            s.notice = None;
        }
        Action::NextTheme => {
            s.theme = (s.theme + 1) % s.themes.len().max(1);
            let name = s.themes.get(s.theme).cloned().unwrap_or_default();
            notify(s, Level::Info, format!("theme: {name}"));
        }
        Action::Help => s.popup = Some(Popup::Help),
        Action::Failures => super::failures_view::open(s),
        Action::Log => super::log_view::open(s),
        Action::Describe => {
            if !s.gateways.is_empty() {
                s.popup = Some(Popup::Describe(s.selected));
            }
        }
        Action::Sort => {
            s.sort = s.sort.next();
            notify(
                s,
                Level::Info,
                format!("rows sorted by {} within each AZ", s.sort.name()),
            );
        }
        Action::Quit => request_quit(s, fx),
        Action::Cancel => s.notice = None,
        Action::Confirm | Action::Override => {}
    }
}

/// Show a plan for confirmation, refuse it, or run it.
pub fn offer(s: &mut State, planned: Planned, fx: &mut Vec<Effect>) {
    match planned {
        Planned::Nothing { why, .. } => notify(s, Level::Warn, why),
        Planned::Refused { plan, reasons } => {
            log(
                fx,
                LogLevel::Warn,
                LogTarget::Guard,
                format!("refused {}: {}", planner::title(&plan), reasons.join("; ")),
            );
            notify(s, Level::Alarm, format!("refused: {}", reasons[0]));
            s.popup = Some(Popup::Refused { plan, reasons });
        }
        Planned::Ready(plan) if plan.needs_confirm() => s.popup = Some(Popup::Confirm(plan)),
        Planned::Ready(plan) => execute(s, plan, fx),
    }
}

fn next_id(s: &mut State) -> u64 {
    let id = s.next_op_id;
    s.next_op_id += 1;
    id
}

/// Start every operation of a confirmed plan.
fn execute(s: &mut State, plan: Plan, fx: &mut Vec<Effect>) {
    let title = planner::title(&plan);
    for line in planner::describe(&plan, s) {
        log(
            fx,
            LogLevel::Info,
            LogTarget::Ops,
            format!("{} ({}): {line}", plan.kind.label(), s.session.actor),
        );
    }
    if let Some(reason) = &plan.reason {
        log(
            fx,
            LogLevel::Warn,
            LogTarget::Guard,
            format!("{title}: reason given by {}: {reason}", s.session.actor),
        );
    }
    for item in &plan.items {
        let i = item.gateway;
        let kind = match plan.kind {
            PlanKind::Drain { color } => {
                begin_drain(s, i, color, false, Origin::Operator);
                continue;
            }
            PlanKind::Rollback if planner::stops_candidate_now(&s.gateways[i]) => {
                let g = &mut s.gateways[i];
                g.drain = None;
                OpKind::Stop { color: g.candidate }
            }
            PlanKind::Rollback if s.cfg.rollback_grace_secs == 0 => OpKind::Rollback {
                to: s.gateways[i].stable(),
            },
            PlanKind::Rollback => {
                roll_back(s, i, Origin::Operator, plan.reason.clone(), fx);
                continue;
            }
            PlanKind::Step { .. } | PlanKind::StepTo { .. } => {
                OpKind::SetWeights { to: item.after }
            }
            PlanKind::Start { color } => OpKind::Start { color },
            PlanKind::Restart { color } => OpKind::Restart { color },
        };
        start_op(s, i, kind, Origin::Operator, plan.reason.clone(), fx);
    }
    let extra = if plan.overridden {
        " (guardrail overridden)"
    } else if plan.reason.is_some() {
        " (confirmed with a reason)"
    } else {
        ""
    };
    notify(s, Level::Info, format!("{title}{extra}"));
    fx.push(Effect::Marker(format!("{title}{extra}")));
}

/// Wait for `color`'s connections on gateway `i` to end, then stop it: a drain, or the grace
/// window of a rollback (started before its 100/0 is in force; it waits for that operation).
/// Roll gateway `i` back: all traffic on its stable color, then (after the grace window, or
/// at once without one) its candidate is stopped.
pub(crate) fn roll_back(
    s: &mut State,
    i: usize,
    origin: Origin,
    reason: Option<String>,
    fx: &mut Vec<Effect>,
) {
    let (cand, stable) = (s.gateways[i].candidate, s.gateways[i].stable());
    s.gateways[i].breach = Default::default();
    if s.cfg.rollback_grace_secs == 0 {
        s.gateways[i].drain = None;
        start_op(s, i, OpKind::Rollback { to: stable }, origin, reason, fx);
        return;
    }
    begin_drain(s, i, cand, true, origin);
    if s.gateways[i].model.weights == Some(Weights::all_on(stable)) {
        return;
    }
    let to = Weights::all_on(stable);
    start_op(s, i, OpKind::SetWeights { to }, origin, reason, fx);
}

/// Start draining `color` on gateway `i` (a rollback's grace window when `rollback`).
pub(crate) fn begin_drain(s: &mut State, i: usize, color: Color, rollback: bool, origin: Origin) {
    let window_ms = if rollback {
        s.cfg.rollback_grace_secs
    } else {
        s.cfg.drain_window_secs
    } * 1000;
    s.gateways[i].drain = Some(Draining {
        color,
        started: s.now,
        window_ms,
        rollback,
        origin,
        status: DrainStatus::Waiting {
            conns: None,
            remaining_ms: window_ms,
        },
    });
}

/// Start operation `kind` on gateway `gateway` (it is marked busy until its outcome).
pub(crate) fn start_op(
    s: &mut State,
    gateway: usize,
    kind: OpKind,
    origin: Origin,
    reason: Option<String>,
    fx: &mut Vec<Effect>,
) {
    let id = next_id(s);
    let now = s.now;
    let g = &mut s.gateways[gateway];
    match kind {
        OpKind::SetWeights { to } => g.expected = Some(to),
        OpKind::Rollback { to } => g.expected = Some(Weights::all_on(to)),
        OpKind::Stop { .. } | OpKind::Start { .. } | OpKind::Restart { .. } => {}
    }
    g.op = Some(InFlight {
        id,
        kind: kind.clone(),
        started: now,
    });
    fx.push(Effect::Execute(Op {
        id,
        gateway,
        kind,
        before: g.model.weights,
        origin,
        reason,
        candidate: g.candidate,
    }));
}

/// Gateways in scope with an auto-rollback counting down that nobody vetoed yet.
fn vetoable(s: &State) -> Vec<usize> {
    s.scope_members()
        .into_iter()
        .filter(|&i| {
            let b = &s.gateways[i].breach;
            b.since.is_some() && !b.vetoed && !b.fired
        })
        .collect()
}

/// The veto keeps green serving errors: ask first, naming that, then ask for a reason.
fn offer_veto(s: &mut State) {
    let gateways = vetoable(s);
    if gateways.is_empty() {
        notify(s, Level::Info, "veto: no pending auto-rollback in scope");
        return;
    }
    s.popup = Some(Popup::Veto(gateways));
}

fn veto(s: &mut State, gateways: &[usize], reason: String, fx: &mut Vec<Effect>) {
    let mut vetoed = Vec::new();
    for &i in gateways {
        let g = &mut s.gateways[i];
        if g.breach.since.is_some() && !g.breach.vetoed && !g.breach.fired {
            g.breach.vetoed = true;
            vetoed.push(g.name.clone());
            fx.push(Effect::Audit(AuditNote {
                gateway: i,
                action: "veto",
                reason: Some(reason.clone()),
                detail: format!(
                    "auto-rollback vetoed: {} keeps its weight while its 5xx delta holds",
                    g.candidate
                ),
            }));
        }
    }
    if vetoed.is_empty() {
        notify(
            s,
            Level::Info,
            "veto: the auto-rollback already fired or cleared",
        );
        return;
    }
    let text = format!(
        "auto-rollback vetoed by {} on {} ({reason})",
        s.session.actor,
        vetoed.join(", ")
    );
    log(
        fx,
        LogLevel::Warn,
        LogTarget::Guard,
        format!("{text}; the alarm stays until the 5xx delta clears"),
    );
    notify(s, Level::Warn, text.clone());
    fx.push(Effect::Marker(text));
}

/// Work a quit would leave behind on one gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    /// The gateway.
    pub gateway: usize,
    /// An operation already sent (it finishes on its own; only its outcome could go unseen).
    pub sent: bool,
    /// What would be abandoned, in words.
    pub text: String,
}

/// What a quit now would abandon: operations, drains and auto-rollback countdowns.
pub fn pending_work(s: &State) -> Vec<Work> {
    if s.mode == Mode::Replay {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, g) in s.gateways.iter().enumerate() {
        let mut push = |sent: bool, text: String| {
            out.push(Work {
                gateway: i,
                sent,
                text,
            })
        };
        if let Some(op) = &g.op {
            push(
                true,
                format!(
                    "{}: {} under way (its outcome would go unseen)",
                    g.name, op.kind
                ),
            );
        }
        if let Some(d) = &g.drain {
            let what = if d.rollback {
                "rollback grace"
            } else {
                "drain"
            };
            let left = (d.started + d.window_ms).saturating_sub(s.now) / 1000;
            push(
                false,
                format!(
                    "{}: {what} of {} ({left} s left): {} would keep running",
                    g.name, d.color, d.color
                ),
            );
        }
        if let FivexxState::Breaching {
            fires_at,
            vetoed: false,
            alarm_only: false,
            ..
        } = g.verdicts.fivexx
        {
            let left = fires_at.saturating_sub(s.now) / 1000;
            push(
                false,
                format!(
                    "{}: auto-rollback in {}:{:02}: nothing would roll it back",
                    g.name,
                    left / 60,
                    left % 60
                ),
            );
        }
    }
    out
}

/// The process is ending (a signal, or the loop's end): no new operation starts; drains
/// and countdowns are abandoned, each with an audit record; operations already sent are left
/// to finish (the caller waits for their outcomes, bounded).
pub fn shutdown(s: &mut State) -> Vec<Effect> {
    let mut fx = Vec::new();
    if s.quit && s.session.read_only {
        // Already shut down (a forced quit), or a read-only session: nothing to abandon.
        return fx;
    }
    for w in pending_work(s).into_iter().filter(|w| !w.sent) {
        log(
            &mut fx,
            LogLevel::Error,
            LogTarget::Ops,
            format!("abandoned by {}: {}", s.session.actor, w.text),
        );
        fx.push(Effect::Audit(AuditNote {
            gateway: w.gateway,
            action: "abandon",
            reason: None,
            detail: format!("quit with work in flight: {}", w.text),
        }));
    }
    for g in &mut s.gateways {
        g.drain = None;
    }
    // Read-only from here: no key and no guardrail starts anything while outcomes arrive.
    s.session.read_only = true;
    s.quit = true;
    fx
}

/// Operations sent and not yet ended.
pub fn in_flight(s: &State) -> usize {
    s.gateways.iter().filter(|g| g.op.is_some()).count()
}

/// `q`, `:q` or Ctrl-C: quit at once when nothing is in flight, otherwise ask.
fn request_quit(s: &mut State, _fx: &mut [Effect]) {
    let work = pending_work(s);
    if work.is_empty() {
        s.quit = true;
        return;
    }
    s.popup = Some(Popup::Quit(work.into_iter().map(|w| w.text).collect()));
}

/// Quit now although work is in flight; the audit log says what was abandoned, and the
/// operations already sent still finish and are audited before the process ends.
fn force_quit(s: &mut State, _shown: Vec<String>, fx: &mut Vec<Effect>) {
    fx.extend(shutdown(s));
}

/// Move the selection `dir` rows in the order the rows are drawn (wrapping around).
fn move_selection(s: &mut State, dir: isize) {
    let order = s.display_order();
    if order.is_empty() {
        return;
    }
    let n = order.len() as isize;
    let next = match order.iter().position(|&i| i == s.selected) {
        Some(at) => (at as isize + dir).rem_euclid(n),
        None if dir > 0 => 0,
        None => n - 1,
    };
    s.selected = order[next as usize];
}

/// Move a filtered-out selection to the first gateway the filter matches. It never jumps onto
/// a row shown only for its alarm: when nothing matches, the selection stays out of view and
/// keys act on nothing.
fn keep_selection_visible(s: &mut State) {
    if s.gateways.is_empty() || s.visible(s.selected) {
        return;
    }
    if let Some(i) = (0..s.gateways.len()).find(|&i| s.matches(i)) {
        s.selected = i;
    }
}

fn on_telemetry(s: &mut State, gateway: usize, mut data: Telemetry, fx: &mut Vec<Effect>) {
    let now = s.now;
    let Some(g) = s.gateways.get_mut(gateway) else {
        return;
    };
    // Collectors sanitize too; this is the last line before anything is drawn.
    match &mut data {
        Telemetry::Unreachable { reason } => *reason = clean(reason),
        Telemetry::Health(h) => h.failing.iter_mut().for_each(|f| *f = sanitize(f)),
        Telemetry::Host(h) => {
            for c in Color::BOTH {
                if let Some(v) = h.versions[c].as_mut() {
                    *v = sanitize(v);
                }
                h.listeners[c].iter_mut().for_each(|l| *l = sanitize(l));
            }
        }
        Telemetry::Metrics(m) => m.problems.iter_mut().for_each(|p| *p = sanitize(p)),
        Telemetry::Preflight { findings } => {
            for f in findings {
                f.check = sanitize(&f.check);
                f.reason = sanitize(&f.reason);
            }
        }
        _ => {}
    }
    if let Telemetry::Weights(w) = data {
        // A fresh read settles an operation whose outcome was unknown.
        g.outcome_unknown = false;
        match g.expected {
            None => g.expected = Some(w),
            Some(e) if e != w && g.op.is_none() => {
                if g.drift != Some(w) {
                    log(
                        fx,
                        LogLevel::Warn,
                        LogTarget::Ops,
                        format!(
                            "{}: drift: host has {w}, cockpit set {e} (changed outside this cockpit)",
                            g.name
                        ),
                    );
                }
                g.drift = Some(w);
            }
            Some(_) => g.drift = None,
        }
    }
    g.model.apply(now, &data);
}

fn on_done(s: &mut State, o: OpOutcome, fx: &mut Vec<Effect>) {
    let now = s.now;
    let Some(g) = s.gateways.get_mut(o.gateway) else {
        return;
    };
    let Some(op) = g.op.take_if(|op| op.id == o.id) else {
        return;
    };
    if let Some(w) = o.weights {
        g.model.set_weights(now, w);
        g.expected = Some(w);
        g.drift = None;
    }
    let name = g.name.clone();
    let how = o
        .error
        .as_deref()
        .map_or("ok".to_string(), |e| format!("failed: {}", clean(e)));
    g.recent_ops.push_back((now, format!("{}: {how}", op.kind)));
    while g.recent_ops.len() > super::state::RECENT_OPS {
        g.recent_ops.pop_front();
    }
    match o.error {
        Some(err) => {
            let err = clean(&err);
            let shown = o.weights.map_or("unknown".into(), |w| w.to_string());
            log(
                fx,
                LogLevel::Error,
                LogTarget::Ops,
                format!("{name}: {} failed: {err}; weights now {shown}", op.kind),
            );
            g.last_error = Some(err.clone());
            if o.weights.is_none() {
                // Unknown, not drift: the next read becomes what is expected.
                g.expected = None;
                g.outcome_unknown = true;
            }
            if matches!(op.kind, OpKind::Stop { .. }) && g.drain.is_some() {
                // The drain ends here, failed: retrying the stop every tick would hammer the
                // host; the operator decides (the row shows the error).
                g.drain = None;
                log(
                    fx,
                    LogLevel::Error,
                    LogTarget::Ops,
                    format!(
                        "{name}: drain ended: the stop command failed; the color is still running"
                    ),
                );
            }
            if g.drain.is_some_and(|d| d.rollback) && !matches!(op.kind, OpKind::Stop { .. }) {
                // The candidate must not be stopped while it may still carry traffic.
                g.drain = None;
                let (c, back) = (g.candidate, Weights::all_on(g.stable()));
                log(
                    fx,
                    LogLevel::Error,
                    LogTarget::Ops,
                    format!(
                        "{name}: rollback stopped short: {c} is not stopped because {back} is not known to be in force"
                    ),
                );
            }
            notify(
                s,
                Level::Alarm,
                format!("{name}: failed: {err} (weights now {shown})"),
            );
            fx.push(Effect::Marker(format!("{name}: operation failed")));
        }
        None => {
            g.last_error = None;
            let what = match op.kind {
                OpKind::SetWeights { .. } => {
                    if let Some(d) = g.drain.as_mut().filter(|d| d.rollback) {
                        // The grace window starts when 100/0 is in force.
                        d.started = now;
                    }
                    "weights"
                }
                OpKind::Rollback { to: Color::Blue } => {
                    g.breach = Default::default();
                    "rolled back, green stopped; weights"
                }
                OpKind::Rollback { to: Color::Green } => {
                    g.breach = Default::default();
                    "rolled back, blue stopped; weights"
                }
                OpKind::Stop { color } => {
                    g.drain = None;
                    log(
                        fx,
                        LogLevel::Info,
                        LogTarget::Ops,
                        format!("{name}: {color} drained and stopped"),
                    );
                    "stop done; weights"
                }
                OpKind::Start { color } => {
                    log(
                        fx,
                        LogLevel::Info,
                        LogTarget::Ops,
                        format!("{name}: {color} started and answers its probe"),
                    );
                    "start done; weights"
                }
                OpKind::Restart { color } => {
                    log(
                        fx,
                        LogLevel::Info,
                        LogTarget::Ops,
                        format!("{name}: {color} restarted and answers its probe"),
                    );
                    "restart done; weights"
                }
            };
            let shown = o.weights.map_or("unknown".into(), |w| w.to_string());
            log(
                fx,
                LogLevel::Info,
                LogTarget::Ops,
                format!("{name}: {what} {shown} (read back)"),
            );
        }
    }
}

fn on_tick(s: &mut State, fx: &mut Vec<Effect>) {
    let now = s.now;
    if s.notice
        .as_ref()
        .is_some_and(|n| n.level == Level::Info && now >= n.at + NOTICE_TTL_MS)
    {
        s.notice = None;
    }
    for i in 0..s.gateways.len() {
        evaluate_gateway(s, i, fx);
    }
    metrics_transitions(s, fx);
    super::ramp::tick(s, fx);
    if s.quit_when_done && pending_work(s).is_empty() {
        log(
            fx,
            LogLevel::Info,
            LogTarget::Cockpit,
            "work in flight done: quitting".to_string(),
        );
        s.quit = true;
    }
}

/// One log line for the fleet when the metrics source's figures of some gateways stop being
/// judged (stale, missing), and one when every gateway's are judged again: a Prometheus
/// outage is one event, not one line per gateway. The first polls get a stale limit's grace
/// (counts need two of them).
fn metrics_transitions(s: &mut State, fx: &mut Vec<Effect>) {
    let grace = s.now <= 2 * s.cfg.stale_after_ms();
    let mut first = None;
    let mut n = 0;
    for g in &s.gateways {
        let heard = g
            .model
            .metrics
            .as_ref()
            .is_some_and(|m| m.counts_at.is_some());
        if !heard && grace {
            continue;
        }
        if let Some(why) = super::rules::metrics_unjudged(g, &s.cfg, s.now) {
            n += 1;
            first.get_or_insert_with(|| format!("{}: {why}", g.name));
        }
    }
    match (s.metrics_unjudged, n) {
        (0, n) if n > 0 => log(
            fx,
            LogLevel::Warn,
            LogTarget::Cockpit,
            format!(
                "prometheus: the figures of {n} gateway(s) cannot be judged ({}); steps onto the candidate are held",
                first.unwrap_or_default()
            ),
        ),
        (was, 0) if was > 0 => log(
            fx,
            LogLevel::Info,
            LogTarget::Cockpit,
            "prometheus: every gateway's figures are judged again".to_string(),
        ),
        _ => {}
    }
    s.metrics_unjudged = n;
}

/// Recompute one gateway's figures and guardrails, firing what is due.
fn evaluate_gateway(s: &mut State, i: usize, fx: &mut Vec<Effect>) {
    let now = s.now;
    let cfg = s.cfg;
    let auto_allowed = !s.session.read_only;
    let g = &mut s.gateways[i];
    g.model.refresh(now, HISTORY_EVERY_MS);
    if g.derive_candidate() {
        let (name, c, st) = (&g.name, g.candidate, g.stable());
        log(
            fx,
            LogLevel::Info,
            LogTarget::Ops,
            format!("{name}: candidate is now {c} ({st} carries all traffic)"),
        );
    }
    let cand = g.candidate;
    let sum = g.model.summary;
    // The judge runs again only when a TTFT window gained or lost a sample, at most once a
    // second: its interval moves little with one more probe, and it costs a sort's worth.
    let key = g.model.ttft_key();
    let judged = match g.ttft_judged {
        Some((k, c, verdict, at)) if c == cand && (k == key || now < at + JUDGE_EVERY_MS) => {
            verdict
        }
        _ => {
            let values = PerColor::from_fn(|c| g.model.ttft_values(c)).by_role(cand);
            let verdict = ttft::evaluate(
                PerColor {
                    blue: &values.blue,
                    green: &values.green,
                },
                PerColor {
                    blue: sum.blue.ttft,
                    green: sum.green.ttft,
                }
                .by_role(cand),
                &cfg,
            );
            g.ttft_judged = Some((key, cand, verdict, now));
            verdict
        }
    };
    let prev = std::mem::take(&mut g.verdicts);
    let v = &mut g.verdicts;
    v.candidate = cand;
    // A stopped color's failing probes are expected, not news: only running colors count.
    let answering = PerColor::from_fn(|c| match g.model.host.as_ref().map(|h| h.running[c]) {
        Some(false) => crate::model::gateway::Answering::Unknown,
        _ => g.model.probes[c].answering(now, cfg.probe_fresh_ms()),
    });
    v.ttft = ttft::with_probes(judged, answering);
    v.burn = PerColor::from_fn(|c| burn::evaluate(sum[c].burn_short, sum[c].burn_long, &cfg));
    v.health_slow_ms = g.model.health_p95_ms.filter(|p| *p > cfg.health_p95_slo_ms);
    let stale_after = cfg.stale_after_ms();
    v.stale = match g.model.age(now) {
        Some(age) => age > stale_after,
        None => now > stale_after,
    };
    if let Some(h) = &g.model.host {
        v.listeners = listeners::check(&h.listeners);
        v.clock_skew_ms =
            (h.clock_skew_ms.unsigned_abs() > cfg.max_clock_skew_ms).then_some(h.clock_skew_ms);
    }
    let candidate_weight = g.model.weights.map_or(0, |w| w.of(cand));
    let counts = PerColor {
        blue: sum.blue.ratio_window,
        green: sum.green.ratio_window,
    }
    .by_role(cand);
    let gcfg = crate::guard::GuardConfig {
        auto_rollback: cfg.auto_rollback && auto_allowed,
        ..cfg
    };
    v.fivexx = fivexx::evaluate(&mut g.breach, now, counts, candidate_weight, &gcfg);
    let name = g.name.clone();
    log_transitions(&name, &prev, &g.verdicts, fx);

    if let FivexxState::Fire { delta_pp } = g.verdicts.fivexx {
        match rules::auto_rollback_refusal(s, i) {
            Some(why) => {
                // Due but refused by the rules: try again on the next tick; say so once.
                let g = &mut s.gateways[i];
                g.breach.fired = false;
                if g.auto_refusal.as_deref() != Some(why.as_str()) {
                    let text = format!("{name}: auto-rollback due but not started: {why}");
                    log(fx, LogLevel::Error, LogTarget::Guard, text.clone());
                    g.auto_refusal = Some(why);
                    fx.push(Effect::Marker(text.clone()));
                    notify(s, Level::Alarm, text);
                }
            }
            None => {
                let text = format!(
                    "{name}: AUTO-ROLLBACK: {cand} 5xx {delta_pp:+.2} pp over {} for more than {} s",
                    cand.other(),
                    cfg.fivexx_hold_secs
                );
                log(fx, LogLevel::Error, LogTarget::Guard, text.clone());
                fx.push(Effect::Marker(text.clone()));
                s.gateways[i].auto_refusal = None;
                let kind = if cfg.rollback_grace_secs == 0 {
                    s.gateways[i].drain = None;
                    OpKind::Rollback { to: cand.other() }
                } else {
                    begin_drain(s, i, cand, true, Origin::Guardrail);
                    OpKind::SetWeights {
                        to: Weights::all_on(cand.other()),
                    }
                };
                start_op(s, i, kind, Origin::Guardrail, None, fx);
                notify(s, Level::Alarm, text);
                return;
            }
        }
    }

    let g = &mut s.gateways[i];
    if let Some(d) = g.drain.as_mut() {
        // Only a sample taken since the drain (or the rollback's 100/0) began counts.
        let conns = g
            .model
            .host
            .as_ref()
            .filter(|_| g.model.host_at.is_some_and(|t| t >= d.started))
            .map(|h| h.conns[d.color]);
        d.status = drain::evaluate(d.started, now, conns, d.window_ms);
        if d.status.done() && g.op.is_none() {
            let color = d.color;
            let how = match d.status {
                DrainStatus::TimedOut { conns } => {
                    format!("window passed with {conns} connections open")
                }
                _ => "all connections closed".into(),
            };
            let (what, origin) = if d.rollback {
                ("rollback grace", d.origin)
            } else {
                ("drain", d.origin)
            };
            let name = &s.gateways[i].name;
            log(
                fx,
                LogLevel::Info,
                LogTarget::Ops,
                format!("{name}: {what} of {color}: {how}; stopping {color}"),
            );
            fx.push(Effect::Marker(format!("{name}: {what} of {color} done")));
            start_op(s, i, OpKind::Stop { color }, origin, None, fx);
        }
    }
}

/// Log and mark guardrail state changes once, when they happen.
fn log_transitions(
    name: &str,
    prev: &super::state::Verdicts,
    now: &super::state::Verdicts,
    fx: &mut Vec<Effect>,
) {
    let breaching = |f: &FivexxState| matches!(f, FivexxState::Breaching { .. });
    if breaching(&now.fivexx)
        && !breaching(&prev.fivexx)
        && !matches!(prev.fivexx, FivexxState::Fire { .. })
    {
        if let FivexxState::Breaching {
            delta_pp,
            fires_at,
            since,
            alarm_only,
            ..
        } = now.fivexx
        {
            let then = if alarm_only {
                "alarm only (auto-rollback off)".to_string()
            } else {
                format!(
                    "auto-rollback in {} s unless vetoed",
                    (fires_at - since) / 1000
                )
            };
            let (c, st) = (now.candidate, now.candidate.other());
            let text = format!("{name}: {c} 5xx {delta_pp:+.2} pp over {st}: {then}");
            log(fx, LogLevel::Warn, LogTarget::Guard, text.clone());
            fx.push(Effect::Marker(text));
        }
    }
    let alarmed =
        |f: &FivexxState| matches!(f, FivexxState::Breaching { .. } | FivexxState::Fire { .. });
    if alarmed(&prev.fivexx) && !alarmed(&now.fivexx) {
        let text = format!("{name}: 5xx delta cleared");
        log(fx, LogLevel::Info, LogTarget::Guard, text.clone());
        fx.push(Effect::Marker(text));
    }
    if now.ttft.halts() && !prev.ttft.halts() {
        let why = match now.ttft {
            ttft::TtftVerdict::Halt {
                delta_pct,
                low_pct,
                high_pct,
                stable_p50,
                candidate_p50,
            } => Some(format!(
                "{} p50 {candidate_p50} ms vs {} {stable_p50} ms ({delta_pct:+.1} %, 95 % CI {low_pct:+.1}..{high_pct:+.1} %)",
                now.candidate,
                now.candidate.other()
            )),
            ttft::TtftVerdict::ProbeFailing { color, failures } => Some(format!(
                "{color} TTFT probes failing ({failures} since the last answer)"
            )),
            _ => None,
        };
        if let Some(why) = why {
            let text = format!("{name}: TTFT halt: {why}");
            log(fx, LogLevel::Warn, LogTarget::Guard, text.clone());
            fx.push(Effect::Marker(text));
        }
    }
    if prev.ttft.halts() && !now.ttft.halts() {
        let text = format!("{name}: TTFT halt cleared");
        log(fx, LogLevel::Info, LogTarget::Guard, text.clone());
        fx.push(Effect::Marker(text));
    }
    for c in Color::BOTH {
        if now.burn[c].page && !prev.burn[c].page {
            let text = format!("{name}: {c} error budget burning at page level");
            log(fx, LogLevel::Error, LogTarget::Guard, text.clone());
            fx.push(Effect::Marker(text));
        }
        if prev.burn[c].page && !now.burn[c].page {
            let text = format!("{name}: {c} error budget burn back below page level");
            log(fx, LogLevel::Info, LogTarget::Guard, text.clone());
            fx.push(Effect::Marker(text));
        }
    }
    if !now.listeners.is_empty() && prev.listeners.is_empty() {
        let l = &now.listeners[0];
        log(
            fx,
            LogLevel::Error,
            LogTarget::Guard,
            format!("{name}: {} listens on {} (not loopback)", l.color, l.addr),
        );
    }
    if now.listeners.is_empty() && !prev.listeners.is_empty() {
        log(
            fx,
            LogLevel::Info,
            LogTarget::Guard,
            format!("{name}: listener alarm cleared: both colors on loopback only"),
        );
    }
    if now.stale && !prev.stale {
        log(
            fx,
            LogLevel::Warn,
            LogTarget::Collect,
            format!("{name}: data is stale"),
        );
    }
    if prev.stale && !now.stale {
        log(
            fx,
            LogLevel::Info,
            LogTarget::Collect,
            format!("{name}: data fresh again"),
        );
    }
    match (prev.health_slow_ms, now.health_slow_ms) {
        (None, Some(p95)) => {
            log(
                fx,
                LogLevel::Warn,
                LogTarget::Guard,
                format!("{name}: health probe p95 {p95} ms over its SLO"),
            );
        }
        (Some(_), None) => {
            log(
                fx,
                LogLevel::Info,
                LogTarget::Guard,
                format!("{name}: health probe p95 back under its SLO"),
            );
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "transitions_tests.rs"]
mod transitions_tests;
