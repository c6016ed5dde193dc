//! Compact number and text formatting for the screen; numbers are never cut short.

use crate::model::Ms;
use ratatui::text::Span;
use std::borrow::Cow;

/// Shown where a value is unknown.
pub(crate) const MISSING: &str = "-";

/// Display width of `s` in terminal cells.
pub(crate) fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// `v` in at most four characters plus a unit suffix: "0.4", "950", "1.2k", "12k", "1.2M".
pub(crate) fn compact(v: f64) -> String {
    if !v.is_finite() || v < 0.0 {
        return MISSING.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let mut x = v;
    for suffix in ["", "k", "M", "G", "T"] {
        if x < 9.95 {
            return format!("{x:.1}{suffix}");
        }
        if x < 999.5 {
            return format!("{x:.0}{suffix}");
        }
        x /= 1000.0;
    }
    format!("{x:.0}P")
}

/// Requests per second: 12345 -> "12k"; unknown -> "-".
pub(crate) fn rps(v: Option<f64>) -> String {
    v.map_or_else(|| MISSING.into(), compact)
}

/// A count: 12 -> "12", 1234 -> "1.2k".
pub(crate) fn count(n: u64) -> String {
    if n < 1000 {
        n.to_string()
    } else {
        compact(n as f64)
    }
}

/// Milliseconds with a unit: 850 -> "850ms", 1234 -> "1.2s", 95000 -> "1.6m".
pub(crate) fn ms(v: u64) -> String {
    if v < 1000 {
        format!("{v}ms")
    } else {
        ms_short(v)
    }
}

/// Milliseconds for tight cells: 850 -> "850", 1234 -> "1.2s", 42000 -> "42s".
pub(crate) fn ms_short(v: u64) -> String {
    let s = v as f64 / 1000.0;
    match v {
        0..1000 => v.to_string(),
        1000..9950 => format!("{s:.1}s"),
        9950..59_500 => format!("{s:.0}s"),
        _ if s / 60.0 < 9.95 => format!("{:.1}m", s / 60.0),
        _ => format!("{:.0}m", s / 60.0),
    }
}

/// A percentage number without the sign: 0.25 -> "0.25", 2.44 -> "2.4", 12.3 -> "12".
pub(crate) fn pct_num(p: f64) -> String {
    match p {
        p if !p.is_finite() || p < 0.0 => MISSING.into(),
        0.0 => "0".into(),
        p if p < 0.005 => "<.01".into(),
        p if p < 0.995 => format!("{p:.2}"),
        p if p < 9.95 => format!("{p:.1}"),
        p => format!("{p:.0}"),
    }
}

/// A ratio in 0..=1 as a bare percentage number for table cells; unknown -> "-".
pub(crate) fn pct_short(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| MISSING.into(), |r| pct_num(r * 100.0))
}

/// A signed percentage: 3.14 -> "+3.1 %".
pub(crate) fn signed_pct(p: f64) -> String {
    format!("{p:+.1} %")
}

/// An age: 3000 -> "3s", 125000 -> "2m", unknown -> "-".
pub(crate) fn age(v: Option<Ms>) -> String {
    let Some(v) = v else {
        return MISSING.into();
    };
    let s = v / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Time left, rounded up to whole seconds: 161000 -> "2:41", 3723000 -> "1:02:03".
pub(crate) fn countdown(left: Ms) -> String {
    let s = left.div_ceil(1000);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A burn rate: 0.04 -> "0.0x", 18.2 -> "18x"; unknown -> "-".
pub(crate) fn burn(v: Option<f64>) -> String {
    v.map_or_else(|| MISSING.into(), |v| format!("{}x", compact(v)))
}

/// True for characters that must not reach the terminal from remote text.
/// `s` safe to draw: borrowed when already clean, else cleaned by the crate's remote-text
/// sanitizer (escape sequences removed whole, other controls turned into spaces) and trimmed.
pub(crate) fn sanitize(s: &str) -> Cow<'_, str> {
    if !crate::sanitize::is_clean(s) {
        Cow::Owned(crate::sanitize::sanitize(s).trim().to_string())
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` fitted into `max` cells, ending in "…" when it had to be shortened (text only, never numbers).
pub(crate) fn fit(s: &str, max: usize) -> Cow<'_, str> {
    if width(s) <= max {
        return Cow::Borrowed(s);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut out = String::new();
    let mut used = 0;
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let w = width(c.encode_utf8(&mut buf));
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    Cow::Owned(out)
}

/// Greedy word wrap of `s` into lines of at most `max` cells (long words are split).
pub(crate) fn wrap(s: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in s.split(' ') {
        let sep = usize::from(!cur.is_empty());
        if !cur.is_empty() && width(&cur) + sep + width(word) > max {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
        while width(&cur) > max {
            let cut = split_at_width(&cur, max);
            let rest = cur.split_off(cut);
            lines.push(std::mem::replace(&mut cur, rest));
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Byte index where the first `max` cells of `s` end (at least one character).
fn split_at_width(s: &str, max: usize) -> usize {
    let mut used = 0;
    let mut buf = [0u8; 4];
    for (i, c) in s.char_indices() {
        used += width(c.encode_utf8(&mut buf));
        if used > max {
            return i.max(c.len_utf8());
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compact() {
        assert_eq!(rps(Some(12345.0)), "12k");
        assert_eq!(rps(Some(1234.0)), "1.2k");
        assert_eq!(rps(Some(999.4)), "999");
        assert_eq!(rps(Some(999.6)), "1.0k");
        assert_eq!(rps(Some(9.96)), "10");
        assert_eq!(rps(Some(0.4)), "0.4");
        assert_eq!(rps(Some(0.0)), "0");
        assert_eq!(rps(None), "-");
        assert_eq!(rps(Some(2.5e6)), "2.5M");
        assert_eq!(count(12), "12");
        assert_eq!(count(1234), "1.2k");
    }

    #[test]
    fn durations() {
        assert_eq!(ms(1234), "1.2s");
        assert_eq!(ms(850), "850ms");
        assert_eq!(ms_short(850), "850");
        assert_eq!(ms_short(9_960), "10s");
        assert_eq!(ms_short(42_000), "42s");
        assert_eq!(ms_short(95_000), "1.6m");
        assert_eq!(age(Some(3000)), "3s");
        assert_eq!(age(Some(125_000)), "2m");
        assert_eq!(age(None), "-");
        assert_eq!(countdown(161_000), "2:41");
        assert_eq!(countdown(160_001), "2:41");
        assert_eq!(countdown(3_723_000), "1:02:03");
    }

    #[test]
    fn percentages_and_burn() {
        assert_eq!(pct_short(Some(0.0025)), "0.25");
        assert_eq!(pct_short(Some(0.0244)), "2.4");
        assert_eq!(pct_short(Some(1.0)), "100");
        assert_eq!(pct_short(Some(0.00001)), "<.01");
        assert_eq!(pct_short(None), "-");
        assert_eq!(pct_short(Some(0.0)), "0");
        assert_eq!(signed_pct(3.06), "+3.1 %");
        assert_eq!(signed_pct(-2.0), "-2.0 %");
        assert_eq!(burn(Some(18.2)), "18x");
        assert_eq!(burn(Some(0.04)), "0.0x");
        assert_eq!(burn(None), "-");
    }

    #[test]
    fn text_is_sanitized_fitted_and_wrapped() {
        assert_eq!(sanitize("ok"), Cow::Borrowed("ok"));
        assert_eq!(sanitize("a\x1b[31mb\u{202e}c\u{7}"), "ab c");
        assert!(!sanitize("x\ty\nz\r").chars().any(char::is_control));
        assert_eq!(fit("gateway-long", 8), "gateway…");
        assert_eq!(fit("short", 8), "short");
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), vec![""]);
    }
}
