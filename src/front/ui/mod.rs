//! Drawing: `view` borrows the state and draws one frame; it never changes state.

mod alerts;
mod burn;
mod fleet;
pub(crate) mod fmt;
mod footer;
mod header;
mod history;
mod log;
mod panel;
mod popup;
mod row;
mod spans;
pub mod theme;
mod ttft;

pub(crate) use log::use_simulated_times;

use crate::app::state::State;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use std::borrow::Cow;
use theme::{Theme, ThemeSet};

/// Smallest terminal the cockpit draws into.
pub(crate) const MIN_SIZE: (u16, u16) = (60, 16);

/// How much horizontal room the screen has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Density {
    /// Under 100 columns: short headings, a short bar.
    Narrow,
    /// 100 to 119 columns.
    Medium,
    /// 120 columns and more: long headings, a wide bar, taller charts.
    Wide,
}

impl Density {
    /// The density for a screen `width` columns wide.
    pub(crate) fn of(width: u16) -> Density {
        match width {
            0..100 => Density::Narrow,
            100..120 => Density::Medium,
            _ => Density::Wide,
        }
    }

    /// Cells of the weights bar in the fleet table.
    pub(crate) fn bar_width(self) -> usize {
        match self {
            Density::Narrow => 4,
            Density::Medium => 8,
            Density::Wide => 10,
        }
    }
}

/// The panel areas of one frame.
struct Areas {
    header: Rect,
    fleet: Rect,
    history: Rect,
    burn: Rect,
    ttft: Rect,
    log: Rect,
    footer: Rect,
}

/// Split `area`: header, fleet table, a row of three charts, the log and the footer.
fn areas(area: Rect, state: &State) -> Areas {
    let body = area.height.saturating_sub(2);
    let fleet_h = fleet::wanted_height(state)
        .min(body.saturating_sub(6 + 3))
        .max(3)
        .min(body);
    let rest = body - fleet_h;
    let panels_h = share(rest, 55).clamp(6, 16).min(rest);
    let [header, fleet, panels, log, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(fleet_h),
        Constraint::Length(panels_h),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let hw = share(area.width, 27).max(20);
    let bw = share(area.width, 25).max(22);
    let [history, burn, ttft] = Layout::horizontal([
        Constraint::Length(hw),
        Constraint::Length(bw),
        Constraint::Fill(1),
    ])
    .areas(panels);
    Areas {
        header,
        fleet,
        history,
        burn,
        ttft,
        log,
        footer,
    }
}

/// `pct` percent of `n`, rounded down.
fn share(n: u16, pct: u32) -> u16 {
    u16::try_from(u32::from(n) * pct / 100).unwrap_or(u16::MAX)
}

/// The active theme (the first one if the index is out of range).
fn theme_of<'a>(state: &State, themes: &'a ThemeSet) -> Cow<'a, Theme> {
    let themes = &themes.themes;
    match themes.get(state.theme).or(themes.first()) {
        Some(t) => Cow::Borrowed(t),
        None => Cow::Owned(Theme::default_theme()),
    }
}

/// Draw the whole cockpit in the active theme of `themes`.
pub fn view(frame: &mut Frame, state: &State, themes: &ThemeSet) {
    let theme = theme_of(state, themes);
    let t = theme.as_ref();
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        too_small(frame, area, t);
        return;
    }
    let a = areas(area, state);
    header::render(frame, a.header, state, t);
    fleet::render(frame, a.fleet, state, t);
    history::render(frame, a.history, state, t);
    burn::render(frame, a.burn, state, t);
    ttft::render(frame, a.ttft, state, t);
    log::render(frame, a.log, state, t);
    footer::render(frame, a.footer, state, t);
    popup::render(frame, area, state, t);
}

/// Say how big the terminal must be instead of drawing a broken screen.
fn too_small(frame: &mut Frame, area: Rect, t: &Theme) {
    let text = format!(
        "terminal too small: {}x{}, need at least {}x{}",
        area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
    );
    let p = Paragraph::new(Line::styled(text, t.warn)).wrap(Wrap { trim: true });
    frame.render_widget(p, area);
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests;
