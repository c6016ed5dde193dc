//! Weights history of the selected gateway: green's weight over time as a step sparkline.

use super::theme::Theme;
use super::{fmt, panel, spans};
use crate::app::state::{Gateway, State};
use crate::model::{Color, Ms, Weights};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};
use std::collections::VecDeque;

/// Shortest time span the chart covers, so a fresh history is not stretched.
const MIN_SPAN_MS: Ms = 60_000;

/// Draw the panel into `area`.
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let g = state.selected_gateway();
    let subject = g.map(|g| format!("{} · {}", g.name, panel::host_source(g, state.now)));
    let block = panel::block("Weights", subject.as_deref(), area.width, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(g) = g else {
        frame.render_widget(Paragraph::new(Span::styled("no gateway", t.muted)), inner);
        return;
    };
    let tall = inner.height >= 5;
    let mut top = vec![summary(g, usize::from(inner.width), t)];
    if tall {
        top.push(versions(g, usize::from(inner.width), t));
    }
    if inner.height >= 8 {
        top.push(host_line(g, state, usize::from(inner.width), t));
    }
    let [text, chart, bottom] = Layout::vertical([
        Constraint::Length(u16::try_from(top.len()).unwrap_or(1)),
        Constraint::Fill(1),
        Constraint::Length(u16::from(tall)),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(top), text);
    let gutter_w = if tall { 5 } else { 0 };
    let [gutter, plot] =
        Layout::horizontal([Constraint::Length(gutter_w), Constraint::Fill(1)]).areas(chart);
    let (start, data) = steps(&g.model.weight_history, state.now, usize::from(plot.width));
    frame.render_widget(
        Sparkline::default().data(&data).max(100).style(t.green),
        plot,
    );
    if tall {
        frame.render_widget(Paragraph::new(y_labels(gutter.height, t)), gutter);
        let axis = Rect {
            x: plot.x,
            width: plot.width,
            ..bottom
        };
        frame.render_widget(
            Paragraph::new(axis_line(start, state.now, axis.width, t)),
            axis,
        );
    }
}

/// "90/10 canary", then " · 3 changes" when it fits.
fn summary(g: &Gateway, width: usize, t: &Theme) -> Line<'static> {
    let w = g.model.weights;
    let mut out = spans::weights(w, t);
    if let Some(w) = w {
        out.push(Span::styled(
            format!(" {}", w.phase_for(g.candidate).name()),
            t.text,
        ));
    }
    let n = g.model.weight_history.len().saturating_sub(1);
    let noun = if n == 1 { "change" } else { "changes" };
    let tail = format!(" · {n} {noun}");
    if out.iter().map(Span::width).sum::<usize>() + fmt::width(&tail) <= width {
        out.push(Span::styled(tail, t.muted));
    }
    Line::from(out)
}

/// Each color's version as reported by the host, e.g. "b 4f2c9e1a  g 9b7d03c2", and, when
/// the colors report them, their configuration revisions ("b 4f2c9e1a@r42  g 9b7d03c2@r43"),
/// drawn as an alarm while they do not match (preflight parity holds green).
fn versions(g: &Gateway, width: usize, t: &Theme) -> Line<'static> {
    let each = width.saturating_sub(6) / 2;
    let host = g.model.host.as_ref();
    let revisions = host.and_then(|h| h.revisions.as_deref());
    let parity = crate::guard::revision::judge(revisions).0;
    let v = |c: Color| {
        let s = host
            .and_then(|h| h.versions[c].as_deref())
            .unwrap_or(fmt::MISSING);
        let s = match revisions {
            Some(r) => format!("{s}@{}", r.of[c].as_deref().unwrap_or(fmt::MISSING)),
            None => s.to_string(),
        };
        fmt::fit(&fmt::sanitize(&s), each).into_owned()
    };
    let style = |c: Style| {
        if parity == crate::guard::verdict::Judgement::Fail {
            t.alarm
        } else {
            c
        }
    };
    Line::from(vec![
        Span::styled("b ", t.muted),
        Span::styled(v(Color::Blue), style(t.blue)),
        Span::styled("  g ", t.muted),
        Span::styled(v(Color::Green), style(t.green)),
    ])
}

/// What the host says of nginx and the health probe, and the preflight's word, e.g.
/// "nginx 2w 14 act 9 wr · probe p95 12ms · preflight ok". A preflight that does not pass
/// comes first ("preflight FAIL · nginx ..."), so that a narrow panel never cuts it.
fn host_line(g: &Gateway, state: &State, width: usize, t: &Theme) -> Line<'static> {
    use crate::guard::verdict::Judgement;
    let (judgement, _) = crate::guard::preflight::judge(
        g.model.preflight.as_ref(),
        state.now,
        state.cfg.preflight_max_age_secs * 1000,
    );
    let h = g.model.host.as_ref();
    let workers = h
        .and_then(|h| h.nginx_workers)
        .map_or(fmt::MISSING.to_string(), |n| format!("{n}w"));
    let mut text = format!("nginx {workers}");
    if let Some(n) = h.and_then(|h| h.nginx) {
        text.push_str(&format!(" {} act {} wr", n.active, n.writing));
    }
    if let Some(p) = g.model.health_p95_ms {
        text.push_str(&format!(" · probe p95 {p}ms"));
    }
    let first = match judgement {
        Judgement::Pass => {
            // Said when it fits: a pass is the quiet case.
            if fmt::width(&text) + 15 <= width {
                text.push_str(" · preflight ok");
            }
            return Line::styled(fmt::fit(&text, width).into_owned(), t.muted);
        }
        Judgement::Inconclusive => Span::styled("preflight ? ", t.warn),
        Judgement::Fail => Span::styled("preflight FAIL ", t.alarm),
    };
    let rest = width.saturating_sub(first.width());
    Line::from(vec![
        first,
        Span::styled(
            format!("· {}", fmt::fit(&text, rest.saturating_sub(2))),
            t.muted,
        ),
    ])
}

/// "100" at the top of the gutter, "0" at the bottom: the sparkline's scale in percent.
fn y_labels(height: u16, t: &Theme) -> Vec<Line<'static>> {
    let h = usize::from(height);
    (0..h)
        .map(|row| match row {
            0 => Line::styled("100%", t.muted),
            r if r + 1 == h => Line::styled("  0%", t.muted),
            _ => Line::raw(""),
        })
        .collect()
}

/// Green's weight sampled at `cols` evenly spaced times up to `now`, and the first time.
fn steps(history: &VecDeque<(Ms, Weights)>, now: Ms, cols: usize) -> (Ms, Vec<u64>) {
    let first = history.front().map_or(now, |(at, _)| *at);
    let start = first.min(now.saturating_sub(MIN_SPAN_MS));
    let span = now.saturating_sub(start).max(1);
    let data = (0..cols)
        .map(|c| {
            let at = start + span * (c as Ms + 1) / cols.max(1) as Ms;
            let w = history.iter().take_while(|(t, _)| *t <= at).last();
            w.map_or(0, |(_, w)| u64::from(w.green))
        })
        .collect();
    (start, data)
}

/// "-5m" on the left, "now" on the right.
fn axis_line(start: Ms, now: Ms, width: u16, t: &Theme) -> Line<'static> {
    let left = format!("-{}", fmt::age(Some(now.saturating_sub(start))));
    let pad = usize::from(width).saturating_sub(left.len() + 3);
    Line::styled(format!("{left}{}now", " ".repeat(pad)), t.muted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_hold_the_last_weight() {
        let w = |g| Weights::with_green(g).unwrap();
        let h: VecDeque<_> = [(0, w(0)), (60_000, w(10)), (90_000, w(20))].into();
        let (start, data) = steps(&h, 120_000, 4);
        assert_eq!(start, 0);
        assert_eq!(data, vec![0, 10, 20, 20]);
    }
}
