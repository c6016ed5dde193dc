//! `cutover report`: an offline per-color summary of access logs, for post-mortems.
//!
//! Three layers, so that everything but the file handling is testable on bytes in memory:
//! [`FileAggregator`] turns a file's bytes into a [`FileReport`] (pure; the live tail's
//! [`LineSplitter`] and [`parse_line`]), [`render`] turns a [`Report`] into a table or JSON
//! (pure), and [`read`] opens the files, detects gzip and feeds chunks (the only IO). Time
//! comes from the lines' `$msec`; nothing here reads the clock.

pub(crate) mod read;
pub(crate) mod render;
mod request;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use hdrhistogram::{Counter, Histogram};

use crate::cli::ReportArgs;
use crate::commands::error::CommandError;
use crate::config::{Config, GatewayConfig};
use crate::model::{Color, RequestRecord, Weights};
use crate::nginx::accesslog::{
    AGGREGATE_MAX_MS, Aggregate, ColorStats, Colors, LineError, LineSplitter, last_entry,
    parse_line, try_record,
};
use crate::sanitize::sanitize;

/// Blue's address when neither `--blue` nor `fleet.toml` gives one (the spec's).
pub(crate) const DEFAULT_BLUE: &str = "127.0.0.1:8787";
/// Green's address when neither `--green` nor `fleet.toml` gives one.
pub(crate) const DEFAULT_GREEN: &str = "127.0.0.1:8788";

/// Milliseconds in a minute: the per-minute table's bucket.
pub(crate) const MINUTE_MS: u64 = 60_000;

/// The three rows of every table: blue, green, then requests no color can be named for.
pub(crate) const SLOTS: [(Option<Color>, &str); 3] = [
    (Some(Color::Blue), "blue"),
    (Some(Color::Green), "green"),
    (None, "unattributed"),
];

/// Where a color's address came from, shown beside it so a wrong attribution is visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddrSource {
    /// `--blue` / `--green`.
    Flag,
    /// Every gateway of `fleet.toml` says the same.
    Fleet,
    /// [`DEFAULT_BLUE`] / [`DEFAULT_GREEN`].
    Default,
}

impl AddrSource {
    /// How the table names the source.
    pub(crate) fn label(self) -> &'static str {
        match self {
            AddrSource::Flag => "flag",
            AddrSource::Fleet => "fleet.toml",
            AddrSource::Default => "default",
        }
    }
}

/// The addresses requests are attributed by, and where each came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attribution {
    /// Blue's and green's `$upstream_addr` entries.
    pub(crate) colors: Colors,
    /// Where blue's address came from.
    pub(crate) blue_from: AddrSource,
    /// Where green's address came from.
    pub(crate) green_from: AddrSource,
}

/// The colors' addresses: a flag wins, then `fleet.toml` when all its gateways agree, then
/// the defaults. Returns a warning when the fleet disagrees and was not used; an error
/// (bad usage) for an address that could never match a log entry.
pub(crate) fn resolve_attribution(
    blue: Option<&str>,
    green: Option<&str>,
    fleet: Option<&Config>,
) -> Result<(Attribution, Option<String>), String> {
    let mut warning = None;
    let mut from_fleet = None;
    let gateways = fleet.map_or(&[][..], |c| c.gateway.as_slice());
    if let Some(first) = gateways.first() {
        let odd = gateways
            .iter()
            .find(|g| g.blue.addr != first.blue.addr || g.green.addr != first.green.addr);
        match odd {
            None => from_fleet = Some((first.blue.addr.as_str(), first.green.addr.as_str())),
            // Only worth saying when the fleet would have been used for a color.
            Some(g) if blue.is_none() || green.is_none() => {
                warning = Some(sanitize(&format!(
                    "the fleet's gateways disagree on the color addresses ({} has blue {} green {}, {} has blue {} green {}); attributing by --blue/--green or the defaults",
                    first.name,
                    first.blue.addr,
                    first.green.addr,
                    g.name,
                    g.blue.addr,
                    g.green.addr
                )));
            }
            Some(_) => {}
        }
    }
    let pick = |flag: Option<&str>, fleet: Option<&str>, default: &'static str| match (flag, fleet)
    {
        (Some(f), _) => (f.to_string(), AddrSource::Flag),
        (None, Some(f)) => (f.to_string(), AddrSource::Fleet),
        (None, None) => (default.to_string(), AddrSource::Default),
    };
    let (b, blue_from) = pick(blue, from_fleet.map(|f| f.0), DEFAULT_BLUE);
    let (g, green_from) = pick(green, from_fleet.map(|f| f.1), DEFAULT_GREEN);
    let colors = Colors::new(b, g);
    for (name, addr) in [("blue", &colors.blue), ("green", &colors.green)] {
        // nginx lists tries as `a, b`: an address with a comma or a space never matches an entry.
        if addr.is_empty() || addr.contains(|c: char| c == ',' || c.is_whitespace()) {
            return Err(sanitize(&format!(
                "{name}'s address {addr:?}: expected an upstream address as nginx logs it, e.g. 127.0.0.1:8787 or unix:/run/gw.sock"
            )));
        }
    }
    if colors.blue == colors.green {
        return Err(sanitize(&format!(
            "blue and green both have the address {:?}: requests could not be told apart",
            colors.blue
        )));
    }
    Ok((
        Attribution {
            colors,
            blue_from,
            green_from,
        },
        warning,
    ))
}

/// A file name without `.gz` and a rotation suffix (`access.log.2.gz`, `access.log-20261122`
/// → `access.log`); the name itself when nothing would be left.
fn strip_rotation(file: &str) -> &str {
    let mut name = file;
    if let Some(s) = name.strip_suffix(".gz") {
        name = s;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let numbered = name
        .rsplit_once('.')
        .filter(|(head, tail)| !head.is_empty() && digits(tail));
    // logrotate's `dateext`: -YYYYMMDD, optionally with the hour.
    let dated = || {
        name.rsplit_once('-')
            .filter(|(head, tail)| !head.is_empty() && tail.len() >= 8 && digits(tail))
    };
    if let Some((head, _)) = numbered.or_else(dated) {
        name = head;
    }
    if name.is_empty() { file } else { name }
}

/// The gateway a file belongs to: its file name without `.gz` and a rotation suffix
/// (`access.log.2.gz`, `access.log-20261122` → `access.log`), sanitized.
pub(crate) fn gateway_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map_or_else(|| path.to_string_lossy(), |f| f.to_string_lossy());
    sanitize(strip_rotation(&file))
}

/// `p` with symlinks and `..` resolved; for a file that is not there, its directory resolved
/// and the name kept (a gateway's log may be named in fleet.toml but absent here).
fn canonical(p: &Path) -> Option<PathBuf> {
    if let Ok(c) = p.canonicalize() {
        return Some(c);
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(dir.canonicalize().ok()?.join(p.file_name()?))
}

/// The gateways whose `access_log` is `path`, or whose log has `path` as a rotated or gzipped
/// sibling in the same directory (`access.log.1`, `access.log.2.gz`).
fn gateways_matching<'a>(path: &Path, config: &'a Config) -> Vec<&'a GatewayConfig> {
    let Some(file) = canonical(path) else {
        return Vec::new();
    };
    let stripped = file
        .file_name()
        .map(|n| strip_rotation(&n.to_string_lossy()).to_string());
    config
        .gateway
        .iter()
        .filter(|g| {
            let Some(theirs) = canonical(Path::new(&g.access_log)) else {
                return false;
            };
            theirs == file
                || (theirs.parent() == file.parent()
                    && stripped.is_some()
                    && theirs.file_name().map(|n| n.to_string_lossy().into_owned()) == stripped)
        })
        .collect()
}

/// The one gateway of `config` whose access log `path` is (or a rotated sibling of it), with
/// its colors' addresses; `None` when none or several match (several: the fleet cannot say).
pub(crate) fn gateway_for(path: &Path, config: Option<&Config>) -> Option<(String, Colors)> {
    match gateways_matching(path, config?).as_slice() {
        [g] => Some((g.name.clone(), Colors::of_gateway(g))),
        _ => None,
    }
}

/// A file to read, with the addresses its requests are attributed by.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// The path as given.
    pub(crate) path: PathBuf,
    /// Blue's and green's addresses for this file.
    pub(crate) colors: Colors,
    /// The fleet gateway whose log this is, when one is.
    pub(crate) gateway: Option<String>,
}

/// How `path` is read: by its gateway's addresses when fleet.toml has it, else by `fallback`.
/// The warning says when several gateways claim the file, so the fallback is not a surprise.
pub(crate) fn source_for(
    path: &Path,
    config: Option<&Config>,
    fallback: &Colors,
) -> (Source, Option<String>) {
    let mut warning = None;
    if let Some(c) = config {
        let found = gateways_matching(path, c);
        if found.len() > 1 {
            let names: Vec<&str> = found.iter().map(|g| g.name.as_str()).collect();
            // Each part on its own: sanitizing the whole would cut a long message short.
            warning = Some(format!(
                "{}: the access_log of several gateways ({}); attributing it as a file of no gateway",
                sanitize(&path.to_string_lossy()),
                sanitize(&names.join(", "))
            ));
        }
    }
    let (gateway, colors) = match gateway_for(path, config) {
        Some((name, colors)) => (Some(name), colors),
        None => (None, fallback.clone()),
    };
    (
        Source {
            path: path.to_path_buf(),
            colors,
            gateway,
        },
        warning,
    )
}

/// The `--since`/`--until` bounds in ms since the epoch; a request counts when
/// `since <= $msec < until`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Window {
    /// Inclusive lower bound.
    pub(crate) since_ms: Option<u64>,
    /// Exclusive upper bound.
    pub(crate) until_ms: Option<u64>,
}

impl Window {
    /// Whether either bound is given.
    pub(crate) fn is_set(&self) -> bool {
        self.since_ms.is_some() || self.until_ms.is_some()
    }

    /// Whether a request that ended at `t_ms` counts.
    #[inline]
    pub(crate) fn contains(&self, t_ms: u64) -> bool {
        self.since_ms.is_none_or(|s| t_ms >= s) && self.until_ms.is_none_or(|u| t_ms < u)
    }

    /// The window of `--since` / `--until`, with `now_ms` giving the day of `HH:MM`; the
    /// error (bad usage) names the flag and the value.
    pub(crate) fn parse(
        since: Option<&str>,
        until: Option<&str>,
        now_ms: u64,
    ) -> Result<Window, String> {
        let one = |flag: &str, v: Option<&str>| -> Result<Option<u64>, String> {
            v.map(|v| {
                parse_time(v, now_ms).ok_or_else(|| {
                    format!(
                        "{flag} {}: expected RFC 3339 (2026-12-02T13:00:00Z) or HH:MM (today, UTC)",
                        sanitize(&format!("{v:?}"))
                    )
                })
            })
            .transpose()
        };
        let w = Window {
            since_ms: one("--since", since)?,
            until_ms: one("--until", until)?,
        };
        if let (Some(s), Some(u)) = (w.since_ms, w.until_ms) {
            if s >= u {
                return Err(format!(
                    "--since {} is not before --until {}: no request could count",
                    sanitize(&format!("{:?}", since.unwrap_or_default())),
                    sanitize(&format!("{:?}", until.unwrap_or_default()))
                ));
            }
        }
        Ok(w)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn number(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// RFC 3339 (`2026-12-02T13:00:00Z`, `2026-12-02T15:00:00.250+02:00`) in ms since the epoch;
/// `None` for anything else or a time before 1970.
pub(crate) fn rfc3339_ms(s: &str) -> Option<u64> {
    let b = s.trim().as_bytes();
    let date = b.get(..10)?;
    if date[4] != b'-' || date[7] != b'-' || !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (y, mo, d) = (
        number(&date[..4])?,
        number(&date[5..7])?,
        number(&date[8..10])?,
    );
    let time = b.get(11..19)?;
    if time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (h, mi, sec) = (
        number(&time[..2])?,
        number(&time[3..5])?,
        number(&time[6..8])?,
    );
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let month_days = *days_in.get(usize::try_from(mo).ok()?.checked_sub(1)?)?;
    // 60: a leap second, as RFC 3339 allows.
    if d == 0 || d > month_days || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = b.get(19..)?;
    let mut ms = 0u64;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for i in 0..3 {
            ms = ms * 10
                + frac
                    .get(i)
                    .filter(|_| i < n)
                    .map_or(0, |c| u64::from(c - b'0'));
        }
        rest = &frac[n..];
    }
    let offset_secs: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), oh @ .., b':', om1, om2] if oh.len() == 2 => {
            let (oh, om) = (number(oh)?, number(&[*om1, *om2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let secs = days_from_civil(i64::from(y), mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + sec)
        - offset_secs;
    u64::try_from(secs).ok()?.checked_mul(1000)?.checked_add(ms)
}

/// A `--since`/`--until` value in ms since the epoch: RFC 3339, or `HH:MM` meaning that time
/// on the UTC day of `now_ms` (the only use of the clock: the lines give every other time).
pub(crate) fn parse_time(value: &str, now_ms: u64) -> Option<u64> {
    let v = value.trim();
    if let [h1, h2, b':', m1, m2] = v.as_bytes() {
        let (h, m) = (number(&[*h1, *h2])?, number(&[*m1, *m2])?);
        if h > 23 || m > 59 {
            return None;
        }
        let day = now_ms / 86_400_000 * 86_400_000;
        return Some(day + u64::from(h * 3600 + m * 60) * 1000);
    }
    rfc3339_ms(v)
}

/// The first line of a file that could not be used, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed {
    /// 1-based line number in the (decompressed) file.
    pub(crate) line: u64,
    /// Why it was skipped.
    pub(crate) error: LineError,
}

fn slot(color: Option<Color>) -> usize {
    match color {
        Some(Color::Blue) => 0,
        Some(Color::Green) => 1,
        None => 2,
    }
}

/// One color's requests within one minute; u32 histogram counts keep a long log's many
/// minutes small (a minute never holds 4 billion requests of one color).
#[derive(Debug, Clone, Default)]
pub(crate) struct MinuteColor {
    /// Requests counted.
    pub(crate) requests: u64,
    /// Of which answered 500..=599.
    pub(crate) errors_5xx: u64,
    /// Request time in ms; allocated with the first request, so idle colors cost nothing.
    request_ms: Option<Histogram<u32>>,
}

fn minute_histogram() -> Histogram<u32> {
    // Same bounds and precision as the per-file `ColorStats`, so the figures agree.
    Histogram::new_with_bounds(1, AGGREGATE_MAX_MS, 2).expect("static histogram bounds are valid")
}

impl MinuteColor {
    #[inline]
    fn add(&mut self, r: &RequestRecord) {
        self.requests += 1;
        if (500..600).contains(&r.status) {
            self.errors_5xx += 1;
        }
        self.request_ms
            .get_or_insert_with(minute_histogram)
            .saturating_record(u64::from(r.request_ms));
    }

    fn merge(&mut self, other: &MinuteColor) {
        self.requests += other.requests;
        self.errors_5xx += other.errors_5xx;
        if let Some(h) = &other.request_ms {
            // Equal bounds on both sides: `add` cannot fail, and saturates counts.
            let _ = self.request_ms.get_or_insert_with(minute_histogram).add(h);
        }
    }

    /// Request time p50, p95, p99 in ms; `None` without requests.
    pub(crate) fn percentiles(&self) -> Option<[u64; 3]> {
        self.request_ms.as_ref().and_then(percentiles)
    }
}

/// The 50th, 95th and 99th percentiles, read as the cockpit reads them (the bucket's lowest
/// value, so a recorded value reads back as itself); `None` when empty.
pub(crate) fn percentiles<C: Counter>(h: &Histogram<C>) -> Option<[u64; 3]> {
    let q = |p| h.lowest_equivalent(h.value_at_quantile(p));
    (!h.is_empty()).then(|| [q(0.50), q(0.95), q(0.99)])
}

/// One minute (UTC) of requests, per color.
#[derive(Debug, Clone, Default)]
pub(crate) struct Minute {
    /// Minutes since the epoch (`$msec` / 60 s).
    pub(crate) index: u64,
    /// Blue, green, unattributed (the order of [`SLOTS`]).
    pub(crate) colors: [MinuteColor; 3],
}

impl Minute {
    /// The statistics of one color, or of the unattributed requests for `None`.
    pub(crate) fn of(&self, color: Option<Color>) -> &MinuteColor {
        &self.colors[slot(color)]
    }

    /// The minute's start in ms since the epoch.
    pub(crate) fn start_ms(&self) -> u64 {
        self.index.saturating_mul(MINUTE_MS)
    }
}

/// Minutes keyed by index, in arrival order; lines out of time order find theirs by map.
#[derive(Debug, Clone, Default)]
struct Minutes {
    index: HashMap<u64, usize>,
    slots: Vec<Minute>,
    /// The previous line's minute: nearly every line is in the same one as the line before.
    last: Option<(u64, usize)>,
}

impl Minutes {
    #[inline]
    fn get(&mut self, minute: u64) -> &mut Minute {
        let at = match self.last {
            Some((m, at)) if m == minute => at,
            _ => {
                let next = self.slots.len();
                let at = *self.index.entry(minute).or_insert(next);
                if at == next {
                    self.slots.push(Minute {
                        index: minute,
                        ..Minute::default()
                    });
                }
                self.last = Some((minute, at));
                at
            }
        };
        &mut self.slots[at]
    }

    fn merge(&mut self, minute: &Minute) {
        let into = self.get(minute.index);
        for (a, b) in into.colors.iter_mut().zip(&minute.colors) {
            a.merge(b);
        }
    }

    fn into_sorted(self) -> Vec<Minute> {
        let mut v = self.slots;
        v.sort_unstable_by_key(|m| m.index);
        v
    }
}

/// The status classes of the breakdown, in table and JSON order; `other` is 1xx and 600 up.
pub(crate) const STATUS_CLASSES: [&str; 6] = ["2xx", "3xx", "4xx", "499", "5xx", "other"];

/// How many 5xx codes the breakdown names, most frequent first.
pub(crate) const TOP_5XX: usize = 3;

/// One color's requests by status class, and by code within 5xx: a 502 storm (no upstream
/// answer) and 504s (timeouts) call for different fixes. 499 (the client gave up) is kept
/// apart from 4xx since it is usually latency, not a bad request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statuses {
    /// Counts in the order of [`STATUS_CLASSES`].
    pub(crate) classes: [u64; 6],
    /// Counts of 500..=599, by `code - 500`: no allocation per request.
    codes_5xx: [u64; 100],
}

impl Default for Statuses {
    fn default() -> Self {
        Statuses {
            classes: [0; 6],
            codes_5xx: [0; 100],
        }
    }
}

impl Statuses {
    #[inline]
    fn add(&mut self, status: u16) {
        let class = match status {
            200..=299 => 0,
            300..=399 => 1,
            499 => 3,
            400..=498 => 2,
            500..=599 => 4,
            _ => 5,
        };
        self.classes[class] += 1;
        if let Some(n) = status
            .checked_sub(500)
            .and_then(|i| self.codes_5xx.get_mut(usize::from(i)))
        {
            *n += 1;
        }
    }

    fn merge(&mut self, other: &Statuses) {
        for (a, b) in self.classes.iter_mut().zip(&other.classes) {
            *a += b;
        }
        for (a, b) in self.codes_5xx.iter_mut().zip(&other.codes_5xx) {
            *a += b;
        }
    }

    /// Up to `n` 5xx codes with their counts, most frequent first (the lower code on a tie).
    pub(crate) fn top_5xx(&self, n: usize) -> Vec<(u16, u64)> {
        let mut v: Vec<(u16, u64)> = (500u16..)
            .zip(self.codes_5xx)
            .filter(|&(_, c)| c > 0)
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

/// Distinct upstreams kept for the unattributed warning: a hostile log cannot grow it.
const MAX_UPSTREAMS: usize = 64;
/// Bytes of an upstream kept (longer ones are cut): enough for any address.
const MAX_UPSTREAM_LEN: usize = 120;

/// The last `$upstream_addr` entries of unattributed requests and how often each came: what
/// the log actually has when the addresses tried match nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Upstreams {
    counts: HashMap<Vec<u8>, u64>,
}

impl Upstreams {
    fn add_n(&mut self, entry: &[u8], n: u64) {
        let entry = entry.get(..MAX_UPSTREAM_LEN).unwrap_or(entry);
        if let Some(c) = self.counts.get_mut(entry) {
            *c += n;
        } else if self.counts.len() < MAX_UPSTREAMS {
            self.counts.insert(entry.to_vec(), n);
        }
    }

    fn merge(&mut self, other: &Upstreams) {
        for (k, n) in &other.counts {
            self.add_n(k, *n);
        }
    }

    /// Up to `n` entries, most frequent first, sanitized for the terminal (`""` for empty).
    pub(crate) fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut v: Vec<(&Vec<u8>, u64)> = self.counts.iter().map(|(k, c)| (k, *c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.into_iter()
            .take(n)
            .map(|(k, c)| {
                let shown = if k.is_empty() {
                    "\"\"".to_string()
                } else {
                    sanitize(&String::from_utf8_lossy(k))
                };
                (shown, c)
            })
            .collect()
    }
}

/// Line counts and statistics of one file, or of all files together.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    /// Every line, oversized ones included;
    /// `lines == parsed + malformed + oversized + outside`.
    pub(crate) lines: u64,
    /// Lines counted as requests (inside the window).
    pub(crate) parsed: u64,
    /// Lines skipped as unparsable or unusable (blank lines included).
    pub(crate) malformed: u64,
    /// Lines skipped for being longer than the splitter's maximum.
    pub(crate) oversized: u64,
    /// Usable lines whose `$msec` is outside `--since`/`--until`.
    pub(crate) outside: u64,
    /// Per color over the whole file, with header times.
    pub(crate) colors: Aggregate,
    /// Per color (the order of [`SLOTS`]), the status breakdown.
    pub(crate) statuses: [Statuses; 3],
    /// What unattributed requests' `upstream_addr` ended with.
    pub(crate) upstreams: Upstreams,
    /// Per minute (UTC), oldest first; minutes without a request are absent.
    pub(crate) minutes: Vec<Minute>,
}

fn merge_stats(into: &mut ColorStats, from: &ColorStats) {
    into.requests += from.requests;
    into.errors_5xx += from.errors_5xx;
    // Equal bounds on both sides (`ColorStats::new`): `add` cannot fail.
    let _ = into.request_ms.add(&from.request_ms);
    let _ = into.header_ms.add(&from.header_ms);
}

impl Summary {
    /// The sum of several summaries (the fleet total), minutes merged.
    pub(crate) fn sum<'a>(parts: impl IntoIterator<Item = &'a Summary>) -> Summary {
        let mut total = Summary::default();
        let mut minutes = Minutes::default();
        for p in parts {
            total.lines += p.lines;
            total.parsed += p.parsed;
            total.malformed += p.malformed;
            total.oversized += p.oversized;
            total.outside += p.outside;
            for (a, b) in total.statuses.iter_mut().zip(&p.statuses) {
                a.merge(b);
            }
            total.upstreams.merge(&p.upstreams);
            for c in Color::BOTH {
                merge_stats(&mut total.colors.colors[c], &p.colors.colors[c]);
            }
            merge_stats(&mut total.colors.unattributed, &p.colors.unattributed);
            for m in &p.minutes {
                minutes.merge(m);
            }
        }
        total.minutes = minutes.into_sorted();
        total
    }

    /// The status breakdown of one color, or of the unattributed requests for `None`.
    pub(crate) fn statuses(&self, color: Option<Color>) -> &Statuses {
        &self.statuses[slot(color)]
    }

    /// Whether there were requests and none of them could be given a color.
    pub(crate) fn all_unattributed(&self) -> bool {
        self.parsed > 0 && self.colors.unattributed.requests == self.parsed
    }
}

/// One file's report: a file is one gateway.
#[derive(Debug, Clone)]
pub(crate) struct FileReport {
    /// The gateway's name ([`gateway_name`]).
    pub(crate) name: String,
    /// The path as given, sanitized.
    pub(crate) path: String,
    /// The fleet.toml gateway whose access log this is (sanitized), if one is.
    pub(crate) gateway: Option<String>,
    /// The addresses its requests were attributed by.
    pub(crate) colors: Colors,
    /// The audited changes of its gateway within its minutes, oldest first.
    pub(crate) steps: Vec<Step>,
    /// The first unusable line, if any.
    pub(crate) first_malformed: Option<Malformed>,
    /// Counts and statistics.
    pub(crate) summary: Summary,
}

/// Every file, and their sum when there are several.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// One per file, in the order given.
    pub(crate) files: Vec<FileReport>,
    /// The fleet total; `None` for a single file.
    pub(crate) total: Option<Summary>,
    /// The `--since`/`--until` the lines were counted in.
    pub(crate) window: Window,
}

impl Report {
    /// The report of these files, with the total when there is more than one.
    pub(crate) fn new(files: Vec<FileReport>) -> Self {
        let total = (files.len() > 1).then(|| Summary::sum(files.iter().map(|f| &f.summary)));
        Report {
            files,
            total,
            window: Window::default(),
        }
    }

    /// Whether there were requests and not one, in any file, could be given a color: every
    /// per-color figure is then empty and the report would mislead (exit code 1).
    pub(crate) fn all_unattributed(&self) -> bool {
        let parsed: u64 = self.files.iter().map(|f| f.summary.parsed).sum();
        parsed > 0
            && self
                .files
                .iter()
                .all(|f| f.summary.parsed == 0 || f.summary.all_unattributed())
    }
}

/// Everything of a file's aggregation except the splitter, so the splitter's callback can
/// borrow it while the splitter is borrowed.
#[derive(Debug, Clone, Default)]
struct Tally {
    window: Window,
    parsed: u64,
    malformed: u64,
    outside: u64,
    colors: Aggregate,
    statuses: [Statuses; 3],
    upstreams: Upstreams,
    minutes: Minutes,
    first_malformed: Option<Malformed>,
}

impl Tally {
    /// Count one line; `line_no` is only worked out for the first malformed line.
    #[inline]
    fn take(&mut self, line: &[u8], colors: &Colors, line_no: impl FnOnce() -> u64) {
        match usable(line, colors) {
            Ok((time_ms, _, _)) if !self.window.contains(time_ms) => self.outside += 1,
            Ok((time_ms, r, upstream)) => {
                self.parsed += 1;
                self.colors.add(&r);
                let at = slot(r.color);
                self.statuses[at].add(r.status);
                if r.color.is_none() {
                    self.upstreams.add_n(last_entry(upstream), 1);
                }
                self.minutes.get(time_ms / MINUTE_MS).colors[at].add(&r);
            }
            Err(error) => {
                self.malformed += 1;
                if self.first_malformed.is_none() {
                    self.first_malformed = Some(Malformed {
                        line: line_no(),
                        error,
                    });
                }
            }
        }
    }
}

/// A line's time, record and `upstream_addr`, or why it has none: the live tail's rules plus
/// a usable `time`, without which a line has no minute.
#[inline]
fn usable<'a>(
    line: &'a [u8],
    colors: &Colors,
) -> Result<(u64, RequestRecord, &'a [u8]), LineError> {
    let l = parse_line(line)?;
    let r = try_record(&l, colors)?;
    let t = l.time_ms().ok_or(LineError::BadValue("time"))?;
    Ok((t, r, l.upstream_addr))
}

/// A file's bytes in, its [`Summary`] out: chunks of any size, no allocation per line.
#[derive(Debug, Clone)]
pub(crate) struct FileAggregator {
    splitter: LineSplitter,
    colors: Colors,
    tally: Tally,
    /// Newlines in the chunks fed so far: line numbers for the first malformed line.
    newlines: u64,
}

impl FileAggregator {
    /// An aggregator attributing by `colors`, with the live tail's maximum line length.
    pub(crate) fn new(colors: Colors) -> Self {
        FileAggregator::with_splitter(colors, LineSplitter::new())
    }

    /// An aggregator with its own splitter (e.g. a small maximum line length in tests).
    pub(crate) fn with_splitter(colors: Colors, splitter: LineSplitter) -> Self {
        FileAggregator {
            splitter,
            colors,
            tally: Tally::default(),
            newlines: 0,
        }
    }

    /// The same, counting only requests inside `window` (by their `$msec`).
    pub(crate) fn within(mut self, window: Window) -> Self {
        self.tally.window = window;
        self
    }

    /// Newline bytes seen so far: where a broken stream stopped.
    pub(crate) fn newlines(&self) -> u64 {
        self.newlines
    }

    /// Count every line `chunk` completes.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        let before = self.newlines;
        let (colors, tally) = (&self.colors, &mut self.tally);
        self.splitter.push(chunk, |line| {
            tally.take(line, colors, || before + line_in_chunk(chunk, line));
        });
        self.newlines += memchr::memchr_iter(b'\n', chunk).count() as u64;
    }

    /// At the end of the file: count a last line without a newline, and hand out the summary.
    pub(crate) fn finish(mut self) -> (Summary, Option<Malformed>) {
        let last = self.newlines + 1;
        let (colors, tally) = (&self.colors, &mut self.tally);
        self.splitter
            .finish(|line| tally.take(line, colors, || last));
        let t = self.tally;
        let oversized = self.splitter.oversized();
        let summary = Summary {
            lines: t.parsed + t.malformed + oversized + t.outside,
            parsed: t.parsed,
            malformed: t.malformed,
            oversized,
            outside: t.outside,
            colors: t.colors,
            statuses: t.statuses,
            upstreams: t.upstreams,
            minutes: t.minutes.into_sorted(),
        };
        (summary, t.first_malformed)
    }
}

/// The 1-based number, within `chunk`, of a line the splitter handed out for it.
///
/// Lines wholly inside the chunk are sub-slices of it (the splitter copies only a line
/// begun in an earlier chunk, which is then the chunk's first line), so the newlines before
/// the slice's start count the lines before it, oversized ones included.
fn line_in_chunk(chunk: &[u8], line: &[u8]) -> u64 {
    let start = chunk.as_ptr() as usize;
    let at = line.as_ptr() as usize;
    if at < start || at >= start + chunk.len() {
        return 1;
    }
    let before = chunk.get(..at - start).unwrap_or_default();
    memchr::memchr_iter(b'\n', before).count() as u64 + 1
}

/// The whole file's report from its bytes in memory (tests; [`read`] streams files instead).
#[cfg(test)]
pub(crate) fn report_bytes(name: &str, path: &str, colors: &Colors, bytes: &[u8]) -> FileReport {
    report_bytes_within(name, path, colors, bytes, Window::default())
}

/// [`report_bytes`] counting only the requests inside `window`.
#[cfg(test)]
pub(crate) fn report_bytes_within(
    name: &str,
    path: &str,
    colors: &Colors,
    bytes: &[u8],
    window: Window,
) -> FileReport {
    let mut a = FileAggregator::new(colors.clone()).within(window);
    a.feed(bytes);
    let (summary, first_malformed) = a.finish();
    FileReport {
        name: name.to_string(),
        path: path.to_string(),
        gateway: None,
        colors: colors.clone(),
        steps: Vec::new(),
        first_malformed,
        summary,
    }
}

/// Characters kept of an audit record's `action` and `outcome` (ours are short words).
const MAX_AUDIT_WORD: usize = 24;

/// One audited change of a gateway, as the report marks it in the minute it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    /// When the change finished (the record's `time`), ms since the epoch.
    pub(crate) time_ms: u64,
    /// The gateway (`host`).
    pub(crate) host: String,
    /// `step`, `rollback`, `stop`, ... (sanitized).
    pub(crate) action: String,
    /// Weights read back before the change.
    pub(crate) before: Option<Weights>,
    /// Weights read back after it.
    pub(crate) after: Option<Weights>,
    /// Weights asked for.
    pub(crate) target: Option<Weights>,
    /// `ok`, `failed`, `refused`, ... (sanitized).
    pub(crate) outcome: String,
}

impl Step {
    /// The minute it falls in (minutes since the epoch).
    pub(crate) fn minute(&self) -> u64 {
        self.time_ms / MINUTE_MS
    }

    /// `step 90/10→80/20 ok`; a change that did not land also says what was asked.
    pub(crate) fn label(&self) -> String {
        let weights = match (self.before, self.after) {
            (Some(b), Some(a)) => format!(" {b}→{a}"),
            (Some(b), None) => format!(" {b}→?"),
            (None, Some(a)) => format!(" →{a}"),
            (None, None) => String::new(),
        };
        let asked = match self.target {
            Some(t) if self.outcome != "ok" && Some(t) != self.after => format!(" (asked {t})"),
            _ => String::new(),
        };
        format!("{}{weights} {}{asked}", self.action, self.outcome)
    }
}

/// The fields of an audit record the report reads; the rest of the record is ignored.
#[derive(serde::Deserialize)]
struct AuditLine {
    time: String,
    host: String,
    action: String,
    #[serde(default)]
    before: Option<Weights>,
    #[serde(default)]
    after: Option<Weights>,
    #[serde(default)]
    target: Option<Weights>,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    stage: Option<String>,
}

fn short(word: &str) -> String {
    sanitize(&word.chars().take(MAX_AUDIT_WORD).collect::<String>())
}

/// The audit log read line by line: the changes of the gateways asked for, inside the window.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditSteps {
    hosts: Vec<String>,
    window: Window,
    /// Changes kept, in the log's order.
    pub(crate) steps: Vec<Step>,
    /// Lines that are not an audit record (torn, not JSON, no usable `time`).
    pub(crate) unreadable: u64,
    /// The first of them (1-based).
    pub(crate) first_unreadable: Option<u64>,
    lines: u64,
}

impl AuditSteps {
    /// A reader keeping the changes of `hosts` made inside `window`.
    pub(crate) fn new(hosts: Vec<String>, window: Window) -> Self {
        AuditSteps {
            hosts,
            window,
            ..AuditSteps::default()
        }
    }

    /// One line of the audit log (without its newline).
    pub(crate) fn take(&mut self, line: &[u8]) {
        self.lines += 1;
        if line.trim_ascii().is_empty() {
            return;
        }
        let rec = serde_json::from_slice::<AuditLine>(line)
            .ok()
            .and_then(|r| rfc3339_ms(&r.time).map(|t| (t, r)));
        let Some((time_ms, r)) = rec else {
            self.unreadable += 1;
            self.first_unreadable.get_or_insert(self.lines);
            return;
        };
        // An intent is followed by the outcome of the same change: mark that one only.
        if r.stage.as_deref() == Some("intent")
            || !self.window.contains(time_ms)
            || !self.hosts.contains(&r.host)
        {
            return;
        }
        self.steps.push(Step {
            time_ms,
            host: sanitize(&r.host),
            action: short(&r.action),
            before: r.before,
            after: r.after,
            target: r.target,
            outcome: short(&r.outcome),
        });
    }

    /// The warning for unreadable lines, naming the log; `None` when every line was read.
    pub(crate) fn warning(&self, path: &Path) -> Option<String> {
        let first = self.first_unreadable?;
        Some(format!(
            "audit log {}: skipped {} unreadable line{} (the first is line {first}); the steps shown may be incomplete",
            sanitize(&path.to_string_lossy()),
            self.unreadable,
            if self.unreadable == 1 { "" } else { "s" }
        ))
    }
}

/// The steps of `f`'s gateway made within its minutes (first to last, gaps included), oldest
/// first: the changes whose effect the file shows.
pub(crate) fn steps_for(f: &FileReport, steps: &[Step]) -> Vec<Step> {
    let (Some(gw), Some(first), Some(last)) = (
        f.gateway.as_deref(),
        f.summary.minutes.first(),
        f.summary.minutes.last(),
    ) else {
        return Vec::new();
    };
    let mut v: Vec<Step> = steps
        .iter()
        .filter(|s| s.host == gw && (first.index..=last.index).contains(&s.minute()))
        .cloned()
        .collect();
    v.sort_by_key(|s| s.time_ms);
    v
}

/// The loud warning for a file whose every request is unattributed: the addresses tried, where
/// they came from, and the addresses its log has; `None` otherwise.
pub(crate) fn all_unattributed_warning(f: &FileReport, a: &Attribution) -> Option<String> {
    let s = &f.summary;
    if !s.all_unattributed() {
        return None;
    }
    // Each part sanitized on its own (names and paths already are): sanitizing the whole
    // would cut a long message short.
    let (blue, green) = (sanitize(&f.colors.blue), sanitize(&f.colors.green));
    let tried = match &f.gateway {
        Some(g) => format!("blue {blue} and green {green} (gateway {g} in fleet.toml)"),
        None => format!(
            "blue {blue} ({}) and green {green} ({})",
            a.blue_from.label(),
            a.green_from.label()
        ),
    };
    let seen: Vec<String> = s
        .upstreams
        .top(3)
        .into_iter()
        .map(|(addr, n)| format!("{addr} x{n}"))
        .collect();
    let seen = if seen.is_empty() {
        "none".to_string()
    } else {
        seen.join(", ")
    };
    Some(format!(
        "{} ({}): ALL {} requests are unattributed: none ended at {tried}; the log's upstreams are {seen}. Give --blue and --green, or -c fleet.toml with the gateway whose access_log this is",
        f.name, f.path, s.parsed
    ))
}

/// The warning for a file without one usable line, naming the first bad line; `None` otherwise.
pub(crate) fn no_usable_line_warning(f: &FileReport) -> Option<String> {
    let s = &f.summary;
    if s.parsed > 0 {
        return None;
    }
    Some(match (&f.first_malformed, s.lines) {
        (_, 0) => format!("{}: no lines: the file is empty", f.path),
        // Usable lines, all outside --since/--until: not a bad file, a window that misses it.
        (_, n) if s.outside > 0 => format!(
            "{}: no request inside the window: {} of its {n} lines are outside it",
            f.path, s.outside
        ),
        (Some(m), n) => format!(
            "{}: no usable line in {n} lines; the first bad one is line {}: {}",
            f.path, m.line, m.error
        ),
        (None, n) => format!(
            "{}: no usable line in {n} lines: all are longer than {} bytes",
            f.path,
            crate::nginx::accesslog::DEFAULT_MAX_LINE
        ),
    })
}

/// A warning on stderr; a stderr that cannot be written to is no reason to fail or panic.
fn warn(message: &str) {
    let _ = writeln!(std::io::stderr(), "cutover: warning: {message}");
}

/// A warning that must not be missed: a report that would mislead.
fn warn_loudly(message: &str) {
    let _ = writeln!(std::io::stderr(), "cutover: WARNING: {message}");
}

/// Now in ms since the epoch: only for `HH:MM` in `--since`/`--until`.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The changes of `hosts` in the fleet's audit log, with a warning for unreadable lines; a log
/// that does not exist is no steps and no warning.
fn read_audit(path: &Path, hosts: Vec<String>, window: Window) -> (Vec<Step>, Option<String>) {
    use std::io::BufRead;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), None),
        Err(e) => {
            let w = format!(
                "audit log {}: cannot open: {e}; no steps shown",
                sanitize(&path.to_string_lossy())
            );
            return (Vec::new(), Some(w));
        }
    };
    let mut r = std::io::BufReader::new(file);
    let mut audit = AuditSteps::new(hosts, window);
    let mut line = Vec::new();
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => audit.take(line.strip_suffix(b"\n").unwrap_or(&line)),
            Err(e) => {
                warn(&format!(
                    "audit log {}: read failed after line {}: {e}; the steps shown may be incomplete",
                    sanitize(&path.to_string_lossy()),
                    audit.lines
                ));
                break;
            }
        }
    }
    let w = audit.warning(path);
    (audit.steps, w)
}

/// `cutover report`: read the files (each by its gateway's addresses when fleet.toml has it),
/// overlay the audited steps, print the table or JSON, and warn about files with no usable
/// line or no attributed request. Exit 1 when not one request could be attributed.
pub(crate) fn command(args: &ReportArgs, config: Option<&Config>) -> Result<(), CommandError> {
    if let Some(id) = &args.request_id {
        return request::command(args, id, config);
    }
    let window = Window::parse(args.since.as_deref(), args.until.as_deref(), now_ms())
        .map_err(CommandError::usage)?;
    let (attribution, warning) =
        resolve_attribution(args.blue.as_deref(), args.green.as_deref(), config)
            .map_err(CommandError::usage)?;
    let mut sources = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let (source, w) = source_for(path, config, &attribution.colors);
        if let Some(w) = w {
            warn(&w);
        }
        sources.push(source);
    }
    // The fleet's disagreement only matters for files that fall back to the shared addresses.
    if let Some(w) = warning.filter(|_| sources.iter().any(|s| s.gateway.is_none())) {
        warn(&w);
    }
    let files = read::read_files(&sources, window).map_err(CommandError::failed)?;
    let mut report = Report::new(files);
    report.window = window;
    if let Some(c) = config {
        let mut hosts: Vec<String> = sources.iter().filter_map(|s| s.gateway.clone()).collect();
        hosts.sort();
        hosts.dedup();
        if !hosts.is_empty() {
            let (steps, w) = read_audit(&c.audit_log_path(), hosts, window);
            if let Some(w) = w {
                warn(&w);
            }
            for f in &mut report.files {
                f.steps = steps_for(f, &steps);
            }
        }
    }
    for f in &report.files {
        if let Some(w) = no_usable_line_warning(f) {
            warn(&w);
        }
        if let Some(w) = all_unattributed_warning(f, &attribution) {
            warn_loudly(&w);
        }
    }
    let misleading = report.all_unattributed();
    if misleading && report.files.len() > 1 {
        warn_loudly(&format!(
            "not one request of the {} files could be given a color",
            report.files.len()
        ));
    }
    let out = if args.json {
        render::json(&report)
            .map_err(|e| CommandError::failed(format!("cannot write the JSON: {e}")))?
    } else {
        render::table(&report, &attribution)
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A reader that stopped early (`| head`) wanted no more: not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(CommandError::failed(format!("stdout: {e}")));
        }
        _ => {}
    }
    if misleading {
        return Err(CommandError::failed(
            "every request is unattributed: the per-color figures are empty (see the warnings above)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::audit::rfc3339;

    pub(crate) const BLUE: &str = "127.0.0.1:8787";
    pub(crate) const GREEN: &str = "127.0.0.1:8788";

    /// 2026-11-22T01:00:00Z in seconds.
    pub(crate) const T0: u64 = 1_795_309_200;

    pub(crate) fn colors() -> Colors {
        Colors::new(BLUE, GREEN)
    }

    /// A line in the documented format; `at_ms` is relative to [`T0`].
    pub(crate) fn line(at_ms: u64, status: &str, rt: &str, addr: &str, header: &str) -> String {
        let ms = T0 * 1000 + at_ms;
        format!(
            r#"{{"time":"{}.{:03}","status":"{status}","request_time":"{rt}","upstream_addr":"{addr}","upstream_status":"200","upstream_response_time":"{rt}","upstream_header_time":"{header}","request_id":"4f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c","request":"POST /v1/chat/completions HTTP/1.1","bytes_sent":"1532"}}"#,
            ms / 1000,
            ms % 1000
        )
    }

    fn lines(ls: &[String]) -> Vec<u8> {
        let mut v = Vec::new();
        for l in ls {
            v.extend_from_slice(l.as_bytes());
            v.push(b'\n');
        }
        v
    }

    fn report(bytes: &[u8]) -> FileReport {
        report_bytes("gw", "/x/gw.log", &colors(), bytes)
    }

    #[test]
    fn two_colors_retries_group_name_and_5xx() {
        let input = lines(&[
            line(0, "200", "0.100", BLUE, "0.010"),
            line(1, "503", "0.200", BLUE, "-"),
            // A retry: green timed out, blue answered. The request is blue's.
            line(2, "200", "0.300", &format!("{GREEN}, {BLUE}"), "-, 0.030"),
            line(3, "200", "0.400", GREEN, "0.040"),
            // No server could be chosen: the group's name.
            line(4, "502", "0.001", "gateway", ""),
            line(5, "404", "0.000", "", ""),
            line(6, "499", "0.050", "-", "-"),
            line(7, "200", "0.060", "10.0.0.9:80", "0.006"),
        ]);
        let f = report(&input);
        let s = &f.summary;
        assert_eq!((s.lines, s.parsed, s.malformed, s.oversized), (8, 8, 0, 0));
        assert_eq!(f.first_malformed, None);
        let blue = s.colors.of(Some(Color::Blue));
        assert_eq!((blue.requests, blue.errors_5xx), (3, 1));
        assert_eq!(percentiles(&blue.request_ms), Some([200, 300, 300]));
        // Header times 10 and 30 (the retry's last entry); the 503 had none.
        assert_eq!(blue.header_ms.len(), 2);
        assert_eq!(percentiles(&blue.header_ms).map(|p| p[1]), Some(30));
        let green = s.colors.of(Some(Color::Green));
        assert_eq!((green.requests, green.errors_5xx), (1, 0));
        assert_eq!(percentiles(&green.request_ms), Some([400, 400, 400]));
        let un = s.colors.of(None);
        assert_eq!((un.requests, un.errors_5xx), (4, 1));
        assert_eq!(s.minutes.len(), 1);
        let m = &s.minutes[0];
        assert_eq!(m.start_ms(), T0 * 1000);
        let counts: Vec<(u64, u64)> = SLOTS
            .iter()
            .map(|(c, _)| (m.of(*c).requests, m.of(*c).errors_5xx))
            .collect();
        assert_eq!(counts, [(3, 1), (1, 0), (4, 1)]);
    }

    #[test]
    fn minutes_split_on_msec_and_out_of_order_lines_land_right() {
        let input = lines(&[
            line(59_999, "200", "0.100", BLUE, "0.010"),
            line(60_000, "500", "0.200", BLUE, "0.010"),
            // Late lines (a long request ends after later short ones): back to minute 0.
            line(30_000, "200", "0.300", GREEN, "0.010"),
            line(125_000, "200", "0.400", BLUE, "0.010"),
            line(1, "200", "0.500", BLUE, "0.010"),
            line(61_000, "200", "0.600", GREEN, "0.010"),
        ]);
        let s = report(&input).summary;
        let got: Vec<(u64, [u64; 3])> = s
            .minutes
            .iter()
            .map(|m| {
                (
                    m.index - T0 / 60,
                    [
                        m.of(Some(Color::Blue)).requests,
                        m.of(Some(Color::Green)).requests,
                        m.of(Some(Color::Blue)).errors_5xx,
                    ],
                )
            })
            .collect();
        assert_eq!(got, [(0, [2, 1, 0]), (1, [1, 1, 1]), (2, [1, 0, 0])]);
        assert_eq!(
            s.minutes[0].of(Some(Color::Blue)).percentiles(),
            Some([100, 500, 500])
        );
        assert_eq!(s.minutes[0].of(None).percentiles(), None);
    }

    #[test]
    fn percentiles_of_a_hundred_requests() {
        // 1..=100 ms: p50 is the 50th value, p95 the 95th, p99 the 99th.
        let input: Vec<String> = (1..=100)
            .map(|ms| line(ms, "200", &format!("0.{ms:03}"), GREEN, "0.001"))
            .collect();
        let s = report(&lines(&input)).summary;
        let green = s.colors.of(Some(Color::Green));
        assert_eq!(percentiles(&green.request_ms), Some([50, 95, 99]));
        assert_eq!(
            s.minutes[0].of(Some(Color::Green)).percentiles(),
            Some([50, 95, 99])
        );
        // Two significant digits: 1234 ms is kept in a bucket that reads 1232.
        let one = report(&lines(&[line(0, "200", "1.234", BLUE, "0.001")])).summary;
        assert_eq!(
            percentiles(&one.colors.of(Some(Color::Blue)).request_ms),
            Some([1232, 1232, 1232])
        );
    }

    #[test]
    fn malformed_lines_are_counted_with_the_first_number() {
        let mut input = lines(&[line(0, "200", "0.100", BLUE, "0.010")]);
        input.extend_from_slice(b"\n");
        input.extend_from_slice(&line(1, "200", "0.100", BLUE, "0.010").as_bytes()[..40]);
        input.extend_from_slice(b"\n");
        input.extend_from_slice(line(2, "2xx", "0.100", BLUE, "0.010").as_bytes());
        input.extend_from_slice(b"\n");
        let no_time = line(3, "200", "0.100", BLUE, "0.010").replace("1795309200.003", "soon");
        input.extend_from_slice(no_time.as_bytes());
        input.extend_from_slice(b"\n");
        // The last line has no newline: it still counts.
        input.extend_from_slice(line(4, "200", "0.100", GREEN, "0.010").as_bytes());
        let f = report(&input);
        let s = &f.summary;
        assert_eq!((s.lines, s.parsed, s.malformed, s.oversized), (6, 2, 4, 0));
        assert_eq!(
            f.first_malformed,
            Some(Malformed {
                line: 2,
                error: LineError::Empty
            })
        );
        // Each reason, one at a time, at the line it is on.
        for (skip, want) in [
            (2, (3, LineError::Truncated)),
            (3, (4, LineError::BadValue("status"))),
            (4, (5, LineError::BadValue("time"))),
        ] {
            let cut: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
            let mut v = Vec::new();
            for (i, l) in cut.iter().enumerate() {
                // Blank out the earlier bad lines with good ones.
                if i >= 1 && i < skip {
                    v.extend_from_slice(line(9, "200", "0.1", BLUE, "0.1").as_bytes());
                } else {
                    v.extend_from_slice(l);
                }
                v.push(b'\n');
            }
            let f = report(&v);
            assert_eq!(
                f.first_malformed,
                Some(Malformed {
                    line: want.0,
                    error: want.1
                })
            );
        }
    }

    #[test]
    fn line_numbers_survive_chunking_and_oversized_lines() {
        let good = line(0, "200", "0.100", BLUE, "0.010");
        let mut input = Vec::new();
        for l in [&good, &"x".repeat(700), &good, &"y".repeat(700), &good] {
            input.extend_from_slice(l.as_bytes());
            input.push(b'\n');
        }
        input.extend_from_slice(b"not json\n");
        input.extend_from_slice(good.as_bytes());
        input.push(b'\n');
        for chunk in [1, 7, 100, 333, 512, 4096, input.len()] {
            let mut a = FileAggregator::with_splitter(colors(), LineSplitter::with_max_line(600));
            for c in input.chunks(chunk) {
                a.feed(c);
            }
            let (s, first) = a.finish();
            assert_eq!(
                (s.lines, s.parsed, s.malformed, s.oversized),
                (7, 4, 1, 2),
                "chunk {chunk}"
            );
            assert_eq!(
                first,
                Some(Malformed {
                    line: 6,
                    error: LineError::NotJson
                }),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn the_total_is_the_sum_of_the_files() {
        let a = report(&lines(&[
            line(0, "200", "0.100", BLUE, "0.010"),
            line(60_000, "500", "0.300", GREEN, "0.010"),
        ]));
        let b = report(&lines(&[
            line(1, "200", "0.200", BLUE, "0.020"),
            line(120_000, "200", "0.400", GREEN, "0.040"),
        ]));
        let r = Report::new(vec![a, b]);
        let t = r.total.as_ref().expect("two files have a total");
        assert_eq!((t.lines, t.parsed), (4, 4));
        let blue = t.colors.of(Some(Color::Blue));
        assert_eq!(blue.requests, 2);
        assert_eq!(percentiles(&blue.request_ms), Some([100, 200, 200]));
        assert_eq!(percentiles(&blue.header_ms), Some([10, 20, 20]));
        let per_minute: Vec<(u64, u64, u64)> = t
            .minutes
            .iter()
            .map(|m| {
                (
                    m.index - T0 / 60,
                    m.of(Some(Color::Blue)).requests,
                    m.of(Some(Color::Green)).requests,
                )
            })
            .collect();
        assert_eq!(per_minute, [(0, 2, 0), (1, 0, 1), (2, 0, 1)]);
        assert_eq!(
            t.minutes[0].of(Some(Color::Blue)).percentiles(),
            Some([100, 200, 200])
        );
        assert!(Report::new(vec![report(b"")]).total.is_none());
    }

    #[test]
    fn attribution_precedence_and_checks() {
        let (a, w) = resolve_attribution(None, None, None).expect("defaults");
        assert_eq!(a.colors, Colors::new(DEFAULT_BLUE, DEFAULT_GREEN));
        assert_eq!(
            (a.blue_from, a.green_from, w),
            (AddrSource::Default, AddrSource::Default, None)
        );
        let (a, _) = resolve_attribution(Some("unix:/run/b.sock"), None, None).expect("flag");
        assert_eq!(a.colors, Colors::new("unix:/run/b.sock", DEFAULT_GREEN));
        assert_eq!(a.blue_from, AddrSource::Flag);
        for (b, g) in [
            ("", "x:1"),
            ("a:1, b:2", "x:1"),
            ("x:1", "x:1"),
            ("a b:1", "x:1"),
        ] {
            assert!(
                resolve_attribution(Some(b), Some(g), None).is_err(),
                "{b:?} {g:?}"
            );
        }
    }

    #[test]
    fn attribution_from_the_fleet() {
        let gw = |name: &str, blue: &str| {
            format!(
                "[[gateway]]\nname = \"{name}\"\naz = \"a\"\nssh = \"h\"\nnginx_conf = \"/c\"\naccess_log = \"/l\"\nhealth_url = \"http://127.0.0.1/h\"\n[gateway.blue]\naddr = \"{blue}\"\nstart = \"s\"\nstop = \"s\"\nversion = \"v\"\n[gateway.green]\naddr = \"127.0.0.1:9999\"\nstart = \"s\"\nstop = \"s\"\nversion = \"v\"\n"
            )
        };
        let same = format!(
            "{}{}",
            gw("g1", "127.0.0.1:9998"),
            gw("g2", "127.0.0.1:9998")
        );
        let c = Config::parse(&same, Path::new("fleet.toml")).expect("valid fleet");
        let (a, w) = resolve_attribution(None, None, Some(&c)).expect("fleet");
        assert_eq!(a.colors, Colors::new("127.0.0.1:9998", "127.0.0.1:9999"));
        assert_eq!(
            (a.blue_from, a.green_from, w),
            (AddrSource::Fleet, AddrSource::Fleet, None)
        );
        let (a, _) = resolve_attribution(None, Some("127.0.0.1:1"), Some(&c)).expect("flag wins");
        assert_eq!(a.colors.green, "127.0.0.1:1");
        let differ = format!(
            "{}{}",
            gw("g1", "127.0.0.1:9998"),
            gw("g2", "127.0.0.1:9997")
        );
        let c = Config::parse(&differ, Path::new("fleet.toml")).expect("valid fleet");
        let (a, w) = resolve_attribution(None, None, Some(&c)).expect("defaults");
        assert_eq!(a.colors, Colors::new(DEFAULT_BLUE, DEFAULT_GREEN));
        let w = w.expect("a warning");
        assert!(
            w.contains("g1 has blue 127.0.0.1:9998") && w.contains("g2 has blue 127.0.0.1:9997"),
            "{w}"
        );
        let (_, w) = resolve_attribution(Some("a:1"), Some("b:1"), Some(&c)).expect("flags");
        assert_eq!(w, None);
    }

    #[test]
    fn gateway_names_drop_gz_and_rotation() {
        for (path, want) in [
            ("/var/log/nginx/gw-a1.access.log", "gw-a1.access.log"),
            ("gw-a1.access.log.1", "gw-a1.access.log"),
            ("gw-a1.access.log.12.gz", "gw-a1.access.log"),
            ("access.log.gz", "access.log"),
            ("access.log-20261122.gz", "access.log"),
            ("access.log-2026112201", "access.log"),
            ("gw-2", "gw-2"),
            (".1", ".1"),
            ("evil\u{1b}[2J.log", "evil.log"),
        ] {
            assert_eq!(gateway_name(Path::new(path)), want, "{path}");
        }
    }

    #[test]
    fn warnings_for_files_without_a_usable_line() {
        let w = |bytes: &[u8]| no_usable_line_warning(&report(bytes));
        assert_eq!(
            w(b"garbage\n{}\n").as_deref(),
            Some(
                "/x/gw.log: no usable line in 2 lines; the first bad one is line 1: not a JSON object"
            )
        );
        assert_eq!(
            w(b"").as_deref(),
            Some("/x/gw.log: no lines: the file is empty")
        );
        assert_eq!(w(&lines(&[line(0, "200", "0.1", BLUE, "0.1")])), None);
    }

    /// A fleet.toml of `(name, access_log, blue, green)` gateways.
    fn fleet(gws: &[(&str, &Path, &str, &str)], extra: &str) -> Config {
        let mut toml = extra.to_string();
        for (name, log, blue, green) in gws {
            toml.push_str(&format!(
                "[[gateway]]\nname = \"{name}\"\naz = \"a\"\nssh = \"h\"\nnginx_conf = \"/c\"\naccess_log = \"{}\"\nhealth_url = \"http://127.0.0.1/h\"\n[gateway.blue]\naddr = \"{blue}\"\nstart = \"s\"\nstop = \"s\"\nversion = \"v\"\n[gateway.green]\naddr = \"{green}\"\nstart = \"s\"\nstop = \"s\"\nversion = \"v\"\n",
                log.display()
            ));
        }
        Config::parse(&toml, Path::new("/tmp/fleet.toml")).expect("valid fleet")
    }

    /// A directory of its own for a test, removed at the end.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let d = std::env::temp_dir()
                .join(format!("cutover-report-unit-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).expect("temp dir");
            Dir(d)
        }

        fn file(&self, rel: &str) -> PathBuf {
            let p = self.0.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("dir");
            }
            std::fs::write(&p, b"").expect("file");
            p
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_file_is_matched_to_its_gateway_by_path_and_rotated_siblings() {
        let d = Dir::new("match");
        let a = d.file("a/logs/access.log");
        let b = d.file("b/logs/access.log");
        let c = fleet(
            &[
                ("gw-a1", &a, "127.0.1.10:8787", "127.0.1.10:8788"),
                ("gw-b1", &b, "127.0.1.11:8787", "127.0.1.11:8788"),
            ],
            "",
        );
        let want_a = Some((
            "gw-a1".to_string(),
            Colors::new("127.0.1.10:8787", "127.0.1.10:8788"),
        ));
        assert_eq!(gateway_for(&a, Some(&c)), want_a);
        assert_eq!(gateway_for(&b, Some(&c)).map(|g| g.0), Some("gw-b1".into()));
        // The same file by another spelling, and rotated or gzipped siblings.
        let spelled = d.0.join("b/../a/./logs/access.log");
        assert_eq!(gateway_for(&spelled, Some(&c)), want_a);
        for sibling in [
            "a/logs/access.log.1",
            "a/logs/access.log.2.gz",
            "a/logs/access.log-20261122",
        ] {
            assert_eq!(gateway_for(&d.file(sibling), Some(&c)), want_a, "{sibling}");
        }
        // Not the same name, not the same directory, or no fleet: no gateway.
        for other in ["a/logs/error.log", "a/access.log.1", "c/logs/access.log"] {
            assert_eq!(gateway_for(&d.file(other), Some(&c)), None, "{other}");
        }
        assert_eq!(gateway_for(&a, None), None);
        // A gateway whose log is not on this machine cannot claim a file that is.
        let gone = fleet(&[("gw-x", &d.0.join("x/access.log"), "a:1", "b:1")], "");
        assert_eq!(gateway_for(&a, Some(&gone)), None);

        // Two gateways naming the same file: neither is chosen, and the operator is told.
        let twice = fleet(
            &[
                ("gw-a1", &a, "127.0.1.10:8787", "127.0.1.10:8788"),
                ("gw-a2", &a, "127.0.1.12:8787", "127.0.1.12:8788"),
            ],
            "",
        );
        assert_eq!(gateway_for(&a, Some(&twice)), None);
        let fallback = Colors::new(DEFAULT_BLUE, DEFAULT_GREEN);
        let (src, w) = source_for(&a, Some(&twice), &fallback);
        assert_eq!((src.gateway, src.colors), (None, fallback.clone()));
        let w = w.expect("a warning");
        assert!(w.contains("several gateways (gw-a1, gw-a2)"), "{w}");
        let (src, w) = source_for(&d.file("a/logs/access.log.3.gz"), Some(&c), &fallback);
        assert_eq!(
            (src.gateway.as_deref(), &src.colors.blue, w),
            (Some("gw-a1"), &"127.0.1.10:8787".to_string(), None)
        );
    }

    #[test]
    fn times_are_rfc3339_or_hh_mm_today_utc() {
        // 2026-12-02T13:00:00Z.
        let t = 1_796_216_400_000;
        assert_eq!(rfc3339_ms("2026-12-02T13:00:00Z"), Some(t));
        assert_eq!(rfc3339_ms("2026-12-02t13:00:00.250z"), Some(t + 250));
        assert_eq!(rfc3339_ms("2026-12-02 13:00:00.1234Z"), Some(t + 123));
        assert_eq!(rfc3339_ms("2026-12-02T15:30:00+02:30"), Some(t));
        assert_eq!(rfc3339_ms("2026-12-02T12:00:00-01:00"), Some(t));
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_ms("2028-02-29T00:00:00Z"), Some(1_835_395_200_000));
        // The audit log's own format reads back.
        assert_eq!(
            rfc3339_ms(&rfc3339(1_795_309_200, 123)),
            Some(T0 * 1000 + 123)
        );
        for bad in [
            "",
            "13:00",
            "2026-12-02",
            "2026-12-02T13:00Z",
            "2026-12-02T13:00:00",
            "2026-13-02T13:00:00Z",
            "2026-02-29T13:00:00Z",
            "2026-12-02T24:00:00Z",
            "2026-12-02T13:00:00.Z",
            "2026-12-02T13:00:00+2:00",
            "1969-12-31T23:59:59Z",
            "2026-12-02T13:00:00Zjunk",
            "２０２６-12-02T13:00:00Z",
        ] {
            assert_eq!(rfc3339_ms(bad), None, "{bad:?}");
        }
        let now = t + 5 * 3_600_000 + 17_000;
        assert_eq!(parse_time("13:00", now), Some(t));
        assert_eq!(parse_time("00:00", now), Some(t - 13 * 3_600_000));
        assert_eq!(
            parse_time("23:59", now),
            Some(t + 10 * 3_600_000 + 59 * 60_000)
        );
        for bad in ["24:00", "9:00", "12:60", "1300", "12:00:00"] {
            assert_eq!(parse_time(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn window_flags_are_checked_and_name_the_flag() {
        let now = T0 * 1000;
        assert_eq!(Window::parse(None, None, now), Ok(Window::default()));
        let w = Window::parse(Some("01:00"), Some("2026-11-22T01:01:00Z"), now).expect("valid");
        assert_eq!(
            (w.since_ms, w.until_ms),
            (Some(T0 * 1000), Some(T0 * 1000 + 60_000))
        );
        assert!(w.is_set() && w.contains(T0 * 1000) && w.contains(T0 * 1000 + 59_999));
        assert!(!w.contains(T0 * 1000 - 1) && !w.contains(T0 * 1000 + 60_000));
        let e = Window::parse(Some("yesterday"), None, now).expect_err("bad since");
        assert!(
            e.starts_with("--since \"yesterday\": expected RFC 3339"),
            "{e}"
        );
        let e = Window::parse(None, Some("25:00"), now).expect_err("bad until");
        assert!(e.starts_with("--until \"25:00\""), "{e}");
        let e = Window::parse(Some("02:00"), Some("01:00"), now).expect_err("empty");
        assert!(e.contains("is not before --until"), "{e}");
        let e = Window::parse(Some("\u{1b}[2J"), None, now).expect_err("escape");
        assert!(!e.contains('\u{1b}'), "{e}");
    }

    #[test]
    fn only_requests_inside_the_window_count() {
        let input = lines(&[
            line(59_999, "200", "0.100", BLUE, "0.010"),
            line(60_000, "500", "0.200", BLUE, "0.010"),
            line(90_000, "200", "0.300", GREEN, "0.010"),
            "not json".to_string(),
            line(120_000, "200", "0.400", GREEN, "0.010"),
        ]);
        let w = Window {
            since_ms: Some(T0 * 1000 + 60_000),
            until_ms: Some(T0 * 1000 + 120_000),
        };
        let f = report_bytes_within("gw", "/x/gw.log", &colors(), &input, w);
        let s = &f.summary;
        assert_eq!(
            (s.lines, s.parsed, s.malformed, s.oversized, s.outside),
            (5, 2, 1, 0, 2)
        );
        assert_eq!(s.minutes.len(), 1);
        assert_eq!(s.minutes[0].index, T0 / 60 + 1);
        assert_eq!(s.colors.of(Some(Color::Blue)).errors_5xx, 1);
        // Nothing inside: the warning says so, not that the lines were bad.
        let early = Window {
            since_ms: None,
            until_ms: Some(T0 * 1000),
        };
        let f = report_bytes_within("gw", "/x/gw.log", &colors(), &input, early);
        assert_eq!(
            no_usable_line_warning(&f).as_deref(),
            Some("/x/gw.log: no request inside the window: 4 of its 5 lines are outside it")
        );
    }

    #[test]
    fn statuses_by_class_and_the_top_5xx_codes() {
        let mut input = Vec::new();
        for (status, n) in [
            ("200", 3),
            ("204", 1),
            ("301", 1),
            ("404", 2),
            ("499", 4),
            ("502", 5),
            ("504", 2),
            ("500", 2),
            ("503", 1),
            ("101", 1),
        ] {
            for i in 0..n {
                input.push(line(i, status, "0.010", GREEN, "0.001"));
            }
        }
        input.push(line(0, "502", "0.001", "gateway", ""));
        let s = report(&lines(&input)).summary;
        let g = s.statuses(Some(Color::Green));
        assert_eq!(g.classes, [4, 1, 2, 4, 10, 1]);
        // Most frequent first; 504 and 500 tie, the lower code first.
        assert_eq!(g.top_5xx(TOP_5XX), [(502, 5), (500, 2), (504, 2)]);
        assert_eq!(g.top_5xx(10).len(), 4);
        assert_eq!(g.classes[4], s.colors.of(Some(Color::Green)).errors_5xx);
        assert_eq!(s.statuses(None).top_5xx(TOP_5XX), [(502, 1)]);
        assert_eq!(s.statuses(Some(Color::Blue)).top_5xx(TOP_5XX), []);
        let total = Summary::sum([&s, &s]);
        assert_eq!(
            total.statuses(Some(Color::Green)).classes,
            [8, 2, 4, 8, 20, 2]
        );
        assert_eq!(total.statuses(Some(Color::Green)).top_5xx(1), [(502, 10)]);
    }

    #[test]
    fn a_file_with_every_request_unattributed_is_named_loudly() {
        let lab = |at, addr: &str| line(at, "200", "0.100", addr, "0.010");
        let mut all = Vec::new();
        for i in 0..5 {
            all.push(lab(i, "127.0.1.10:8787"));
        }
        for i in 0..3 {
            all.push(lab(i, "127.0.0.1:9, 127.0.1.10:8788"));
        }
        all.push(lab(9, "gateway"));
        all.push(lab(9, "10.9.9.9:1"));
        let f = report(&lines(&all));
        let a = Attribution {
            colors: colors(),
            blue_from: AddrSource::Default,
            green_from: AddrSource::Default,
        };
        let w = all_unattributed_warning(&f, &a).expect("all unattributed");
        assert_eq!(
            w,
            "gw (/x/gw.log): ALL 10 requests are unattributed: none ended at blue 127.0.0.1:8787 (default) and green 127.0.0.1:8788 (default); the log's upstreams are 127.0.1.10:8787 x5, 127.0.1.10:8788 x3, 10.9.9.9:1 x1. Give --blue and --green, or -c fleet.toml with the gateway whose access_log this is"
        );
        // A file of a gateway says which gateway's addresses were tried.
        let mut g = f.clone();
        g.gateway = Some("gw-a1".into());
        let w = all_unattributed_warning(&g, &a).expect("all unattributed");
        assert!(
            w.contains(
                "blue 127.0.0.1:8787 and green 127.0.0.1:8788 (gateway gw-a1 in fleet.toml)"
            ),
            "{w}"
        );
        // One attributed request: partial, counted in the table as before, no warning.
        all.push(lab(9, BLUE));
        let partial = report(&lines(&all));
        assert_eq!(all_unattributed_warning(&partial, &a), None);
        assert_eq!(all_unattributed_warning(&report(b""), &a), None);
        // The report misleads only when no file has an attributed request.
        let empty = report(b"");
        assert!(Report::new(vec![f.clone()]).all_unattributed());
        assert!(Report::new(vec![f.clone(), empty.clone()]).all_unattributed());
        assert!(!Report::new(vec![f.clone(), partial]).all_unattributed());
        assert!(!Report::new(vec![empty]).all_unattributed());
        // Hostile upstreams are sanitized and cut; their number is bounded.
        let mut hostile = Vec::new();
        for i in 0..200 {
            hostile.push(lab(i, &format!("\\u001b[2J{i}:{}", "x".repeat(300))));
        }
        let f = report(&lines(&hostile));
        assert_eq!(f.summary.upstreams.counts.len(), MAX_UPSTREAMS);
        let w = all_unattributed_warning(&f, &a).expect("all unattributed");
        assert!(!w.contains('\u{1b}') && w.len() < 1000, "{w}");
    }

    fn audit_line(time_ms: u64, host: &str, extra: &str) -> String {
        format!(
            r#"{{"time":"{}","actor":"ann","ticket":null,"host":"{host}","action":"step","origin":"operator","before":{{"blue":90,"green":10}},"after":{{"blue":80,"green":20}},"target":{{"blue":80,"green":20}},"commands":[],"duration_ms":12,"outcome":"ok","error":null{extra}}}"#,
            rfc3339(time_ms / 1000, (time_ms % 1000) as u32)
        )
    }

    fn audit(hosts: &[&str], window: Window, text: &str) -> AuditSteps {
        let mut a = AuditSteps::new(hosts.iter().map(|h| h.to_string()).collect(), window);
        for l in text.split('\n') {
            a.take(l.as_bytes());
        }
        a
    }

    #[test]
    fn audit_records_become_steps() {
        let t = T0 * 1000;
        let text = [
            audit_line(t + 5_000, "gw-a1", r#","stage":"intent","id":"1""#),
            audit_line(t + 6_000, "gw-a1", r#","stage":"outcome","id":"1""#),
            audit_line(t + 7_000, "gw-b1", ""),
            audit_line(t + 8_000, "gw-z9", ""),
            "{torn".to_string(),
            r#"{"time":"soon","host":"gw-a1","action":"step"}"#.to_string(),
            audit_line(t + 3_600_000, "gw-a1", ""),
            String::new(),
        ]
        .join("\n");
        let a = audit(&["gw-a1", "gw-b1"], Window::default(), &text);
        let got: Vec<(u64, &str)> = a
            .steps
            .iter()
            .map(|s| (s.time_ms - t, s.host.as_str()))
            .collect();
        assert_eq!(
            got,
            [(6_000, "gw-a1"), (7_000, "gw-b1"), (3_600_000, "gw-a1")]
        );
        assert_eq!((a.unreadable, a.first_unreadable), (2, Some(5)));
        assert_eq!(
            a.warning(Path::new("/f/audit.jsonl")).as_deref(),
            Some(
                "audit log /f/audit.jsonl: skipped 2 unreadable lines (the first is line 5); the steps shown may be incomplete"
            )
        );
        let s = &a.steps[0];
        assert_eq!(s.label(), "step 90/10→80/20 ok");
        assert_eq!(s.minute(), T0 / 60);
        // Inside the window only.
        let w = Window {
            since_ms: Some(t + 6_500),
            until_ms: Some(t + 60_000),
        };
        assert_eq!(audit(&["gw-a1", "gw-b1"], w, &text).steps.len(), 1);
        assert!(
            audit(&["gw-a1"], w, &text)
                .warning(Path::new("x"))
                .is_some()
        );
        let clean = audit(&["gw-a1"], Window::default(), &audit_line(t, "gw-a1", ""));
        assert_eq!(clean.warning(Path::new("x")), None);
    }

    #[test]
    fn step_labels_say_what_landed() {
        let w = |b, g| Some(Weights { blue: b, green: g });
        let step = |action: &str, before, after, target, outcome: &str| Step {
            time_ms: 0,
            host: "gw".into(),
            action: action.into(),
            before,
            after,
            target,
            outcome: outcome.into(),
        };
        assert_eq!(
            step("step", w(90, 10), w(90, 10), w(80, 20), "refused").label(),
            "step 90/10→90/10 refused (asked 80/20)"
        );
        assert_eq!(
            step("rollback", w(50, 50), w(100, 0), w(100, 0), "ok").label(),
            "rollback 50/50→100/0 ok"
        );
        assert_eq!(step("stop", None, None, None, "ok").label(), "stop ok");
        assert_eq!(
            step("step", w(90, 10), None, w(80, 20), "failed").label(),
            "step 90/10→? failed (asked 80/20)"
        );
        // Hostile words from the audit log are cut and cleaned.
        let mut a = AuditSteps::new(vec!["gw".into()], Window::default());
        a.take(
            format!(
                r#"{{"time":"2026-11-22T01:00:00Z","host":"gw","action":"\u001b[2J{}","outcome":"ok"}}"#,
                "x".repeat(100)
            )
            .as_bytes(),
        );
        assert_eq!(a.steps[0].action.chars().count(), MAX_AUDIT_WORD - 4);
        assert!(!a.steps[0].label().contains('\u{1b}'));
    }

    #[test]
    fn a_file_shows_its_gateways_steps_within_its_minutes() {
        let t = T0 * 1000;
        let mut f = report(&lines(&[
            line(0, "200", "0.100", BLUE, "0.010"),
            line(180_000, "200", "0.100", GREEN, "0.010"),
        ]));
        f.gateway = Some("gw-a1".into());
        let text = [
            audit_line(t - 1, "gw-a1", ""),
            audit_line(t + 61_000, "gw-a1", ""),
            audit_line(t + 1_000, "gw-a1", ""),
            audit_line(t + 2_000, "gw-b1", ""),
            audit_line(t + 239_999, "gw-a1", ""),
            audit_line(t + 240_000, "gw-a1", ""),
        ]
        .join("\n");
        let all = audit(&["gw-a1", "gw-b1"], Window::default(), &text).steps;
        let got: Vec<u64> = steps_for(&f, &all).iter().map(|s| s.time_ms - t).collect();
        // Sorted, its own gateway's, from its first minute to its last (the empty one included).
        assert_eq!(got, [1_000, 61_000, 239_999]);
        f.gateway = None;
        assert!(steps_for(&f, &all).is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        #[test]
        fn any_bytes_any_chunks_never_panic_and_add_up(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            chunk in 1usize..300,
        ) {
            let mut a = FileAggregator::with_splitter(colors(), LineSplitter::with_max_line(200));
            for c in bytes.chunks(chunk) {
                a.feed(c);
            }
            let (s, first) = a.finish();
            proptest::prop_assert_eq!(s.lines, s.parsed + s.malformed + s.oversized + s.outside);
            if let Some(m) = first {
                proptest::prop_assert!(m.line >= 1 && m.line <= s.lines);
            }
            let minute_requests: u64 = s.minutes.iter().flat_map(|m| m.colors.iter()).map(|c| c.requests).sum();
            proptest::prop_assert_eq!(minute_requests, s.parsed);
        }
    }
}
