//! The header bar: mode, actor, ticket, scope, recording indicator, detail and clock.

use super::fmt::{self, fit, width};
use super::theme::Theme;
use crate::app::state::{Mode, State};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Separator between the header's fields and the detail.
const SEP: &str = " │ ";
/// Separator between the parts of a detail (`file x1 · PAUSED (space) · next marker ...`).
const PART: &str = " · ";
/// Fewest cells the first part of a detail (a replay's file and speed) is shown in.
const MIN_HEAD: usize = 10;

/// Draw the header into a one-row `area`; the clock always shows at the right.
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let clock = format!(" {} ", state.clock);
    let avail = usize::from(area.width).saturating_sub(width(&clock));
    let detail = state.session.detail.as_deref().map(fmt::sanitize);
    // A replay's detail ends with its controls (the pause, the next marker and its key): the
    // fields take their tighter forms before those are cut.
    let replay = state.mode == Mode::Replay;
    let keep = match &detail {
        Some(d) if replay => controls_width(d),
        _ => 0,
    };
    // Long separators and "scope: " when they fit; tighter forms before anything is clipped.
    let variants = [(SEP, true), (SEP, false), (" ", false)];
    let mut spans = Vec::new();
    for (sep, prefix) in variants {
        spans = fields(state, sep, prefix, t);
        if line_width(&spans) + keep <= avail {
            break;
        }
    }
    if let Some(detail) = &detail {
        let room = avail.saturating_sub(line_width(&spans) + width(SEP) + 1);
        if let Some(text) = detail_text(detail, room, replay) {
            spans.push(Span::styled(SEP, t.header));
            spans.push(Span::styled(text, t.header));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(t.header), area);
    let clock_w = u16::try_from(width(&clock))
        .unwrap_or(u16::MAX)
        .min(area.width);
    let right = Rect {
        x: area.right() - clock_w,
        width: clock_w,
        ..area
    };
    frame.render_widget(
        Paragraph::new(Span::styled(clock, t.header.add_modifier(Modifier::BOLD))),
        right,
    );
}

/// Cells the detail `d` needs beside the fields for its parts after the first whole, with a
/// few cells of the first, the separator and the space before the clock (0: one part only).
fn controls_width(d: &str) -> usize {
    match d.split_once(PART) {
        Some((_, rest)) => width(SEP) + MIN_HEAD + width(PART) + width(rest) + 1,
        None => 0,
    }
}

/// The detail in `room` cells. In a replay the parts after the first (the pause and the next
/// marker) are never cut while they fit: the first part is shortened first, keeping its last
/// word (the speed), then dropped, then the parts before the last; only the last part alone
/// is ellipsized. Any other detail (a demo's scenario) is ellipsized. `None` when not even 4
/// cells are left.
fn detail_text(d: &str, room: usize, replay: bool) -> Option<String> {
    if width(d) <= room {
        return Some(d.to_string());
    }
    let parts: Vec<&str> = d.split(PART).collect();
    let (head, rest) = parts.split_first()?;
    if rest.is_empty() || !replay {
        return (room >= 4).then(|| fit(d, room).into_owned());
    }
    let tail = rest.join(PART);
    let head_room = room.saturating_sub(width(&tail) + width(PART));
    if head_room >= MIN_HEAD {
        return Some(format!("{}{PART}{tail}", shorten_head(head, head_room)));
    }
    for k in 1..parts.len() {
        let t = parts[k..].join(PART);
        if width(&t) <= room {
            return Some(t);
        }
    }
    let last = parts.last().copied().unwrap_or_default();
    (room >= 4).then(|| fit(last, room).into_owned())
}

/// `head` in `room` cells, its last word (a replay's speed, `x0.25`) kept whole when the
/// words before it can keep at least 4 cells.
fn shorten_head(head: &str, room: usize) -> String {
    if let Some((name, last)) = head.rsplit_once(' ') {
        let name_room = room.saturating_sub(width(last) + 1);
        if name_room >= 4 {
            return format!("{} {last}", fit(name, name_room));
        }
    }
    fit(head, room).into_owned()
}

/// "candidate green": the color a step in scope moves toward (the selected gateway's), with
/// "mixed" when gateways in scope have different candidates.
fn candidate(state: &State, long: bool) -> String {
    let members = state.scope_members();
    let mut colors = members.iter().map(|&i| state.gateways[i].candidate);
    let first = colors.next();
    let word = match first {
        Some(c) if colors.all(|o| o == c) => c.name(),
        Some(_) => "mixed",
        None => "-",
    };
    if long {
        format!("candidate {word}")
    } else {
        format!("→{word}")
    }
}

/// Cells taken by `spans`.
fn line_width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

/// Mode, actor, ticket, scope and the recording dot, joined by `sep`.
fn fields(state: &State, sep: &'static str, scope_prefix: bool, t: &Theme) -> Vec<Span<'static>> {
    let s = &state.session;
    let bold = t.header.add_modifier(Modifier::BOLD);
    let mut out = vec![Span::styled(format!(" {}", state.mode.label()), bold)];
    if s.read_only {
        out.push(Span::styled(" READ-ONLY", bold.patch(t.warn)));
    }
    let actor = if s.actor.is_empty() {
        "nobody"
    } else {
        s.actor.as_str()
    };
    out.push(Span::styled(sep, t.header));
    out.push(Span::styled(fmt::sanitize(actor).into_owned(), t.header));
    out.push(Span::styled(sep, t.header));
    match &s.ticket {
        Some(ticket) => out.push(Span::styled(fmt::sanitize(ticket).into_owned(), t.header)),
        None => out.push(Span::styled("no ticket", t.header.patch(t.warn))),
    }
    out.push(Span::styled(sep, t.header));
    let prefix = if scope_prefix { "scope: " } else { "" };
    out.push(Span::styled(
        format!("{prefix}{}", state.scope_label()),
        bold,
    ));
    out.push(Span::styled(sep, t.header));
    out.push(Span::styled(candidate(state, scope_prefix), bold));
    if s.recording {
        out.push(Span::styled(sep, t.header));
        out.push(Span::styled("● REC", bold.patch(t.alarm)));
    }
    if let Some(run) = &state.ramp {
        let style = match run.phase {
            crate::app::ramp::RunPhase::Held { .. } | crate::app::ramp::RunPhase::Failed { .. } => {
                bold.patch(t.alarm)
            }
            _ => bold,
        };
        out.push(Span::styled(sep, t.header));
        out.push(Span::styled(
            fmt::sanitize(&run.status(state.now)).into_owned(),
            style,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::ui::fixtures::{draw, row_text, state};

    const NAME: &str = "cutover-session-20261122T004803Z.jsonl x0.25";
    const NEXT: &str = "next marker T+00:00:22 (n)";

    #[test]
    fn a_detail_keeps_its_last_parts_and_shortens_its_first() {
        let d = format!("{NAME} · {NEXT}");
        assert_eq!(detail_text(&d, 200, true).as_deref(), Some(d.as_str()));
        assert_eq!(
            detail_text(&d, 45, true).as_deref(),
            Some("cutover-s… x0.25 · next marker T+00:00:22 (n)")
        );
        // Short of room the first part goes whole, then the parts before the last.
        assert_eq!(detail_text(&d, 30, true).as_deref(), Some(NEXT));
        let paused = format!("{NAME} · PAUSED (space) · {NEXT}");
        assert_eq!(
            detail_text(&paused, 45, true).as_deref(),
            Some("PAUSED (space) · next marker T+00:00:22 (n)")
        );
        assert_eq!(detail_text(&paused, 29, true).as_deref(), Some(NEXT));
        // Only the last part alone is ellipsized, and not into fewer than 4 cells.
        assert_eq!(detail_text(&d, 12, true).as_deref(), Some("next marker…"));
        assert_eq!(detail_text(&d, 3, true), None);
        // A detail of one part, or outside a replay, is ellipsized as before.
        assert_eq!(
            detail_text("happy-path x1 seed 5", 10, true).as_deref(),
            Some("happy-pat…")
        );
        assert_eq!(
            detail_text(&d, 30, false).as_deref(),
            Some("cutover-session-20261122T0048…")
        );
    }

    /// The fixture fleet as a replay of a session log with a long file name.
    fn replay(paused: bool) -> State {
        let mut s = state();
        s.mode = Mode::Replay;
        s.session.recording = false;
        s.session.ticket = None;
        s.clock = "T+00:00:02".into();
        let pause = if paused { " · PAUSED (space)" } else { "" };
        s.session.detail = Some(format!("{NAME}{pause} · {NEXT}"));
        s
    }

    #[test]
    fn a_replay_header_shows_the_next_marker_whole_at_120_and_80_columns() {
        for paused in [false, true] {
            for w in [120u16, 100, 80] {
                let s = replay(paused);
                let term = draw(&s, w, 40);
                let head = row_text(term.backend().buffer(), 0);
                assert!(head.contains(NEXT), "{w} paused {paused}: {head:?}");
                assert!(head.ends_with(" T+00:00:02 "), "{w}: {head:?}");
                assert!(head.starts_with(" REPLAY"), "{w}: {head:?}");
                if w >= 120 {
                    // At 120 there is room for the speed and the pause too.
                    assert!(head.contains("x0.25 · "), "{w} paused {paused}: {head:?}");
                    assert!(!paused || head.contains("PAUSED (space)"), "{head:?}");
                }
            }
        }
    }

    #[test]
    fn a_demo_header_keeps_its_fields_long_and_drops_a_detail_that_does_not_fit() {
        let s = state();
        let head = row_text(draw(&s, 80, 24).backend().buffer(), 0);
        assert!(head.contains("scope: gw-a1 │ candidate green"), "{head:?}");
        let head = row_text(draw(&s, 120, 40).backend().buffer(), 0);
        assert!(
            head.contains("│ scenario canary-5xx · seed 42 "),
            "{head:?}"
        );
    }
}
