//! The header bar: mode, actor, ticket, scope, recording indicator, detail and clock.

use super::fmt::{self, fit, width};
use super::theme::Theme;
use crate::app::state::State;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Draw the header into a one-row `area`; the clock always shows at the right.
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let clock = format!(" {} ", state.clock);
    let avail = usize::from(area.width).saturating_sub(width(&clock));
    // Long separators and "scope: " when they fit; tighter forms before anything is clipped.
    let variants = [(" │ ", true), (" │ ", false), (" ", false)];
    let mut spans = Vec::new();
    for (sep, prefix) in variants {
        spans = fields(state, sep, prefix, t);
        if line_width(&spans) <= avail {
            break;
        }
    }
    if let Some(detail) = &state.session.detail {
        let room = avail.saturating_sub(line_width(&spans) + width(" │ ") + 1);
        if room >= 4 {
            spans.push(Span::styled(" │ ", t.header));
            spans.push(Span::styled(
                fit(&fmt::sanitize(detail), room).into_owned(),
                t.header,
            ));
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
