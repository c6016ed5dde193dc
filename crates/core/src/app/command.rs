//! The `:` command line: the same actions as the keys, plus absolute targets.

use super::action::Action;
use super::msg::Effect;
use super::plan::Scope;
use super::planner;
use super::state::{Level, State};
use super::update::{act, notify, offer};
use crate::model::Color;

/// Commands understood on the `:` line, for `:help` and the help overlay.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "step +N | -N",
        "move green by N points in scope (whole steps)",
    ),
    (
        "step to N",
        "set green to N in scope (reachable by whole steps)",
    ),
    ("rollback", "100/0 and stop green in scope (confirm)"),
    (
        "drain [blue|green]",
        "drain the color at 0 in scope (confirm)",
    ),
    ("veto", "veto pending auto-rollbacks in scope"),
    ("scope gateway|az|fleet", "set the scope"),
    (
        "filter TEXT",
        "show gateways whose name or AZ contains TEXT",
    ),
    ("theme NAME", "switch theme"),
    ("help", "key and command help"),
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
            Err(_) => bad(s, line, "a green weight 0..100"),
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
        ("help", []) => act(s, Action::Help, fx),
        ("q" | "quit", []) => act(s, Action::Quit, fx),
        _ => notify(
            s,
            Level::Warn,
            format!("unknown command: {line} (try :help)"),
        ),
    }
}

fn bad(s: &mut State, line: &str, expected: &str) {
    notify(
        s,
        Level::Warn,
        format!("bad command: {line} (expected {expected})"),
    );
}
