//! Small styled pieces shared by the panels: weights text and bar, blue/green pairs, padding.

use super::theme::Theme;
use crate::model::Weights;
use ratatui::style::Style;
use ratatui::text::Span;

/// Glyph of blue's share in a weights bar.
pub(crate) const BAR_BLUE: &str = "▒";
/// Glyph of green's share in a weights bar.
pub(crate) const BAR_GREEN: &str = "█";

/// Cells of a `width`-cell bar given to green; a non-zero share always gets at least one cell.
pub(crate) fn green_cells(w: Weights, width: usize) -> usize {
    let exact = (usize::from(w.green) * width + 50) / 100;
    match w.green {
        0 => 0,
        100 => width,
        _ => exact.clamp(1, width.saturating_sub(1)),
    }
}

/// A weights bar: blue's share in the blue style, green's in the green style (or both in `over`).
pub(crate) fn bar(
    w: Option<Weights>,
    width: usize,
    over: Option<Style>,
    t: &Theme,
) -> [Span<'static>; 2] {
    let Some(w) = w else {
        return [
            Span::styled("·".repeat(width), over.unwrap_or(t.muted)),
            Span::raw(""),
        ];
    };
    let g = green_cells(w, width);
    [
        Span::styled(BAR_BLUE.repeat(width - g), over.unwrap_or(t.blue)),
        Span::styled(BAR_GREEN.repeat(g), over.unwrap_or(t.green)),
    ]
}

/// "90/10" with blue's number in blue and green's in green.
pub(crate) fn weights(w: Option<Weights>, t: &Theme) -> Vec<Span<'static>> {
    match w {
        None => vec![Span::styled("-", t.muted)],
        Some(w) => vec![
            Span::styled(w.blue.to_string(), t.blue),
            Span::styled("/", t.muted),
            Span::styled(w.green.to_string(), t.green),
        ],
    }
}

/// `text` right-aligned in `width` cells.
pub(crate) fn right(text: impl Into<String>, width: usize, style: Style) -> Span<'static> {
    let text = text.into();
    let pad = width.saturating_sub(super::fmt::width(&text));
    Span::styled(format!("{}{text}", " ".repeat(pad)), style)
}

/// `text` left-aligned in `width` cells.
pub(crate) fn left(text: impl Into<String>, width: usize, style: Style) -> Span<'static> {
    let text = text.into();
    let pad = width.saturating_sub(super::fmt::width(&text));
    Span::styled(format!("{text}{}", " ".repeat(pad)), style)
}

/// A blue/green pair "b/g" with the slash aligned: blue right-aligned in `bw`, green left in `gw`.
pub(crate) fn pair(
    b: (String, Style),
    g: (String, Style),
    bw: usize,
    gw: usize,
    sep: Style,
) -> [Span<'static>; 3] {
    [
        right(b.0, bw, b.1),
        Span::styled("/", sep),
        left(g.0, gw, g.1),
    ]
}

/// Key hint: the key in the accent style, then the label in the muted style.
pub(crate) fn hint(key: &str, label: &str, t: &Theme) -> [Span<'static>; 2] {
    [
        Span::styled(key.to_string(), t.accent),
        Span::styled(format!(" {label}"), t.muted),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_shows_small_shares() {
        let w = |g| Weights::with_green(g).unwrap();
        assert_eq!(green_cells(w(0), 5), 0);
        assert_eq!(green_cells(w(1), 5), 1);
        assert_eq!(green_cells(w(10), 5), 1);
        assert_eq!(green_cells(w(50), 10), 5);
        assert_eq!(green_cells(w(99), 5), 4);
        assert_eq!(green_cells(w(100), 5), 5);
    }
}
