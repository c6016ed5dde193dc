//! The frame shared by the small panels: a bordered block titled "Name subject".

use super::fmt;
use super::theme::Theme;
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;

/// A bordered block titled `name`, followed by `subject` ellipsized to fit `width`.
pub(crate) fn block(
    name: &'static str,
    subject: Option<&str>,
    width: u16,
    t: &Theme,
) -> Block<'static> {
    let mut title = vec![Span::styled(format!(" {name} "), t.title)];
    if let Some(s) = subject {
        let room = usize::from(width).saturating_sub(fmt::width(name) + 5);
        if room >= 2 {
            let s = fmt::fit(&fmt::sanitize(s), room).into_owned();
            title.push(Span::styled(format!("{s} "), t.muted));
        }
    }
    Block::bordered()
        .border_style(t.border)
        .title(Line::from(title))
}
