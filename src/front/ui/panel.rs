//! The frame shared by the small panels: a bordered block titled "Name subject".

use super::fmt;
use super::theme::Theme;
use crate::app::state::Gateway;
use crate::model::{Color, Ms};
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;

/// Where the request counts of `g` come from and how old they are at `now`: the access log
/// (`log 2s`) or Prometheus (`prometheus 4s`).
pub(crate) fn counts_source(g: &Gateway, now: Ms) -> String {
    match &g.model.metrics {
        Some(m) => format!("prometheus {}", since(m.counts_at, now)),
        None => format!("log {}", since(g.model.requests_at, now)),
    }
}

/// Where the TTFT figures of `g` come from and how old they are: the probes (`probes 1s`) or
/// Prometheus's histograms (`prometheus 4s`).
pub(crate) fn ttft_source(g: &Gateway, now: Ms) -> String {
    match &g.model.metrics {
        Some(m) => format!(
            "prometheus {}",
            since(m.ttft_at.blue.max(m.ttft_at.green), now)
        ),
        None => {
            let p = &g.model.probes;
            let latest = Color::BOTH
                .iter()
                .flat_map(|&c| [p[c].last_ok, p[c].last_failed])
                .max()
                .flatten();
            format!("probes {}", since(latest, now))
        }
    }
}

/// The age of what the host said over SSH (`ssh 0s`).
pub(crate) fn host_source(g: &Gateway, now: Ms) -> String {
    format!("ssh {}", since(g.model.last_seen, now))
}

/// `3s`, `2m`, or `never`.
fn since(at: Option<Ms>, now: Ms) -> String {
    match at {
        Some(t) => fmt::age(Some(now.saturating_sub(t))),
        None => "never".into(),
    }
}

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
