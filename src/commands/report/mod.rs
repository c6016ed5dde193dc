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
use std::path::Path;

use hdrhistogram::{Counter, Histogram};

use crate::cli::ReportArgs;
use crate::commands::error::CommandError;
use crate::config::Config;
use crate::model::{Color, RequestRecord};
use crate::nginx::accesslog::{
    AGGREGATE_MAX_MS, Aggregate, ColorStats, Colors, LineError, LineSplitter, parse_line,
    try_record,
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

/// The gateway a file belongs to: its file name without `.gz` and a rotation suffix
/// (`access.log.2.gz`, `access.log-20261122` → `access.log`), sanitized.
pub(crate) fn gateway_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map_or_else(|| path.to_string_lossy(), |f| f.to_string_lossy());
    let mut name: &str = &file;
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
    if name.is_empty() {
        sanitize(&file)
    } else {
        sanitize(name)
    }
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

/// Line counts and statistics of one file, or of all files together.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    /// Every line, oversized ones included; `lines == parsed + malformed + oversized`.
    pub(crate) lines: u64,
    /// Lines counted as requests.
    pub(crate) parsed: u64,
    /// Lines skipped as unparsable or unusable (blank lines included).
    pub(crate) malformed: u64,
    /// Lines skipped for being longer than the splitter's maximum.
    pub(crate) oversized: u64,
    /// Per color over the whole file, with header times.
    pub(crate) colors: Aggregate,
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
}

/// One file's report: a file is one gateway.
#[derive(Debug, Clone)]
pub(crate) struct FileReport {
    /// The gateway's name ([`gateway_name`]).
    pub(crate) name: String,
    /// The path as given, sanitized.
    pub(crate) path: String,
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
}

impl Report {
    /// The report of these files, with the total when there is more than one.
    pub(crate) fn new(files: Vec<FileReport>) -> Self {
        let total = (files.len() > 1).then(|| Summary::sum(files.iter().map(|f| &f.summary)));
        Report { files, total }
    }
}

/// Everything of a file's aggregation except the splitter, so the splitter's callback can
/// borrow it while the splitter is borrowed.
#[derive(Debug, Clone, Default)]
struct Tally {
    parsed: u64,
    malformed: u64,
    colors: Aggregate,
    minutes: Minutes,
    first_malformed: Option<Malformed>,
}

impl Tally {
    /// Count one line; `line_no` is only worked out for the first malformed line.
    #[inline]
    fn take(&mut self, line: &[u8], colors: &Colors, line_no: impl FnOnce() -> u64) {
        match usable(line, colors) {
            Ok((time_ms, r)) => {
                self.parsed += 1;
                self.colors.add(&r);
                self.minutes.get(time_ms / MINUTE_MS).colors[slot(r.color)].add(&r);
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

/// A line's time and record, or why it has none: the live tail's rules plus a usable `time`,
/// without which a line has no minute.
#[inline]
fn usable(line: &[u8], colors: &Colors) -> Result<(u64, RequestRecord), LineError> {
    let l = parse_line(line)?;
    let r = try_record(&l, colors)?;
    let t = l.time_ms().ok_or(LineError::BadValue("time"))?;
    Ok((t, r))
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
            lines: t.parsed + t.malformed + oversized,
            parsed: t.parsed,
            malformed: t.malformed,
            oversized,
            colors: t.colors,
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
    let mut a = FileAggregator::new(colors.clone());
    a.feed(bytes);
    let (summary, first_malformed) = a.finish();
    FileReport {
        name: name.to_string(),
        path: path.to_string(),
        first_malformed,
        summary,
    }
}

/// The warning for a file without one usable line, naming the first bad line; `None` otherwise.
pub(crate) fn no_usable_line_warning(f: &FileReport) -> Option<String> {
    let s = &f.summary;
    if s.parsed > 0 {
        return None;
    }
    Some(match (&f.first_malformed, s.lines) {
        (_, 0) => format!("{}: no lines: the file is empty", f.path),
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

/// `cutover report`: read the files, print the table or JSON, warn about files with no
/// usable line.
pub(crate) fn command(args: &ReportArgs, config: Option<&Config>) -> Result<(), CommandError> {
    if let Some(id) = &args.request_id {
        return request::command(args, id, config);
    }
    let (attribution, warning) =
        resolve_attribution(args.blue.as_deref(), args.green.as_deref(), config)
            .map_err(CommandError::usage)?;
    if let Some(w) = warning {
        warn(&w);
    }
    let files = read::read_files(&args.files, &attribution.colors).map_err(CommandError::failed)?;
    let report = Report::new(files);
    for f in &report.files {
        if let Some(w) = no_usable_line_warning(f) {
            warn(&w);
        }
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
            Err(CommandError::failed(format!("stdout: {e}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            proptest::prop_assert_eq!(s.lines, s.parsed + s.malformed + s.oversized);
            if let Some(m) = first {
                proptest::prop_assert!(m.line >= 1 && m.line <= s.lines);
            }
            let minute_requests: u64 = s.minutes.iter().flat_map(|m| m.colors.iter()).map(|c| c.requests).sum();
            proptest::prop_assert_eq!(minute_requests, s.parsed);
        }
    }
}
