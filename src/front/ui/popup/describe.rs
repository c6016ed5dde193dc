//! The describe view (`i`, `:describe`): everything the cockpit knows about one gateway, in
//! one place: every guardrail verdict with its sentence (failing first), the last
//! operations, the lock holder and since when, versions and revisions, and the age of each
//! source of data.

use super::{Dialog, key_line, keys, wrapped};
use crate::app::action::Action;
use crate::app::rules;
use crate::app::state::State;
use crate::front::ui::fmt;
use crate::front::ui::theme::Theme;
use crate::guard::verdict::Judgement;
use crate::model::{Color, Ms};
use ratatui::text::Line;

/// "1.2 s ago", "never": how old a source's newest datum is.
fn age(now: Ms, at: Option<Ms>) -> String {
    match at {
        None => "never".into(),
        Some(t) => {
            let ms = now.saturating_sub(t);
            if ms < 10_000 {
                format!("{:.1} s ago", ms as f64 / 1000.0)
            } else {
                format!("{} s ago", ms / 1000)
            }
        }
    }
}

/// The dialog for gateway `i`.
pub(super) fn dialog(i: usize, state: &State, w: usize, t: &Theme) -> Dialog {
    let Some(g) = state.gateways.get(i) else {
        return Dialog {
            title: "Describe".into(),
            lines: vec![Line::styled("no such gateway", t.muted)],
            border: t.accent,
            keys: key_line(&[(keys(state, Action::Cancel), "close")], t),
        };
    };
    let now = state.now;
    let m = &g.model;
    let mut lines = Vec::new();
    let weights = m.weights.map_or("weights unknown".into(), |w| {
        format!("{w} {}", w.phase_for(g.candidate).name())
    });
    lines.push(Line::styled(
        format!(
            "{} ({}) · candidate {}{} · {weights}",
            g.name,
            g.az,
            g.candidate,
            if g.candidate_chosen { " (chosen)" } else { "" }
        ),
        t.title,
    ));
    // Versions and revisions.
    let host = m.host.as_ref();
    let revisions = host.and_then(|h| h.revisions.as_deref());
    let color = |c: Color| {
        let state = match host.map(|h| h.running[c]) {
            Some(true) => "running",
            Some(false) => "stopped",
            None => "not sampled",
        };
        let version = host
            .and_then(|h| h.versions[c].as_deref())
            .unwrap_or("version ?");
        let rev = revisions
            .and_then(|r| r.of[c].as_deref())
            .map_or(String::new(), |r| format!(" @{r}"));
        format!("{c} {state} {version}{rev}")
    };
    lines.extend(wrapped(
        "colors     ",
        &fmt::sanitize(&format!("{} · {}", color(Color::Blue), color(Color::Green))),
        w,
        t.text,
    ));
    let lock = match (&g.lock, g.lock_since) {
        (None, _) => "none".to_string(),
        (Some(h), since) => format!(
            "held by {} (seen {})",
            if h.trim().is_empty() {
                "an unnamed holder (a bare lock directory)"
            } else {
                h.as_str()
            },
            age(now, since)
        ),
    };
    lines.extend(wrapped("lock       ", &fmt::sanitize(&lock), w, t.text));
    let probes = |c: Color| {
        let p = &m.probes[c];
        age(now, p.last_ok.max(p.last_failed))
    };
    // The traffic figures' source: the access log, or Prometheus's counters and histograms.
    let traffic = match &m.metrics {
        None => format!("access log {}", age(now, m.requests_at)),
        Some(p) => {
            let streams = |c: Color| p.streams[c].map_or("?".to_string(), |n| n.to_string());
            format!(
                "prometheus counts {} · TTFT histograms {} · streams in flight blue {}, green {}",
                age(now, p.counts_at),
                age(now, p.ttft_at.blue.max(p.ttft_at.green)),
                streams(Color::Blue),
                streams(Color::Green)
            )
        }
    };
    let ages = format!(
        "host sample {} · {traffic} · health {} · TTFT probes blue {}, green {} · preflight {}",
        age(now, m.host_at),
        age(now, m.health_at),
        probes(Color::Blue),
        probes(Color::Green),
        age(now, m.preflight.as_ref().map(|(at, _)| *at)),
    );
    lines.extend(wrapped("data       ", &ages, w, t.text));
    if let Some(p) = m.metrics.as_ref().filter(|p| !p.problems.is_empty()) {
        // What the last poll could not tell: unknown, so not judged.
        lines.extend(wrapped(
            "prometheus ",
            &fmt::sanitize(&p.problems.join("; ")),
            w,
            t.warn,
        ));
    }
    if let Some(why) = &m.unreachable {
        lines.extend(wrapped("unreachable ", &fmt::sanitize(why), w, t.alarm));
    }
    if let Some(e) = &g.last_error {
        lines.extend(wrapped("last error ", &fmt::sanitize(e), w, t.alarm));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("guardrails (failing first):", t.muted));
    let mut verdicts = rules::all_verdicts(g, &state.cfg, now);
    let rank = |j: Judgement| match j {
        Judgement::Fail => 0,
        Judgement::Inconclusive => 1,
        Judgement::Pass => 2,
    };
    verdicts.sort_by_key(|v| rank(v.verdict));
    for v in verdicts {
        let style = match v.verdict {
            Judgement::Fail => t.alarm,
            Judgement::Inconclusive => t.warn,
            Judgement::Pass => t.text,
        };
        lines.extend(wrapped("• ", &fmt::sanitize(&v.to_string()), w, style));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("last operations (newest last):", t.muted));
    if g.recent_ops.is_empty() {
        lines.push(Line::styled("  none since the cockpit started", t.muted));
    }
    for (at, what) in &g.recent_ops {
        lines.extend(wrapped(
            &format!("  {} ", age(now, Some(*at))),
            &fmt::sanitize(what),
            w,
            t.text,
        ));
    }
    if let Some(op) = &g.op {
        lines.push(Line::styled(
            format!("  now: {} ({})", op.kind, age(now, Some(op.started))),
            t.accent,
        ));
    }
    let keys = [
        ("j/k".to_string(), "next gateway"),
        (keys(state, Action::Cancel), "close"),
    ];
    Dialog {
        title: format!("Describe {}", fmt::sanitize(&g.name)),
        lines,
        border: t.accent,
        keys: key_line(&keys, t),
    }
}
