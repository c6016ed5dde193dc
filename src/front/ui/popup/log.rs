//! The log view's dialog: the kept log lines (session clock, level, text), as many as the
//! screen holds, ending `back` lines above the newest; the search and where the view is.

use super::{Dialog, key_line};
use crate::app::log_view::{self, LogView};
use crate::app::msg::LogLevel;
use crate::app::state::State;
use crate::front::ui::fmt;
use crate::front::ui::theme::Theme;
use ratatui::text::{Line, Span};

/// The dialog for `v` on a screen `height` rows tall.
pub(super) fn dialog(v: &LogView, state: &State, w: usize, height: usize, t: &Theme) -> Dialog {
    let all = log_view::lines(state, v);
    // Border (2), the status line and its blank (2).
    let room = height.saturating_sub(6).max(1);
    let end = all.len().saturating_sub(v.back);
    let start = end.saturating_sub(room);
    let mut lines: Vec<Line<'static>> = Vec::with_capacity(room + 2);
    let status = match (v.search.is_empty(), v.typing) {
        (_, true) => format!("search: {}▏", fmt::sanitize(&v.search)),
        (true, false) => format!(
            "lines {}-{} of {} (kept: the last {})",
            start + usize::from(end > 0),
            end,
            all.len(),
            crate::app::state::LOGS_KEPT
        ),
        (false, false) => format!(
            "\"{}\": lines {}-{} of {} matching",
            fmt::sanitize(&v.search),
            start + usize::from(end > 0),
            end,
            all.len()
        ),
    };
    lines.push(Line::styled(status, t.muted));
    lines.push(Line::raw(""));
    if all.is_empty() {
        lines.push(Line::styled("no line", t.muted));
    }
    for (at, l) in &all[start..end] {
        let (mark, style) = match l.level {
            LogLevel::Error => ("E", t.alarm),
            LogLevel::Warn => ("W", t.warn),
            LogLevel::Info => ("I", t.text),
        };
        let s = at / 1000;
        let clock = format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
        let text = fmt::fit(&fmt::sanitize(&l.text), w.saturating_sub(12)).into_owned();
        lines.push(Line::from(vec![
            Span::styled(format!("{clock} {mark} "), t.muted),
            Span::styled(text, style),
        ]));
    }
    let keys = [
        ("j/k".to_string(), "line"),
        ("u/d".to_string(), "page"),
        ("g/G".to_string(), "oldest/newest"),
        ("/".to_string(), "search"),
        ("Esc".to_string(), "close"),
    ];
    Dialog {
        title: "Log".into(),
        lines,
        border: t.accent,
        keys: key_line(&keys, t),
    }
}
