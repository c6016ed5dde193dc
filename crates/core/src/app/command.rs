//! The `:` command line: the same actions as the keys, plus absolute targets.

use super::action::Action;
use super::msg::Effect;
use super::plan::Scope;
use super::planner;
use super::ramp::{self, Steer};
use super::state::{Level, Recall, State};
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
        "start blue|green",
        "start a stopped color in scope, wait until it answers (confirm)",
    ),
    (
        "restart blue|green",
        "stop and start a color at 0 in scope, wait until it answers (confirm)",
    ),
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
        "sort config|5xx|ttft|burn|name",
        "order the rows within each AZ (o cycles)",
    ),
    (
        "filter TEXT",
        "show gateways whose name or AZ contains TEXT",
    ),
    ("theme NAME", "switch theme"),
    ("log", "the whole log, scrolled and searched (l)"),
    (
        "describe",
        "everything known about the selected gateway (i)",
    ),
    (
        "failures",
        "failed requests of the window by color, status, gateway (f)",
    ),
    ("help", "this list (? shows the keys)"),
    ("quit", "leave the cockpit"),
];

/// The forms of `:step`, said whenever a step is not understood.
pub const STEP_FORMS: &str = ":step +N | -N | to N";

/// Most command lines kept for Up/Down recall.
pub const HISTORY_MAX: usize = 50;

/// The verbs of `COMMANDS`, in their order, each once (`q` is an alias, not listed).
pub fn verbs() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for (form, _) in COMMANDS {
        let verb = form.split_whitespace().next().unwrap_or_default();
        if !out.contains(&verb) {
            out.push(verb);
        }
    }
    out
}

/// Remember a command line that was run: newest last, a repeat of the newest not stored
/// twice (Up would show it twice), the oldest dropped beyond `HISTORY_MAX`.
pub fn remember(s: &mut State, line: &str) {
    s.command_recall = None;
    let line = line.trim();
    if line.is_empty() || s.command_history.last().is_some_and(|l| l == line) {
        return;
    }
    s.command_history.push(line.to_string());
    let extra = s.command_history.len().saturating_sub(HISTORY_MAX);
    s.command_history.drain(..extra);
}

/// The line Up (`back`) or Down shows in place of `buf`: the previous or next history entry;
/// Down past the newest gives back what was being typed before the first Up.
pub fn recall(s: &mut State, buf: String, back: bool) -> String {
    // A recalled entry that was edited since (or a line opened after Ctrl-C left a recall
    // behind) is a new draft: browsing starts again from the newest entry.
    let at = s
        .command_recall
        .take()
        .filter(|r| s.command_history.get(r.index) == Some(&buf));
    let (index, draft) = match at {
        Some(r) => (Some(r.index), r.draft),
        None => (None, buf),
    };
    let next = match (index, back) {
        (None, true) => s.command_history.len().checked_sub(1),
        (Some(i), true) => Some(i.saturating_sub(1)),
        (Some(i), false) => Some(i + 1).filter(|&j| j < s.command_history.len()),
        (None, false) => None,
    };
    match next {
        Some(index) => {
            s.command_recall = Some(Recall { index, draft });
            s.command_history[index].clone()
        }
        None => draft,
    }
}

/// Run one command line.
pub fn run(s: &mut State, line: &str, fx: &mut Vec<Effect>) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&verb, args)) = words.split_first() else {
        return;
    };
    match (verb, args) {
        ("step", ["to", n]) => match n.parse::<i64>() {
            Ok(n) if !(0..=100).contains(&n) => notify(
                s,
                Level::Warn,
                format!("refused: {n} is out of range: a candidate weight is 0..100"),
            ),
            Ok(n) if n % i64::from(s.cfg.step.max(1)) != 0 => unreachable_weight(s, n),
            Ok(n) if !s.session.read_only => offer(s, planner::step_to(s, n as u8), fx),
            Ok(_) => act(s, Action::StepUp, fx), // reports read-only
            Err(_) => bad(s, line, &format!("{STEP_FORMS}, N in 0..100")),
        },
        ("step", [n]) => match n.parse::<i16>() {
            Ok(n) if !s.session.read_only => offer(s, planner::step(s, n), fx),
            Ok(_) => act(s, Action::StepUp, fx),
            Err(_) => bad(s, line, STEP_FORMS),
        },
        ("rollback", []) => act(s, Action::Rollback, fx),
        ("drain", []) => act(s, Action::Drain, fx),
        ("drain", [c]) => match *c {
            _ if s.session.read_only => act(s, Action::Drain, fx),
            "blue" => offer(s, planner::drain(s, Some(Color::Blue)), fx),
            "green" => offer(s, planner::drain(s, Some(Color::Green)), fx),
            other => unknown(s, "color", other, &["blue", "green"]),
        },
        ("veto", []) => act(s, Action::Veto, fx),
        ("start" | "restart", [c]) => {
            let color = match *c {
                "blue" => Color::Blue,
                "green" => Color::Green,
                _ => return bad(s, line, "blue or green"),
            };
            if s.session.read_only {
                return notify(s, Level::Warn, "read-only session: changes are disabled");
            }
            let planned = if verb == "start" {
                planner::start(s, color)
            } else {
                planner::restart(s, color)
            };
            offer(s, planned, fx);
        }
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
            other => unknown(s, "candidate", other, &["blue", "green", "auto"]),
        },
        ("scope", [name]) => match *name {
            "gateway" => s.scope = Scope::Gateway,
            "az" => s.scope = Scope::Az,
            "fleet" => s.scope = Scope::Fleet,
            other => unknown(s, "scope", other, &["gateway", "az", "fleet"]),
        },
        ("sort", [name]) => match super::state::SortBy::parse(name) {
            Some(by) => s.sort = by,
            None => unknown(s, "sort", name, &["config", "5xx", "ttft", "burn", "name"]),
        },
        ("filter", rest) => s.filter = rest.join(" "),
        ("theme", [name]) => match s.themes.iter().position(|t| t == name) {
            Some(i) => s.theme = i,
            None => {
                let themes = s.themes.clone();
                let themes: Vec<&str> = themes.iter().map(String::as_str).collect();
                unknown(s, "theme", name, &themes);
            }
        },
        ("help", []) => s.popup = Some(super::state::Popup::Commands),
        ("failures", []) => super::failures_view::open(s),
        ("describe", []) => act(s, Action::Describe, fx),
        ("log", []) => super::log_view::open(s),
        ("q" | "quit", []) => act(s, Action::Quit, fx),
        _ if verb == "q" || verbs().contains(&verb) => {
            let usage = usage(s, verb);
            bad(s, line, &usage);
        }
        _ => unknown_verb(s, verb),
    }
}

/// The forms of `verb` as `:help` lists them, for a known verb given the wrong arguments.
fn usage(s: &State, verb: &str) -> String {
    let verb = if verb == "q" { "quit" } else { verb };
    if verb == "step" {
        return STEP_FORMS.to_string();
    }
    let forms: Vec<String> = COMMANDS
        .iter()
        .filter(|(form, _)| form.split_whitespace().next() == Some(verb))
        .map(|(form, _)| format!(":{form}"))
        .collect();
    let mut out = forms.join(" or ");
    if verb == "theme" {
        out.push_str(&format!("; themes: {}", s.themes.join(", ")));
    }
    out
}

/// A value not among those accepted: name them all, so the next try can be right.
fn unknown(s: &mut State, what: &str, given: &str, accepted: &[&str]) {
    notify(
        s,
        Level::Warn,
        format!("unknown {what} {given}: {}", accepted.join(", ")),
    );
}

/// A verb nobody knows: the closest one if any is close, then all of them.
fn unknown_verb(s: &mut State, verb: &str) {
    let list = verbs().join(", ");
    let text = match suggest(verb) {
        Some(near) => format!("unknown command {verb}: did you mean {near}? (commands: {list})"),
        None => format!("unknown command {verb} (commands: {list}; :help says what each does)"),
    };
    notify(s, Level::Warn, text);
}

/// The verb `word` most likely meant: the only verb it begins, else the verb nearest by
/// edit distance (a swap of two neighbours counts one, `stpe` is `step`), if close enough
/// that the guess is worth reading.
pub fn suggest(word: &str) -> Option<&'static str> {
    let word = word.to_lowercase();
    let verbs = verbs();
    if let [only] = verbs
        .iter()
        .filter(|v| v.starts_with(&word))
        .collect::<Vec<_>>()[..]
    {
        return Some(only);
    }
    let limit = (word.chars().count() / 2).clamp(1, 2);
    verbs
        .into_iter()
        .map(|v| (distance(&word, v), v))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, v)| v)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours, each one edit (a transposed pair is the commonest typo).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // d[i][j]: edits from a's first i characters to b's first j.
    let mut d: Vec<Vec<usize>> = (0..=a.len())
        .map(|i| (0..=b.len()).map(|j| if i == 0 { j } else { i }).collect())
        .collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// `:step to n` with `n` in range but off the step grid: the planner's words, plus the
/// weights that can be reached and the nearest two.
fn unreachable_weight(s: &mut State, n: i64) {
    let step = i64::from(s.cfg.step.max(1));
    let toward = planner::scope_candidate(s);
    let grid: Vec<i64> = (0..=100).step_by(step as usize).collect();
    let reachable = if grid.len() <= 6 {
        grid.iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        format!("0, {step}, {}, ..., 100", 2 * step)
    };
    let below = n / step * step;
    notify(
        s,
        Level::Warn,
        format!(
            "refused: {toward} {n} is not reachable in {step}-point steps (reachable: {reachable}; nearest: {below} or {})",
            below + step
        ),
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keys::{KeyCode, KeyEvent, KeyModifiers};
    use crate::app::msg::Msg;
    use crate::app::state::Input;
    use crate::app::update::update;

    fn state() -> State {
        crate::app::state::test_state(
            &[("gw-a1", "eu-1a"), ("gw-b1", "eu-1b")],
            &["default", "mono", "colorblind"],
        )
    }

    fn press(s: &mut State, code: KeyCode) {
        update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), 0);
    }

    fn type_line(s: &mut State, text: &str) {
        for c in text.chars() {
            press(s, KeyCode::Char(c));
        }
    }

    /// Open the `:` line, type `line`, press Enter.
    fn run_line(s: &mut State, line: &str) {
        press(s, KeyCode::Char(':'));
        type_line(s, line);
        press(s, KeyCode::Enter);
    }

    /// The notice a command line leaves.
    fn said(line: &str) -> String {
        let mut s = state();
        run(&mut s, line, &mut Vec::new());
        s.notice.map(|n| n.text).unwrap_or_default()
    }

    fn typed(s: &State) -> &str {
        match &s.input {
            Input::Command(buf) => buf,
            other => panic!("not on the command line: {other:?}"),
        }
    }

    #[test]
    fn up_and_down_recall_the_history_and_return_to_the_draft() {
        let mut s = state();
        run_line(&mut s, "scope az");
        run_line(&mut s, "filter gw");
        run_line(&mut s, "theme mono");
        assert_eq!(s.command_history, ["scope az", "filter gw", "theme mono"]);
        press(&mut s, KeyCode::Char(':'));
        type_line(&mut s, "can");
        press(&mut s, KeyCode::Up);
        assert_eq!(typed(&s), "theme mono");
        press(&mut s, KeyCode::Up);
        assert_eq!(typed(&s), "filter gw");
        press(&mut s, KeyCode::Up);
        press(&mut s, KeyCode::Up);
        assert_eq!(typed(&s), "scope az", "the oldest entry stays");
        press(&mut s, KeyCode::Down);
        assert_eq!(typed(&s), "filter gw");
        press(&mut s, KeyCode::Down);
        press(&mut s, KeyCode::Down);
        assert_eq!(typed(&s), "can", "past the newest: the draft again");
        press(&mut s, KeyCode::Down);
        assert_eq!(typed(&s), "can");
        // A recalled entry, edited, is a new draft.
        press(&mut s, KeyCode::Up);
        for _ in 0.."mono".len() {
            press(&mut s, KeyCode::Backspace);
        }
        type_line(&mut s, "colorblind");
        assert_eq!(typed(&s), "theme colorblind");
        press(&mut s, KeyCode::Up);
        assert_eq!(
            typed(&s),
            "theme mono",
            "browsing starts again from the newest"
        );
        press(&mut s, KeyCode::Down);
        assert_eq!(
            typed(&s),
            "theme colorblind",
            "the edited line is the draft"
        );
        press(&mut s, KeyCode::Esc);
        assert_eq!(s.input, Input::Normal);
        assert_eq!(s.command_history.len(), 3, "Esc runs and stores nothing");
        // Up on an empty history, and on the filter line, changes nothing.
        let mut fresh = state();
        press(&mut fresh, KeyCode::Char(':'));
        type_line(&mut fresh, "st");
        press(&mut fresh, KeyCode::Up);
        assert_eq!(typed(&fresh), "st");
    }

    #[test]
    fn history_keeps_fifty_without_consecutive_repeats() {
        let mut s = state();
        for i in 0..60 {
            run_line(&mut s, &format!("filter gw-{i}"));
            run_line(&mut s, &format!("filter gw-{i}"));
        }
        assert_eq!(s.command_history.len(), HISTORY_MAX);
        assert_eq!(
            s.command_history[0], "filter gw-10",
            "the oldest are dropped"
        );
        assert_eq!(s.command_history[49], "filter gw-59");
        // Not consecutive: stored again. Blank lines are not stored.
        let mut s = state();
        run_line(&mut s, "scope az");
        run_line(&mut s, "  scope az ");
        run_line(&mut s, "scope fleet");
        run_line(&mut s, "scope az");
        run_line(&mut s, "   ");
        assert_eq!(s.command_history, ["scope az", "scope fleet", "scope az"]);
        // A line that fails is remembered too: Up brings it back to be corrected.
        run_line(&mut s, "stpe +10");
        assert_eq!(s.command_history.last().unwrap(), "stpe +10");
    }

    #[test]
    fn an_unknown_theme_names_the_themes() {
        assert_eq!(
            said("theme neon"),
            "unknown theme neon: default, mono, colorblind"
        );
        assert_eq!(
            said("theme"),
            "bad command: theme (expected :theme NAME; themes: default, mono, colorblind)"
        );
    }

    #[test]
    fn a_bad_step_says_its_forms_and_range() {
        let forms = "(expected :step +N | -N | to N)";
        assert_eq!(said("step"), format!("bad command: step {forms}"));
        assert_eq!(said("step x"), format!("bad command: step x {forms}"));
        assert_eq!(said("step 5 6"), format!("bad command: step 5 6 {forms}"));
        assert_eq!(
            said("step to x"),
            "bad command: step to x (expected :step +N | -N | to N, N in 0..100)"
        );
        for n in ["150", "300", "-10"] {
            assert_eq!(
                said(&format!("step to {n}")),
                format!("refused: {n} is out of range: a candidate weight is 0..100")
            );
        }
        assert_eq!(
            said("step to 55"),
            "refused: green 55 is not reachable in 10-point steps \
             (reachable: 0, 10, 20, ..., 100; nearest: 50 or 60)"
        );
        let mut s = state();
        s.cfg.step = 25;
        run(&mut s, "step to 60", &mut Vec::new());
        assert_eq!(
            s.notice.unwrap().text,
            "refused: green 60 is not reachable in 25-point steps \
             (reachable: 0, 25, 50, 75, 100; nearest: 50 or 75)"
        );
    }

    #[test]
    fn candidate_scope_and_drain_list_what_they_take() {
        assert_eq!(
            said("candidate x"),
            "unknown candidate x: blue, green, auto"
        );
        assert_eq!(said("scope x"), "unknown scope x: gateway, az, fleet");
        assert_eq!(said("drain x"), "unknown color x: blue, green");
        assert_eq!(
            said("candidate"),
            "bad command: candidate (expected :candidate blue|green|auto)"
        );
        assert_eq!(
            said("rollback now"),
            "bad command: rollback now (expected :rollback)"
        );
        assert_eq!(said("q now"), "bad command: q now (expected :quit)");
    }

    #[test]
    fn an_unknown_verb_lists_the_verbs_and_suggests_the_closest() {
        let list = verbs().join(", ");
        assert_eq!(
            said("stpe +10"),
            format!("unknown command stpe: did you mean step? (commands: {list})")
        );
        assert!(said("rollbak").contains("did you mean rollback?"));
        assert!(said("THEME x").contains("did you mean theme?"));
        assert!(said("fail").contains("did you mean failures?"), "a prefix");
        assert_eq!(
            said("xyzzy"),
            format!("unknown command xyzzy (commands: {list}; :help says what each does)")
        );
    }

    #[test]
    fn suggestions_are_close_or_none() {
        assert_eq!(suggest("stpe"), Some("step"));
        assert_eq!(suggest("sope"), Some("scope"));
        assert_eq!(suggest("candiate"), Some("candidate"));
        assert_eq!(suggest("hlep"), Some("help"));
        assert_eq!(suggest("zz"), None);
        assert_eq!(distance("stpe", "step"), 1, "a swap is one edit");
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn verbs_are_those_of_the_help_once_each() {
        let v = verbs();
        for verb in [
            "step",
            "rollback",
            "candidate",
            "drain",
            "veto",
            "plan",
            "scope",
            "filter",
            "theme",
            "failures",
            "help",
            "quit",
        ] {
            assert_eq!(v.iter().filter(|&&x| x == verb).count(), 1, "{verb}");
        }
    }
}
