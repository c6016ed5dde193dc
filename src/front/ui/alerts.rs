//! Alarm markers of one gateway for the fleet table's last column, most urgent first, and the
//! full reason an unreachable host gave, drawn for the selected gateway at the top of the log.

use super::fmt::{countdown, fit, ms_short, sanitize, width, wrap};
use super::theme::Theme;
use crate::app::state::{Gateway, State};
use crate::guard::fivexx::FivexxState;
use crate::model::{Color, HealthStatus, Ms};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

/// One marker: its text, its style, and whether its text may be shortened with "…".
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Alert {
    /// What to show, e.g. "5xx 2:41".
    pub(crate) text: String,
    /// Alarm, warn or stale style.
    pub(crate) style: Style,
    /// Free text (an error message) that may be ellipsized; markers and numbers never are.
    pub(crate) shrinkable: bool,
    /// A word said after the marker when there is room for both (e.g. "UNREACH refused");
    /// short of room the marker stands alone, never cut.
    pub(crate) detail: Option<&'static str>,
}

impl Alert {
    /// The marker and its detail, as drawn when there is room.
    fn full(&self) -> String {
        match self.detail {
            Some(d) => format!("{} {d}", self.text),
            None => self.text.clone(),
        }
    }
}

/// A marker whose text is never shortened.
fn alert(text: impl Into<String>, style: Style) -> Alert {
    Alert {
        text: text.into(),
        style,
        shrinkable: false,
        detail: None,
    }
}

/// Every active marker of `g` at `now`, most urgent first.
pub(crate) fn of(g: &Gateway, now: Ms, t: &Theme) -> Vec<Alert> {
    let v = &g.verdicts;
    let mut out = Vec::new();
    let unreachable = g.model.unreachable.as_deref().map(Unreachable::of);
    // A changed host key may be someone in the middle: it comes first and stands out.
    if let Some(u @ Unreachable::HostKey(_)) = unreachable {
        out.push(u.alert(t));
    }
    if let Some(a) = fivexx(&v.fivexx, now, t) {
        out.push(a);
    }
    if v.ttft.halts() {
        out.push(alert("HALT", t.alarm));
    }
    if let Some(a) = page(g, t) {
        out.push(a);
    }
    if let Some(u @ Unreachable::Other(_)) = unreachable {
        out.push(u.alert(t));
    }
    if let Some(e) = &g.last_error {
        let text = format!("ERR {}", sanitize(e));
        out.push(Alert {
            text,
            style: t.alarm,
            shrinkable: true,
            detail: None,
        });
    }
    for l in &v.listeners {
        out.push(alert(format!("LISTEN {}", short(l.color)), t.alarm));
    }
    out.extend(warnings(g, t));
    out
}

/// Why a host is unreachable, told apart for the marker: its host key, or anything else;
/// each with a short reason when one is recognised in the full one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unreachable {
    /// ssh refused the host's key (changed, or not in known_hosts).
    HostKey(Option<&'static str>),
    /// No connection, a timeout, a failed sampler...
    Other(Option<&'static str>),
}

impl Unreachable {
    /// Sort a reason (ssh's words inside ours, see `remote::SshError`).
    fn of(reason: &str) -> Unreachable {
        let r = reason.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| r.contains(w));
        if has(&[
            "host key verification failed",
            "remote host identification has changed",
            "host key is known for",
            "no matching host key",
        ]) {
            let why = if has(&["identification has changed"]) {
                Some("changed")
            } else if has(&["is known for"]) {
                Some("unknown")
            } else {
                None
            };
            return Unreachable::HostKey(why);
        }
        let known: [(&[&str], &'static str); 6] = [
            (&["no answer within", "timed out", "timeout"], "timeout"),
            (&["connection refused"], "refused"),
            (&["permission denied", "authentication"], "auth"),
            (&["could not resolve", "name or service not known"], "dns"),
            (&["no route to host", "network is unreachable"], "no route"),
            (
                &[
                    "connection lost",
                    "connection closed",
                    "reset by peer",
                    "broken pipe",
                ],
                "lost",
            ),
        ];
        Unreachable::Other(known.iter().find(|(w, _)| has(w)).map(|&(_, s)| s))
    }

    /// The marker: `HOSTKEY` in reversed alarm, so that it stands out among the red (and
    /// without color), or `UNREACH`; each with its short reason when there is room.
    fn alert(self, t: &Theme) -> Alert {
        let (text, style, detail) = match self {
            Unreachable::HostKey(d) => (
                "HOSTKEY",
                t.alarm.add_modifier(Modifier::REVERSED | Modifier::BOLD),
                d,
            ),
            Unreachable::Other(d) => ("UNREACH", t.alarm, d),
        };
        Alert {
            detail,
            ..alert(text, style)
        }
    }
}

/// Most rows of the log the full reason may take (it is also shortened to half the log).
const REASON_ROWS: usize = 4;

/// Over the top rows of the log panel `area` (under its border, which carries the markers):
/// the selected gateway's full unreachable reason, sanitized and wrapped, in alarm style. The
/// row's marker gives only a word; this is where the operator reads what ssh said.
pub(crate) fn render_reason(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let Some(g) = state.selected_gateway() else {
        return;
    };
    let Some(reason) = g.model.unreachable.as_deref() else {
        return;
    };
    let rows = usize::from(area.height.saturating_sub(1));
    let room = REASON_ROWS.min(rows.div_ceil(2));
    let width = usize::from(area.width);
    if room == 0 || width == 0 {
        return;
    }
    let lines = reason_lines(reason, width, room);
    let style = match Unreachable::of(reason) {
        Unreachable::HostKey(_) => t.alarm.add_modifier(Modifier::BOLD),
        Unreachable::Other(_) => t.alarm,
    };
    let at = Rect {
        y: area.y + 1,
        height: u16::try_from(lines.len()).unwrap_or(u16::MAX),
        ..area
    };
    frame.render_widget(Clear, at);
    let text: Vec<Line> = lines.into_iter().map(|l| Line::styled(l, style)).collect();
    frame.render_widget(Paragraph::new(text).style(t.text), at);
}

/// `reason` sanitized and wrapped into at most `rows` lines of `width` cells, the last one
/// ending in "…" when it had to be cut.
fn reason_lines(reason: &str, width: usize, rows: usize) -> Vec<String> {
    let clean = sanitize(reason);
    // Runs of blanks (ssh's banner pads its lines) would waste the few rows there are.
    let words: Vec<&str> = clean.split_whitespace().collect();
    let mut lines = wrap(&words.join(" "), width);
    if lines.len() > rows {
        let rest = lines.split_off(rows - 1).join(" ");
        lines.push(fit(&rest, width).into_owned());
    }
    lines
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
            detail: None,
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
            detail: None,
        });
    }
    // The first failing preflight check: a step onto the candidate is held until it clears.
    let preflight_fail = g.model.preflight.as_ref().and_then(|(_, findings)| {
        findings
            .iter()
            .find(|f| f.status == crate::model::CheckStatus::Fail)
    });
    if let Some(f) = preflight_fail {
        out.push(Alert {
            text: format!("PREFLIGHT {}", sanitize(&f.check)),
            style: t.warn,
            shrinkable: true,
            detail: None,
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
        FivexxState::Clear | FivexxState::TooFewRequests | FivexxState::Unproven { .. } => {
            return None;
        }
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
pub(crate) fn fit_into(alerts: &[Alert], max: usize, more_style: Style) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut used = 0;
    for (i, a) in alerts.iter().enumerate() {
        let sep = usize::from(i > 0);
        let left_after = alerts.len() - i - 1;
        let more = format!("+{left_after}");
        let reserve = if left_after > 0 { 1 + width(&more) } else { 0 };
        let full = a.full();
        if used + sep + width(&full) + reserve <= max {
            push(&mut out, &mut used, sep, full, a.style);
            continue;
        }
        // Short of room a marker drops its detail (the full reason is drawn elsewhere).
        let w = width(&a.text);
        if a.detail.is_some() && used + sep + w + reserve <= max {
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
            detail: None,
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
    fn a_marker_drops_its_detail_before_it_is_counted_away() {
        let unreach = Alert {
            detail: Some("refused"),
            ..a("UNREACH", false)
        };
        let all = [unreach.clone(), a("STALE", false)];
        let fits = |max| text(&fit_into(&all, max, Style::default()));
        assert_eq!(fits(40), "UNREACH refused STALE");
        assert_eq!(fits(18), "UNREACH refused +1");
        assert_eq!(fits(13), "UNREACH STALE");
        assert_eq!(fits(11), "UNREACH +1");
        assert_eq!(fits(8), "UNREACH…");
        assert_eq!(text(&fit_into(&[unreach], 7, Style::default())), "UNREACH");
    }

    #[test]
    fn reasons_are_sorted_into_host_keys_and_short_words() {
        let key = |stderr: &str| {
            crate::fleet::remote::ssh::classify("gw-b1", 255, stderr)
                .unwrap()
                .to_string()
        };
        let changed = key(
            "@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@@@@@\nHost key verification failed.\n",
        );
        assert_eq!(
            Unreachable::of(&changed),
            Unreachable::HostKey(Some("changed"))
        );
        let unknown = key(
            "No ED25519 host key is known for [127.0.1.2]:2222 and you have requested strict checking.\nHost key verification failed.\n",
        );
        assert_eq!(
            Unreachable::of(&unknown),
            Unreachable::HostKey(Some("unknown"))
        );
        assert_eq!(
            Unreachable::of("Host key verification failed."),
            Unreachable::HostKey(None)
        );
        let refused = key("ssh: connect to host 127.0.1.2 port 2222: Connection refused\n");
        assert_eq!(
            Unreachable::of(&refused),
            Unreachable::Other(Some("refused"))
        );
        let late = crate::fleet::remote::SshError::Timeout {
            dest: "gw-b1".into(),
            after: std::time::Duration::from_secs(30),
        };
        assert_eq!(
            Unreachable::of(&late.to_string()),
            Unreachable::Other(Some("timeout"))
        );
        assert_eq!(
            Unreachable::of("sampler exited 2: nope"),
            Unreachable::Other(None)
        );
    }

    #[test]
    fn a_long_reason_is_wrapped_into_the_rows_it_may_take() {
        let reason = "gw-b1: host key   verification failed (\u{1b}]0;pwned\u{7}REMOTE HOST IDENTIFICATION HAS CHANGED)";
        let lines = reason_lines(reason, 30, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| width(l) <= 30), "{lines:?}");
        assert!(lines[1].ends_with('…'), "{lines:?}");
        assert!(lines.concat().chars().all(|c| !c.is_control()), "{lines:?}");
        assert_eq!(
            reason_lines(reason, 200, 2),
            vec!["gw-b1: host key verification failed (REMOTE HOST IDENTIFICATION HAS CHANGED)"]
        );
    }

    /// The fixture fleet with gw-b1 selected and refused for a changed host key (ssh's words,
    /// a hostile escape sequence among them, through the same update as live telemetry).
    fn host_key_state() -> crate::app::state::State {
        use crate::app::msg::Msg;
        use crate::model::Telemetry;
        let mut s = crate::front::ui::fixtures::state();
        let stderr = "@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!\u{1b}]0;pwned\u{7}     @\n@@@@@@@@@@@\nHost key verification failed.\n";
        let reason = crate::fleet::remote::ssh::classify("gw-b1", 255, stderr)
            .unwrap()
            .to_string();
        let now = s.now;
        crate::app::update::update(
            &mut s,
            Msg::Telemetry {
                gateway: 2,
                data: Telemetry::Unreachable { reason },
            },
            now,
        );
        s.selected = 2;
        s
    }

    #[test]
    fn a_host_key_failure_stands_out_with_its_reason_at_80x24_and_120x40() {
        use crate::front::ui::fixtures::{draw, find_in_row, row_text};
        let s = host_key_state();
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let term = draw(&s, w, h);
            let buf = term.backend().buffer();
            let screen: Vec<String> = (0..h).map(|y| row_text(buf, y)).collect();
            let all = screen.join("\n");
            // The row: the marker first, reversed alarm.
            let row = (0..h)
                .find(|&y| row_text(buf, y).starts_with("▸gw-b1 "))
                .unwrap_or_else(|| panic!("{all}"));
            let x = find_in_row(buf, row, "HOSTKEY", 0).unwrap_or_else(|| panic!("{all}"));
            let cell = &buf[(x, row)];
            let theme = crate::front::ui::theme::Theme::default_theme();
            assert_eq!(cell.fg, theme.alarm.fg.unwrap_or_default(), "{w}x{h}");
            assert!(cell.modifier.contains(Modifier::REVERSED), "{w}x{h}");
            // The log's border names the gateway and the marker with its word.
            let border = screen
                .iter()
                .position(|l| l.starts_with(" Log "))
                .unwrap_or_else(|| panic!("{all}"));
            assert!(
                screen[border].contains("gw-b1: HOSTKEY changed"),
                "{w}x{h}:\n{all}"
            );
            // Under it, the whole reason, in as many rows as it needs.
            let below = screen[border + 1..border + 3]
                .iter()
                .map(|l| l.trim())
                .collect::<Vec<_>>()
                .join(" ");
            for words in [
                "gw-b1: host key verification failed",
                "REMOTE HOST IDENTIFICATION HAS CHANGED!",
                "refusing to connect",
            ] {
                assert!(below.contains(words), "{words:?} at {w}x{h}:\n{all}");
            }
            let y = u16::try_from(border + 1).unwrap();
            assert_eq!(buf[(0, y)].fg, theme.alarm.fg.unwrap_or_default());
            // Nothing of the escape sequence reached the screen.
            assert!(!all.contains("pwned") && !all.contains('\u{1b}'), "{all}");
            assert!(
                all.lines()
                    .all(|l| super::super::fmt::width(l) == usize::from(w)),
                "{all}"
            );
        }
        // Another gateway unreachable for another reason keeps the plain marker and its word.
        let term = draw(&s, 120, 40);
        let buf = term.backend().buffer();
        let row = (0..40)
            .find(|&y| row_text(buf, y).starts_with(" gw-c1 "))
            .unwrap();
        assert!(
            row_text(buf, row).contains("UNREACH timeout"),
            "{}",
            row_text(buf, row)
        );
    }

    #[test]
    fn error_text_is_ellipsized_not_cut() {
        let all = [a("ERR ssh: connect timed out", true)];
        assert_eq!(text(&fit_into(&all, 12, Style::default())), "ERR ssh: co…");
    }
}
