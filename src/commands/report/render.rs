//! A [`Report`] as an 80-column table or as one JSON object. Pure: strings in, string out.
//!
//! Nothing from a log line's content is printed: only counts, times worked out from `$msec`,
//! fixed error reasons, and names and paths that were sanitized when the report was made.

use std::fmt::Write as _;

use serde::Serialize;

use super::{
    Attribution, FileReport, Malformed, Minute, MinuteColor, Report, SLOTS, Summary, percentiles,
};
use crate::fleet::audit::rfc3339;
use crate::nginx::accesslog::ColorStats;
use crate::sanitize::sanitize;

/// The figures of one color shown in a row or a JSON object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Figures {
    /// Requests counted.
    pub(crate) requests: u64,
    /// Of which 500..=599.
    pub(crate) errors_5xx: u64,
    /// `errors_5xx / requests`; `None` without requests.
    pub(crate) ratio_5xx: Option<f64>,
    /// Request time p50, p95, p99 in ms; `None` without requests.
    pub(crate) percentiles: Option<[u64; 3]>,
    /// Upstream header time p95 in ms; `None` without header times (and per minute).
    pub(crate) header_p95: Option<u64>,
}

fn ratio(errors: u64, requests: u64) -> Option<f64> {
    // Counts far below 2^53: the conversion is exact.
    (requests > 0).then(|| errors as f64 / requests as f64)
}

impl Figures {
    /// The figures of a whole file's (or the fleet's) color.
    pub(crate) fn of_stats(s: &ColorStats) -> Self {
        Figures {
            requests: s.requests,
            errors_5xx: s.errors_5xx,
            ratio_5xx: ratio(s.errors_5xx, s.requests),
            percentiles: percentiles(&s.request_ms),
            header_p95: percentiles(&s.header_ms).map(|p| p[1]),
        }
    }

    /// The figures of one color in one minute (no header time is kept per minute).
    pub(crate) fn of_minute(m: &MinuteColor) -> Self {
        Figures {
            requests: m.requests,
            errors_5xx: m.errors_5xx,
            ratio_5xx: ratio(m.errors_5xx, m.requests),
            percentiles: m.percentiles(),
            header_p95: None,
        }
    }
}

/// A minute as RFC 3339 UTC, `2026-11-22T01:00:00Z`.
pub(crate) fn minute_rfc3339(m: &Minute) -> String {
    let ms = m.start_ms();
    let s = rfc3339(ms / 1000, 0);
    // `rfc3339` gives milliseconds; a minute has none to show.
    match s.strip_suffix(".000Z") {
        Some(head) => format!("{head}Z"),
        None => s,
    }
}

/// A minute as the table shows it, `2026-11-22 01:00`.
fn minute_short(m: &Minute) -> String {
    let s = minute_rfc3339(m);
    s.strip_suffix(":00Z").unwrap_or(&s).replacen('T', " ", 1)
}

// ---- table ----

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{:.2}%", r * 100.0))
}

fn summary_table(out: &mut String, s: &Summary, first_malformed: Option<&Malformed>) {
    let _ = writeln!(
        out,
        "  lines {}, parsed {}, malformed {}, oversized {}",
        s.lines, s.parsed, s.malformed, s.oversized
    );
    if let Some(m) = first_malformed {
        let _ = writeln!(out, "  first malformed: line {}: {}", m.line, m.error);
    }
    let _ = writeln!(
        out,
        "\n  {:<12} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "color", "requests", "5xx", "5xx%", "p50 ms", "p95 ms", "p99 ms", "hdr p95"
    );
    for (color, name) in SLOTS {
        let f = Figures::of_stats(s.colors.of(color));
        let p = f.percentiles;
        let _ = writeln!(
            out,
            "  {:<12} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8}",
            name,
            f.requests,
            f.errors_5xx,
            pct(f.ratio_5xx),
            opt(p.map(|p| p[0])),
            opt(p.map(|p| p[1])),
            opt(p.map(|p| p[2])),
            opt(f.header_p95)
        );
    }
    if s.minutes.is_empty() {
        let _ = writeln!(out, "\n  no requests, so no minutes");
        return;
    }
    let _ = writeln!(
        out,
        "\n  {:<16}  {:<12} {:>9} {:>7} {:>8} {:>8} {:>8}",
        "minute (UTC)", "color", "requests", "5xx%", "p50 ms", "p95 ms", "p99 ms"
    );
    for m in &s.minutes {
        let mut when = minute_short(m);
        for (color, name) in SLOTS {
            let f = Figures::of_minute(m.of(color));
            // A color without requests in a minute would only add a row of dashes.
            if f.requests == 0 {
                continue;
            }
            let p = f.percentiles;
            let _ = writeln!(
                out,
                "  {:<16}  {:<12} {:>9} {:>7} {:>8} {:>8} {:>8}",
                when,
                name,
                f.requests,
                pct(f.ratio_5xx),
                opt(p.map(|p| p[0])),
                opt(p.map(|p| p[1])),
                opt(p.map(|p| p[2]))
            );
            when.clear();
        }
    }
}

/// The report as a table readable at 80 columns: the attribution, then per file a header
/// block, the per-color table and the per-minute table; then the fleet total.
pub(crate) fn table(r: &Report, a: &Attribution) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "attribution: blue {} ({}), green {} ({})",
        sanitize(&a.colors.blue),
        a.blue_from.label(),
        sanitize(&a.colors.green),
        a.green_from.label()
    );
    for f in &r.files {
        let _ = writeln!(out, "\n== {}\n  file {}", f.name, f.path);
        summary_table(&mut out, &f.summary, f.first_malformed.as_ref());
    }
    if let Some(t) = &r.total {
        let _ = writeln!(out, "\n== fleet total ({} files)", r.files.len());
        summary_table(&mut out, t, None);
    }
    out
}

// ---- JSON ----

/// A color's object: `{"requests","errors_5xx","ratio_5xx","p50_ms","p95_ms","p99_ms","header_p95_ms"}`.
#[derive(Serialize)]
struct JsonColor {
    requests: u64,
    errors_5xx: u64,
    ratio_5xx: Option<f64>,
    p50_ms: Option<u64>,
    p95_ms: Option<u64>,
    p99_ms: Option<u64>,
    /// Absent per minute (not kept there), `null` when no request had a header time.
    #[serde(skip_serializing_if = "Option::is_none")]
    header_p95_ms: Option<Option<u64>>,
}

impl JsonColor {
    fn new(f: Figures, with_header: bool) -> Self {
        let p = f.percentiles;
        JsonColor {
            requests: f.requests,
            errors_5xx: f.errors_5xx,
            ratio_5xx: f.ratio_5xx,
            p50_ms: p.map(|p| p[0]),
            p95_ms: p.map(|p| p[1]),
            p99_ms: p.map(|p| p[2]),
            header_p95_ms: with_header.then_some(f.header_p95),
        }
    }
}

#[derive(Serialize)]
struct JsonColors {
    blue: JsonColor,
    green: JsonColor,
    unattributed: JsonColor,
}

impl JsonColors {
    fn new(mut f: impl FnMut(usize) -> JsonColor) -> Self {
        JsonColors {
            blue: f(0),
            green: f(1),
            unattributed: f(2),
        }
    }
}

#[derive(Serialize)]
struct JsonMinute {
    minute: String,
    #[serde(flatten)]
    colors: JsonColors,
}

#[derive(Serialize)]
struct JsonMalformed {
    line: u64,
    error: String,
}

#[derive(Serialize)]
struct JsonSummary {
    lines: u64,
    parsed: u64,
    malformed: u64,
    oversized: u64,
    colors: JsonColors,
    minutes: Vec<JsonMinute>,
}

impl JsonSummary {
    fn new(s: &Summary) -> Self {
        JsonSummary {
            lines: s.lines,
            parsed: s.parsed,
            malformed: s.malformed,
            oversized: s.oversized,
            colors: JsonColors::new(|i| {
                JsonColor::new(Figures::of_stats(s.colors.of(SLOTS[i].0)), true)
            }),
            minutes: s
                .minutes
                .iter()
                .map(|m| JsonMinute {
                    minute: minute_rfc3339(m),
                    colors: JsonColors::new(|i| {
                        JsonColor::new(Figures::of_minute(m.of(SLOTS[i].0)), false)
                    }),
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct JsonFile<'a> {
    name: &'a str,
    path: &'a str,
    lines: u64,
    parsed: u64,
    malformed: u64,
    oversized: u64,
    first_malformed: Option<JsonMalformed>,
    colors: JsonColors,
    minutes: Vec<JsonMinute>,
}

impl<'a> JsonFile<'a> {
    fn new(f: &'a FileReport) -> Self {
        let s = JsonSummary::new(&f.summary);
        JsonFile {
            name: &f.name,
            path: &f.path,
            lines: s.lines,
            parsed: s.parsed,
            malformed: s.malformed,
            oversized: s.oversized,
            first_malformed: f.first_malformed.map(|m| JsonMalformed {
                line: m.line,
                error: m.error.to_string(),
            }),
            colors: s.colors,
            minutes: s.minutes,
        }
    }
}

#[derive(Serialize)]
struct JsonTotal {
    files: usize,
    #[serde(flatten)]
    summary: JsonSummary,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    files: Vec<JsonFile<'a>>,
    total: Option<JsonTotal>,
}

/// The report as one JSON object on one line (see docs/operator-guide.md for the shape).
pub(crate) fn json(r: &Report) -> Result<String, serde_json::Error> {
    let doc = JsonReport {
        files: r.files.iter().map(JsonFile::new).collect(),
        total: r.total.as_ref().map(|t| JsonTotal {
            files: r.files.len(),
            summary: JsonSummary::new(t),
        }),
    };
    let mut s = serde_json::to_string(&doc)?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{BLUE, GREEN, colors, line};
    use super::super::{AddrSource, report_bytes};
    use super::*;

    fn bytes(ls: &[String]) -> Vec<u8> {
        ls.iter()
            .flat_map(|l| format!("{l}\n").into_bytes())
            .collect()
    }

    fn small() -> Report {
        let a = report_bytes(
            "gw-a1.access.log",
            "/logs/gw-a1.access.log.1",
            &colors(),
            &bytes(&[
                line(0, "200", "0.100", BLUE, "0.010"),
                line(1, "503", "0.300", BLUE, "-"),
                line(2, "200", "0.200", GREEN, "0.020"),
                line(60_500, "502", "0.001", "gateway", ""),
                "oops".to_string(),
            ]),
        );
        Report::new(vec![a])
    }

    fn attribution() -> Attribution {
        Attribution {
            colors: colors(),
            blue_from: AddrSource::Default,
            green_from: AddrSource::Flag,
        }
    }

    #[test]
    fn json_has_exact_values() {
        let s = json(&small()).expect("serializes");
        assert!(s.ends_with("}\n") && !s.trim_end().contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&s).expect("parses");
        let want = serde_json::json!({
            "files": [{
                "name": "gw-a1.access.log",
                "path": "/logs/gw-a1.access.log.1",
                "lines": 5, "parsed": 4, "malformed": 1, "oversized": 0,
                "first_malformed": {"line": 5, "error": "not a JSON object"},
                "colors": {
                    "blue": {"requests": 2, "errors_5xx": 1, "ratio_5xx": 0.5,
                             "p50_ms": 100, "p95_ms": 300, "p99_ms": 300, "header_p95_ms": 10},
                    "green": {"requests": 1, "errors_5xx": 0, "ratio_5xx": 0.0,
                              "p50_ms": 200, "p95_ms": 200, "p99_ms": 200, "header_p95_ms": 20},
                    "unattributed": {"requests": 1, "errors_5xx": 1, "ratio_5xx": 1.0,
                                     "p50_ms": 1, "p95_ms": 1, "p99_ms": 1, "header_p95_ms": null}
                },
                "minutes": [
                    {"minute": "2026-11-22T01:00:00Z",
                     "blue": {"requests": 2, "errors_5xx": 1, "ratio_5xx": 0.5, "p50_ms": 100, "p95_ms": 300, "p99_ms": 300},
                     "green": {"requests": 1, "errors_5xx": 0, "ratio_5xx": 0.0, "p50_ms": 200, "p95_ms": 200, "p99_ms": 200},
                     "unattributed": {"requests": 0, "errors_5xx": 0, "ratio_5xx": null, "p50_ms": null, "p95_ms": null, "p99_ms": null}},
                    {"minute": "2026-11-22T01:01:00Z",
                     "blue": {"requests": 0, "errors_5xx": 0, "ratio_5xx": null, "p50_ms": null, "p95_ms": null, "p99_ms": null},
                     "green": {"requests": 0, "errors_5xx": 0, "ratio_5xx": null, "p50_ms": null, "p95_ms": null, "p99_ms": null},
                     "unattributed": {"requests": 1, "errors_5xx": 1, "ratio_5xx": 1.0, "p50_ms": 1, "p95_ms": 1, "p99_ms": 1}}
                ]
            }],
            "total": null
        });
        assert_eq!(v, want);
        // Key order as documented.
        assert!(
            s.starts_with(r#"{"files":[{"name":"gw-a1.access.log","path":"#),
            "{s}"
        );
    }

    #[test]
    fn json_total_of_two_files() {
        let mut r = small();
        let mut b = r.files[0].clone();
        b.name = "gw-b1.access.log".into();
        r = Report::new(vec![r.files.remove(0), b]);
        let v: serde_json::Value =
            serde_json::from_str(&json(&r).expect("serializes")).expect("parses");
        assert_eq!(v["total"]["files"], 2);
        assert_eq!(v["total"]["lines"], 10);
        assert_eq!(v["total"]["colors"]["blue"]["requests"], 4);
        assert_eq!(v["total"]["colors"]["blue"]["ratio_5xx"], 0.5);
        assert_eq!(v["total"]["minutes"][1]["unattributed"]["requests"], 2);
        assert!(v["total"].get("first_malformed").is_none());
        assert_eq!(v["files"][1]["name"], "gw-b1.access.log");
    }

    #[test]
    fn table_is_aligned_and_fits_80_columns() {
        let t = table(&small(), &attribution());
        let want = "\
attribution: blue 127.0.0.1:8787 (default), green 127.0.0.1:8788 (flag)

== gw-a1.access.log
  file /logs/gw-a1.access.log.1
  lines 5, parsed 4, malformed 1, oversized 0
  first malformed: line 5: not a JSON object

  color         requests       5xx    5xx%   p50 ms   p95 ms   p99 ms  hdr p95
  blue                 2         1  50.00%      100      300      300       10
  green                1         0   0.00%      200      200      200       20
  unattributed         1         1 100.00%        1        1        1        -

  minute (UTC)      color         requests    5xx%   p50 ms   p95 ms   p99 ms
  2026-11-22 01:00  blue                 2  50.00%      100      300      300
                    green                1   0.00%      200      200      200
  2026-11-22 01:01  unattributed         1 100.00%        1        1        1
";
        assert_eq!(t, want);
        assert!(t.lines().all(|l| l.chars().count() <= 80));
    }

    #[test]
    fn table_of_an_empty_file_and_a_total() {
        let empty = report_bytes("e", "/e", &colors(), b"");
        let mut r = small();
        r = Report::new(vec![r.files.remove(0), empty]);
        let t = table(&r, &attribution());
        assert!(
            t.contains("== e\n  file /e\n  lines 0, parsed 0, malformed 0, oversized 0\n"),
            "{t}"
        );
        assert!(
            t.contains(
                "  blue                 0         0       -        -        -        -        -\n"
            ),
            "{t}"
        );
        assert!(t.contains("  no requests, so no minutes\n"), "{t}");
        assert!(
            t.contains(
                "== fleet total (2 files)\n  lines 5, parsed 4, malformed 1, oversized 0\n\n"
            ),
            "{t}"
        );
    }

    #[test]
    fn minutes_far_from_now_do_not_break_the_format() {
        let m = |index| Minute {
            index,
            ..Minute::default()
        };
        assert_eq!(minute_rfc3339(&m(0)), "1970-01-01T00:00:00Z");
        assert_eq!(minute_short(&m(29_921_820)), "2026-11-22 01:00");
        // The largest `$msec` there can be: a long year, no panic.
        let far = minute_rfc3339(&m(u64::MAX / 60_000));
        assert!(far.ends_with('Z'), "{far}");
    }
}
