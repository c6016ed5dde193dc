//! TTFT of the selected gateway: p50/p95 per color, the halt verdict, and a chart with step marks.

use super::theme::Theme;
use super::{fmt, panel};
use crate::app::state::{Gateway, State};
use crate::guard::ttft::TtftVerdict;
use crate::model::window::Percentiles;
use crate::model::{Color, Ms};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

/// Draw the panel into `area`.
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let g = state.selected_gateway();
    // The window every figure here and the table's TTFT column are over, named: the judge's
    // verdict line and the p50/p95 figures are then read as the same two minutes.
    let subject = g.map(|g| {
        format!(
            "{} · last {} · {}",
            g.name,
            crate::ramp::format_duration(state.cfg.ttft_window_secs * 1000),
            panel::ttft_source(g, state.now)
        )
    });
    let block = panel::block("TTFT", subject.as_deref(), area.width, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(g) = g else {
        frame.render_widget(Paragraph::new(Span::styled("no gateway", t.muted)), inner);
        return;
    };
    let mut lines = figures(g, inner.width, t);
    lines.push(verdict(
        &g.verdicts.ttft,
        state.cfg.ttft_halt_pct,
        usize::from(inner.width),
        t,
    ));
    let text_h = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let [text, chart] =
        Layout::vertical([Constraint::Length(text_h), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), text);
    if chart.height > 0 {
        render_chart(frame, chart, g, state.now, t);
    }
}

/// p50 and p95 per color: a line per color when there is room, else one line per percentile.
fn figures(g: &Gateway, width: u16, t: &Theme) -> Vec<Line<'static>> {
    let s = &g.model.summary;
    let v = |p: Percentiles, f: fn(Percentiles) -> u64| {
        if p.count == 0 {
            fmt::MISSING.to_string()
        } else {
            fmt::ms(f(p))
        }
    };
    if width < 40 {
        let pair = |label: &str, f: fn(Percentiles) -> u64| {
            vec![
                Span::styled(format!("{label} "), t.muted),
                Span::styled(v(s.blue.ttft, f), t.blue),
                Span::styled("/", t.muted),
                Span::styled(v(s.green.ttft, f), t.green),
            ]
        };
        let (mut p50, p95) = (pair("p50", |p| p.p50), pair("p95", |p| p.p95));
        let one_line = p50.iter().chain(&p95).map(Span::width).sum::<usize>() < usize::from(width);
        if !one_line {
            return vec![Line::from(p50), Line::from(p95)];
        }
        p50.push(Span::raw(" "));
        p50.extend(p95);
        return vec![Line::from(p50)];
    }
    Color::BOTH
        .iter()
        .map(|&c| {
            let p = s[c].ttft;
            let style = if c == Color::Blue { t.blue } else { t.green };
            let mut line = vec![
                Span::styled(format!("{:<6}", c.name()), style),
                Span::styled("p50 ", t.muted),
                Span::styled(format!("{:<7}", v(p, |p| p.p50)), style),
                Span::styled("p95 ", t.muted),
                Span::styled(format!("{:<7}", v(p, |p| p.p95)), style),
                Span::styled(format!("n {:<5}", fmt::count(p.count)), t.muted),
            ];
            // Upstream header time from the access log: the color's own answer time, beside
            // the probe's TTFT, when there is room.
            if width >= 60 {
                line.push(Span::styled("hdr p95 ", t.muted));
                line.push(Span::styled(v(s[c].header, |p| p.p95), style));
            }
            Line::from(line)
        })
        .collect()
}

/// "+3.1 % ok", "HALT +24.6 %", "+5.2 % ? (-1.0..+11.3)" or "too few samples (b 12/20, g
/// 3/20)", with the interval and the limit when they fit.
pub(crate) fn verdict(v: &TtftVerdict, limit_pct: f64, width: usize, t: &Theme) -> Line<'static> {
    let interval = |low: f64, high: f64| {
        format!(
            " [{}..{}]",
            fmt::signed_pct(low).trim_end_matches(" %"),
            fmt::signed_pct(high)
        )
    };
    let (forms, style): (Vec<String>, Style) = match *v {
        TtftVerdict::Ok {
            delta_pct,
            low_pct,
            high_pct,
        } => {
            let short = format!("{} ok", fmt::signed_pct(delta_pct));
            (
                vec![format!("{short}{}", interval(low_pct, high_pct)), short],
                t.ok,
            )
        }
        TtftVerdict::Inconclusive {
            delta_pct,
            low_pct,
            high_pct,
        } => {
            let short = format!("{} ?", fmt::signed_pct(delta_pct));
            let long = format!("{short}{} need more", interval(low_pct, high_pct));
            (vec![long, short], t.warn)
        }
        TtftVerdict::Halt {
            delta_pct,
            low_pct,
            high_pct,
            ..
        } => {
            let short = format!("HALT {}", fmt::signed_pct(delta_pct));
            (
                vec![format!("{short}{}", interval(low_pct, high_pct)), short],
                t.alarm,
            )
        }
        TtftVerdict::ProbeFailing { color, failures } => (
            vec![
                format!("{color} probe failing ({failures} in a row)"),
                format!("{color} probe failing"),
                format!("{} FAIL", color.name().chars().next().unwrap_or('?')),
            ],
            t.alarm,
        ),
        TtftVerdict::TooFewSamples { have, need } => {
            let (b, g) = (have.blue, have.green);
            (
                vec![
                    format!("too few samples (b {b}/{need}, g {g}/{need})"),
                    format!("few: b {b}/{need} g {g}/{need}"),
                    format!("few b{b} g{g}/{need}"),
                ],
                t.warn,
            )
        }
    };
    // A pass or a halt leaves room for the limit after it; the others may take the line.
    let room = if matches!(v, TtftVerdict::Ok { .. } | TtftVerdict::Halt { .. }) {
        width / 2
    } else {
        width
    };
    let text = first_fitting(forms, room);
    let limit = format!(" (limit {limit_pct} %)");
    let mut out = vec![Span::styled(text, style)];
    if matches!(v, TtftVerdict::Ok { .. } | TtftVerdict::Halt { .. })
        && out[0].width() + fmt::width(&limit) <= width
    {
        out.push(Span::styled(limit, t.muted));
    }
    Line::from(out)
}

/// The first of `forms` (longest first) that fits in `width`, else the last (the shortest).
fn first_fitting(mut forms: Vec<String>, width: usize) -> String {
    let fits = forms.iter().position(|f| fmt::width(f) <= width);
    let last = forms.len().saturating_sub(1);
    forms.swap_remove(fits.unwrap_or(last))
}

/// Y bounds around the values, whole ms, with a little room above and below.
fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (min, max) = values.fold((f64::MAX, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if max <= 0.0 {
        return (0.0, 1.0);
    }
    let pad = ((max - min) * 0.25).max(max * 0.05).max(1.0);
    ((min - pad).max(0.0).floor(), (max + pad).ceil())
}

/// Medians per color over time, with a vertical mark at every weight change.
fn render_chart(frame: &mut Frame, area: Rect, g: &Gateway, now: Ms, t: &Theme) {
    let history = &g.model.ttft_history;
    let Some(first) = history.front() else {
        frame.render_widget(
            Paragraph::new(Span::styled("no TTFT samples yet", t.muted)),
            area,
        );
        return;
    };
    let x = |at: Ms| (at as f64 - now as f64) / 1000.0;
    let x0 = x(first.at).min(-1.0);
    let series = |c: Color| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|p| p.p50[c].map(|v| (x(p.at), v as f64)))
            .collect()
    };
    let (blue, green) = (series(Color::Blue), series(Color::Green));
    let (lo, hi) = y_range(blue.iter().chain(&green).map(|p| p.1));
    // The first read-back is where the history starts, not a step.
    let marks: Vec<(f64, f64)> = g
        .model
        .weight_history
        .iter()
        .skip(1)
        .map(|(at, _)| (x(*at), hi))
        .filter(|(mx, _)| *mx >= x0)
        .collect();
    let data = |pts, style, kind| {
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(kind)
            .style(style)
            .data(pts)
    };
    let datasets = vec![
        data(&marks, t.muted, GraphType::Bar),
        data(&blue, t.blue, GraphType::Line),
        data(&green, t.green, GraphType::Line),
    ];
    let (mut xa, mut ya) = (
        Axis::default().bounds([x0, 0.0]),
        Axis::default().bounds([lo, hi]),
    );
    if area.height >= 5 && area.width >= 30 {
        let left = format!("-{}", fmt::age(Some((-x0 * 1000.0) as Ms)));
        xa = xa.labels([left, "now".to_string()]).style(t.muted);
        ya = ya
            .labels([fmt::ms(lo as u64), fmt::ms(hi as u64)])
            .style(t.muted);
    }
    frame.render_widget(Chart::new(datasets).x_axis(xa).y_axis(ya), area);
}
