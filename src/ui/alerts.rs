//! Alarm markers of one gateway for the fleet table's last column, most urgent first.

use super::fmt::{countdown, fit, ms_short, sanitize, width};
use super::theme::Theme;
use crate::app::state::Gateway;
use crate::guard::fivexx::FivexxState;
use crate::model::{Color, HealthStatus, Ms};
use ratatui::style::Style;
use ratatui::text::Span;

/// One marker: its text, its style, and whether its text may be shortened with "…".
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// What to show, e.g. "5xx 2:41".
    pub text: String,
    /// Alarm, warn or stale style.
    pub style: Style,
    /// Free text (an error message) that may be ellipsized; markers and numbers never are.
    pub shrinkable: bool,
}

/// A marker whose text is never shortened.
fn alert(text: impl Into<String>, style: Style) -> Alert {
    Alert {
        text: text.into(),
        style,
        shrinkable: false,
    }
}

/// Every active marker of `g` at `now`, most urgent first.
pub fn of(g: &Gateway, now: Ms, t: &Theme) -> Vec<Alert> {
    let v = &g.verdicts;
    let mut out = Vec::new();
    if let Some(a) = fivexx(&v.fivexx, now, t) {
        out.push(a);
    }
    if v.ttft.halts() {
        out.push(alert("HALT", t.alarm));
    }
    if let Some(a) = page(g, t) {
        out.push(a);
    }
    if g.model.unreachable.is_some() {
        out.push(alert("UNREACH", t.alarm));
    }
    if let Some(e) = &g.last_error {
        let text = format!("ERR {}", sanitize(e));
        out.push(Alert {
            text,
            style: t.alarm,
            shrinkable: true,
        });
    }
    for l in &v.listeners {
        out.push(alert(format!("LISTEN {}", short(l.color)), t.alarm));
    }
    out.extend(warnings(g, t));
    out
}

/// Drift, skew, lock, failing checks and staleness.
fn warnings(g: &Gateway, t: &Theme) -> Vec<Alert> {
    let mut out = Vec::new();
    if let Some(w) = g.drift {
        out.push(alert(format!("DRIFT {w}"), t.warn));
    }
    if let Some(skew) = g.verdicts.clock_skew_ms {
        out.push(alert(
            format!("SKEW {}", ms_short(skew.unsigned_abs())),
            t.warn,
        ));
    }
    if let Some(holder) = &g.lock {
        let text = format!("lock {}", sanitize(holder));
        out.push(Alert {
            text,
            style: t.warn,
            shrinkable: true,
        });
    }
    let failing = g
        .model
        .health
        .as_ref()
        .filter(|h| h.status != HealthStatus::Ok && !h.failing.is_empty());
    if let Some(h) = failing {
        let names: Vec<_> = h.failing.iter().map(|f| sanitize(f)).collect();
        let text = format!("fail {}", names.join(","));
        out.push(Alert {
            text,
            style: t.warn,
            shrinkable: true,
        });
    }
    if let Some(p95) = g.verdicts.health_slow_ms {
        out.push(alert(format!("PROBE p95 {}", ms_short(p95)), t.warn));
    }
    if g.verdicts.stale {
        out.push(alert("STALE", t.warn));
    }
    out
}

/// The 5xx guard's marker: countdown to the auto-rollback, vetoed, alarm-only or firing.
fn fivexx(s: &FivexxState, now: Ms, t: &Theme) -> Option<Alert> {
    let text = match *s {
        FivexxState::Breaching { vetoed: true, .. } => "5xx vetoed".to_string(),
        FivexxState::Breaching {
            alarm_only: true,
            delta_pp,
            ..
        } => {
            format!("5xx +{}pp", super::fmt::pct_num(delta_pp))
        }
        FivexxState::Breaching { fires_at, .. } => {
            format!("5xx {}", countdown(fires_at.saturating_sub(now)))
        }
        FivexxState::Fire { .. } => "5xx ROLLBACK".to_string(),
        FivexxState::Clear | FivexxState::TooFewRequests => return None,
    };
    Some(alert(text, t.alarm))
}

/// "PAGE g", "PAGE b" or "PAGE b+g" when a color's burn is page-level.
fn page(g: &Gateway, t: &Theme) -> Option<Alert> {
    let burn = &g.verdicts.burn;
    let text = match (burn.blue.page, burn.green.page) {
        (false, false) => return None,
        (true, false) => "PAGE b",
        (false, true) => "PAGE g",
        (true, true) => "PAGE b+g",
    };
    Some(alert(text, t.alarm))
}

/// One-letter color name.
fn short(c: Color) -> &'static str {
    match c {
        Color::Blue => "b",
        Color::Green => "g",
    }
}

/// Lay markers into `max` cells; what does not fit is counted as "+N" (or "…" when even that
/// does not fit beside the first marker), never dropped silently.
pub fn fit_into(alerts: &[Alert], max: usize, more_style: Style) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut used = 0;
    for (i, a) in alerts.iter().enumerate() {
        let sep = usize::from(i > 0);
        let left_after = alerts.len() - i - 1;
        let more = format!("+{left_after}");
        let reserve = if left_after > 0 { 1 + width(&more) } else { 0 };
        let w = width(&a.text);
        if used + sep + w + reserve <= max {
            push(&mut out, &mut used, sep, a.text.clone(), a.style);
            continue;
        }
        let room = max.saturating_sub(used + sep + reserve);
        if a.shrinkable && room >= 6 {
            push(
                &mut out,
                &mut used,
                sep,
                fit(&a.text, room).into_owned(),
                a.style,
            );
            if left_after > 0 {
                push(&mut out, &mut used, 1, more, more_style);
            }
            break;
        }
        if i == 0 && w + usize::from(left_after > 0) <= max {
            push(&mut out, &mut used, 0, a.text.clone(), a.style);
            if left_after > 0 {
                out.push(Span::styled("…", more_style));
            }
            break;
        }
        let more = format!("+{}", alerts.len() - i);
        if used + sep + width(&more) <= max {
            push(&mut out, &mut used, sep, more, more_style);
        }
        break;
    }
    out
}

/// Append `text` (after a space when `sep` is 1) and count its cells.
fn push(out: &mut Vec<Span<'static>>, used: &mut usize, sep: usize, text: String, style: Style) {
    if sep > 0 {
        out.push(Span::raw(" "));
    }
    *used += sep + width(&text);
    out.push(Span::styled(text, style));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(text: &str, shrinkable: bool) -> Alert {
        Alert {
            text: text.into(),
            style: Style::default(),
            shrinkable,
        }
    }

    fn text(spans: &[Span]) -> String {
        spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn alerts_that_do_not_fit_are_counted() {
        let all = [a("5xx 2:41", false), a("HALT", false), a("PAGE g", false)];
        assert_eq!(
            text(&fit_into(&all, 40, Style::default())),
            "5xx 2:41 HALT PAGE g"
        );
        assert_eq!(text(&fit_into(&all, 13, Style::default())), "5xx 2:41 +2");
        assert_eq!(
            text(&fit_into(&all, 16, Style::default())),
            "5xx 2:41 HALT +1"
        );
        assert_eq!(text(&fit_into(&all, 9, Style::default())), "5xx 2:41…");
        assert_eq!(text(&fit_into(&all, 3, Style::default())), "+3");
    }

    #[test]
    fn error_text_is_ellipsized_not_cut() {
        let all = [a("ERR ssh: connect timed out", true)];
        assert_eq!(text(&fit_into(&all, 12, Style::default())), "ERR ssh: co…");
    }
}
