//! Error-budget burn per color over the current scope: 5 min and 1 h windows, PAGE when page-level.

use super::theme::Theme;
use super::{fmt, panel, spans};
use crate::app::plan::Scope;
use crate::app::state::State;
use crate::guard::GuardConfig;
use crate::guard::burn::{self, Burn};
use crate::model::window::Counts;
use crate::model::{Color, PerColor};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Width of one figure column.
const COL: usize = 6;

/// Request counts summed over the scope, per color: (short window, long window).
fn scope_counts(state: &State) -> PerColor<(Counts, Counts)> {
    let mut out = PerColor::<(Counts, Counts)>::default();
    for i in state.scope_members() {
        let s = &state.gateways[i].model.summary;
        for c in Color::BOTH {
            out[c].0 += s[c].burn_short;
            out[c].1 += s[c].burn_long;
        }
    }
    out
}

/// Short subject for the title: the gateway (with where its counts come from and their
/// age), the AZ or "fleet".
fn subject(state: &State) -> Option<String> {
    let g = state.selected_gateway()?;
    Some(match state.scope {
        Scope::Gateway => format!("{} · {}", g.name, panel::counts_source(g, state.now)),
        Scope::Az => g.az.clone(),
        Scope::Fleet => "fleet".into(),
    })
}

/// Names of the short and long burn windows ("5m", "1h") as the models are configured.
fn window_names(state: &State) -> (String, String) {
    let w = state
        .gateways
        .first()
        .map(|g| *g.model.windows())
        .unwrap_or_default();
    (
        fmt::age(Some(w.burn_short_ms)),
        fmt::age(Some(w.burn_long_ms)),
    )
}

/// Draw the panel into `area`.
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let block = panel::block("Burn", subject(state).as_deref(), area.width, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let counts = scope_counts(state);
    let (short_w, long_w) = window_names(state);
    let long_names = inner.width >= 30;
    let label_w = if long_names { 5 } else { 1 };
    let mut lines = vec![Line::from(vec![
        Span::raw(" ".repeat(label_w)),
        spans::right(short_w.clone(), COL, t.muted),
        spans::right(long_w, COL, t.muted),
    ])];
    for c in Color::BOTH {
        let b = burn::evaluate(counts[c].0, counts[c].1, &state.cfg);
        lines.push(color_line(c, b, label_w, &state.cfg, t));
    }
    if inner.height >= 6 {
        lines.extend(count_lines(&counts, &short_w, t));
    }
    if let Some(slo) = slo_line(state, usize::from(inner.width)) {
        let pad = usize::from(inner.height).saturating_sub(lines.len() + 1);
        lines.extend(std::iter::repeat_n(Line::raw(""), pad));
        lines.push(Line::styled(slo, t.muted));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The SLO and page threshold, exactly as configured, in the longest form that fits.
fn slo_line(state: &State, width: usize) -> Option<String> {
    let (slo, page) = (state.cfg.slo_pct, state.cfg.page_burn);
    [
        format!("SLO {slo}% · page at {page}x"),
        format!("SLO {slo}% page {page}x"),
        format!("slo {slo} pg {page}x"),
    ]
    .into_iter()
    .find(|s| fmt::width(s) <= width)
}

/// "g    18x    15x PAGE", or "g    18x    15x n<500" when a window holds too few requests to page.
fn color_line(c: Color, b: Burn, label_w: usize, cfg: &GuardConfig, t: &Theme) -> Line<'static> {
    let page = cfg.page_burn;
    let (name, style) = match c {
        Color::Blue => ("blue", t.blue),
        Color::Green => ("green", t.green),
    };
    let label = if label_w > 1 { name } else { &name[..1] };
    let mut out = vec![
        spans::left(label.to_string(), label_w, style),
        spans::right(fmt::burn(b.short), COL, level(b.short, page, t)),
        spans::right(fmt::burn(b.long), COL, level(b.long, page, t)),
    ];
    if b.page {
        out.push(Span::styled(" PAGE", t.alarm));
    } else if b.too_few && (b.short.is_some() || b.long.is_some()) {
        // Burn figures are shown but cannot page yet: say why, quietly.
        let min = fmt::count(cfg.burn_min_requests);
        out.push(Span::styled(format!(" n<{min}"), t.muted));
    }
    Line::from(out)
}

/// Alarm at page level, warn above 1x (budget spent faster than earned), ok below.
fn level(v: Option<f64>, page: f64, t: &Theme) -> Style {
    match v {
        None => t.muted,
        Some(v) if v >= page => t.alarm,
        Some(v) if v >= 1.0 => t.warn,
        Some(_) => t.ok,
    }
}

/// Requests and 5xx over the short window, for a taller panel.
fn count_lines(counts: &PerColor<(Counts, Counts)>, window: &str, t: &Theme) -> [Line<'static>; 2] {
    let line = |label: &str, f: fn(Counts) -> u64| {
        Line::from(vec![
            Span::styled(format!("{label} {window} "), t.muted),
            Span::styled(format!("b {}", fmt::count(f(counts.blue.0))), t.blue),
            Span::styled(format!(" g {}", fmt::count(f(counts.green.0))), t.green),
        ])
    };
    [line("req", |c| c.requests), line("5xx", |c| c.errors)]
}
