//! The `:` command line: the same actions as the keys, plus absolute targets.

use super::action::Action;
use super::msg::Effect;
use super::plan::Scope;
use super::planner;
use super::ramp::{self, Steer};
use super::state::{Level, State};
use super::update::{act, notify, offer};
use crate::model::Color;

/// Commands understood on the `:` line, for `:help` and the help overlay.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "step +N | -N",
        "move the candidate by N points in scope (whole steps)",
    ),
    (
        "step to N",
        "set the candidate to N in scope (reachable by whole steps)",
    ),
    (
        "rollback",
        "all on the stable color, stop the candidate in scope (confirm)",
    ),
    (
        "candidate blue|green|auto",
        "set the color being introduced in scope (auto: follow the weights)",
    ),
    (
        "drain [blue|green]",
        "drain the color at 0 in scope (confirm)",
    ),
    ("veto", "veto pending auto-rollbacks in scope"),
    (
        "plan FILE",
        "run a ramp plan on the scope (lists its steps, asks first)",
    ),
    (
        "plan pause|resume|promote|abort|veto",
        "steer the running ramp plan (audited)",
    ),
    ("scope gateway|az|fleet", "set the scope"),
    (
        "filter TEXT",
        "show gateways whose name or AZ contains TEXT",
    ),
    ("theme NAME", "switch theme"),
    (
        "failures",
        "failed requests of the window by color, status, gateway (f)",
    ),
    ("help", "this list (? shows the keys)"),
    ("quit", "leave the cockpit"),
];

/// Run one command line.
pub fn run(s: &mut State, line: &str, fx: &mut Vec<Effect>) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&verb, args)) = words.split_first() else {
        return;
    };
    match (verb, args) {
        ("step", ["to", n]) => match n.parse::<u8>() {
            Ok(n) if !s.session.read_only => offer(s, planner::step_to(s, n), fx),
            Ok(_) => act(s, Action::StepUp, fx), // reports read-only
            Err(_) => bad(s, line, "a candidate weight 0..100"),
        },
        ("step", [n]) => match n.parse::<i16>() {
            Ok(n) if !s.session.read_only => offer(s, planner::step(s, n), fx),
            Ok(_) => act(s, Action::StepUp, fx),
            Err(_) => bad(s, line, "+N, -N or to N"),
        },
        ("rollback", []) => act(s, Action::Rollback, fx),
        ("drain", []) => act(s, Action::Drain, fx),
        ("drain", [c]) => match *c {
            _ if s.session.read_only => act(s, Action::Drain, fx),
            "blue" => offer(s, planner::drain(s, Some(Color::Blue)), fx),
            "green" => offer(s, planner::drain(s, Some(Color::Green)), fx),
            _ => bad(s, line, "blue or green"),
        },
        ("veto", []) => act(s, Action::Veto, fx),
        ("plan", [verb]) => {
            let steer = match *verb {
                "pause" => Steer::Pause,
                "resume" => Steer::Resume,
                "promote" => Steer::Promote,
                "abort" => Steer::Abort,
                "veto" => Steer::Veto,
                file => return offer_plan(s, file),
            };
            if s.ramp.as_ref().is_none_or(|r| r.phase.ended()) || s.session.read_only {
                // Said at once: there is nothing to give a reason for.
                if let Err(why) = ramp::steer(s, steer, None, fx) {
                    notify(s, Level::Warn, why);
                }
            } else if matches!(steer, Steer::Promote | Steer::Abort) {
                // Cutting a bake short or stopping the plan asks why (audited).
                super::update::ask_reason(s, super::state::Pending::Steer(steer));
            } else if let Err(why) = ramp::steer(s, steer, None, fx) {
                notify(s, Level::Warn, why);
            }
        }
        ("candidate", [c]) => match *c {
            "blue" => set_candidate(s, Some(Color::Blue), fx),
            "green" => set_candidate(s, Some(Color::Green), fx),
            "auto" => set_candidate(s, None, fx),
            _ => bad(s, line, "blue, green or auto"),
        },
        ("scope", [name]) => match *name {
            "gateway" => s.scope = Scope::Gateway,
            "az" => s.scope = Scope::Az,
            "fleet" => s.scope = Scope::Fleet,
            _ => bad(s, line, "gateway, az or fleet"),
        },
        ("filter", rest) => s.filter = rest.join(" "),
        ("theme", [name]) => match s.themes.iter().position(|t| t == name) {
            Some(i) => s.theme = i,
            None => bad(s, line, "a theme name"),
        },
        ("help", []) => s.popup = Some(super::state::Popup::Commands),
        ("failures", []) => super::failures_view::open(s),
        ("q" | "quit", []) => act(s, Action::Quit, fx),
        _ => notify(
            s,
            Level::Warn,
            format!("unknown command: {line} (try :help)"),
        ),
    }
}

/// Set (or, with `None`, derive again) the candidate of every gateway in scope and in view.
/// A gateway with an operation or a drain under way keeps its roles until it ends: its
/// rollback grace and stop are planned on them.
fn set_candidate(s: &mut State, to: Option<Color>, fx: &mut Vec<Effect>) {
    let mut set = Vec::new();
    let mut busy = Vec::new();
    for i in s.scope_members() {
        if !s.visible(i) {
            continue;
        }
        let g = &mut s.gateways[i];
        if g.op.is_some() || g.drain.is_some() {
            busy.push(g.name.clone());
            continue;
        }
        match to {
            Some(c) => {
                g.candidate = c;
                g.candidate_chosen = true;
            }
            None => {
                g.candidate_chosen = false;
                g.derive_candidate();
            }
        }
        set.push(format!("{} {}", g.name, g.candidate));
    }
    let what = to.map_or("follows the weights".to_string(), |c| format!("{c}"));
    let mut text = format!("candidate {what}: {}", set.join(", "));
    if set.is_empty() {
        text = "candidate unchanged: no gateway in scope could take it".to_string();
    }
    if !busy.is_empty() {
        text.push_str(&format!(" (busy, unchanged: {})", busy.join(", ")));
    }
    fx.push(Effect::Log(super::msg::LogLine {
        level: super::msg::LogLevel::Info,
        target: super::msg::LogTarget::Ops,
        text: text.clone(),
    }));
    fx.push(Effect::Marker(text.clone()));
    notify(s, Level::Info, text);
}

/// Load plan `file`, validated against the fleet, and ask to start it on the scope.
fn offer_plan(s: &mut State, file: &str) {
    if s.session.read_only {
        notify(
            s,
            Level::Warn,
            "refused: --read-only can watch a plan, not start one",
        );
        return;
    }
    let fleet: Vec<(&str, &str)> = s
        .gateways
        .iter()
        .map(|g| (g.name.as_str(), g.az.as_str()))
        .collect();
    match crate::ramp::RampPlan::load(std::path::Path::new(file), &fleet, s.cfg.step) {
        Ok(plan) => {
            let gateways: Vec<usize> = s
                .scope_members()
                .into_iter()
                .filter(|&i| s.visible(i))
                .collect();
            s.popup = Some(super::state::Popup::StartPlan(plan, gateways));
        }
        Err(e) => notify(s, Level::Warn, format!("plan: {e}")),
    }
}

fn bad(s: &mut State, line: &str, expected: &str) {
    notify(
        s,
        Level::Warn,
        format!("bad command: {line} (expected {expected})"),
    );
}
