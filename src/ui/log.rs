//! The log panel: the tracing log of commands and guardrail events (tui-logger), titled with
//! the selected gateway's alerts.

use super::alerts;
use super::theme::Theme;
use crate::app::state::State;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use tui_logger::{TuiLoggerLevelOutput, TuiLoggerWidget};

/// Draw the log into `area` (empty until the logger is initialised by the binary); its top
/// border carries the selected gateway's alerts in full, which the fleet table may abbreviate.
pub fn render(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let mut block = Block::new()
        .borders(Borders::TOP)
        .border_style(t.border)
        .title(Span::styled(" Log ", t.title));
    if let Some(line) = selected_alerts(state, usize::from(area.width).saturating_sub(8), t) {
        block = block.title_top(line.right_aligned());
    }
    let widget = TuiLoggerWidget::default()
        .block(block)
        .output_separator(' ')
        .output_timestamp(Some("%H:%M:%S".to_string()))
        .output_level(Some(TuiLoggerLevelOutput::Abbreviated))
        .output_target(false)
        .output_file(false)
        .output_line(false)
        .style(t.text)
        .style_error(t.alarm)
        .style_warn(t.warn)
        .style_info(t.text)
        .style_debug(t.muted)
        .style_trace(t.muted);
    frame.render_widget(widget, area);
}

/// " gw-c1: UNREACH ERR ssh: connect timed out STALE " for the selected gateway, if it has alerts.
fn selected_alerts(state: &State, max: usize, t: &Theme) -> Option<Line<'static>> {
    let g = state.selected_gateway()?;
    let list = alerts::of(g, state.now, t);
    if list.is_empty() {
        return None;
    }
    let head = format!(" {}: ", g.name);
    let room = max.saturating_sub(super::fmt::width(&head) + 1);
    let mut spans = vec![Span::styled(head, t.title)];
    spans.extend(alerts::fit_into(&list, room, t.muted));
    spans.push(Span::raw(" "));
    Some(Line::from(spans))
}
