//! The fleet table: gateways grouped by AZ, scope markers, selection, alarms and stale rows.

use super::row::{self, Align, Cell, Col, Marks, PIN, RowCtx};
use super::theme::Theme;
use super::{Density, alerts, fmt, spans};
use crate::app::state::State;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// The alerts column never gets narrower than this; other columns give way first.
fn min_alerts(d: Density) -> usize {
    match d {
        Density::Narrow => 8,
        Density::Medium => 12,
        Density::Wide => 16,
    }
}
/// Cells the alerts column keeps for the versions column to be shown.
const VERSIONS_NEED_ALERTS: usize = 36;
/// Names wider than this are ellipsized.
const MAX_NAME: usize = 16;

/// Width of one column: the whole, and for blue/green pairs green's part.
#[derive(Debug, Clone, Copy, Default)]
struct Width {
    /// The whole column.
    total: usize,
    /// Green's part of a pair (blue's is `total - 1 - green`).
    green: usize,
}

/// One gateway row: its index and cells.
type RowCells = (usize, Vec<Cell>);

/// Rows the table wants: title, column heading, one per visible AZ and visible gateway, and
/// the "no gateway matches" line above rows kept only by their alarms.
pub(crate) fn wanted_height(state: &State) -> u16 {
    let gateways = (0..state.gateways.len())
        .filter(|&i| state.visible(i))
        .count();
    let azs = state
        .azs()
        .iter()
        .filter(|az| !members_of(state, az).is_empty())
        .count();
    let note = usize::from(only_pinned(state));
    u16::try_from(2 + gateways + azs + note).unwrap_or(u16::MAX)
}

/// True when the filter matches no gateway but alarmed ones are still shown.
fn only_pinned(state: &State) -> bool {
    let n = state.gateways.len();
    !state.filter.is_empty()
        && !(0..n).any(|i| state.matches(i))
        && (0..n).any(|i| state.visible(i))
}

/// Visible gateways of `az`, in display order.
fn members_of(state: &State, az: &str) -> Vec<usize> {
    (0..state.gateways.len())
        .filter(|&i| state.gateways[i].az == az && state.visible(i))
        .collect()
}

/// Draw the table into `area`.
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let d = Density::of(area.width);
    let cols = &Col::ALL;
    let rows = build_rows(state, cols, t);
    let widths: Vec<Width> = (0..cols.len())
        .map(|k| measure(cols[k], d, &rows, k))
        .collect();
    let shown = choose(cols, &widths, usize::from(area.width), min_alerts(d));
    let alerts_w = usize::from(area.width).saturating_sub(used(cols, &widths, &shown) + 1);
    let table = Table {
        cols,
        widths: &widths,
        shown: &shown,
        alerts_w,
        width: usize::from(area.width),
        t,
    };
    let (mut body, mut gateway_of, mut selected_line) =
        body_lines(state, &rows, &table, area.width);
    if only_pinned(state) {
        body.insert(0, Line::styled(empty_text(state), t.muted));
        gateway_of.insert(0, None);
        selected_line = selected_line.map(|l| l + 1);
    }
    // The list area: the block's top border and the column header take two rows.
    let inner_h = usize::from(area.height.saturating_sub(2));
    let view = scrolled(&gateway_of, selected_line, inner_h, |i| state.alarmed(i));
    let hidden = (
        view.scroll,
        body.len().saturating_sub(view.scroll + view.rows),
    );
    let block = block(state, &rows, &table, hidden, area.width, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let [head, list] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(table.header(d)), head);
    if body.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(empty_text(state), t.muted)),
            list,
        );
        return;
    }
    let end = (view.scroll + view.rows).min(body.len());
    let mut lines: Vec<Line<'static>> = view.above.iter().map(|&l| body[l].clone()).collect();
    lines.extend(body[view.scroll.min(end)..end].iter().cloned());
    lines.extend(view.below.iter().map(|&l| body[l].clone()));
    frame.render_widget(Paragraph::new(lines), list);
}

/// What the list shows: alarmed rows scrolled off above or below (their line numbers, kept
/// in view at the top and bottom), and the window of `rows` lines from `scroll` between them
/// that holds the selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scrolled {
    /// Alarmed lines above the window, pinned at the top.
    pub(crate) above: Vec<usize>,
    /// First line of the window.
    pub(crate) scroll: usize,
    /// Lines in the window.
    pub(crate) rows: usize,
    /// Alarmed lines below the window, pinned at the bottom.
    pub(crate) below: Vec<usize>,
}

/// Lay out `height` list rows over lines whose gateways are `gateway_of` (None: a heading):
/// the selected line in view, and alarmed rows that would scroll off kept in view, at most a
/// third of the height, so that an alarm is never only a count in the title.
pub(crate) fn scrolled(
    gateway_of: &[Option<usize>],
    selected: Option<usize>,
    height: usize,
    alarmed: impl Fn(usize) -> bool,
) -> Scrolled {
    let window = |rows: usize| selected.map_or(0, |l| (l + 1).saturating_sub(rows.max(1)));
    let is_alarm = |l: &usize| gateway_of[*l].is_some_and(&alarmed);
    let n = gateway_of.len();
    let mut reserve = 0;
    // Reserving rows moves the window, which may uncover or hide alarms: settle in a few rounds.
    for _ in 0..4 {
        let rows = height.saturating_sub(reserve);
        let scroll = window(rows);
        let wanted = (0..scroll.min(n)).filter(is_alarm).count()
            + ((scroll + rows).min(n)..n).filter(is_alarm).count();
        let next = wanted.min(height / 3);
        if next == reserve {
            break;
        }
        reserve = next;
    }
    let rows = height.saturating_sub(reserve);
    let scroll = window(rows);
    let above: Vec<usize> = (0..scroll.min(n)).filter(is_alarm).collect();
    let below: Vec<usize> = ((scroll + rows).min(n)..n).filter(is_alarm).collect();
    // Fewer alarms than reserved (the window moved): the window takes the rows back.
    let (above, below) = fit_pins(above, below, reserve);
    let rows = height.saturating_sub(above.len() + below.len());
    Scrolled {
        above,
        scroll: window(rows),
        rows,
        below,
    }
}

/// At most `room` pinned lines, the nearest ones first, split between above and below.
fn fit_pins(mut above: Vec<usize>, mut below: Vec<usize>, room: usize) -> (Vec<usize>, Vec<usize>) {
    while above.len() + below.len() > room {
        if above.len() >= below.len() {
            above.remove(0);
        } else {
            below.pop();
        }
    }
    (above, below)
}

/// AZ headings and gateway rows, the gateway of each line (None: a heading), and the line
/// of the selected gateway if it is shown.
fn body_lines(
    state: &State,
    rows: &[RowCells],
    table: &Table,
    width: u16,
) -> (Vec<Line<'static>>, Vec<Option<usize>>, Option<usize>) {
    let mut body = Vec::with_capacity(rows.len() * 2);
    let mut gateway_of = Vec::with_capacity(rows.len() * 2);
    let mut selected_line = None;
    for az in state.azs() {
        let members = members_of(state, az);
        if members.is_empty() {
            continue;
        }
        body.push(heading(az, members.len(), width, table.t));
        gateway_of.push(None);
        // `rows` are in display order already (sorted within each AZ).
        for (i, cells) in rows.iter().filter(|(i, _)| state.gateways[*i].az == az) {
            if *i == state.selected {
                selected_line = Some(body.len());
            }
            body.push(table.row(state, *i, cells));
            gateway_of.push(Some(*i));
        }
    }
    (body, gateway_of, selected_line)
}

/// Cells of every visible gateway.
fn build_rows(state: &State, cols: &[Col], t: &Theme) -> Vec<RowCells> {
    let members = state.scope_members();
    let cx = RowCtx {
        theme: t,
        now: state.now,
        max_name: MAX_NAME,
    };
    state
        .display_order()
        .into_iter()
        .map(|i| {
            (
                i,
                row::cells(
                    &state.gateways[i],
                    Marks {
                        member: members.contains(&i),
                        pinned: state.pinned(i),
                    },
                    cols,
                    &cx,
                ),
            )
        })
        .collect()
}

/// What to say when no row matches: no gateways at all, or none matching the filter (with
/// a word on the alarmed rows still shown, if any).
fn empty_text(state: &State) -> String {
    if state.gateways.is_empty() {
        return "no gateways configured".into();
    }
    let f = fmt::sanitize(&state.filter);
    if only_pinned(state) {
        format!("no gateway matches the filter \"{f}\"; alarmed rows stay ({PIN})")
    } else {
        format!("no gateway matches the filter \"{f}\"")
    }
}

/// Widest content of column `k` (and its heading).
fn measure(col: Col, d: Density, rows: &[RowCells], k: usize) -> Width {
    let mut total = fmt::width(col.header(d));
    let (mut b, mut g) = (0, 0);
    for (_, cells) in rows {
        match &cells[k] {
            Cell::Text(s, ..) => total = total.max(fmt::width(s)),
            Cell::Pair(bv, gv) => {
                b = b.max(fmt::width(&bv.0));
                g = g.max(fmt::width(&gv.0));
            }
            Cell::Bar(..) => total = total.max(d.bar_width()),
        }
    }
    if b + g > 0 {
        total = total.max(b + 1 + g);
    }
    Width {
        total: total.max(col.steady_width(d)),
        green: g,
    }
}

/// Cells used by the shown columns and the spaces between them.
fn used(cols: &[Col], widths: &[Width], shown: &[bool]) -> usize {
    let mut total = 0;
    let mut prev: Option<Col> = None;
    for k in (0..cols.len()).filter(|&k| shown[k]) {
        total += widths[k].total + usize::from(prev.is_some_and(|p| p != Col::Marker));
        prev = Some(cols[k]);
    }
    total
}

/// Which columns fit beside an alerts column of at least `min_alerts` cells.
fn choose(cols: &[Col], widths: &[Width], avail: usize, min_alerts: usize) -> Vec<bool> {
    let mut shown = vec![true; cols.len()];
    // The versions are extra (the weights panel and `i` have them): shown only where the
    // alerts keep room for a few whole markers.
    if let Some(k) = cols.iter().position(|&c| c == Col::Versions) {
        shown[k] = used(cols, widths, &shown) + 1 + VERSIONS_NEED_ALERTS <= avail;
    }
    while used(cols, widths, &shown) + 1 + min_alerts > avail {
        let next = (0..cols.len())
            .filter(|&k| shown[k] && cols[k].drop_rank() > 0)
            .max_by_key(|&k| cols[k].drop_rank());
        match next {
            Some(k) => shown[k] = false,
            None => break,
        }
    }
    shown
}

/// An AZ heading across the table.
fn heading(az: &str, n: usize, width: u16, t: &Theme) -> Line<'static> {
    let label = format!("{} ({n})", fmt::sanitize(az));
    let rule = usize::from(width).saturating_sub(fmt::width(&label) + 3);
    Line::from(vec![
        Span::styled("─ ", t.border),
        Span::styled(label, t.title),
        Span::styled(format!(" {}", "─".repeat(rule)), t.border),
    ])
}

/// The block with the title and, on the right, counts, filter, hidden columns and lines scrolled
/// out of view `(above, below)`.
fn block(
    state: &State,
    rows: &[RowCells],
    table: &Table,
    hidden: (usize, usize),
    width: u16,
    t: &Theme,
) -> Block<'static> {
    let mut info = if state.filter.is_empty() {
        format!("{} gateways", state.gateways.len())
    } else {
        let f = fmt::sanitize(&state.filter);
        let pinned = rows.iter().filter(|(i, _)| state.pinned(*i)).count();
        let matching = rows.len() - pinned;
        let mut s = format!("{matching}/{} match /{f}", state.gateways.len());
        if pinned > 0 {
            s.push_str(&format!(" · {pinned} pinned {PIN}"));
        }
        s
    };
    let dropped: Vec<&str> = (0..table.cols.len())
        .filter(|&k| !table.shown[k] && table.cols[k] != Col::Versions)
        .map(|k| table.cols[k].header(Density::Wide))
        .collect();
    if state.sort != crate::app::state::SortBy::Config {
        info.push_str(&format!(" · sorted by {}", state.sort.name()));
    }
    if !dropped.is_empty() {
        info.push_str(&format!(" · hidden: {}", dropped.join(",")));
    }
    if hidden.0 > 0 {
        info.push_str(&format!(" · ↑{}", hidden.0));
    }
    if hidden.1 > 0 {
        info.push_str(&format!(" · ↓{}", hidden.1));
    }
    // The fleet's summary when it fits beside the title (" Fleet " and the spaces: 10).
    let room = usize::from(width).saturating_sub(10);
    let summary = state.fleet_summary();
    if !summary.is_empty() && fmt::width(&info) + fmt::width(&summary) + 3 <= room {
        info = format!("{summary} · {info}");
    }
    let info = fmt::fit(&info, room).into_owned();
    Block::new()
        .borders(Borders::TOP)
        .border_style(t.border)
        .title(Span::styled(" Fleet ", t.title))
        .title_top(Line::styled(format!(" {info} "), t.muted).right_aligned())
}

/// Column layout shared by the heading and the rows.
struct Table<'a> {
    /// Every column, shown or not.
    cols: &'a [Col],
    /// Width of each column.
    widths: &'a [Width],
    /// Which columns fit.
    shown: &'a [bool],
    /// Cells left for the alerts column.
    alerts_w: usize,
    /// Width of the whole table, for the selection highlight.
    width: usize,
    /// Active theme.
    t: &'a Theme,
}

impl Table<'_> {
    /// Shown column indices, each with whether a space goes before it.
    fn layout(&self) -> impl Iterator<Item = (usize, bool)> + '_ {
        let mut prev: Option<Col> = None;
        (0..self.cols.len())
            .filter(|&k| self.shown[k])
            .map(move |k| {
                let gap = prev.is_some_and(|p| p != Col::Marker);
                prev = Some(self.cols[k]);
                (k, gap)
            })
    }

    /// The column headings.
    fn header(&self, d: Density) -> Line<'static> {
        let mut out = Vec::new();
        for (k, gap) in self.layout() {
            if gap {
                out.push(Span::raw(" "));
            }
            let col = self.cols[k];
            let w = self.widths[k].total;
            let right = matches!(col, Col::Rps | Col::Age);
            let f = if right { spans::right } else { spans::left };
            out.push(f(col.header(d).to_string(), w, self.t.muted));
        }
        out.push(Span::styled(" alerts", self.t.muted));
        Line::from(out)
    }

    /// One gateway's row.
    fn row(&self, state: &State, i: usize, cells: &[Cell]) -> Line<'static> {
        let t = self.t;
        let mut out = Vec::with_capacity(cells.len() * 2 + 4);
        for (k, gap) in self.layout() {
            if gap {
                out.push(Span::raw(" "));
            }
            let w = self.widths[k];
            match &cells[k] {
                Cell::Text(s, style, Align::Left) => {
                    out.push(spans::left(s.clone(), w.total, *style))
                }
                Cell::Text(s, style, Align::Right) => {
                    out.push(spans::right(s.clone(), w.total, *style))
                }
                Cell::Pair(b, g) => {
                    let bw = w.total - 1 - w.green;
                    out.extend(spans::pair(b.clone(), g.clone(), bw, w.green, t.muted));
                }
                Cell::Bar(wts, over) => out.extend(spans::bar(*wts, w.total, *over, t)),
            }
        }
        let list = alerts::of(&state.gateways[i], state.now, t);
        if !list.is_empty() {
            out.push(Span::raw(" "));
            out.extend(alerts::fit_into(&list, self.alerts_w, t.muted));
        }
        if i != state.selected {
            return Line::from(out);
        }
        // Pad so the highlight runs across the whole table.
        let used: usize = out.iter().map(Span::width).sum();
        out.push(Span::raw(" ".repeat(self.width.saturating_sub(used))));
        Line::from(out).style(t.selected)
    }
}
