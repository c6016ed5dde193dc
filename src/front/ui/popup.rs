//! Overlays: the key help, the confirm dialog and the refusal dialog, centered over the panels.

mod describe;
mod failures;
mod log;

use super::theme::Theme;
use super::{fmt, spans};
use crate::app::action::Action;
use crate::app::plan::{Plan, PlanKind};
use crate::app::planner;
use crate::app::state::{Popup, State};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// Widest a dialog's text gets, in cells.
const MAX_TEXT: usize = 84;

/// What a dialog shows: title, lines, border style and the key line in the bottom border.
struct Dialog {
    title: String,
    lines: Vec<Line<'static>>,
    border: Style,
    keys: Line<'static>,
}

/// Draw the open popup, if any, over `area`.
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let Some(popup) = &state.popup else {
        return;
    };
    let text_w = usize::from(area.width.saturating_sub(6)).min(MAX_TEXT);
    let dialog = match popup {
        Popup::Help => help(state, usize::from(area.height), t),
        Popup::Commands => commands(state, t),
        Popup::Confirm(plan) => confirm(plan, state, text_w, t),
        Popup::Refused { plan, reasons } => refused(plan, reasons, state, text_w, t),
        Popup::Veto(gateways) => veto(gateways, state, text_w, t),
        Popup::Quit(abandoned) => quit(abandoned, state, text_w, t),
        Popup::StartPlan(plan, gateways) => start_plan(plan, gateways, state, text_w, t),
        Popup::Failures(v) => failures::dialog(v, state, text_w, t),
        Popup::Describe(i) => describe::dialog(*i, state, text_w, t),
        Popup::Log(v) => log::dialog(v, state, text_w, usize::from(area.height), t),
    };
    show(frame, area, dialog, t);
}

/// Center the dialog, clear under it, and draw it; lines that cannot fit are counted, not lost silently.
fn show(frame: &mut Frame, area: Rect, mut d: Dialog, t: &Theme) {
    let content_w = d.lines.iter().map(Line::width).max().unwrap_or(0);
    let frame_w = [content_w, fmt::width(&d.title) + 2, d.keys.width() + 2]
        .into_iter()
        .max()
        .unwrap_or(0);
    let w = u16::try_from(frame_w + 4)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let max_lines = usize::from(area.height.saturating_sub(2));
    if d.lines.len() > max_lines && max_lines > 0 {
        let hidden = d.lines.len() - max_lines + 1;
        d.lines.truncate(max_lines - 1);
        d.lines.push(Line::styled(
            format!("… {hidden} more lines: enlarge the terminal"),
            t.warn,
        ));
    }
    let h = u16::try_from(d.lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let rect = area.centered(Constraint::Length(w), Constraint::Length(h));
    let block = Block::bordered()
        .border_style(d.border)
        .title(Span::styled(
            format!(" {} ", d.title),
            t.title.patch(d.border),
        ))
        .title_bottom(d.keys.centered())
        .padding(ratatui::widgets::Padding::horizontal(1));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(d.lines).block(block).style(t.text), rect);
}

/// The first key bound to `a`, or "(unbound)".
fn key(state: &State, a: Action) -> String {
    state
        .keymap
        .keys_for(a)
        .into_iter()
        .next()
        .unwrap_or_else(|| "(unbound)".into())
}

/// Every key bound to `a`, joined with "/".
fn keys(state: &State, a: Action) -> String {
    let k = state.keymap.keys_for(a);
    if k.is_empty() {
        "(unbound)".into()
    } else {
        k.join("/")
    }
}

/// " k label  k label " for the bottom border.
fn key_line(pairs: &[(String, &str)], t: &Theme) -> Line<'static> {
    let mut out = vec![Span::raw(" ")];
    for (i, (k, label)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(Span::styled(" · ", t.muted));
        }
        out.extend(spans::hint(k, label, t));
    }
    out.push(Span::raw(" "));
    Line::from(out)
}

/// Every action with its keys and description; a glossary of the screen's tokens when there
/// is room, else a short legend.
fn help(state: &State, height: usize, t: &Theme) -> Dialog {
    let all: Vec<(String, &str)> = Action::ALL
        .iter()
        .map(|&a| (keys(state, a), a.describe()))
        .collect();
    let kw = all.iter().map(|(k, _)| fmt::width(k)).max().unwrap_or(0);
    let mut lines: Vec<Line> = all
        .into_iter()
        .map(|(k, d)| {
            Line::from(vec![
                spans::left(k, kw + 2, t.accent),
                Span::styled(d, t.text),
            ])
        })
        .collect();
    // The glossary of what rows and panels show, most important first; docs/operator-guide.md,
    // "Reading the screen: every token", has each token with what to do. Lines stay within
    // 76 cells: the dialog fits 80 columns.
    let glossary = [
        "rows    ▸ in scope · * pinned: alarmed, kept by a filter · ▒ blue █ green",
        "alerts, most urgent first (+N more; the Log title has the selected row's):",
        "HOSTKEY changed|unknown host key refused · 5xx 2:41 auto-rollback countdown",
        "5xx vetoed · 5xx +4.9pp alarm only · 5xx ROLLBACK firing · HALT TTFT halt",
        "PAGE b|g|b+g page burn · UNREACH timeout|refused|auth|dns|no route|lost",
        "ERR op failed · LISTEN b|g beyond loopback · DRIFT 70/30 changed elsewhere",
        "SKEW 3.1s host clock · lock NAME (ticket T) since TIME · fail disk health",
        "PREFLIGHT nginx -t steps held · PROBE p95 450 slow health · STALE old data",
        "phase   steady canary ramp half complete →g/→b candidate · drain 42s drained",
        "        drain t/o · stepping… rollback… stopping… starting… restarting…",
        "health  ok · DEG degraded · DOWN · ? unknown    - no data    age of the data",
        "weights b VER@REV g VER@REV (alarm: revisions differ) · nginx 2w 14 act 3 wr",
        "        preflight ok | ? not run, old or unknown | FAIL steps onto it held",
        "burn    PAGE · n<500 too few requests to page     ttft +1.2 % ok · ? · HALT",
        "every token and what to do: docs/operator-guide.md, \"Reading the screen\"",
    ];
    let legend = [
        "▸ in scope · b/g: blue/green · ▒ blue █ green",
        "5xx m:ss: auto-rollback countdown · HALT: TTFT halt",
        "PAGE: page-level burn · STALE: old data · ramp→g: candidate green",
    ];
    // All of the glossary when the terminal is tall enough; short of rows its first lines
    // and its last (where the rest is); with fewer than 4 rows the short legend, if it fits.
    let room = height.saturating_sub(lines.len() + 4);
    let shown: Vec<&str> = match glossary.split_last() {
        _ if glossary.len() <= room => glossary.to_vec(),
        Some((last, first)) if room >= 4 => first[..room - 1]
            .iter()
            .chain(std::iter::once(last))
            .copied()
            .collect(),
        _ if legend.len() <= room => legend.to_vec(),
        _ => Vec::new(),
    };
    if !shown.is_empty() {
        lines.push(Line::raw(""));
        lines.extend(shown.iter().map(|l| Line::styled(*l, t.muted)));
    }
    let theme = state.themes.get(state.theme).map_or("-", String::as_str);
    Dialog {
        title: format!("Help · theme {}", fmt::sanitize(theme)),
        lines,
        border: t.accent,
        keys: key_line(&[(keys(state, Action::Cancel), "close")], t),
    }
}

/// Every `:` command with what it does.
fn commands(state: &State, t: &Theme) -> Dialog {
    let all = crate::app::command::COMMANDS;
    let kw = all.iter().map(|(c, _)| fmt::width(c)).max().unwrap_or(0) + 1;
    let lines = all
        .iter()
        .map(|(c, d)| {
            Line::from(vec![
                spans::left(format!(":{c}"), kw + 2, t.accent),
                Span::styled(*d, t.text),
            ])
        })
        .collect();
    Dialog {
        title: "Commands".into(),
        lines,
        border: t.accent,
        keys: key_line(&[(keys(state, Action::Cancel), "close")], t),
    }
}

/// The plan's action, scope, every gateway before -> after, and the skipped ones with reasons.
fn confirm(plan: &Plan, state: &State, w: usize, t: &Theme) -> Dialog {
    let mut lines = vec![Line::styled(planner::title(plan), t.title), Line::raw("")];
    lines.extend(items(plan, state, t));
    let notes = planner::notes(plan, state);
    if !notes.is_empty() {
        lines.push(Line::raw(""));
        for n in notes {
            lines.extend(wrapped("", &fmt::sanitize(&n), w, t.warn));
        }
    }
    if plan.needs_reason() {
        lines.push(Line::styled(
            "a reason is asked next: it goes into the audit log",
            t.muted,
        ));
    }
    lines.extend(skipped(plan, state, w, t));
    if plan.overridden {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "guardrail overridden: recorded in the audit log",
            t.alarm,
        ));
    }
    let keys = [
        (key(state, Action::Confirm), "confirm"),
        (keys(state, Action::Cancel), "cancel"),
    ];
    Dialog {
        title: "Confirm".into(),
        lines,
        border: t.warn,
        keys: key_line(&keys, t),
    }
}

/// Why the plan was refused, what it would do, and the override key.
fn refused(plan: &Plan, reasons: &[String], state: &State, w: usize, t: &Theme) -> Dialog {
    let head = format!("{} was refused:", planner::action_on(plan));
    let mut lines = vec![Line::styled(head, t.alarm), Line::raw("")];
    for r in reasons {
        lines.extend(wrapped("• ", &fmt::sanitize(r), w, t.text));
    }
    if !plan.items.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("if overridden:", t.muted));
        lines.extend(items(plan, state, t));
    }
    lines.extend(skipped(plan, state, w, t));
    let keys = [
        (key(state, Action::Override), "override"),
        (keys(state, Action::Cancel), "cancel"),
    ];
    Dialog {
        title: "Refused".into(),
        lines,
        border: t.alarm,
        keys: key_line(&keys, t),
    }
}

/// The veto keeps green serving errors: say so, name the gateways.
fn veto(gateways: &[usize], state: &State, w: usize, t: &Theme) -> Dialog {
    let mut lines = vec![
        Line::styled("Veto the pending auto-rollback on:", t.alarm),
        Line::raw(""),
    ];
    for &i in gateways {
        let delta = state.gateways.get(i).map(|g| match g.verdicts.fivexx {
            crate::guard::fivexx::FivexxState::Breaching { delta_pp, .. } => {
                format!(" (green 5xx {delta_pp:+.2} pp over blue)")
            }
            _ => String::new(),
        });
        lines.push(Line::styled(
            format!("  {}{}", name(state, i), delta.unwrap_or_default()),
            t.text,
        ));
    }
    lines.push(Line::raw(""));
    lines.extend(wrapped(
        "",
        "Green keeps its weight and keeps serving these errors; the alarm stays. A reason is asked next: it goes into the audit log.",
        w,
        t.warn,
    ));
    let keys = [
        (key(state, Action::Confirm), "veto"),
        (keys(state, Action::Cancel), "cancel"),
    ];
    Dialog {
        title: "Veto auto-rollback".into(),
        lines,
        border: t.alarm,
        keys: key_line(&keys, t),
    }
}

/// Quitting now abandons work: list it, offer to finish it first.
fn quit(abandoned: &[String], state: &State, w: usize, t: &Theme) -> Dialog {
    let mut lines = vec![
        Line::styled("Work is in flight; quitting now abandons:", t.alarm),
        Line::raw(""),
    ];
    for a in abandoned {
        lines.extend(wrapped("• ", &fmt::sanitize(a), w, t.text));
    }
    lines.push(Line::raw(""));
    lines.extend(wrapped(
        "",
        "A forced quit is written to the audit log with what it abandoned.",
        w,
        t.muted,
    ));
    let keys = [
        (key(state, Action::Quit), "quit when done"),
        (key(state, Action::Confirm), "quit now"),
        (keys(state, Action::Cancel), "stay"),
    ];
    Dialog {
        title: "Quit?".into(),
        lines,
        border: t.alarm,
        keys: key_line(&keys, t),
    }
}

/// Every step of a ramp plan with its scope and bake, the gateways, and when it would end.
fn start_plan(
    plan: &crate::ramp::RampPlan,
    gateways: &[usize],
    state: &State,
    w: usize,
    t: &Theme,
) -> Dialog {
    use crate::ramp::format_duration;
    let cand = gateways
        .first()
        .and_then(|&i| state.gateways.get(i))
        .map_or("-", |g| g.candidate.name());
    let names: Vec<String> = gateways.iter().map(|&i| name(state, i)).collect();
    let mut lines = Vec::new();
    lines.extend(wrapped(
        "",
        &format!(
            "On {} (candidate {cand}), on_fail {:?}, on_inconclusive {:?}:",
            names.join(", "),
            plan.on_fail,
            plan.on_inconclusive
        ),
        w,
        t.text,
    ));
    lines.push(Line::raw(""));
    let n = plan.steps.len();
    let mut at = 0;
    for (k, step) in plan.steps.iter().enumerate() {
        lines.push(Line::styled(
            format!(
                "  {:>2}/{n}  {cand} {:>3}  {:<16} bake {:<6} at +{}",
                k + 1,
                step.weight,
                fmt::fit(&step.scope.to_string(), 16),
                format_duration(step.bake_ms),
                format_duration(at)
            ),
            t.text,
        ));
        at += step.bake_ms + crate::app::ramp::COUNTDOWN_MS;
    }
    lines.push(Line::raw(""));
    lines.extend(wrapped(
        "",
        &format!(
            "Ends in about {} if every gate passes. Each automatic step counts down {} s first (x vetoes); :plan pause|resume|promote|abort steer it.",
            format_duration(at),
            crate::app::ramp::COUNTDOWN_MS / 1000
        ),
        w,
        t.muted,
    ));
    let keys = [
        (key(state, Action::Confirm), "start"),
        (keys(state, Action::Cancel), "cancel"),
    ];
    Dialog {
        title: format!("Start plan {}?", fmt::sanitize(&plan.name)),
        lines,
        border: t.accent,
        keys: key_line(&keys, t),
    }
}

/// Name of gateway `i`, or its index when the plan is out of date.
fn name(state: &State, i: usize) -> String {
    state
        .gateways
        .get(i)
        .map_or_else(|| format!("#{i}"), |g| g.name.clone())
}

/// One line per gateway in the plan: "gw-a1  90/10 -> 80/20" (a drain names the color it stops).
fn items(plan: &Plan, state: &State, t: &Theme) -> Vec<Line<'static>> {
    let nw = plan
        .items
        .iter()
        .map(|it| fmt::width(&name(state, it.gateway)))
        .max()
        .unwrap_or(0);
    plan.items
        .iter()
        .map(|it| {
            let mut out = vec![
                Span::raw("  "),
                spans::left(name(state, it.gateway), nw + 2, t.text),
            ];
            out.extend(spans::weights(Some(it.before), t));
            match plan.kind {
                PlanKind::Drain { color } => {
                    let conns = state
                        .gateways
                        .get(it.gateway)
                        .and_then(|g| g.model.host.as_ref())
                        .map(|h| h.conns[color]);
                    let conns = conns.map_or_else(
                        || "conns -".to_string(),
                        |c| format!("{} conns", fmt::count(u64::from(c))),
                    );
                    out.push(Span::styled(format!("  stop {color} ({conns})"), t.warn));
                }
                _ => {
                    out.push(Span::styled(" -> ", t.muted));
                    out.extend(
                        spans::weights(Some(it.after), t)
                            .into_iter()
                            .map(|s| s.patch_style(Modifier::BOLD)),
                    );
                }
            }
            Line::from(out)
        })
        .collect()
}

/// "skipped:" and one wrapped line per skipped gateway with its reason.
fn skipped(plan: &Plan, state: &State, w: usize, t: &Theme) -> Vec<Line<'static>> {
    if plan.skipped.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![
        Line::raw(""),
        Line::styled(format!("skipped ({}):", plan.skipped.len()), t.warn),
    ];
    for (i, why) in &plan.skipped {
        let text = format!("{}: {}", name(state, *i), fmt::sanitize(&why.to_string()));
        lines.extend(wrapped("  ", &text, w, t.muted));
    }
    lines
}

/// `text` wrapped to `w` cells after `lead`, continuation lines indented to match.
fn wrapped(lead: &str, text: &str, w: usize, style: Style) -> Vec<Line<'static>> {
    let indent = " ".repeat(fmt::width(lead));
    fmt::wrap(text, w.saturating_sub(indent.len()).max(10))
        .into_iter()
        .enumerate()
        .map(|(k, l)| Line::styled(format!("{}{l}", if k == 0 { lead } else { &indent }), style))
        .collect()
}
