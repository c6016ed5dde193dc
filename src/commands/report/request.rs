//! `cutover report LOGS --request-id ID`: what the access logs know about one request: when,
//! what the client got, every upstream try with the color and status, and which color is
//! charged when it failed. A file named in fleet.toml (`access_log`) is read with its own
//! gateway's color addresses and titled by that gateway.

use super::read::{Feed, read_into};
use super::{gateway_for, gateway_name, resolve_attribution};
use crate::cli::ReportArgs;
use crate::commands::error::CommandError;
use crate::config::Config;
use crate::failures::record::{FailedRequest, Try};
use crate::nginx::accesslog::{Colors, LineSplitter, parse_line};
use crate::sanitize::sanitize;
use std::fmt::Write as _;
use std::path::Path;

/// Matches kept per file at most (an ID logged many times is a misconfiguration).
const MAX_MATCHES: usize = 20;

/// One logged request with the ID.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    /// The request ID, as logged.
    pub(crate) id: String,
    /// Line number in its file.
    pub(crate) line: u64,
    /// `$msec` in ms.
    pub(crate) time_ms: Option<u64>,
    /// What nginx answered the client.
    pub(crate) status: Option<u16>,
    /// Whole request time.
    pub(crate) request_ms: Option<u32>,
    /// `$request`, sanitized.
    pub(crate) request: Option<String>,
    /// Every upstream try.
    pub(crate) tries: Vec<Try>,
    /// Set when it failed (or a try failed before a retry).
    pub(crate) failed: Option<FailedRequest>,
}

/// Looks for one request ID in a log fed in chunks.
struct Finder<'a> {
    id: &'a [u8],
    colors: &'a Colors,
    splitter: LineSplitter,
    newlines: u64,
    found: Vec<Found>,
}

impl Feed for Finder<'_> {
    fn feed(&mut self, chunk: &[u8]) {
        let (id, colors, found, newlines) =
            (self.id, self.colors, &mut self.found, &mut self.newlines);
        self.splitter.push(chunk, |line| {
            *newlines += 1;
            take(line, *newlines, id, colors, found);
        });
    }
    fn newlines(&self) -> u64 {
        self.newlines
    }
}

/// Keep `line` (number `n`) if it logs request `id`.
fn take(line: &[u8], n: u64, id: &[u8], colors: &Colors, found: &mut Vec<Found>) {
    // Most lines do not hold the ID: a substring test first, the parse only for candidates.
    if found.len() >= MAX_MATCHES || memchr::memmem::find(line, id).is_none() {
        return;
    }
    let Ok(l) = parse_line(line) else { return };
    if l.request_id != Some(id) {
        return;
    }
    found.push(Found {
        id: String::from_utf8_lossy(id).into_owned(),
        line: n,
        time_ms: l.time_ms(),
        status: l.status_code(),
        request_ms: l.request_ms(),
        request: l.request.map(|r| sanitize(&String::from_utf8_lossy(r))),
        tries: crate::failures::record::tries(&l, colors),
        failed: crate::failures::record::failed_request(&l, colors),
    });
}

/// The requests with `id` in the file at `path`.
pub(crate) fn find(path: &Path, id: &str, colors: &Colors) -> Result<Vec<Found>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("{}: cannot open: {e}", sanitize(&path.to_string_lossy())))?;
    let mut finder = Finder {
        id: id.as_bytes(),
        colors,
        splitter: LineSplitter::new(),
        newlines: 0,
        found: Vec::new(),
    };
    let mut buf = vec![0u8; super::read::CHUNK];
    read_into(path, file, &mut finder, &mut buf)?;
    let (colors, found, newlines) = (finder.colors, &mut finder.found, finder.newlines);
    finder
        .splitter
        .finish(|line| take(line, newlines + 1, id.as_bytes(), colors, found));
    Ok(finder.found)
}

/// RFC 3339 UTC with milliseconds, or `-`.
fn when(ms: Option<u64>) -> String {
    ms.map_or("-".into(), |ms| {
        crate::model::civil::rfc3339(ms / 1000, (ms % 1000) as u32)
    })
}

/// One found request, as lines of text.
pub(crate) fn describe(f: &Found, out: &mut String) {
    let status = f.status.map_or("-".into(), |s| s.to_string());
    let took = f.request_ms.map_or("-".into(), |ms| format!("{ms} ms"));
    let _ = writeln!(out, "  request_id {}", sanitize(&f.id));
    let _ = writeln!(out, "  line {}  {}", f.line, when(f.time_ms));
    if let Some(r) = &f.request {
        let _ = writeln!(out, "  request  {r}");
    }
    let _ = writeln!(out, "  status   {status} to the client after {took}");
    for (i, t) in f.tries.iter().enumerate() {
        let color = t.color.map_or("unattributed".into(), |c| c.to_string());
        let st = t.status.map_or("-".into(), |s| s.to_string());
        let ms = t.response_ms.map_or("-".into(), |ms| format!("{ms} ms"));
        let _ = writeln!(
            out,
            "  try {}    {} ({color}) answered {st} in {ms}",
            i + 1,
            sanitize(&t.addr)
        );
    }
    if let Some(fr) = &f.failed {
        let retried = fr
            .retried_to
            .map_or(String::new(), |c| format!(", retried to {c}"));
        let _ = writeln!(
            out,
            "  failed   charged to {} ({}){retried}",
            fr.failed, fr.failed_status
        );
    }
}

/// Run `report --request-id ID` on `args.files`.
pub(crate) fn command(
    args: &ReportArgs,
    id: &str,
    config: Option<&Config>,
) -> Result<(), CommandError> {
    if id.is_empty() || id.len() > crate::failures::record::MAX_REQUEST_ID_CHARS {
        return Err(CommandError::usage(format!(
            "--request-id: 1 to {} characters",
            crate::failures::record::MAX_REQUEST_ID_CHARS
        )));
    }
    let (attribution, _) = resolve_attribution(args.blue.as_deref(), args.green.as_deref(), config)
        .map_err(CommandError::usage)?;
    let mut out = String::new();
    let mut total = 0;
    for path in &args.files {
        let (name, colors) = gateway_for(path, config)
            .unwrap_or_else(|| (gateway_name(path), attribution.colors.clone()));
        let found = find(path, id, &colors).map_err(CommandError::failed)?;
        if found.is_empty() {
            continue;
        }
        total += found.len();
        let _ = writeln!(
            out,
            "== {} ({})",
            sanitize(&name),
            sanitize(&path.to_string_lossy())
        );
        for f in &found {
            describe(f, &mut out);
        }
    }
    if total == 0 {
        return Err(CommandError::failed(format!(
            "request {} is in none of the {} files",
            sanitize(id),
            args.files.len()
        )));
    }
    print!("{}", sanitize_lines(&out));
    Ok(())
}

/// Every line sanitized (the text is built from sanitized parts; this is the last guard).
fn sanitize_lines(text: &str) -> String {
    text.lines().map(|l| sanitize(l) + "\n").collect()
}
