//! The cells of one gateway's row in the fleet table, and the table's columns.

use super::Density;
use super::fmt::{self, MISSING};
use super::theme::Theme;
use crate::app::plan::OpKind;
use crate::app::state::{Draining, Gateway};
use crate::guard::drain::DrainStatus;
use crate::guard::fivexx::FivexxState;
use crate::model::{Color, ColorSummary, HealthStatus, Ms, PerColor, Weights};
use ratatui::style::Style;

/// A column of the fleet table (the alerts column is separate: it takes what is left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    /// Scope-member and pinned-row marker.
    Marker,
    /// Gateway name.
    Name,
    /// Weights bar.
    Bar,
    /// Weights as "90/10".
    Weights,
    /// Phase or the operation under way.
    Phase,
    /// Health probe verdict.
    Health,
    /// Requests per second, both colors.
    Rps,
    /// 5xx ratio per color, percent.
    Fivexx,
    /// p95 TTFT per color.
    Ttft,
    /// Established connections per color.
    Conns,
    /// Each color's version (short), or `off` when stopped.
    Versions,
    /// Age of the newest data.
    Age,
}

impl Col {
    /// Every column, left to right.
    pub(crate) const ALL: [Col; 12] = [
        Col::Marker,
        Col::Name,
        Col::Bar,
        Col::Weights,
        Col::Phase,
        Col::Health,
        Col::Rps,
        Col::Fivexx,
        Col::Ttft,
        Col::Conns,
        Col::Versions,
        Col::Age,
    ];

    /// Column heading at density `d`.
    pub(crate) fn header(self, d: Density) -> &'static str {
        let narrow = d == Density::Narrow;
        match self {
            Col::Marker => "",
            Col::Name if narrow => "gw",
            Col::Name => "gateway",
            Col::Bar if narrow => "",
            Col::Bar => "weights",
            Col::Weights => "b/g",
            Col::Phase => "phase",
            Col::Health if narrow => "hlth",
            Col::Health => "health",
            Col::Rps if narrow => "rps",
            Col::Rps => "req/s",
            Col::Fivexx if narrow => "5xx%",
            Col::Fivexx => "5xx% b/g",
            Col::Ttft if narrow => "ttft",
            Col::Ttft => "ttft p95",
            Col::Conns if narrow => "conn",
            Col::Conns => "conns b/g",
            Col::Versions if narrow => "ver",
            Col::Versions => "version b/g",
            Col::Age => "age",
        }
    }

    /// Cells the column keeps whatever it shows now, so that a row that starts an operation
    /// (`stepping…`) or reads back a weight does not shift the columns right of it.
    pub(crate) fn steady_width(self, d: Density) -> usize {
        match (self, d) {
            (_, Density::Narrow) => 0,
            // "complete→g", "stepping…", "rollback…", "drain 120s".
            (Col::Phase, _) => 10,
            // "100/0".
            (Col::Weights, _) => 5,
            // "9.9k".
            (Col::Rps, _) => 5,
            // "59s", "9m".
            (Col::Age, _) => 3,
            _ => 0,
        }
    }

    /// Order in which columns give way on a narrow screen (0: never).
    pub(crate) fn drop_rank(self) -> u8 {
        match self {
            Col::Versions => 5,
            Col::Bar => 4,
            Col::Conns => 3,
            Col::Age => 2,
            Col::Health => 1,
            _ => 0,
        }
    }
}

/// Horizontal alignment of a text cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// Left.
    Left,
    /// Right (numbers).
    Right,
}

/// One cell's content before widths are known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Plain text.
    Text(String, Style, Align),
    /// A blue/green pair drawn as "b/g" with the slash aligned.
    Pair((String, Style), (String, Style)),
    /// The weights bar (drawn as wide as its column); a style here replaces blue and green.
    Bar(Option<Weights>, Option<Style>),
}

/// What a row needs to know besides the gateway.
pub(crate) struct RowCtx<'a> {
    /// Active theme.
    pub(crate) theme: &'a Theme,
    /// Session clock.
    pub(crate) now: Ms,
    /// Widest a name may be before it is ellipsized.
    pub(crate) max_name: usize,
}

/// Marks the first column of a row carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Marks {
    /// In the current scope: keys act on it ("▸").
    pub(crate) member: bool,
    /// Shown only because it is alarmed: the filter does not match it ([`PIN`]).
    pub(crate) pinned: bool,
}

/// Marker of a row the filter does not match, kept in view because it is alarmed.
pub(crate) const PIN: &str = "*";

/// The cells of `g`'s row, one per column in `cols`.
pub(crate) fn cells(g: &Gateway, marks: Marks, cols: &[Col], cx: &RowCtx) -> Vec<Cell> {
    let t = cx.theme;
    let stale = g.verdicts.stale;
    let st = |s: Style| if stale { t.stale } else { s };
    cols.iter().map(|&c| cell(c, g, marks, cx, &st)).collect()
}

/// The marker column: "▸" for a scope member, then [`PIN`] for a pinned row.
fn marker(marks: Marks, t: &Theme) -> Cell {
    let member = if marks.member { "▸" } else { " " };
    if marks.pinned {
        Cell::Text(format!("{member}{PIN}"), t.warn, Align::Left)
    } else {
        Cell::Text(member.into(), t.accent, Align::Left)
    }
}

/// The cell of column `c`; `st` swaps in the stale style for a stale row.
fn cell(c: Col, g: &Gateway, marks: Marks, cx: &RowCtx, st: &dyn Fn(Style) -> Style) -> Cell {
    let t = cx.theme;
    let m = &g.model;
    let text = |s: String, style: Style| Cell::Text(s, st(style), Align::Left);
    let num = |s: String| Cell::Text(s, st(t.text), Align::Right);
    match c {
        Col::Marker => marker(marks, t),
        Col::Name => text(fmt::fit(&g.name, cx.max_name).into_owned(), t.text),
        Col::Bar => Cell::Bar(m.weights, g.verdicts.stale.then_some(t.stale)),
        Col::Weights => match m.weights {
            Some(w) => Cell::Pair(
                (w.blue.to_string(), st(t.blue)),
                (w.green.to_string(), st(t.green)),
            ),
            None => text(MISSING.into(), t.muted),
        },
        Col::Phase => {
            let (s, style) = phase(g, t);
            text(s, style)
        }
        Col::Health => {
            let (s, style) = health(m.health_status(), t);
            text(s.into(), style)
        }
        Col::Rps => num(rps(&m.summary)),
        Col::Fivexx => {
            let alarm = matches!(
                g.verdicts.fivexx,
                FivexxState::Breaching { .. } | FivexxState::Fire { .. }
            );
            pair(
                |c| fmt::pct_short(m.summary[c].ratio_window.ratio()),
                alarm,
                t,
                st,
            )
        }
        Col::Ttft => {
            let v = |c: Color| {
                let p = m.summary[c].ttft;
                if p.count == 0 {
                    MISSING.into()
                } else {
                    fmt::ms_short(p.p95)
                }
            };
            pair(v, g.verdicts.ttft.halts(), t, st)
        }
        Col::Conns => {
            let v = |c: Color| {
                m.host
                    .as_ref()
                    .map_or_else(|| MISSING.into(), |h| fmt::count(u64::from(h.conns[c])))
            };
            pair(v, false, t, st)
        }
        Col::Versions => {
            let v = |c: Color| match m.host.as_ref() {
                None => MISSING.to_string(),
                Some(h) if !h.running[c] => "off".to_string(),
                Some(h) => h.versions[c].as_deref().map_or_else(
                    || MISSING.to_string(),
                    |v| fmt::fit(v, VERSION_CHARS).into_owned(),
                ),
            };
            pair(v, false, t, st)
        }
        Col::Age => num(fmt::age(m.age(cx.now))),
    }
}

/// Cells of a version in a row (a short git SHA and "…"); the describe view has it whole.
const VERSION_CHARS: usize = 8;

/// A blue/green pair; with `alarm`, green's value is drawn in the alarm style.
fn pair(v: impl Fn(Color) -> String, alarm: bool, t: &Theme, st: &dyn Fn(Style) -> Style) -> Cell {
    let green = if alarm { t.alarm } else { t.green };
    Cell::Pair((v(Color::Blue), st(t.blue)), (v(Color::Green), st(green)))
}

/// Requests per second of both colors together.
fn rps(s: &PerColor<ColorSummary>) -> String {
    let total = match (s.blue.rps, s.green.rps) {
        (None, None) => None,
        (b, g) => Some(b.unwrap_or(0.0) + g.unwrap_or(0.0)),
    };
    fmt::rps(total)
}

/// Health as a short word: ok, DEG, DOWN or ?.
pub(crate) fn health(h: HealthStatus, t: &Theme) -> (&'static str, Style) {
    match h {
        HealthStatus::Ok => ("ok", t.ok),
        HealthStatus::Degraded => ("DEG", t.warn),
        HealthStatus::Down => ("DOWN", t.alarm),
        HealthStatus::Unknown => ("?", t.muted),
    }
}

/// The operation under way, the drain, or the phase the weights stand for with the
/// candidate's initial (`ramp→g`: green is being introduced).
pub(crate) fn phase(g: &Gateway, t: &Theme) -> (String, Style) {
    if let Some(op) = &g.op {
        let s = match op.kind {
            OpKind::SetWeights { .. } => "stepping…",
            OpKind::Rollback { .. } => "rollback…",
            OpKind::Stop { .. } => "stopping…",
            OpKind::Start { .. } => "starting…",
            OpKind::Restart { .. } => "restarting…",
        };
        return (s.into(), t.accent);
    }
    if let Some(d) = &g.drain {
        return drain(d, t);
    }
    match g.model.weights {
        Some(w) => (
            format!(
                "{}→{}",
                w.phase_for(g.candidate).name(),
                &g.candidate.name()[..1]
            ),
            t.text,
        ),
        None => (MISSING.into(), t.muted),
    }
}

/// "drain 42s" while waiting, "drained" when idle, "drain t/o" when the window passed.
fn drain(d: &Draining, t: &Theme) -> (String, Style) {
    match d.status {
        DrainStatus::Waiting { remaining_ms, .. } => {
            (format!("drain {}s", remaining_ms.div_ceil(1000)), t.accent)
        }
        DrainStatus::Idle => ("drained".into(), t.ok),
        DrainStatus::TimedOut { .. } => ("drain t/o".into(), t.warn),
    }
}
