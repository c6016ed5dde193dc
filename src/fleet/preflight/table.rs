//! The check table for a terminal: a summary line first, then failing rows, warnings, and
//! what passed; columns sized to the names, reasons wrapped (never cut: they name files and
//! lines) so that it fits `width` columns (80 for 3 gateways). Past a few gateways the rows
//! that pass are folded into one line per check, so 50 gateways stay readable. Pure.

use super::{Row, Status};
use serde::Serialize;

/// More gateways than this fold their passing rows, one line per check.
pub(crate) const FOLD_OVER: usize = 5;

/// Counts of one check run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub(crate) struct Summary {
    /// Gateways checked.
    pub(crate) gateways: usize,
    /// Rows that hold.
    pub(crate) ok: usize,
    /// Warnings.
    pub(crate) warn: usize,
    /// Failures.
    pub(crate) fail: usize,
}

/// Count `rows` of `gateways` gateways.
pub(crate) fn summary(rows: &[Row], gateways: usize) -> Summary {
    let n = |s: Status| rows.iter().filter(|r| r.status == s).count();
    Summary {
        gateways,
        ok: n(Status::Ok),
        warn: n(Status::Warn) + n(Status::Unknown),
        fail: n(Status::Fail),
    }
}

/// The summary line.
pub(crate) fn summary_line(s: &Summary) -> String {
    let verdict = if s.fail > 0 {
        "FAIL"
    } else if s.warn > 0 {
        "warn"
    } else {
        "ok"
    };
    format!(
        "check {verdict}: {} gateways, {} FAIL, {} warn, {} ok",
        s.gateways, s.fail, s.warn, s.ok
    )
}

/// Words of `text` in lines of at most `width` characters (a longer word gets its own line,
/// cut at `width`).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: String = word.to_string();
        while word.chars().count() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // Paths break after a `/` (or `:`) where one fits, else at the width.
            let chars: Vec<char> = word.chars().collect();
            let cut = (1..width)
                .rev()
                .find(|&k| matches!(chars[k - 1], '/' | ':'))
                .unwrap_or(width);
            lines.push(chars[..cut].iter().collect());
            word = chars[cut..].iter().collect();
        }
        let need = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if need > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Cut `s` to `n` characters (names only; reasons wrap).
fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The table for `rows` of `gateways` gateways, at most `width` columns wide.
pub(crate) fn render(rows: &[Row], gateways: usize, width: usize) -> String {
    let mut out = summary_line(&summary(rows, gateways));
    out.push('\n');
    let fold = gateways > FOLD_OVER;
    let mut shown: Vec<Row> = Vec::new();
    for s in [Status::Fail, Status::Unknown, Status::Warn] {
        shown.extend(rows.iter().filter(|r| r.status == s).cloned());
    }
    let oks: Vec<&Row> = rows.iter().filter(|r| r.status == Status::Ok).collect();
    if fold {
        let mut checks: Vec<&str> = Vec::new();
        for r in &oks {
            if !checks.contains(&r.check.as_str()) {
                checks.push(&r.check);
            }
        }
        for check in checks {
            let n = oks.iter().filter(|r| r.check == check).count();
            let reason = if n == gateways {
                format!("ok on all {gateways} gateways")
            } else {
                format!("ok on {n} of {gateways} gateways")
            };
            shown.push(Row::new("*", check, Status::Ok, reason));
        }
    } else {
        shown.extend(oks.into_iter().cloned());
    }
    let gw_w = shown
        .iter()
        .map(|r| r.gateway.chars().count())
        .max()
        .unwrap_or(7)
        .clamp(7, 16);
    let ck_w = shown
        .iter()
        .map(|r| r.check.chars().count())
        .max()
        .unwrap_or(5)
        .clamp(5, 16);
    let lead = gw_w + 2 + ck_w + 2 + 6 + 2;
    let reason_w = width.saturating_sub(lead).max(20);
    out.push_str(format!("{:<gw_w$}  {:<ck_w$}  RESULT  REASON", "GATEWAY", "CHECK").trim_end());
    out.push('\n');
    for r in &shown {
        let lines = wrap(&r.reason, reason_w);
        for (k, l) in lines.iter().enumerate() {
            let line = if k == 0 {
                format!(
                    "{:<gw_w$}  {:<ck_w$}  {:<6}  {l}",
                    fit(&r.gateway, gw_w),
                    fit(&r.check, ck_w),
                    r.status.word()
                )
            } else {
                format!("{:lead$}{l}", "")
            };
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(gateways: usize) -> Vec<Row> {
        let mut out = Vec::new();
        for g in 0..gateways {
            let name = format!("gw-{}{}", ['a', 'b', 'c'][g % 3], g / 3 + 1);
            out.push(Row::new(
                &name,
                "ssh",
                Status::Ok,
                "connected, host key known",
            ));
            out.push(Row::new(
                &name,
                "nginx buffering",
                if g == 1 { Status::Fail } else { Status::Ok },
                "location = /v1/chat/completions (/tmp/cutover-test-123-preflight/lab/hosts/gw-b1/nginx/conf/gateway.conf:9) has no proxy_buffering off (nginx buffers by default): streams stall while buffers fill; add `proxy_buffering off;`",
            ));
            out.push(Row::new(
                &name,
                "revision",
                if g == 2 { Status::Warn } else { Status::Ok },
                "blue and green run r42",
            ));
        }
        out
    }

    #[test]
    fn three_gateways_fit_80_columns_failures_first() {
        let text = render(&rows(3), 3, 80);
        for l in text.lines() {
            assert!(l.chars().count() <= 80, "{} wide: {l}", l.chars().count());
        }
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "check FAIL: 3 gateways, 1 FAIL, 1 warn, 7 ok");
        assert!(lines[1].starts_with("GATEWAY"));
        assert!(
            lines[2].starts_with("gw-b1    nginx buffering  FAIL"),
            "{text}"
        );
        // The reason wraps, whole: the file and line survive.
        assert!(text.contains("gateway.conf:9)"), "{text}");
        let warn = lines.iter().position(|l| l.contains(" warn ")).unwrap();
        let first_ok = lines.iter().position(|l| l.contains(" ok ")).unwrap();
        assert!(warn < first_ok, "{text}");
    }

    #[test]
    fn fifty_gateways_fold_what_passes() {
        let text = render(&rows(50), 50, 80);
        let lines: Vec<&str> = text.lines().collect();
        // Summary, header, one failure (wrapped), one warning, three folded ok lines.
        assert!(lines.len() < 20, "{text}");
        assert!(
            text.contains("*        ssh              ok      ok on all 50 gateways"),
            "{text}"
        );
        assert!(text.contains("ok on 49 of 50 gateways"), "{text}");
        for l in &lines {
            assert!(l.chars().count() <= 80, "{l}");
        }
    }

    #[test]
    fn wrapping_keeps_every_word() {
        assert_eq!(wrap("a bb ccc dddd", 8), ["a bb ccc", "dddd"]);
        assert_eq!(wrap("", 10), [""]);
        let long = "x".repeat(25);
        assert_eq!(wrap(&long, 10).concat(), long);
        assert_eq!(
            wrap("(/tmp/lab/hosts/gw-a1/gateway.conf:16)", 20),
            ["(/tmp/lab/hosts/", "gw-a1/gateway.conf:", "16)"]
        );
    }
}
