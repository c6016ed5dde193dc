//! The footer: the line being typed, or the latest notice and as many key hints as fit.

use super::fmt::{self, width};
use super::spans;
use super::theme::Theme;
use crate::app::action::Action;
use crate::app::state::{Input, Level, State};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Cursor marker drawn after the text being typed.
pub(crate) const CURSOR: &str = "█";

/// Hints in display order: the actions and the label; the rank decides which stay when space is short.
const HINTS: [(&[Action], &str, u8); 11] = [
    (&[Action::SelectNext, Action::SelectPrev], "select", 4),
    (&[Action::CycleScope], "scope", 2),
    (&[Action::StepUp, Action::StepDown], "step", 1),
    (&[Action::Rollback], "rollback", 1),
    (&[Action::Drain], "drain", 3),
    (&[Action::Veto], "veto", 2),
    (&[Action::Filter], "filter", 5),
    (&[Action::Command], "cmd", 6),
    (&[Action::NextTheme], "theme", 7),
    (&[Action::Help], "help", 0),
    (&[Action::Quit], "quit", 3),
];

/// Draw the footer into a one-row `area`.
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let line = match &state.input {
        Input::Filter(s) => typing("/", s, state, t),
        Input::Command(s) => {
            let mut line = typing(":", s, state, t);
            // Tab's candidates (or why nothing matches), posted while the line is open.
            if let Some(n) = &state.notice {
                let room = usize::from(area.width).saturating_sub(line.width() + 2);
                if room > 8 {
                    line.spans.push(Span::raw("  "));
                    line.spans.push(Span::styled(
                        fmt::fit(&fmt::sanitize(&n.text), room).into_owned(),
                        t.muted,
                    ));
                }
            }
            line
        }
        Input::Reason { pending, text } => typing(
            &format!("reason for this {} (audited): ", pending.what()),
            text,
            state,
            t,
        ),
        Input::Normal => normal(state, usize::from(area.width), t),
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// "/text█  Enter apply  Esc cancel" while a line is being typed.
fn typing(prompt: &str, text: &str, state: &State, t: &Theme) -> Line<'static> {
    let mut out = vec![
        Span::styled(prompt.to_string(), t.accent),
        Span::styled(fmt::sanitize(text).into_owned(), t.text),
        Span::styled(CURSOR, t.accent),
    ];
    // While typing, printable keys are text: only a named key (Esc) can cancel.
    let cancel = state
        .keymap
        .keys_for(Action::Cancel)
        .into_iter()
        .find(|k| k.chars().count() > 1);
    out.push(Span::raw("  "));
    out.extend(spans::hint("Enter", "apply", t));
    out.push(Span::raw("  "));
    out.extend(spans::hint(cancel.as_deref().unwrap_or("Esc"), "cancel", t));
    Line::from(out)
}

/// The latest notice in its level's style, then the key hints that fit.
fn normal(state: &State, max: usize, t: &Theme) -> Line<'static> {
    let mut out = Vec::new();
    let mut room = max;
    if let Some(n) = &state.notice {
        let style = match n.level {
            Level::Info => t.text,
            Level::Warn => t.warn,
            Level::Alarm => t.alarm,
        };
        let text = fmt::sanitize(&n.text);
        let help_w = hints(state, t, 0).iter().map(Span::width).sum::<usize>() + 2;
        let shown = fmt::fit(&text, max.saturating_sub(help_w + 1).max(max / 2)).into_owned();
        room = max.saturating_sub(width(&shown) + 1);
        out.push(Span::styled(shown, style));
        out.push(Span::raw(" "));
    }
    out.extend(fitted_hints(state, t, room));
    Line::from(out)
}

/// Key hints of rank at most `rank`, in display order, each as "k label" with two spaces between.
fn hints(state: &State, t: &Theme, rank: u8) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    // A read-only session or a replay cannot change a host: no hint offers to.
    let watching = state.session.read_only || state.mode == crate::app::state::Mode::Replay;
    for (actions, label, r) in HINTS {
        if r > rank || (watching && actions.iter().all(|a| a.mutates())) {
            continue;
        }
        let keys: Vec<String> = actions
            .iter()
            .filter_map(|a| state.keymap.keys_for(*a).into_iter().next())
            .collect();
        if keys.is_empty() {
            continue;
        }
        out.push(Span::raw(" "));
        out.extend(spans::hint(&keys.join("/"), label, t));
        out.push(Span::raw(" "));
    }
    out
}

/// The most hints that fit in `room` cells.
fn fitted_hints(state: &State, t: &Theme, room: usize) -> Vec<Span<'static>> {
    let mut best = Vec::new();
    for rank in 0..=7 {
        let h = hints(state, t, rank);
        if h.iter().map(Span::width).sum::<usize>() > room {
            break;
        }
        best = h;
    }
    best
}
