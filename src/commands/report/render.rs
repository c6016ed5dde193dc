//! A [`Report`] as an 80-column table or as one JSON object. Pure: strings in, string out.
//!
//! Nothing from a log line's content is printed: only counts, times worked out from `$msec`,
//! fixed error reasons, and names and paths that were sanitized when the report was made.

use std::fmt::Write as _;

use serde::Serialize;

use super::{
    Attribution, FileReport, MINUTE_MS, Malformed, Minute, MinuteColor, Report, SLOTS,
    STATUS_CLASSES, Statuses, Step, Summary, TOP_5XX, Window, percentiles,
};
use crate::fleet::audit::rfc3339;
use crate::model::Weights;
use crate::nginx::accesslog::ColorStats;
use crate::sanitize::sanitize;

/// The table's width: every line fits.
const WIDTH: usize = 80;

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

/// The minute `index` (minutes since the epoch) as a [`Minute`], for formatting.
fn minute_at(index: u64) -> Minute {
    Minute {
        index,
        ..Minute::default()
    }
}

/// A time in ms since the epoch as RFC 3339 UTC with milliseconds.
fn ms_rfc3339(ms: u64) -> String {
    rfc3339(ms / 1000, (ms % 1000) as u32)
}

/// `s` cut to `WIDTH` characters, with `…` where it was cut.
fn clip(s: String) -> String {
    if s.chars().count() <= WIDTH {
        return s;
    }
    let mut c: String = s.chars().take(WIDTH - 1).collect();
    c.push('…');
    c
}

// ---- table ----

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{:.2}%", r * 100.0))
}

/// The 5xx codes that fit in `room` characters, `502 x14, 504 x3`; `-` without any.
fn top_codes(st: &Statuses, room: usize) -> String {
    let mut out = String::new();
    for (code, n) in st.top_5xx(TOP_5XX) {
        let item = format!("{code} x{n}");
        let sep = if out.is_empty() { "" } else { ", " };
        // The first code is always named; later ones only when they fit.
        if !out.is_empty() && out.len() + sep.len() + item.len() > room {
            break;
        }
        out.push_str(sep);
        out.push_str(&item);
    }
    if out.is_empty() { "-".to_string() } else { out }
}

fn status_table(out: &mut String, s: &Summary) {
    let _ = writeln!(
        out,
        "\n  {:<12} {:>7} {:>7} {:>7} {:>7} {:>7}  top 5xx",
        "color", "2xx", "3xx", "4xx", "499", "5xx"
    );
    for (color, name) in SLOTS {
        let st = s.statuses(color);
        let c = &st.classes;
        let row = format!(
            "  {:<12} {:>7} {:>7} {:>7} {:>7} {:>7}  ",
            name, c[0], c[1], c[2], c[3], c[4]
        );
        let room = WIDTH.saturating_sub(row.chars().count());
        let _ = writeln!(out, "{row}{}", top_codes(st, room));
    }
    let other: Vec<String> = SLOTS
        .iter()
        .filter_map(|(color, name)| {
            let n = s.statuses(*color).classes[5];
            (n > 0).then(|| format!("{name} {n}"))
        })
        .collect();
    if !other.is_empty() {
        let _ = writeln!(
            out,
            "  other statuses (1xx, 600 and up): {}",
            other.join(", ")
        );
    }
}

/// A step's row: `← step 90/10→80/20 ok at 01:00:12`, in the minute table.
fn step_row(out: &mut String, when: &str, st: &Step) {
    let at = ms_rfc3339(st.time_ms);
    let hms = at.get(11..19).unwrap_or(&at);
    let row = format!("  {when:<16}  ← {} at {hms}", st.label());
    let _ = writeln!(out, "{}", clip(row));
}

fn summary_table(
    out: &mut String,
    s: &Summary,
    first_malformed: Option<&Malformed>,
    window: Window,
    steps: &[Step],
) {
    let _ = write!(
        out,
        "  lines {}, parsed {}, malformed {}, oversized {}",
        s.lines, s.parsed, s.malformed, s.oversized
    );
    if window.is_set() {
        let _ = write!(out, ", outside the window {}", s.outside);
    }
    out.push('\n');
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
    status_table(out, s);
    if s.minutes.is_empty() {
        let _ = writeln!(out, "\n  no requests, so no minutes");
        return;
    }
    let _ = writeln!(
        out,
        "\n  {:<16}  {:<12} {:>9} {:>7} {:>8} {:>8} {:>8}",
        "minute (UTC)", "color", "requests", "5xx%", "p50 ms", "p95 ms", "p99 ms"
    );
    let mut steps = steps.iter().peekable();
    for m in &s.minutes {
        // Changes in a minute without requests get a row of their own, in time order.
        while let Some(st) = steps.next_if(|st| st.minute() < m.index) {
            step_row(out, &minute_short(&minute_at(st.minute())), st);
        }
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
        while let Some(st) = steps.next_if(|st| st.minute() == m.index) {
            step_row(out, &when, st);
            when.clear();
        }
    }
    for st in steps {
        step_row(out, &minute_short(&minute_at(st.minute())), st);
    }
}

/// The report as a table readable at 80 columns: the attribution, then per file a header
/// block, the per-color table and the per-minute table; then the fleet total.
pub(crate) fn table(r: &Report, a: &Attribution) -> String {
    let mut out = String::new();
    let of_gateway = r.files.iter().filter(|f| f.gateway.is_some()).count();
    if of_gateway > 0 && of_gateway == r.files.len() {
        let _ = writeln!(
            out,
            "attribution: each file by its gateway's addresses in fleet.toml"
        );
    } else {
        let _ = writeln!(
            out,
            "attribution: blue {} ({}), green {} ({})",
            sanitize(&a.colors.blue),
            a.blue_from.label(),
            sanitize(&a.colors.green),
            a.green_from.label()
        );
        if of_gateway > 0 {
            let _ = writeln!(
                out,
                "  except the files of a fleet.toml gateway: by that gateway's addresses"
            );
        }
    }
    let w = r.window;
    if w.is_set() {
        let mut line = "window: requests that ended".to_string();
        if let Some(s) = w.since_ms {
            let _ = write!(line, " from {}", ms_rfc3339(s));
        }
        if let Some(u) = w.until_ms {
            let _ = write!(line, " before {}", ms_rfc3339(u));
        }
        let _ = writeln!(out, "{line}");
    }
    for f in &r.files {
        match &f.gateway {
            Some(g) => {
                let _ = writeln!(
                    out,
                    "\n== {g} ({})\n  colors blue {}, green {} (fleet.toml)",
                    f.path,
                    sanitize(&f.colors.blue),
                    sanitize(&f.colors.green)
                );
            }
            None => {
                let _ = writeln!(out, "\n== {}\n  file {}", f.name, f.path);
            }
        }
        summary_table(
            &mut out,
            &f.summary,
            f.first_malformed.as_ref(),
            w,
            &f.steps,
        );
    }
    if let Some(t) = &r.total {
        let _ = writeln!(out, "\n== fleet total ({} files)", r.files.len());
        summary_table(&mut out, t, None, w, &[]);
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
    /// The status breakdown; absent per minute (kept per file only).
    #[serde(skip_serializing_if = "Option::is_none")]
    statuses: Option<JsonStatuses>,
}

/// `{"2xx","3xx","4xx","499","5xx","other","top_5xx":[{"code","count"}]}`.
#[derive(Serialize)]
struct JsonStatuses {
    #[serde(rename = "2xx")]
    s2xx: u64,
    #[serde(rename = "3xx")]
    s3xx: u64,
    #[serde(rename = "4xx")]
    s4xx: u64,
    #[serde(rename = "499")]
    s499: u64,
    #[serde(rename = "5xx")]
    s5xx: u64,
    other: u64,
    top_5xx: Vec<JsonCode>,
}

#[derive(Serialize)]
struct JsonCode {
    code: u16,
    count: u64,
}

impl JsonStatuses {
    fn new(st: &Statuses) -> Self {
        debug_assert_eq!(STATUS_CLASSES.len(), st.classes.len());
        let [s2xx, s3xx, s4xx, s499, s5xx, other] = st.classes;
        JsonStatuses {
            s2xx,
            s3xx,
            s4xx,
            s499,
            s5xx,
            other,
            top_5xx: st
                .top_5xx(TOP_5XX)
                .into_iter()
                .map(|(code, count)| JsonCode { code, count })
                .collect(),
        }
    }
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
            statuses: None,
        }
    }

    fn with_statuses(self, st: &Statuses) -> Self {
        JsonColor {
            statuses: Some(JsonStatuses::new(st)),
            ..self
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
    outside_window: u64,
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
            outside_window: s.outside,
            colors: JsonColors::new(|i| {
                JsonColor::new(Figures::of_stats(s.colors.of(SLOTS[i].0)), true)
                    .with_statuses(s.statuses(SLOTS[i].0))
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
struct JsonAddresses {
    blue: String,
    green: String,
}

/// An audited change: `{"time","minute","action","before","after","target","outcome"}`.
#[derive(Serialize)]
struct JsonStep<'a> {
    time: String,
    minute: String,
    action: &'a str,
    before: Option<Weights>,
    after: Option<Weights>,
    target: Option<Weights>,
    outcome: &'a str,
}

impl<'a> JsonStep<'a> {
    fn new(st: &'a Step) -> Self {
        JsonStep {
            time: ms_rfc3339(st.time_ms),
            minute: minute_rfc3339(&minute_at(st.time_ms / MINUTE_MS)),
            action: &st.action,
            before: st.before,
            after: st.after,
            target: st.target,
            outcome: &st.outcome,
        }
    }
}

#[derive(Serialize)]
struct JsonFile<'a> {
    name: &'a str,
    path: &'a str,
    gateway: Option<&'a str>,
    addresses: JsonAddresses,
    lines: u64,
    parsed: u64,
    malformed: u64,
    oversized: u64,
    outside_window: u64,
    first_malformed: Option<JsonMalformed>,
    colors: JsonColors,
    minutes: Vec<JsonMinute>,
    steps: Vec<JsonStep<'a>>,
}

impl<'a> JsonFile<'a> {
    fn new(f: &'a FileReport) -> Self {
        let s = JsonSummary::new(&f.summary);
        JsonFile {
            name: &f.name,
            path: &f.path,
            gateway: f.gateway.as_deref(),
            addresses: JsonAddresses {
                blue: sanitize(&f.colors.blue),
                green: sanitize(&f.colors.green),
            },
            lines: s.lines,
            parsed: s.parsed,
            malformed: s.malformed,
            oversized: s.oversized,
            outside_window: s.outside_window,
            first_malformed: f.first_malformed.map(|m| JsonMalformed {
                line: m.line,
                error: m.error.to_string(),
            }),
            colors: s.colors,
            minutes: s.minutes,
            steps: f.steps.iter().map(JsonStep::new).collect(),
        }
    }
}

/// `{"since","until"}`, RFC 3339 or `null` each.
#[derive(Serialize)]
struct JsonWindow {
    since: Option<String>,
    until: Option<String>,
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
    window: Option<JsonWindow>,
}

/// The report as one JSON object on one line (see docs/operator-guide.md for the shape).
pub(crate) fn json(r: &Report) -> Result<String, serde_json::Error> {
    let doc = JsonReport {
        files: r.files.iter().map(JsonFile::new).collect(),
        total: r.total.as_ref().map(|t| JsonTotal {
            files: r.files.len(),
            summary: JsonSummary::new(t),
        }),
        window: r.window.is_set().then(|| JsonWindow {
            since: r.window.since_ms.map(ms_rfc3339),
            until: r.window.until_ms.map(ms_rfc3339),
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
                "gateway": null,
                "addresses": {"blue": "127.0.0.1:8787", "green": "127.0.0.1:8788"},
                "lines": 5, "parsed": 4, "malformed": 1, "oversized": 0, "outside_window": 0,
                "first_malformed": {"line": 5, "error": "not a JSON object"},
                "colors": {
                    "blue": {"requests": 2, "errors_5xx": 1, "ratio_5xx": 0.5,
                             "p50_ms": 100, "p95_ms": 300, "p99_ms": 300, "header_p95_ms": 10,
                             "statuses": {"2xx": 1, "3xx": 0, "4xx": 0, "499": 0, "5xx": 1, "other": 0,
                                          "top_5xx": [{"code": 503, "count": 1}]}},
                    "green": {"requests": 1, "errors_5xx": 0, "ratio_5xx": 0.0,
                              "p50_ms": 200, "p95_ms": 200, "p99_ms": 200, "header_p95_ms": 20,
                              "statuses": {"2xx": 1, "3xx": 0, "4xx": 0, "499": 0, "5xx": 0, "other": 0,
                                           "top_5xx": []}},
                    "unattributed": {"requests": 1, "errors_5xx": 1, "ratio_5xx": 1.0,
                                     "p50_ms": 1, "p95_ms": 1, "p99_ms": 1, "header_p95_ms": null,
                                     "statuses": {"2xx": 0, "3xx": 0, "4xx": 0, "499": 0, "5xx": 1, "other": 0,
                                                  "top_5xx": [{"code": 502, "count": 1}]}}
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
                ],
                "steps": []
            }],
            "total": null,
            "window": null
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

  color            2xx     3xx     4xx     499     5xx  top 5xx
  blue               1       0       0       0       1  503 x1
  green              1       0       0       0       0  -
  unattributed       0       0       0       0       1  502 x1

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

    /// gw-a1's file, attributed by its gateway, with steps in minute 0, in minute 2 (no
    /// requests) and minute 3; 5xx of several codes; counted since 01:00:00.500.
    fn of_a_gateway() -> Report {
        let ms = super::super::tests::T0 * 1000;
        let window = Window {
            since_ms: Some(ms + 500),
            until_ms: None,
        };
        let mut input = vec![line(0, "200", "0.100", BLUE, "0.010")];
        for (at, status) in [
            (1_000, "502"),
            (1_100, "502"),
            (1_200, "504"),
            (1_300, "500"),
            (1_400, "499"),
            (1_500, "101"),
        ] {
            input.push(line(at, status, "0.100", GREEN, "0.010"));
        }
        input.push(line(180_000, "200", "0.200", GREEN, "0.020"));
        let mut f = super::super::report_bytes_within(
            "access.log",
            "/lab/gw-a1/logs/access.log",
            &colors(),
            &bytes(&input),
            window,
        );
        f.gateway = Some("gw-a1".into());
        let w = |b, g| Some(Weights { blue: b, green: g });
        let step = |at: u64, before, after, outcome: &str| Step {
            time_ms: ms + at,
            host: "gw-a1".into(),
            action: "step".into(),
            before,
            after,
            target: after,
            outcome: outcome.into(),
        };
        f.steps = vec![
            step(30_000, w(100, 0), w(90, 10), "ok"),
            step(150_500, w(90, 10), w(80, 20), "ok"),
            step(181_000, w(80, 20), w(70, 30), "ok"),
        ];
        let mut r = Report::new(vec![f]);
        r.window = window;
        r
    }

    #[test]
    fn a_gateways_file_is_titled_by_it_with_statuses_and_steps() {
        let t = table(&of_a_gateway(), &attribution());
        let want = "\
attribution: each file by its gateway's addresses in fleet.toml
window: requests that ended from 2026-11-22T01:00:00.500Z

== gw-a1 (/lab/gw-a1/logs/access.log)
  colors blue 127.0.0.1:8787, green 127.0.0.1:8788 (fleet.toml)
  lines 8, parsed 7, malformed 0, oversized 0, outside the window 1

  color         requests       5xx    5xx%   p50 ms   p95 ms   p99 ms  hdr p95
  blue                 0         0       -        -        -        -        -
  green                7         4  57.14%      100      200      200       20
  unattributed         0         0       -        -        -        -        -

  color            2xx     3xx     4xx     499     5xx  top 5xx
  blue               0       0       0       0       0  -
  green              1       0       0       1       4  502 x2, 500 x1, 504 x1
  unattributed       0       0       0       0       0  -
  other statuses (1xx, 600 and up): green 1

  minute (UTC)      color         requests    5xx%   p50 ms   p95 ms   p99 ms
  2026-11-22 01:00  green                6  66.67%      100      100      100
                    ← step 100/0→90/10 ok at 01:00:30
  2026-11-22 01:02  ← step 90/10→80/20 ok at 01:02:30
  2026-11-22 01:03  green                1   0.00%      200      200      200
                    ← step 80/20→70/30 ok at 01:03:01
";
        assert_eq!(t, want);
        assert!(t.lines().all(|l| l.chars().count() <= 80), "{t}");
    }

    #[test]
    fn the_top_5xx_codes_fit_the_line() {
        let mut st = Statuses::default();
        for (code, n) in [(502u16, 123_456u64), (504, 12_345), (500, 1_234)] {
            for _ in 0..n {
                st.add(code);
            }
        }
        assert_eq!(top_codes(&st, 24), "502 x123456, 504 x12345");
        assert_eq!(top_codes(&st, 40), "502 x123456, 504 x12345, 500 x1234");
        // The first is named whatever the room.
        assert_eq!(top_codes(&st, 3), "502 x123456");
        assert_eq!(top_codes(&Statuses::default(), 24), "-");
        let long = clip("x".repeat(100));
        assert_eq!(long.chars().count(), 80);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn json_of_a_gateways_file() {
        let v: serde_json::Value =
            serde_json::from_str(&json(&of_a_gateway()).expect("serializes")).expect("parses");
        let f = &v["files"][0];
        assert_eq!(f["gateway"], "gw-a1");
        assert_eq!(
            f["addresses"],
            serde_json::json!({"blue": BLUE, "green": GREEN})
        );
        assert_eq!((&f["lines"], &f["outside_window"]), (&8.into(), &1.into()));
        assert_eq!(
            f["colors"]["green"]["statuses"],
            serde_json::json!({"2xx": 1, "3xx": 0, "4xx": 0, "499": 1, "5xx": 4, "other": 1,
                "top_5xx": [{"code": 502, "count": 2}, {"code": 500, "count": 1}, {"code": 504, "count": 1}]})
        );
        assert!(f["minutes"][0].get("statuses").is_none());
        assert!(f["minutes"][0]["green"].get("statuses").is_none());
        assert_eq!(
            f["steps"][1],
            serde_json::json!({"time": "2026-11-22T01:02:30.500Z", "minute": "2026-11-22T01:02:00Z",
                "action": "step", "before": {"blue": 90, "green": 10}, "after": {"blue": 80, "green": 20},
                "target": {"blue": 80, "green": 20}, "outcome": "ok"})
        );
        assert_eq!(
            v["window"],
            serde_json::json!({"since": "2026-11-22T01:00:00.500Z", "until": null})
        );
    }

    #[test]
    fn mixed_files_say_which_attribution_applies() {
        let mut r = of_a_gateway();
        let other = small().files.remove(0);
        r = Report::new(vec![r.files.remove(0), other]);
        let t = table(&r, &attribution());
        assert!(
            t.starts_with(
                "attribution: blue 127.0.0.1:8787 (default), green 127.0.0.1:8788 (flag)\n  except the files of a fleet.toml gateway: by that gateway's addresses\n\n== gw-a1 ("
            ),
            "{t}"
        );
        assert!(
            t.contains("\n== gw-a1.access.log\n  file /logs/gw-a1.access.log.1\n"),
            "{t}"
        );
        // The total has no steps: they belong to one gateway.
        let total = t.split("== fleet total (2 files)").nth(1).expect("a total");
        assert!(!total.contains('←'), "{total}");
        assert!(t.lines().all(|l| l.chars().count() <= 80), "{t}");
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
