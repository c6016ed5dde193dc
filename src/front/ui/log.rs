//! The log panel: the tracing log of commands and guardrail events (tui-logger), titled with
//! the selected gateway's alerts.

use super::alerts;
use super::theme::Theme;
use crate::app::state::State;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use std::sync::atomic::{AtomicBool, Ordering};
use tui_logger::{ExtLogRecord, LevelFilter, LogFormatter, TuiLoggerLevelOutput, TuiLoggerWidget};

/// Log lines carry their time at the front of the message (simulated time), not the wall clock.
static SIMULATED_TIMES: AtomicBool = AtomicBool::new(false);

/// Show each log line's time from the start of its message instead of the wall clock: a
/// headless recording puts the simulated time there, so the same seed draws the same log.
/// Process-wide, like the logger itself.
pub(crate) fn use_simulated_times(on: bool) {
    SIMULATED_TIMES.store(on, Ordering::Relaxed);
}

/// Draw the log into `area` (empty until the logger is initialised by the binary); its top
/// border carries the selected gateway's alerts in full, which the fleet table may abbreviate.
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
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
    let widget = if SIMULATED_TIMES.load(Ordering::Relaxed) {
        widget.formatter(Box::new(SimulatedTimes {
            text: t.text,
            warn: t.warn,
            alarm: t.alarm,
            muted: t.muted,
        }))
    } else {
        widget
    };
    frame.render_widget(widget, area);
    alerts::render_reason(frame, area, state, t);
}

/// Lines laid out like the standard ones (`HH:MM:SS L  message`), the time taken from the
/// message's first word.
struct SimulatedTimes {
    text: Style,
    warn: Style,
    alarm: Style,
    muted: Style,
}

impl LogFormatter for SimulatedTimes {
    fn min_width(&self) -> u16 {
        13
    }

    fn format(&self, width: usize, evt: &ExtLogRecord) -> Vec<Line<'_>> {
        let (style, level) = match evt.level.to_level_filter() {
            LevelFilter::Error => (self.alarm, 'E'),
            LevelFilter::Warn => (self.warn, 'W'),
            LevelFilter::Info => (self.text, 'I'),
            LevelFilter::Debug => (self.muted, 'D'),
            LevelFilter::Trace | LevelFilter::Off => (self.muted, 'T'),
        };
        let msg = evt.msg().trim_start();
        let (time, rest) = msg.split_once(' ').unwrap_or(("", msg));
        let text = format!("{time} {level}  {rest}");
        let chars: Vec<char> = text.chars().collect();
        chars
            .chunks(width.max(1))
            .map(|c| Line::styled(c.iter().collect::<String>(), style))
            .collect()
    }
}

/// " gw-c1: UNREACH timeout ERR ssh: connect timed out STALE " for the selected gateway, if it has alerts.
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
