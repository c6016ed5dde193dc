//! The access log in the `cutover` format: split a byte stream into lines, scan each line
//! as a flat JSON object of strings, and turn it into a [`RequestRecord`].
//!
//! Pure code, no IO: the live tail (`tail -F` over SSH) and the offline report feed it
//! chunks of bytes. Lines are bytes, not `str`: nginx's `escape=json` passes bytes >= 0x80
//! through raw, so a line may be invalid UTF-8, and validating whole lines would only cost
//! time for fields we never read as text. Nothing here panics on any input, and nothing
//! allocates per line.

use std::fmt;

use hdrhistogram::Histogram;

use crate::config::GatewayConfig;
use crate::model::{Color, PerColor, RequestRecord};

/// The longest line [`LineSplitter`] keeps by default (nginx lines are ~300 bytes).
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// Upper bound of the [`Aggregate`] histograms in ms (one hour).
pub const AGGREGATE_MAX_MS: u64 = 3_600_000;

/// Why a line is not a usable `cutover` log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// The line is blank.
    Empty,
    /// Not a JSON object: a wrong first byte, bad punctuation, or bytes after the `}`.
    NotJson,
    /// The line ends before the object is closed (cut off mid-write).
    Truncated,
    /// A string holds a raw control byte or an invalid escape.
    BadString,
    /// A value under a key cutover does not read is not a string: the object is not flat.
    NotFlat,
    /// A required key is absent.
    MissingKey(&'static str),
    /// A key cutover reads holds something other than a quoted string, or a value it cannot use.
    BadValue(&'static str),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::Empty => f.write_str("blank line"),
            LineError::NotJson => f.write_str("not a JSON object"),
            LineError::Truncated => f.write_str("line ends inside the JSON object"),
            LineError::BadString => {
                f.write_str("a string holds a raw control character or a bad escape")
            }
            LineError::NotFlat => f.write_str("a value is not a quoted string"),
            LineError::MissingKey(k) => write!(f, "key {k:?} is missing"),
            LineError::BadValue(k) => write!(f, "key {k:?} has an unusable value"),
        }
    }
}

impl std::error::Error for LineError {}

/// One log line's fields, borrowed from the line.
///
/// Values are the raw bytes between the quotes: JSON escapes are *not* decoded (`\"` stays
/// two bytes). None of the fields cutover computes with (numbers, addresses) can hold an
/// escape, so decoding would only cost time; `request` may, and is shown as logged.
/// Bytes may be invalid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// `$msec`: seconds since the epoch with milliseconds (`1763683200.123`).
    pub time: &'a [u8],
    /// `$status`: the status nginx returned.
    pub status: &'a [u8],
    /// `$request_time`: seconds with milliseconds.
    pub request_time: &'a [u8],
    /// `$upstream_addr`: servers tried, comma-separated; or the group name when none was chosen.
    pub upstream_addr: &'a [u8],
    /// `$upstream_status`: one status per server tried.
    pub upstream_status: &'a [u8],
    /// `$upstream_header_time`: seconds per server tried.
    pub upstream_header_time: &'a [u8],
    /// `$request` (`POST /v1/chat/completions HTTP/1.1`), still JSON-escaped; `None` when the
    /// key is absent (it is outside the format's required minimum).
    pub request: Option<&'a [u8]>,
    /// `$request_id` (or the `X-Request-Id` nginx passed on), still JSON-escaped; `None` when
    /// the key is absent.
    pub request_id: Option<&'a [u8]>,
    /// `$upstream_response_time`: seconds per server tried, in the order of `upstream_addr`;
    /// `None` when the key is absent.
    pub upstream_response_time: Option<&'a [u8]>,
}

impl<'a> LogLine<'a> {
    /// The HTTP status, when it is three digits and not `000`.
    pub fn status_code(&self) -> Option<u16> {
        parse_status(self.status)
    }

    /// Whole request time in ms.
    pub fn request_ms(&self) -> Option<u32> {
        parse_ms(self.request_time)
    }

    /// Header time of the last server tried, in ms.
    pub fn header_ms(&self) -> Option<u32> {
        parse_ms(self.upstream_header_time)
    }

    /// `$msec` in ms since the epoch.
    pub fn time_ms(&self) -> Option<u64> {
        parse_secs_as_ms(last_entry(self.time))
    }

    /// Method and target of `request` (still JSON-escaped), when it has both.
    pub fn method_and_target(&self) -> Option<(&'a [u8], &'a [u8])> {
        let mut words = self
            .request?
            .split(|&b| b == b' ')
            .filter(|w| !w.is_empty());
        Some((words.next()?, words.next()?))
    }
}

/// The keys cutover reads; the index is the slot in the scanner's table.
const KEYS: [&str; 9] = [
    "time",
    "status",
    "request_time",
    "upstream_addr",
    "upstream_status",
    "upstream_header_time",
    "request",
    "request_id",
    "upstream_response_time",
];

/// The keys after the first `REQUIRED_KEYS` of [`KEYS`] (`request`, `request_id`,
/// `upstream_response_time`) may be absent: only the failure digest reads them.
const REQUIRED_KEYS: usize = 6;

fn key_slot(key: &[u8]) -> Option<usize> {
    match key {
        b"time" => Some(0),
        b"status" => Some(1),
        b"request_time" => Some(2),
        b"upstream_addr" => Some(3),
        b"upstream_status" => Some(4),
        b"upstream_header_time" => Some(5),
        b"request" => Some(6),
        b"request_id" => Some(7),
        b"upstream_response_time" => Some(8),
        _ => None,
    }
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// A position in the line; every read goes through `get`, so no input can index out of range.
struct Scan<'a> {
    s: &'a [u8],
    i: usize,
    /// Whether the line holds any byte < 0x20: only then are strings checked for raw ones.
    has_control: bool,
}

impl<'a> Scan<'a> {
    #[inline]
    fn skip_ws(&mut self) {
        while let Some(&b) = self.s.get(self.i) {
            if !is_ws(b) {
                break;
            }
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// A string whose opening quote is at `i`; returns the raw bytes between the quotes.
    #[inline]
    fn string(&mut self) -> Result<&'a [u8], LineError> {
        let start = self.i + 1;
        let mut at = start;
        loop {
            let rest = self.s.get(at..).ok_or(LineError::Truncated)?;
            let Some(k) = memchr::memchr2(b'"', b'\\', rest) else {
                return Err(LineError::Truncated);
            };
            let j = at + k;
            if self.s.get(j) == Some(&b'"') {
                let v = self.s.get(start..j).ok_or(LineError::Truncated)?;
                // JSON forbids raw control bytes in strings; nginx escapes them, so one
                // here means a corrupt line.
                if self.has_control && v.iter().any(|&b| b < 0x20) {
                    return Err(LineError::BadString);
                }
                self.i = j + 1;
                return Ok(v);
            }
            at = match self.s.get(j + 1) {
                None => return Err(LineError::Truncated),
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j + 2,
                Some(b'u') => {
                    for n in j + 2..j + 6 {
                        match self.s.get(n) {
                            None => return Err(LineError::Truncated),
                            Some(h) if h.is_ascii_hexdigit() => {}
                            Some(_) => return Err(LineError::BadString),
                        }
                    }
                    j + 6
                }
                Some(_) => return Err(LineError::BadString),
            };
        }
    }

    /// Skip whitespace and take the expected byte; the end of the line means truncation.
    #[inline]
    fn expect(&mut self, want: u8) -> Result<(), LineError> {
        self.skip_ws();
        match self.peek() {
            Some(b) if b == want => {
                self.i += 1;
                Ok(())
            }
            Some(_) => Err(LineError::NotJson),
            None => Err(LineError::Truncated),
        }
    }
}

/// Scan one line (without its newline) as a flat JSON object of string values.
///
/// Keys may come in any order, unknown keys are skipped (their values must still be
/// strings), whitespace between tokens is allowed, and a repeated key's last value wins
/// (as with serde_json, which `nginx::check_log_line` uses).
pub fn parse_line(line: &[u8]) -> Result<LogLine<'_>, LineError> {
    // One vectorizable pass instead of a check per string: lines almost never hold a
    // byte < 0x20 (nginx escapes them; only JSON whitespace may appear raw).
    let has_control = line.iter().fold(false, |acc, &b| acc | (b < 0x20));
    let mut p = Scan {
        s: line,
        i: 0,
        has_control,
    };
    p.skip_ws();
    match p.peek() {
        None => return Err(LineError::Empty),
        Some(b'{') => p.i += 1,
        Some(_) => return Err(LineError::NotJson),
    }
    let mut slots: [Option<&[u8]>; KEYS.len()] = [None; KEYS.len()];
    p.skip_ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.skip_ws();
            match p.peek() {
                Some(b'"') => {}
                Some(_) => return Err(LineError::NotJson),
                None => return Err(LineError::Truncated),
            }
            let slot = key_slot(p.string()?);
            p.expect(b':')?;
            p.skip_ws();
            match p.peek() {
                Some(b'"') => {}
                Some(_) => {
                    return Err(match slot.and_then(|s| KEYS.get(s)) {
                        Some(&k) => LineError::BadValue(k),
                        None => LineError::NotFlat,
                    });
                }
                None => return Err(LineError::Truncated),
            }
            let value = p.string()?;
            if let Some(s) = slot.and_then(|s| slots.get_mut(s)) {
                *s = Some(value);
            }
            p.skip_ws();
            match p.peek() {
                Some(b',') => p.i += 1,
                Some(b'}') => {
                    p.i += 1;
                    break;
                }
                Some(_) => return Err(LineError::NotJson),
                None => return Err(LineError::Truncated),
            }
        }
    }
    p.skip_ws();
    if p.i < line.len() {
        return Err(LineError::NotJson);
    }
    for (slot, key) in slots.iter().zip(KEYS).take(REQUIRED_KEYS) {
        if slot.is_none() {
            return Err(LineError::MissingKey(key));
        }
    }
    let [
        time,
        status,
        request_time,
        addr,
        ustatus,
        header,
        request,
        request_id,
        response_time,
    ] = slots;
    Ok(LogLine {
        time: time.unwrap_or_default(),
        status: status.unwrap_or_default(),
        request_time: request_time.unwrap_or_default(),
        upstream_addr: addr.unwrap_or_default(),
        upstream_status: ustatus.unwrap_or_default(),
        upstream_header_time: header.unwrap_or_default(),
        request,
        request_id,
        upstream_response_time: response_time,
    })
}

/// The last entry of an upstream list (`a, b : c` → `c`), without surrounding spaces.
///
/// Entries are separated by `", "` and, across internal redirects, `" : "`; a lone `:` is
/// part of an address (`127.0.0.1:8787`, `unix:/run/x.sock`, `[::1]:80`).
pub fn last_entry(v: &[u8]) -> &[u8] {
    let mut start = 0;
    for (i, &b) in v.iter().enumerate().rev() {
        let sep = match b {
            b',' => true,
            b':' => i > 0 && v.get(i - 1) == Some(&b' ') && v.get(i + 1) == Some(&b' '),
            _ => false,
        };
        if sep {
            start = i + 1;
            break;
        }
    }
    v.get(start..).unwrap_or_default().trim_ascii()
}

/// `$status` as a number: nginx prints three digits; `000` (no response) is unusable.
pub fn parse_status(v: &[u8]) -> Option<u16> {
    match v.trim_ascii() {
        &[a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            let n = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
            (n > 0).then_some(n)
        }
        _ => None,
    }
}

/// Seconds with up to three decimals (`0.812`) to ms, from the last entry of a list;
/// `-`, empty, anything else or more than `u32::MAX` ms → `None`. Integer arithmetic only.
pub fn parse_ms(v: &[u8]) -> Option<u32> {
    u32::try_from(parse_secs_as_ms(last_entry(v))?).ok()
}

fn parse_secs_as_ms(v: &[u8]) -> Option<u64> {
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(dot) => (v.get(..dot)?, v.get(dot + 1..)?),
        None => (v, &b""[..]),
    };
    if int.is_empty() || frac.len() > 3 {
        return None;
    }
    let mut secs: u64 = 0;
    for &b in int {
        if !b.is_ascii_digit() {
            return None;
        }
        secs = secs.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    let mut ms: u64 = 0;
    for i in 0..3 {
        let d = match frac.get(i) {
            Some(&b) if b.is_ascii_digit() => u64::from(b - b'0'),
            Some(_) => return None,
            None => 0,
        };
        ms = ms * 10 + d;
    }
    secs.checked_mul(1000)?.checked_add(ms)
}

/// The two colors' upstream server addresses, as nginx prints them in `$upstream_addr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colors {
    /// Blue's address (`127.0.0.1:8787`, `unix:/run/blue.sock`).
    pub blue: String,
    /// Green's address.
    pub green: String,
}

impl Colors {
    /// From the two addresses (surrounding spaces are dropped).
    pub fn new(blue: impl Into<String>, green: impl Into<String>) -> Self {
        let trim = |s: String| s.trim().to_string();
        Colors {
            blue: trim(blue.into()),
            green: trim(green.into()),
        }
    }

    /// The addresses configured for one gateway (`[gateway.blue] addr`, `[gateway.green] addr`).
    pub fn of_gateway(g: &GatewayConfig) -> Self {
        Colors::new(g.blue.addr.as_str(), g.green.addr.as_str())
    }

    /// The color of the server that answered: the last entry of `$upstream_addr`.
    /// A group name (no server chosen), `-`, empty or an unknown address → `None`.
    pub fn color_of(&self, upstream_addr: &[u8]) -> Option<Color> {
        let last = last_entry(upstream_addr);
        if last.is_empty() {
            None
        } else if last == self.blue.as_bytes() {
            Some(Color::Blue)
        } else if last == self.green.as_bytes() {
            Some(Color::Green)
        } else {
            None
        }
    }
}

/// The model's record of a line, or why there is none (`BadValue("status")` etc.).
pub fn try_record(line: &LogLine, colors: &Colors) -> Result<RequestRecord, LineError> {
    Ok(RequestRecord {
        color: colors.color_of(line.upstream_addr),
        status: line.status_code().ok_or(LineError::BadValue("status"))?,
        request_ms: line
            .request_ms()
            .ok_or(LineError::BadValue("request_time"))?,
        header_ms: line.header_ms(),
    })
}

/// The model's record of a line; `None` when status or request_time is unusable.
pub fn record(line: &LogLine, colors: &Colors) -> Option<RequestRecord> {
    try_record(line, colors).ok()
}

/// Cuts a byte stream arriving in chunks into lines, keeping only a bounded partial tail.
#[derive(Debug, Clone)]
pub struct LineSplitter {
    /// The start of a line whose newline has not arrived yet; never longer than `max_line`.
    buf: Vec<u8>,
    max_line: usize,
    /// Inside an oversized line: drop bytes up to the next newline.
    skipping: bool,
    oversized: u64,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter::new()
    }
}

impl LineSplitter {
    /// A splitter with the default maximum line length ([`DEFAULT_MAX_LINE`]).
    pub fn new() -> Self {
        LineSplitter::with_max_line(DEFAULT_MAX_LINE)
    }

    /// A splitter that skips lines longer than `max_line` bytes (before the newline).
    pub fn with_max_line(max_line: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            max_line,
            skipping: false,
            oversized: 0,
        }
    }

    /// The maximum line length.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Lines skipped so far for being longer than the maximum (counted when they pass it).
    pub fn oversized(&self) -> u64 {
        self.oversized
    }

    /// Bytes of the incomplete last line held for the next chunk.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Call `each` for every line completed by `chunk`, without its `\n` or a trailing `\r`.
    pub fn push(&mut self, chunk: &[u8], mut each: impl FnMut(&[u8])) {
        let mut pos = 0;
        if self.skipping || !self.buf.is_empty() {
            let Some(nl) = memchr::memchr(b'\n', chunk) else {
                self.hold(chunk);
                return;
            };
            let head = chunk.get(..nl).unwrap_or_default();
            if !self.skipping {
                if self.buf.len() + head.len() > self.max_line {
                    self.oversized += 1;
                } else {
                    self.buf.extend_from_slice(head);
                    each(strip_cr(&self.buf));
                }
            }
            self.buf.clear();
            self.skipping = false;
            pos = nl + 1;
        }
        // Whole lines inside the chunk go out without a copy.
        let rest = chunk.get(pos..).unwrap_or_default();
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', rest) {
            let line = rest.get(start..nl).unwrap_or_default();
            if line.len() > self.max_line {
                self.oversized += 1;
            } else {
                each(strip_cr(line));
            }
            start = nl + 1;
        }
        self.hold(rest.get(start..).unwrap_or_default());
    }

    /// Keep `part` (no newline in it) as the start of the pending line, unless that makes the
    /// line too long: then drop it all and skip to the next newline.
    fn hold(&mut self, part: &[u8]) {
        if self.skipping {
            return;
        }
        if self.buf.len() + part.len() > self.max_line {
            self.oversized += 1;
            self.skipping = true;
            self.buf.clear();
            // Give back a buffer grown for a long line; the next long one may never come.
            self.buf.shrink_to(self.max_line.min(DEFAULT_MAX_LINE));
        } else {
            self.buf.extend_from_slice(part);
        }
    }

    /// Drop the incomplete last line: the stream broke mid-line and the next one starts
    /// on a line boundary, so gluing the two would make one malformed line.
    pub fn discard_partial(&mut self) {
        self.buf.clear();
        self.skipping = false;
    }

    /// At the end of the input: hand out a last line that has no newline, if any.
    pub fn finish(&mut self, mut each: impl FnMut(&[u8])) {
        if !self.skipping && !self.buf.is_empty() {
            each(strip_cr(&self.buf));
        }
        self.buf.clear();
        self.skipping = false;
    }
}

#[inline]
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// What a [`LogReader`] has seen; `lines == parsed + malformed + oversized`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TailCounters {
    /// Every line, oversized ones included.
    pub lines: u64,
    /// Lines that became a [`RequestRecord`].
    pub parsed: u64,
    /// Lines skipped as unparsable or unusable.
    pub malformed: u64,
    /// Lines skipped for being longer than the splitter's maximum.
    pub oversized: u64,
    /// Parsed lines whose upstream is neither color (group name, `-`, unknown address).
    pub unattributed: u64,
}

/// Chunks in, records out: a [`LineSplitter`], the parser and [`TailCounters`] together.
#[derive(Debug, Clone)]
pub struct LogReader {
    splitter: LineSplitter,
    colors: Colors,
    counters: TailCounters,
    last_error: Option<LineError>,
}

impl LogReader {
    /// A reader attributing by `colors`, with the default maximum line length.
    pub fn new(colors: Colors) -> Self {
        LogReader::with_splitter(colors, LineSplitter::new())
    }

    /// A reader with its own splitter (e.g. another maximum line length).
    pub fn with_splitter(colors: Colors, splitter: LineSplitter) -> Self {
        LogReader {
            splitter,
            colors,
            counters: TailCounters::default(),
            last_error: None,
        }
    }

    /// The counters so far.
    pub fn counters(&self) -> TailCounters {
        self.counters
    }

    /// Why the latest malformed line was skipped, for a status line.
    pub fn last_error(&self) -> Option<LineError> {
        self.last_error
    }

    /// The addresses lines are attributed by.
    pub fn colors(&self) -> &Colors {
        &self.colors
    }

    /// Append a record to `out` for every usable line `chunk` completes; others are counted.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<RequestRecord>) {
        self.feed_with(chunk, out, |_, _| {});
    }

    /// As [`feed`](Self::feed), and every line that made a record is also handed to `each`
    /// with the reader's colors (the live tail picks the failed requests out of them).
    pub fn feed_with(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<RequestRecord>,
        mut each: impl FnMut(&LogLine, &Colors),
    ) {
        let before = self.splitter.oversized();
        let (colors, counters, last_error) =
            (&self.colors, &mut self.counters, &mut self.last_error);
        self.splitter.push(chunk, |line| {
            take(line, colors, counters, last_error, out, &mut each);
        });
        self.count_oversized(before);
    }

    /// At the end of the input (offline report): use a last line without a newline.
    pub fn finish(&mut self, out: &mut Vec<RequestRecord>) {
        let before = self.splitter.oversized();
        let (colors, counters, last_error) =
            (&self.colors, &mut self.counters, &mut self.last_error);
        self.splitter
            .finish(|line| take(line, colors, counters, last_error, out, &mut |_, _| {}));
        self.count_oversized(before);
    }

    /// Forget the incomplete last line (after a reconnect; see [`LineSplitter::discard_partial`]).
    pub fn discard_partial(&mut self) {
        self.splitter.discard_partial();
    }

    fn count_oversized(&mut self, before: u64) {
        let new = self.splitter.oversized() - before;
        self.counters.oversized += new;
        self.counters.lines += new;
    }
}

#[inline]
fn take(
    line: &[u8],
    colors: &Colors,
    counters: &mut TailCounters,
    last_error: &mut Option<LineError>,
    out: &mut Vec<RequestRecord>,
    each: &mut impl FnMut(&LogLine, &Colors),
) {
    counters.lines += 1;
    match parse_line(line).and_then(|l| try_record(&l, colors).map(|r| (l, r))) {
        Ok((l, r)) => {
            counters.parsed += 1;
            if r.color.is_none() {
                counters.unattributed += 1;
            }
            out.push(r);
            each(&l, colors);
        }
        Err(e) => {
            counters.malformed += 1;
            *last_error = Some(e);
        }
    }
}

/// Requests, server errors and latency histograms of one color (or of the unattributed).
#[derive(Debug, Clone)]
pub struct ColorStats {
    /// Requests counted.
    pub requests: u64,
    /// Of which answered 500..=599.
    pub errors_5xx: u64,
    /// Whole request time in ms.
    pub request_ms: Histogram<u64>,
    /// Upstream header time in ms, for requests that have one.
    pub header_ms: Histogram<u64>,
}

impl Default for ColorStats {
    fn default() -> Self {
        ColorStats::new()
    }
}

impl ColorStats {
    /// Empty counts; histograms from 1 ms to [`AGGREGATE_MAX_MS`] at two significant digits.
    pub fn new() -> Self {
        let hist = || {
            Histogram::new_with_bounds(1, AGGREGATE_MAX_MS, 2)
                .expect("static histogram bounds are valid")
        };
        ColorStats {
            requests: 0,
            errors_5xx: 0,
            request_ms: hist(),
            header_ms: hist(),
        }
    }

    /// Count one request; no allocation (the histograms have fixed bounds and saturate).
    #[inline]
    pub fn add(&mut self, r: &RequestRecord) {
        self.requests += 1;
        if (500..600).contains(&r.status) {
            self.errors_5xx += 1;
        }
        self.request_ms.saturating_record(u64::from(r.request_ms));
        if let Some(h) = r.header_ms {
            self.header_ms.saturating_record(u64::from(h));
        }
    }
}

/// Per-color statistics of many records (benchmark, offline report).
#[derive(Debug, Clone, Default)]
pub struct Aggregate {
    /// Requests served by each color.
    pub colors: PerColor<ColorStats>,
    /// Requests no color can be named for.
    pub unattributed: ColorStats,
}

impl Aggregate {
    /// Empty statistics.
    pub fn new() -> Self {
        Aggregate::default()
    }

    /// The statistics of one color, or of the unattributed requests for `None`.
    pub fn of(&self, color: Option<Color>) -> &ColorStats {
        match color {
            Some(c) => &self.colors[c],
            None => &self.unattributed,
        }
    }

    /// Count one record under its color.
    #[inline]
    pub fn add(&mut self, r: &RequestRecord) {
        match r.color {
            Some(c) => self.colors[c].add(r),
            None => self.unattributed.add(r),
        }
    }

    /// Requests counted in all.
    pub fn requests(&self) -> u64 {
        self.colors.blue.requests + self.colors.green.requests + self.unattributed.requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BLUE: &str = "127.0.0.1:8787";
    const GREEN: &str = "127.0.0.1:8788";

    /// A line as nginx writes it with the documented `log_format`.
    const NORMAL: &str = r#"{"time":"1763683200.123","status":"200","request_time":"0.812","upstream_addr":"127.0.0.1:8787","upstream_status":"200","upstream_response_time":"0.812","upstream_header_time":"0.120","request_id":"4f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c","request":"POST /v1/chat/completions HTTP/1.1","bytes_sent":"1532"}"#;

    fn colors() -> Colors {
        Colors::new(BLUE, GREEN)
    }

    /// A line in the documented key order with the given values.
    fn line(addr: &str, ustatus: &str, header: &str, status: &str, request_time: &str) -> String {
        format!(
            r#"{{"time":"1763683200.500","status":"{status}","request_time":"{request_time}","upstream_addr":"{addr}","upstream_status":"{ustatus}","upstream_response_time":"{header}","upstream_header_time":"{header}","request_id":"r1","request":"POST /v1/chat/completions HTTP/1.1","bytes_sent":"10"}}"#
        )
    }

    fn rec(l: &str) -> Option<RequestRecord> {
        record(&parse_line(l.as_bytes()).expect("parses"), &colors())
    }

    #[test]
    fn normal_line_has_exact_fields() {
        let l = parse_line(NORMAL.as_bytes()).expect("parses");
        assert_eq!(l.time, b"1763683200.123");
        assert_eq!(l.status, b"200");
        assert_eq!(l.request_time, b"0.812");
        assert_eq!(l.upstream_addr, b"127.0.0.1:8787");
        assert_eq!(l.upstream_status, b"200");
        assert_eq!(l.upstream_header_time, b"0.120");
        assert_eq!(l.request, Some(&b"POST /v1/chat/completions HTTP/1.1"[..]));
        assert_eq!(l.time_ms(), Some(1_763_683_200_123));
        assert_eq!(
            l.method_and_target(),
            Some((&b"POST"[..], &b"/v1/chat/completions"[..]))
        );
        assert_eq!(
            record(&l, &colors()),
            Some(RequestRecord {
                color: Some(Color::Blue),
                status: 200,
                request_ms: 812,
                header_ms: Some(120),
            })
        );
    }

    #[test]
    fn retries_are_attributed_to_the_last_server() {
        let l = line(
            "127.0.0.1:8787, 127.0.0.1:8788",
            "502, 200",
            "0.004, 0.120",
            "200",
            "1.250",
        );
        let p = parse_line(l.as_bytes()).expect("parses");
        assert_eq!(p.upstream_status, b"502, 200");
        // One response time per try, in the order of `upstream_addr`.
        assert_eq!(p.upstream_response_time, Some(&b"0.004, 0.120"[..]));
        assert_eq!(p.request_id, Some(&b"r1"[..]));
        assert_eq!(
            record(&p, &colors()),
            Some(RequestRecord {
                color: Some(Color::Green),
                status: 200,
                request_ms: 1250,
                header_ms: Some(120),
            })
        );
        // An internal redirect separates the groups with " : ".
        let l = line(
            "127.0.0.1:8788 : 127.0.0.1:8787",
            "404 : 200",
            "0.001 : 0.002",
            "200",
            "0.003",
        );
        assert_eq!(
            rec(&l),
            Some(RequestRecord {
                color: Some(Color::Blue),
                status: 200,
                request_ms: 3,
                header_ms: Some(2),
            })
        );
    }

    #[test]
    fn dash_entries_have_no_header_time() {
        // The second try failed before a header came back.
        let l = line(
            "127.0.0.1:8787, 127.0.0.1:8788",
            "502, 504",
            "0.010, -",
            "504",
            "60.001",
        );
        assert_eq!(
            rec(&l),
            Some(RequestRecord {
                color: Some(Color::Green),
                status: 504,
                request_ms: 60_001,
                header_ms: None,
            })
        );
        let l = line("-", "-", "-", "499", "0.050");
        assert_eq!(
            rec(&l),
            Some(RequestRecord {
                color: None,
                status: 499,
                request_ms: 50,
                header_ms: None,
            })
        );
    }

    #[test]
    fn empty_strings_mean_never_set() {
        // Answered by nginx itself (a `return`): no upstream at all.
        let l = line("", "", "", "301", "0.000");
        let p = parse_line(l.as_bytes()).expect("parses");
        assert_eq!(p.upstream_addr, b"");
        assert_eq!(
            record(&p, &colors()),
            Some(RequestRecord {
                color: None,
                status: 301,
                request_ms: 0,
                header_ms: None,
            })
        );
        // Unusable status or request time: no record, and the error says which.
        for (status, rt, key) in [
            ("", "0.1", "status"),
            ("000", "0.1", "status"),
            ("abc", "0.1", "status"),
            ("200", "", "request_time"),
            ("200", "-", "request_time"),
            ("200", "0.1234", "request_time"),
        ] {
            let l = line(BLUE, "200", "0.1", status, rt);
            let p = parse_line(l.as_bytes()).expect("parses");
            assert_eq!(record(&p, &colors()), None, "{l}");
            assert_eq!(try_record(&p, &colors()), Err(LineError::BadValue(key)));
        }
    }

    #[test]
    fn group_name_is_unattributed() {
        let l = line("gateway", "", "", "502", "0.000");
        assert_eq!(
            rec(&l),
            Some(RequestRecord {
                color: None,
                status: 502,
                request_ms: 0,
                header_ms: None,
            })
        );
        // An address that is neither color's, and one that only starts like blue's.
        assert_eq!(colors().color_of(b"10.0.0.9:8787"), None);
        assert_eq!(colors().color_of(b"127.0.0.1:87870"), None);
        assert_eq!(colors().color_of(b"127.0.0.1:8787, "), None);
    }

    #[test]
    fn unix_sockets_are_attributed() {
        let c = Colors::new("unix:/run/blue.sock", " unix:/run/green.sock ");
        assert_eq!(c.color_of(b"unix:/run/blue.sock"), Some(Color::Blue));
        assert_eq!(
            c.color_of(b"unix:/run/blue.sock, unix:/run/green.sock"),
            Some(Color::Green)
        );
        assert_eq!(
            c.color_of(b"unix:/run/green.sock : unix:/run/blue.sock"),
            Some(Color::Blue)
        );
        assert_eq!(c.color_of(b"unix:/run/green.sock "), Some(Color::Green));
        assert_eq!(c.color_of(b"unix:"), None);
        let l = line("unix:/run/green.sock", "200", "0.007", "200", "0.009");
        let p = parse_line(l.as_bytes()).expect("parses");
        assert_eq!(
            record(&p, &c).map(|r| (r.color, r.header_ms)),
            Some((Some(Color::Green), Some(7)))
        );
        // IPv6 addresses hold lone colons, which are not separators.
        let v6 = Colors::new("[::1]:8787", "[::1]:8788");
        assert_eq!(v6.color_of(b"[::1]:8787, [::1]:8788"), Some(Color::Green));
        assert_eq!(last_entry(b"[::1]:8787"), b"[::1]:8787");
    }

    #[test]
    fn key_order_and_extra_keys_do_not_matter() {
        let l = r#"{"bytes_sent":"99","x_forwarded":"a, b","request":"GET /health HTTP/1.1","upstream_header_time":"0.002","upstream_addr":"127.0.0.1:8788","request_id":"z","upstream_response_time":"0.003","upstream_status":"200","request_time":"0.004","status":"200","time":"1.5","ssl_protocol":""}"#;
        let p = parse_line(l.as_bytes()).expect("parses");
        assert_eq!(p.time, b"1.5");
        assert_eq!(p.time_ms(), Some(1500));
        assert_eq!(p.request, Some(&b"GET /health HTTP/1.1"[..]));
        assert_eq!(
            record(&p, &colors()),
            Some(RequestRecord {
                color: Some(Color::Green),
                status: 200,
                request_ms: 4,
                header_ms: Some(2),
            })
        );
        // A repeated key: the last value wins, as in serde_json (and so `check_log_line`).
        let dup = NORMAL.replacen(r#""status":"200""#, r#""status":"500","status":"201""#, 1);
        assert_eq!(
            parse_line(dup.as_bytes()).map(|l| l.status),
            Ok(&b"201"[..])
        );
        // Without `request`, which is outside the format's required minimum.
        let no_request = NORMAL.replace(r#","request":"POST /v1/chat/completions HTTP/1.1""#, "");
        assert_eq!(
            parse_line(no_request.as_bytes()).map(|l| l.request),
            Ok(None)
        );
    }

    #[test]
    fn escapes_inside_request_are_kept_raw() {
        let l = NORMAL.replace(
            "POST /v1/chat/completions HTTP/1.1",
            r#"GET /a\"b\\c?q=\u001f\t HTTP/1.1"#,
        );
        let p = parse_line(l.as_bytes()).expect("parses");
        assert_eq!(p.request, Some(&br#"GET /a\"b\\c?q=\u001f\t HTTP/1.1"#[..]));
        assert_eq!(
            p.method_and_target(),
            Some((&b"GET"[..], &br#"/a\"b\\c?q=\u001f\t"#[..]))
        );
        // A value ending in an escaped backslash ends at the next quote.
        let l = NORMAL.replace("POST /v1/chat/completions HTTP/1.1", r#"x\\"#);
        assert_eq!(
            parse_line(l.as_bytes()).map(|p| p.request),
            Ok(Some(&br#"x\\"#[..]))
        );
        // Raw bytes >= 0x80 (not UTF-8) pass through.
        let mut l = NORMAL.as_bytes().to_vec();
        let at = NORMAL.find("/v1/").expect("path") + 1;
        l.splice(at..at, [0xff, 0xc3]);
        let p = parse_line(&l).expect("parses");
        assert_eq!(
            p.request,
            Some(&b"POST /\xff\xc3v1/chat/completions HTTP/1.1"[..])
        );
        assert_eq!(p.status_code(), Some(200));
    }

    #[test]
    fn request_id_and_response_time_are_optional() {
        let p = parse_line(NORMAL.as_bytes()).expect("parses");
        assert_eq!(p.request_id, Some(&b"4f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c"[..]));
        assert_eq!(p.upstream_response_time, Some(&b"0.812"[..]));
        // Absent keys are `None`, empty ones `Some("")`: neither is required.
        let bare = NORMAL
            .replace(r#""upstream_response_time":"0.812","#, "")
            .replace(r#""request_id":"4f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c","#, "");
        let p = parse_line(bare.as_bytes()).expect("parses");
        assert_eq!((p.request_id, p.upstream_response_time), (None, None));
        assert_eq!(p.status_code(), Some(200));
        let empty = NORMAL.replace("4f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c", "");
        assert_eq!(
            parse_line(empty.as_bytes()).map(|p| p.request_id),
            Ok(Some(&b""[..]))
        );
        // Escapes stay raw, as for `request`; a non-string value names the key.
        let esc = NORMAL.replace("4f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c", r#"a\u001b[2Jb\""#);
        assert_eq!(
            parse_line(esc.as_bytes()).map(|p| p.request_id),
            Ok(Some(&br#"a\u001b[2Jb\""#[..]))
        );
        for (from, to, key) in [
            (
                r#""request_id":"4f1c"#,
                r#""request_id":4,"x":"4f1c"#,
                "request_id",
            ),
            (
                r#""upstream_response_time":"0.812""#,
                r#""upstream_response_time":0.812"#,
                "upstream_response_time",
            ),
        ] {
            let bad = NORMAL.replace(from, to);
            assert_eq!(parse_line(bad.as_bytes()), Err(LineError::BadValue(key)));
        }
        // A repeated key: the last value wins.
        let dup = NORMAL.replace(r#""request_id":"#, r#""request_id":"first","request_id":"#);
        assert_eq!(
            parse_line(dup.as_bytes()).map(|p| p.request_id),
            Ok(Some(&b"4f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c"[..]))
        );
    }

    #[test]
    fn whitespace_between_tokens_is_allowed() {
        let spaced = format!(
            " \t{{ \"time\" : \"1.0\" ,\t\"status\":\"503\"\r\n, \"request_time\"  :\"2\", \"upstream_addr\":\"{GREEN}\" ,\"upstream_status\" :\"503\",\"upstream_header_time\": \"0.5\" }} \t"
        );
        let p = parse_line(spaced.as_bytes()).expect("parses");
        assert_eq!(p.status, b"503");
        assert_eq!(p.request, None);
        assert_eq!(
            record(&p, &colors()),
            Some(RequestRecord {
                color: Some(Color::Green),
                status: 503,
                request_ms: 2000,
                header_ms: Some(500),
            })
        );
        // Spaces inside values are part of the value (and trimmed for numbers and addresses).
        let l = line(&format!(" {BLUE} "), "200", " 0.5 ", " 200 ", "1.0");
        assert_eq!(
            rec(&l),
            Some(RequestRecord {
                color: Some(Color::Blue),
                status: 200,
                request_ms: 1000,
                header_ms: Some(500),
            })
        );
    }

    #[test]
    fn broken_lines_name_what_is_wrong() {
        let cases: [(String, LineError); 16] = [
            (String::new(), LineError::Empty),
            (" \t ".into(), LineError::Empty),
            (
                r#"127.0.0.1 - - [20/Nov/2025:10:00:00 +0000] "GET / HTTP/1.1" 200 12"#.into(),
                LineError::NotJson,
            ),
            ("[]".into(), LineError::NotJson),
            ("{".into(), LineError::Truncated),
            (NORMAL[..NORMAL.len() - 1].into(), LineError::Truncated),
            (NORMAL[..40].into(), LineError::Truncated),
            (format!("{NORMAL}x"), LineError::NotJson),
            (format!("{NORMAL}{NORMAL}"), LineError::NotJson),
            (
                NORMAL.replace(r#""1532"}"#, r#""1532",}"#),
                LineError::NotJson,
            ),
            (
                NORMAL.replace(r#""status":"200""#, r#""status":200"#),
                LineError::BadValue("status"),
            ),
            (
                NORMAL.replace(r#""bytes_sent":"1532""#, r#""bytes_sent":1532"#),
                LineError::NotFlat,
            ),
            (
                NORMAL.replace(r#""bytes_sent":"1532""#, r#""bytes_sent":{"a":"b"}"#),
                LineError::NotFlat,
            ),
            (
                NORMAL.replace("HTTP/1.1", "HTTP/1.1\t"),
                LineError::BadString,
            ),
            (
                NORMAL.replace("HTTP/1.1", r"HTTP/1.1\x"),
                LineError::BadString,
            ),
            (
                NORMAL.replace(r#""upstream_header_time":"0.120","#, ""),
                LineError::MissingKey("upstream_header_time"),
            ),
        ];
        for (l, want) in cases {
            assert_eq!(parse_line(l.as_bytes()), Err(want), "{l}");
        }
        assert_eq!(parse_line(b"{}"), Err(LineError::MissingKey("time")));
        assert_eq!(
            parse_line(NORMAL.replace("HTTP/1.1", r"\u12G4").as_bytes()),
            Err(LineError::BadString)
        );
        assert_eq!(parse_line(br#"{"a":"\u12"#), Err(LineError::Truncated));
        // A key spelled with an escape is another key (nginx never writes one).
        assert_eq!(
            parse_line(NORMAL.replace(r#""status""#, r#""st\u0061tus""#).as_bytes()),
            Err(LineError::MissingKey("status"))
        );
        assert_eq!(
            LineError::MissingKey("status").to_string(),
            "key \"status\" is missing"
        );
    }

    #[test]
    fn numbers_are_parsed_by_hand() {
        for (v, want) in [
            ("0.812", Some(812)),
            ("1", Some(1000)),
            ("1.", Some(1000)),
            ("1.5", Some(1500)),
            ("0.05", Some(50)),
            ("12.345", Some(12_345)),
            (" 0.5 ", Some(500)),
            ("0.010, 0.120", Some(120)),
            ("0.010 : 0.120", Some(120)),
            ("0.010, -", None),
            ("-", None),
            ("", None),
            ("0.1234", None),
            ("1.2.3", None),
            (".5", None),
            ("+1", None),
            ("1e3", None),
            ("4294967.295", Some(u32::MAX)),
            ("4294967.296", None),
            ("99999999999999999999999", None),
        ] {
            assert_eq!(parse_ms(v.as_bytes()), want, "{v:?}");
        }
        for (v, want) in [
            ("200", Some(200)),
            ("502", Some(502)),
            ("499", Some(499)),
            ("000", None),
            ("20", None),
            ("2000", None),
            ("2x0", None),
            ("-", None),
        ] {
            assert_eq!(parse_status(v.as_bytes()), want, "{v:?}");
        }
        assert_eq!(last_entry(b"a, b : c"), b"c");
        assert_eq!(last_entry(b"a : b, c "), b"c");
        assert_eq!(last_entry(b""), b"");
    }

    #[test]
    fn required_keys_are_within_the_documented_minimum() {
        // A line `check_log_line` accepts must never be rejected for a missing key here.
        let minimum: Vec<&str> = super::super::LOG_FIELDS[..super::super::REQUIRED_LOG_FIELDS]
            .iter()
            .map(|(k, _)| *k)
            .collect();
        for k in &KEYS[..REQUIRED_KEYS] {
            assert!(minimum.contains(k), "{k}");
        }
        for (i, k) in KEYS.iter().enumerate() {
            assert_eq!(key_slot(k.as_bytes()), Some(i));
            assert!(super::super::LOG_FIELDS.iter().any(|(f, _)| f == k), "{k}");
        }
        let minimal: String = format!(
            "{{{}}}",
            minimum
                .iter()
                .map(|k| format!("\"{k}\":\"1\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(super::super::check_log_line(&minimal), Ok(()));
        assert!(parse_line(minimal.as_bytes()).is_ok());
    }

    fn split_all(s: &mut LineSplitter, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, |l| out.push(l.to_vec()));
        }
        out
    }

    #[test]
    fn lines_split_at_every_position_come_out_whole() {
        let sample: &[u8] = b"first\nline two\r\n\n{\"a\":\"b\"}\r\nlast\npartial";
        let want: Vec<Vec<u8>> = ["first", "line two", "", "{\"a\":\"b\"}", "last"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        for i in 0..=sample.len() {
            for j in i..=sample.len() {
                let mut s = LineSplitter::new();
                let got = split_all(&mut s, &[&sample[..i], &sample[i..j], &sample[j..]]);
                assert_eq!(got, want, "cut at {i} and {j}");
                assert_eq!(s.buffered(), b"partial".len());
                let mut after = s.clone();
                let mut last = Vec::new();
                s.finish(|l| last.push(l.to_vec()));
                assert_eq!(last, vec![b"partial".to_vec()]);
                assert_eq!(s.buffered(), 0);
                after.discard_partial();
                assert_eq!(split_all(&mut after, &[b"next\n"]), vec![b"next".to_vec()]);
            }
        }
    }

    #[test]
    fn crlf_loses_one_cr() {
        let mut s = LineSplitter::new();
        let got = split_all(&mut s, &[b"a\r\nb\r\r\n\r\n", b"c\r", b"\n\r"]);
        assert_eq!(
            got,
            vec![b"a".to_vec(), b"b\r".to_vec(), vec![], b"c".to_vec()]
        );
        let mut last = Vec::new();
        s.finish(|l| last.push(l.to_vec()));
        assert_eq!(last, vec![Vec::<u8>::new()]);
    }

    #[test]
    fn oversized_line_is_skipped_without_buffering_it() {
        const CHUNK: usize = 64 * 1024;
        let mut input = b"before\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 1 << 20));
        input.extend_from_slice(b"\nafter\n");
        input.extend_from_slice(NORMAL.as_bytes());
        input.push(b'\n');
        // Chunk sizes that put the long line's start and end mid-chunk, and one that does not.
        for chunk in [CHUNK, CHUNK - 3, 1000, input.len()] {
            let mut s = LineSplitter::new();
            let mut got = Vec::new();
            for c in input.chunks(chunk) {
                s.push(c, |l| got.push(l.to_vec()));
                assert!(s.buf.len() <= s.max_line() + chunk.min(CHUNK));
                assert!(s.buf.len() <= s.max_line());
                assert!(
                    s.buf.capacity() <= 2 * s.max_line() + CHUNK,
                    "{}",
                    s.buf.capacity()
                );
            }
            assert_eq!(
                got,
                vec![
                    b"before".to_vec(),
                    b"after".to_vec(),
                    NORMAL.as_bytes().to_vec()
                ],
                "chunk {chunk}"
            );
            assert_eq!(s.oversized(), 1);
        }
    }

    #[test]
    fn max_line_is_inclusive() {
        for chunk in 1..=12 {
            let mut s = LineSplitter::with_max_line(4);
            let input = b"1234\n12345\n123\r\n1234\r\n";
            let got = split_all(&mut s, &input.chunks(chunk).collect::<Vec<_>>());
            // The limit counts the bytes before the newline, a `\r` included.
            assert_eq!(
                got,
                vec![b"1234".to_vec(), b"123".to_vec()],
                "chunk {chunk}"
            );
            assert_eq!(s.oversized(), 2);
        }
    }

    #[test]
    fn reader_counts_oversized_malformed_and_invalid_utf8() {
        let mut input = Vec::new();
        input.extend_from_slice(NORMAL.as_bytes());
        input.push(b'\n');
        input.extend(std::iter::repeat_n(b'{', 1 << 20));
        input.push(b'\n');
        // Invalid UTF-8 inside a value: a usable line.
        let mut bad_utf8 = NORMAL.replace("POST /v1", "POST /\u{1}v1").into_bytes();
        let at = bad_utf8.iter().position(|&b| b == 1).expect("marker");
        bad_utf8[at] = 0xfe;
        input.extend_from_slice(&bad_utf8);
        input.push(b'\n');
        // Invalid UTF-8 as the whole line, then a blank line, then a group-name line.
        input.extend_from_slice(b"\xff\xfe\xfd\n\n");
        input.extend_from_slice(line("gateway", "", "", "502", "0.001").as_bytes());
        input.push(b'\n');
        input.extend_from_slice(line(GREEN, "200", "0.1", "200", "0.2").as_bytes());

        let mut r = LogReader::new(colors());
        let mut out = Vec::new();
        for c in input.chunks(4096) {
            r.feed(c, &mut out);
            assert!(r.splitter.buf.len() <= r.splitter.max_line() + 4096);
        }
        assert_eq!(out.len(), 3);
        r.finish(&mut out);
        assert_eq!(
            r.counters(),
            TailCounters {
                lines: 7,
                parsed: 4,
                malformed: 2,
                oversized: 1,
                unattributed: 1,
            }
        );
        assert_eq!(r.last_error(), Some(LineError::Empty));
        let colors_seen: Vec<Option<Color>> = out.iter().map(|r| r.color).collect();
        assert_eq!(
            colors_seen,
            [
                Some(Color::Blue),
                Some(Color::Blue),
                None,
                Some(Color::Green)
            ]
        );
        let c = r.counters();
        assert_eq!(c.lines, c.parsed + c.malformed + c.oversized);
    }

    #[test]
    fn aggregate_counts_per_color() {
        let mut a = Aggregate::new();
        let r = |color, status, request_ms, header_ms| RequestRecord {
            color,
            status,
            request_ms,
            header_ms,
        };
        a.add(&r(Some(Color::Blue), 200, 100, Some(10)));
        a.add(&r(Some(Color::Blue), 503, 0, None));
        a.add(&r(Some(Color::Green), 200, 9_999_999, Some(5)));
        a.add(&r(None, 502, 1, None));
        a.add(&r(None, 499, 1, None));
        let blue = a.of(Some(Color::Blue));
        assert_eq!((blue.requests, blue.errors_5xx), (2, 1));
        assert_eq!(blue.request_ms.len(), 2);
        assert_eq!(blue.header_ms.len(), 1);
        let green = a.of(Some(Color::Green));
        assert_eq!((green.requests, green.errors_5xx), (1, 0));
        // Beyond an hour saturates instead of failing.
        assert!(green.request_ms.max() >= AGGREGATE_MAX_MS);
        assert_eq!((a.unattributed.requests, a.unattributed.errors_5xx), (2, 1));
        assert_eq!(a.requests(), 5);
    }

    // ---- properties ----

    /// Bytes of a value as nginx's `escape=json` may write them.
    fn valid_atom() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => (0x20u8..0x7f).prop_map(|b| if b == b'"' || b == b'\\' { vec![b'_'] } else { vec![b] }),
            1 => prop::sample::select(vec![r#"\""#, r"\\", r"\/", r"\b", r"\f", r"\n", r"\r", r"\t"])
                .prop_map(|s| s.as_bytes().to_vec()),
            1 => (0u8..0x20).prop_map(|c| format!("\\u{c:04x}").into_bytes()),
            1 => (0x80u8..=0xff).prop_map(|b| vec![b]),
        ]
    }

    /// An atom and whether it is valid inside a JSON string.
    fn any_atom() -> impl Strategy<Value = (Vec<u8>, bool)> {
        prop_oneof![
            6 => valid_atom().prop_map(|a| (a, true)),
            1 => (0u8..0x20).prop_map(|c| (vec![c], false)),
            // A raw quote followed by a byte that cannot follow a string.
            1 => Just((b"\"\x80".to_vec(), false)),
            1 => prop::sample::select(vec![r"\x", r"\a", r"\u12G4", r"\U0041", r"\ "])
                .prop_map(|s| (s.as_bytes().to_vec(), false)),
        ]
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(valid_atom(), 0..12).prop_map(|v| v.concat())
    }

    fn ws() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", "", "", " ", "\t", "  ", "\r\n"])
    }

    /// A valid line: random values, key order, extra keys and whitespace; no trailing
    /// whitespace, so that every shorter prefix is cut inside the object.
    fn valid_line() -> impl Strategy<Value = (Vec<u8>, u16)> {
        let fields = (
            100u16..1000,
            0u32..200_000,
            prop::sample::select(vec![
                BLUE,
                GREEN,
                "gateway",
                "-",
                "",
                "127.0.0.1:8787, 127.0.0.1:8788",
            ]),
            value(),
            value(),
            value(),
        );
        (fields, any::<u64>(), proptest::collection::vec(ws(), 64))
            .prop_flat_map(|((status, ms, addr, request, id, extra), seed, spaces)| {
                let time = format!("{}.{:03}", ms / 1000, ms % 1000).into_bytes();
                let kv: Vec<(Vec<u8>, Vec<u8>)> = vec![
                    (
                        b"time".to_vec(),
                        format!("17636832{seed:02}.1").into_bytes(),
                    ),
                    (b"status".to_vec(), status.to_string().into_bytes()),
                    (b"request_time".to_vec(), time.clone()),
                    (b"upstream_addr".to_vec(), addr.as_bytes().to_vec()),
                    (b"upstream_status".to_vec(), b"200".to_vec()),
                    (b"upstream_header_time".to_vec(), time),
                    (b"request_id".to_vec(), id),
                    (b"request".to_vec(), request),
                    (b"x_extra".to_vec(), extra),
                ];
                (Just(kv).prop_shuffle(), Just(spaces), Just(status))
            })
            .prop_map(|(kv, spaces, status)| {
                let mut sp = spaces.into_iter().cycle();
                let mut out = sp.next().unwrap_or_default().as_bytes().to_vec();
                out.push(b'{');
                for (i, (k, v)) in kv.iter().enumerate() {
                    for part in [&b"\""[..], k, b"\""] {
                        out.extend_from_slice(part);
                    }
                    out.extend_from_slice(sp.next().unwrap_or_default().as_bytes());
                    out.push(b':');
                    out.extend_from_slice(sp.next().unwrap_or_default().as_bytes());
                    out.push(b'"');
                    out.extend_from_slice(v);
                    out.push(b'"');
                    out.extend_from_slice(sp.next().unwrap_or_default().as_bytes());
                    out.push(if i + 1 == kv.len() { b'}' } else { b',' });
                }
                (out, status)
            })
    }

    /// The splitter's answer worked out the slow way: lines, oversized count, held bytes.
    fn reference_split(input: &[u8], max: usize) -> (Vec<Vec<u8>>, u64, usize) {
        let mut parts: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        let tail = parts.pop().unwrap_or_default();
        let mut lines = Vec::new();
        let mut over = 0;
        for p in parts {
            if p.len() > max {
                over += 1;
            } else {
                lines.push(strip_cr(p).to_vec());
            }
        }
        if tail.len() > max {
            (lines, over + 1, 0)
        } else {
            (lines, over, tail.len())
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..4096),
            cut in any::<prop::sample::Index>(),
        ) {
            if let Ok(l) = parse_line(&bytes) {
                let _ = record(&l, &colors());
                if let Ok(s) = std::str::from_utf8(&bytes) {
                    prop_assert!(serde_json::from_str::<serde_json::Value>(s).is_ok());
                }
            }
            let at = cut.index(bytes.len() + 1);
            let mut r = LogReader::with_splitter(colors(), LineSplitter::with_max_line(512));
            let mut out = Vec::new();
            r.feed(&bytes[..at], &mut out);
            r.feed(&bytes[at..], &mut out);
            prop_assert!(r.splitter.buffered() <= 512);
            r.finish(&mut out);
            let c = r.counters();
            prop_assert_eq!(c.lines, c.parsed + c.malformed + c.oversized);
            let _ = (parse_ms(&bytes), parse_status(&bytes), colors().color_of(&bytes));
        }

        #[test]
        fn truncated_lines_are_errors((line, status) in valid_line()) {
            let whole = parse_line(&line);
            prop_assert!(whole.is_ok(), "{:?}: {:?}", String::from_utf8_lossy(&line), whole);
            prop_assert_eq!(whole.ok().and_then(|l| l.status_code()), Some(status));
            for k in 0..line.len() {
                prop_assert!(parse_line(&line[..k]).is_err(), "prefix {}", k);
            }
        }

        #[test]
        fn injected_bytes_in_values(
            atoms in proptest::collection::vec(any_atom(), 0..24),
            key in prop::sample::select(vec!["request", "request_id", "x_other"]),
        ) {
            let v: Vec<u8> = atoms.iter().flat_map(|(a, _)| a.iter().copied()).collect();
            let valid = atoms.iter().all(|(_, ok)| *ok);
            let mut l = NORMAL.as_bytes()[..NORMAL.len() - 1].to_vec();
            for part in [&b",\""[..], key.as_bytes(), b"\":\"", &v, b"\"}"] {
                l.extend_from_slice(part);
            }
            let p = parse_line(&l);
            prop_assert_eq!(p.is_ok(), valid, "{:?}: {:?}", String::from_utf8_lossy(&l), p);
            if let Ok(p) = p {
                let want = if key == "request" { &v[..] } else { &b"POST /v1/chat/completions HTTP/1.1"[..] };
                prop_assert_eq!(p.request, Some(want));
                let want_id = if key == "request_id" { &v[..] } else { &b"4f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c"[..] };
                prop_assert_eq!(p.request_id, Some(want_id));
                prop_assert_eq!(p.status_code(), Some(200));
                if let Ok(s) = std::str::from_utf8(&l) {
                    prop_assert!(serde_json::from_str::<serde_json::Value>(s).is_ok());
                }
            }
        }

        #[test]
        fn mutated_lines_agree_with_serde_json(
            (line, _) in valid_line(),
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![Just(b'"'), Just(b'\\'), Just(b','), Just(b':'), Just(b'{'), Just(b'}'), Just(b' '), Just(b'0'), Just(b'u'), any::<u8>()],
            how in 0u8..3,
        ) {
            let mut m = line;
            let i = at.index(m.len());
            match how {
                0 => m[i] = byte,
                1 => m.insert(i, byte),
                _ => { m.remove(i); }
            }
            let ours = parse_line(&m);
            let Ok(s) = std::str::from_utf8(&m) else { return Ok(()) };
            let theirs = serde_json::from_str::<serde_json::Value>(s);
            if ours.is_ok() {
                prop_assert!(theirs.is_ok(), "{:?}", s);
            }
            // A flat object of strings with every required key is ours to read.
            if let Ok(serde_json::Value::Object(o)) = &theirs {
                if o.values().all(|v| v.is_string()) && KEYS[..REQUIRED_KEYS].iter().all(|k| o.contains_key(*k)) {
                    let l = ours.map_err(|e| TestCaseError::fail(format!("{e} in {s:?}")))?;
                    if !l.status.contains(&b'\\') {
                        prop_assert_eq!(Some(l.status), o["status"].as_str().map(str::as_bytes));
                    }
                }
            }
        }

        #[test]
        fn chunking_never_changes_the_lines(
            lines in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>().prop_map(|b| if b == b'\n' { b'x' } else { b }), 0..80), any::<bool>()),
                0..20,
            ),
            unterminated in any::<bool>(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
            max in prop_oneof![Just(DEFAULT_MAX_LINE), 0usize..64],
        ) {
            let mut input = Vec::new();
            for (l, crlf) in &lines {
                input.extend_from_slice(l);
                input.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
            }
            if unterminated {
                input.extend_from_slice(b"tail");
            }
            let (want, over, held) = reference_split(&input, max);
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
            at.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut from = 0;
            for i in at {
                chunks.push(&input[from..i]);
                from = i;
            }
            chunks.push(&input[from..]);
            for pieces in [chunks, vec![&input[..]], input.chunks(1).collect()] {
                let mut s = LineSplitter::with_max_line(max);
                prop_assert_eq!(&split_all(&mut s, &pieces), &want);
                prop_assert_eq!(s.oversized(), over);
                prop_assert_eq!(s.buffered(), held);
            }
        }
    }
}
