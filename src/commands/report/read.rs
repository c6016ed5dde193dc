//! The report's only IO: open the files, tell gzip from plain by the magic bytes, and feed
//! [`FileAggregator`] 1 MiB chunks, never a whole file.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use flate2::read::MultiGzDecoder;

use super::{FileAggregator, FileReport, Source, Window, gateway_name};
use crate::sanitize::sanitize;

/// Bytes read at a time: large enough that the cost per read vanishes, and the only buffer
/// whatever the file's size.
pub(crate) const CHUNK: usize = 1 << 20;

/// The two bytes every gzip member starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Read into `buf` until it is full or the input ends; the bytes read before an error are
/// counted, so a broken stream's message can say where it broke.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..) {
        if rest.is_empty() {
            break;
        }
        match r.read(rest) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

/// What reads a log: chunks in, and how many lines it has seen (for error messages).
pub(crate) trait Feed {
    /// The next bytes of the file.
    fn feed(&mut self, chunk: &[u8]);
    /// Newlines seen so far.
    fn newlines(&self) -> u64;
}

impl Feed for FileAggregator {
    fn feed(&mut self, chunk: &[u8]) {
        FileAggregator::feed(self, chunk);
    }
    fn newlines(&self) -> u64 {
        FileAggregator::newlines(self)
    }
}

/// Feed everything `r` yields to `agg`; on a read error, the message for the file.
fn pump(
    mut r: impl Read,
    agg: &mut impl Feed,
    buf: &mut [u8],
    shown: &str,
    gzip: bool,
) -> Result<(), String> {
    let mut total: u64 = 0;
    loop {
        let (n, err) = fill(&mut r, buf);
        let chunk = buf.get(..n).unwrap_or_default();
        agg.feed(chunk);
        total += n as u64;
        if let Some(e) = err {
            let at = agg.newlines() + 1;
            return Err(if gzip {
                format!(
                    "{shown}: the gzip stream is broken after {total} decompressed bytes (in line {at}): {e}"
                )
            } else {
                format!("{shown}: read failed after {total} bytes (in line {at}): {e}")
            });
        }
        if n < buf.len() {
            return Ok(());
        }
    }
}

/// Feed the whole of the opened `file` (plain or gzip, told by its first bytes) to `sink`.
pub(crate) fn read_into(
    path: &Path,
    mut file: File,
    sink: &mut impl Feed,
    buf: &mut [u8],
) -> Result<(), String> {
    let shown = sanitize(&path.to_string_lossy());
    let mut magic = [0u8; 2];
    let (got, err) = fill(&mut file, &mut magic);
    if let Some(e) = err {
        return Err(format!("{shown}: read failed: {e}"));
    }
    let head = magic.get(..got).unwrap_or_default();
    // By content, not by name: logrotate's `delaycompress` and hand-copied files make names
    // unreliable, and a plain log never starts with these bytes (its lines start with `{`).
    if head == GZIP_MAGIC {
        pump(
            MultiGzDecoder::new(head.chain(file)),
            sink,
            buf,
            &shown,
            true,
        )
    } else {
        pump(head.chain(file), sink, buf, &shown, false)
    }
}

/// One opened file, read to the end into its report.
fn read_open(
    source: &Source,
    file: File,
    window: Window,
    buf: &mut [u8],
) -> Result<FileReport, String> {
    let path = &source.path;
    let mut agg = FileAggregator::new(source.colors.clone()).within(window);
    read_into(path, file, &mut agg, buf)?;
    let (summary, first_malformed) = agg.finish();
    Ok(FileReport {
        name: gateway_name(path),
        path: sanitize(&path.to_string_lossy()),
        gateway: source.gateway.as_deref().map(sanitize),
        colors: source.colors.clone(),
        steps: Vec::new(),
        first_malformed,
        summary,
    })
}

/// Open every file first (a typo in the last one fails before any reading), then read them
/// on up to one thread per core; the reports come back in the order given. The error names
/// the first file, in that order, that failed.
pub(crate) fn read_files(sources: &[Source], window: Window) -> Result<Vec<FileReport>, String> {
    let mut files = Vec::with_capacity(sources.len());
    for p in sources.iter().map(|s| &s.path) {
        let f = File::open(p)
            .map_err(|e| format!("{}: cannot open: {e}", sanitize(&p.to_string_lossy())))?;
        files.push(Mutex::new(Some(f)));
    }
    let results: Vec<Mutex<Option<Result<FileReport, String>>>> =
        sources.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(sources.len());
    let work = || {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let (Some(source), Some(file), Some(slot)) =
                (sources.get(i), files.get(i), results.get(i))
            else {
                return;
            };
            // Once one file failed the command fails: the others' work would be thrown away.
            if failed.load(Ordering::Relaxed) {
                return;
            }
            let file = file.lock().unwrap_or_else(|e| e.into_inner()).take();
            let Some(file) = file else { continue };
            let r = read_open(source, file, window, &mut buf);
            if r.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        }
    };
    if workers <= 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(work);
            }
        });
    }
    let mut out = Vec::with_capacity(sources.len());
    let mut first_error = None;
    for r in results {
        match r.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(Ok(f)) => out.push(f),
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            // Skipped after another file failed.
            None => {}
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{BLUE, colors, line};
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    /// Sources attributed by the test colors, of no gateway.
    fn sources(paths: &[PathBuf]) -> Vec<Source> {
        paths
            .iter()
            .map(|p| Source {
                path: p.clone(),
                colors: colors(),
                gateway: None,
            })
            .collect()
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).expect("in memory");
        e.finish().expect("in memory")
    }

    fn temp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cutover-report-unit-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("temp file");
        p
    }

    fn plain() -> Vec<u8> {
        (0..3000)
            .flat_map(|i| {
                format!("{}\n", line(i * 100, "200", "0.100", BLUE, "0.010")).into_bytes()
            })
            .collect()
    }

    #[test]
    fn gzip_is_told_by_content_and_members_concatenate() {
        let data = plain();
        let (a, b) = data.split_at(data.len() / 2 - 7);
        // Two members, as `cat a.gz b.gz` makes; named without `.gz`.
        let mut two = gz(a);
        two.extend_from_slice(&gz(b));
        let paths = [temp("plain.log", &data), temp("members.log", &two)];
        let r = read_files(&sources(&paths), Window::default()).expect("reads");
        let figures = |f: &FileReport| {
            (
                f.summary.lines,
                f.summary.parsed,
                f.summary.minutes.len(),
                f.summary.colors.colors.blue.requests,
            )
        };
        assert_eq!(figures(&r[0]), (3000, 3000, 5, 3000));
        assert_eq!(figures(&r[1]), figures(&r[0]));
        assert_eq!(r[1].name, "members.log");
        for p in &paths {
            if let Some(dir) = p.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    #[test]
    fn broken_gzip_and_missing_files_are_named() {
        let z = gz(&plain());
        let cut = temp("cut.log.gz", &z[..z.len() / 2]);
        let e = read_files(&sources(std::slice::from_ref(&cut)), Window::default())
            .expect_err("broken");
        assert!(
            e.starts_with(&format!(
                "{}: the gzip stream is broken after ",
                cut.display()
            )),
            "{e}"
        );
        let missing = cut.with_file_name("missing.log");
        let e = read_files(&sources(&[cut.clone(), missing.clone()]), Window::default())
            .expect_err("missing");
        assert!(
            e.starts_with(&format!("{}: cannot open: ", missing.display())),
            "{e}"
        );
        // Tiny files: one byte of the magic, and nothing at all.
        let one = temp("one.log", &[0x1f]);
        let empty = temp("empty.log", b"");
        let r =
            read_files(&sources(&[one.clone(), empty.clone()]), Window::default()).expect("reads");
        assert_eq!((r[0].summary.lines, r[0].summary.malformed), (1, 1));
        assert_eq!(r[1].summary.lines, 0);
        for p in [cut, one, empty] {
            if let Some(dir) = p.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}
