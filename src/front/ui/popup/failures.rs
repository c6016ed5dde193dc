//! The failures view's dialog: the window's groups as clauses, or one request opened from a
//! group with its tries and the charged color's own log lines.

use super::{Dialog, key_line, keys, wrapped};
use crate::app::action::Action;
use crate::app::failures_view::{self, ColorLogState, FailureDetail, FailuresView};
use crate::app::state::State;
use crate::failures::book::hhmm;
use crate::front::ui::fmt;
use crate::front::ui::theme::Theme;
use ratatui::text::Line;

/// Group lines shown at most; the rest are counted.
const MAX_GROUPS: usize = 30;
/// Times below this (a year in ms) are a simulated session's clock.
const SESSION_TIME_BELOW_MS: u64 = 365 * 86_400_000;
/// Log lines shown at most (the newest).
const MAX_LOG_LINES: usize = 12;

/// The dialog for `v`.
pub(super) fn dialog(v: &FailuresView, state: &State, w: usize, t: &Theme) -> Dialog {
    match &v.open {
        Some(d) => detail(d, state, w, t),
        None => list(v, state, w, t),
    }
}

fn list(v: &FailuresView, state: &State, w: usize, t: &Theme) -> Dialog {
    let window = failures_view::window(state, v);
    let groups = failures_view::groups(state, v);
    let span = state.failures.window_ms();
    let title = match window {
        Some(start) => format!("Failures · {}-{} UTC", hhmm(start), hhmm(start + span)),
        None => "Failures".into(),
    };
    let mut lines = Vec::new();
    match window {
        None => lines.push(Line::styled(
            "no failed request seen since the cockpit started (5xx, 499, upstream timeouts and resets)",
            t.muted,
        )),
        Some(start) => {
            let (n, dropped) = state.failures.total(start);
            lines.push(Line::styled(
                format!(
                    "{n} failed requests in {} groups (5xx, 499, upstream timeouts and resets)",
                    groups.len()
                ),
                t.text,
            ));
            if dropped > 0 {
                lines.push(Line::styled(
                    format!("{dropped} more in groups past the first {}", groups.len()),
                    t.warn,
                ));
            }
        }
    }
    lines.push(Line::raw(""));
    for (i, g) in groups.iter().take(MAX_GROUPS).enumerate() {
        let (lead, style) = if i == v.selected {
            ("▸ ", t.accent)
        } else {
            ("  ", t.text)
        };
        let clause = fmt::sanitize(&crate::failures::clause(g)).into_owned();
        lines.extend(wrapped(lead, &clause, w, style));
    }
    if groups.len() > MAX_GROUPS {
        lines.push(Line::styled(
            format!("… {} more groups", groups.len() - MAX_GROUPS),
            t.muted,
        ));
    }
    let keys = [
        ("j/k".to_string(), "select"),
        ("Enter".to_string(), "newest request"),
        (keys(state, Action::Cancel), "close"),
    ];
    Dialog {
        title,
        lines,
        border: t.accent,
        keys: key_line(&keys, t),
    }
}

fn detail(d: &FailureDetail, state: &State, w: usize, t: &Theme) -> Dialog {
    let r = &d.request;
    let g = state.gateways.get(d.gateway);
    let version = |c: crate::model::Color| {
        g.and_then(|g| g.model.host.as_ref())
            .and_then(|h| h.versions[c].clone())
            .map_or("version unknown".to_string(), |v| format!("now runs {v}"))
    };
    // A simulated fleet's times are its session clock, not dates.
    let time = if r.time_ms < SESSION_TIME_BELOW_MS {
        let s = r.time_ms / 1000;
        format!("session {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        crate::model::civil::rfc3339(r.time_ms / 1000, (r.time_ms % 1000) as u32)
    };
    let mut lines = vec![
        Line::styled(
            fmt::sanitize(&format!(
                "{time} · {} to the client · {} ({})",
                r.status, d.key.gateway, d.key.az
            ))
            .into_owned(),
            t.text,
        ),
        Line::styled(
            format!(
                "charged to {} ({} {}){}",
                r.failed,
                r.failed_status,
                version(r.failed),
                r.retried_to
                    .map_or(String::new(), |c| format!(", retried to {c}"))
            ),
            t.alarm,
        ),
        Line::raw(""),
        Line::styled("tries (nginx's upstream_addr, upstream_status):", t.muted),
    ];
    for (i, x) in r.tries.iter().enumerate() {
        // Which build served the try: the version its color runs now (said as such).
        let color = x
            .color
            .map_or("?".to_string(), |c| format!("{c} ({})", version(c)));
        let status = x.status.map_or("-".to_string(), |s| s.to_string());
        let took = x
            .response_ms
            .map_or("-".to_string(), |ms| format!("{ms} ms"));
        lines.push(Line::styled(
            fmt::sanitize(&format!("{}. {} {color} {status} {took}", i + 1, x.addr)).into_owned(),
            t.text,
        ));
    }
    if let Some(ms) = r.request_ms {
        lines.push(Line::styled(format!("request time {ms} ms"), t.muted));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!("{}'s own log for this ID:", r.failed),
        t.muted,
    ));
    match &d.log {
        ColorLogState::Fetching => lines.push(Line::styled("reading the host…", t.muted)),
        ColorLogState::Unavailable(why) => {
            lines.extend(wrapped("", &fmt::sanitize(why), w, t.warn));
        }
        ColorLogState::Lines(l) if l.is_empty() => lines.push(Line::styled(
            "no line carries this request ID (in the part of the log read)",
            t.muted,
        )),
        ColorLogState::Lines(l) => {
            let from = l.len().saturating_sub(MAX_LOG_LINES);
            for x in &l[from..] {
                let lead = format!(
                    "{} {} ",
                    x.time.as_deref().unwrap_or("-"),
                    x.level.as_deref().unwrap_or("-")
                );
                let lead = fmt::sanitize(&lead).into_owned();
                lines.extend(wrapped(&lead, &fmt::sanitize(&x.message), w, t.text));
            }
        }
    }
    let keys = [(keys(state, Action::Cancel), "back")];
    Dialog {
        title: fmt::sanitize(&format!("Request {}", r.request_id)).into_owned(),
        lines,
        border: t.alarm,
        keys: key_line(&keys, t),
    }
}
