//! Writing asciicast v2: a header line, then one JSON array per event, each written with a
//! single `write_all` of the whole line and flushed, so a process killed at any moment leaves
//! only complete lines behind (asciinema 2.2 refuses a file with a partial or blank line).

use super::redact::Redactor;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The header line's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// Terminal columns.
    pub(crate) width: u16,
    /// Terminal rows.
    pub(crate) height: u16,
    /// Wall clock at the start, seconds since the Unix epoch.
    pub(crate) timestamp: u64,
    /// What was recorded, e.g. `cutover demo green-5xx seed 1`.
    pub(crate) title: String,
    /// `TERM` of the recording terminal, if set.
    pub(crate) term: Option<String>,
    /// `SHELL` of the operator, if set.
    pub(crate) shell: Option<String>,
}

impl Header {
    /// A header stamped now, with `TERM` and `SHELL` from the environment.
    pub(crate) fn from_env(width: u16, height: u16, title: impl Into<String>) -> Header {
        Header {
            width,
            height,
            timestamp: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            title: title.into(),
            term: std::env::var("TERM").ok(),
            shell: std::env::var("SHELL").ok(),
        }
    }

    /// The header as one JSON line (without the newline), fields in asciinema's order.
    pub(crate) fn to_line(&self, redactor: &Redactor) -> String {
        let json = |s: &Option<String>| match s {
            Some(v) => serde_json::Value::String(redactor.apply(v).into_owned()).to_string(),
            None => "null".into(),
        };
        format!(
            "{{\"version\": 2, \"width\": {}, \"height\": {}, \"timestamp\": {}, \"title\": {}, \"env\": {{\"SHELL\": {}, \"TERM\": {}}}}}",
            self.width,
            self.height,
            self.timestamp,
            serde_json::Value::String(redactor.apply(&self.title).into_owned()),
            json(&self.shell),
            json(&self.term),
        )
    }
}

/// Microseconds as the seconds an event line carries: always six decimals.
pub(crate) fn format_secs(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// Writes a cast to `out`: the header at creation, then events.
pub(crate) struct CastWriter<F: Write> {
    out: F,
    redactor: Redactor,
    /// Time of the last event; later events never go back before it.
    last_us: u64,
    /// The start of a UTF-8 sequence cut by the end of the previous output, completed by
    /// the next one (the terminal stream may split a character across writes).
    carry: Vec<u8>,
    /// When the carried bytes were written.
    carry_us: u64,
}

impl<F: Write> CastWriter<F> {
    /// Write `header` to `out` and return the writer for the events.
    pub(crate) fn new(
        mut out: F,
        header: &Header,
        redactor: Redactor,
    ) -> io::Result<CastWriter<F>> {
        let mut line = header.to_line(&redactor);
        line.push('\n');
        out.write_all(line.as_bytes())?;
        out.flush()?;
        Ok(CastWriter {
            out,
            redactor,
            last_us: 0,
            carry: Vec::new(),
            carry_us: 0,
        })
    }

    /// An `"o"` event: terminal output at `at_us`. Bytes of an incomplete trailing UTF-8
    /// sequence wait for the next call; invalid bytes become U+FFFD.
    pub(crate) fn output(&mut self, at_us: u64, bytes: &[u8]) -> io::Result<()> {
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(bytes);
        let text = decode_keeping_tail(&mut data);
        self.carry = data;
        self.carry_us = at_us;
        if text.is_empty() {
            return Ok(());
        }
        let text = self.redactor.apply(&text).into_owned();
        self.event(at_us, "o", &text)
    }

    /// An `"m"` event: a chapter marker with a short label.
    pub(crate) fn marker(&mut self, at_us: u64, label: &str) -> io::Result<()> {
        let label = self.redactor.apply(label).into_owned();
        self.event(at_us, "m", &label)
    }

    /// An `"r"` event: the terminal is now `width` x `height`.
    pub(crate) fn resize(&mut self, at_us: u64, width: u16, height: u16) -> io::Result<()> {
        self.event(at_us, "r", &format!("{width}x{height}"))
    }

    /// Write out a dangling partial character (as U+FFFD) and hand back the output.
    pub(crate) fn finish(mut self) -> io::Result<F> {
        if !self.carry.is_empty() {
            let text = String::from_utf8_lossy(&self.carry).into_owned();
            self.carry.clear();
            let at = self.carry_us;
            self.event(at, "o", &text)?;
        }
        Ok(self.out)
    }

    /// One event line, written whole and flushed; times never go backwards.
    fn event(&mut self, at_us: u64, code: &str, text: &str) -> io::Result<()> {
        let t = at_us.max(self.last_us);
        self.last_us = t;
        let data = serde_json::Value::String(text.to_string()).to_string();
        let line = format!("[{}, \"{code}\", {data}]\n", format_secs(t));
        // One write_all of the whole line: a single write(2) on a regular file.
        self.out.write_all(line.as_bytes())?;
        self.out.flush()
    }
}

/// The longest decodable prefix of `data` as text (invalid sequences as U+FFFD); what is left
/// in `data` is the start of a character that the next bytes may complete.
fn decode_keeping_tail(data: &mut Vec<u8>) -> String {
    let mut text = String::with_capacity(data.len());
    let mut rest: &[u8] = data;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                text.push_str(s);
                rest = &[];
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // Validated just above: the prefix is UTF-8.
                text.push_str(std::str::from_utf8(good).unwrap_or_default());
                match e.error_len() {
                    Some(n) => {
                        text.push(char::REPLACEMENT_CHARACTER);
                        rest = &bad[n..];
                    }
                    None => {
                        rest = bad;
                        break;
                    }
                }
            }
        }
    }
    let keep = rest.len();
    data.drain(..data.len() - keep);
    text
}

/// Where event times come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CastClock {
    /// Wall time since this instant (a cockpit on a terminal).
    Wall(Instant),
    /// Set by the caller (a headless recording on simulated time).
    Manual,
}

/// The shared state behind a `Recorder`.
struct Inner {
    writer: Option<CastWriter<Box<dyn Write + Send>>>,
    clock: CastClock,
    manual_us: u64,
    /// Output of the frame being drawn, written as one event when the frame ends.
    pending: Vec<u8>,
    in_frame: bool,
    /// The first write error; recording stops there, the cockpit goes on.
    error: Option<String>,
    error_taken: bool,
}

impl Inner {
    fn now_us(&self) -> u64 {
        match self.clock {
            CastClock::Wall(start) => {
                u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
            }
            CastClock::Manual => self.manual_us,
        }
    }

    /// Run `f` on the writer unless an earlier error stopped the recording.
    fn with_writer(
        &mut self,
        f: impl FnOnce(&mut CastWriter<Box<dyn Write + Send>>) -> io::Result<()>,
    ) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        if let Err(e) = f(w) {
            self.error = Some(format!("recording stopped: {e}"));
            self.writer = None;
        }
    }

    fn emit_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.pending);
        let at = self.now_us();
        self.with_writer(|w| w.output(at, &bytes));
    }
}

/// A cast being written, shared by the `Tee` inside the terminal backend (output) and the
/// loop (frames, markers, resizes). Cheap to clone.
#[derive(Clone)]
pub(crate) struct Recorder(Arc<Mutex<Inner>>);

impl Recorder {
    /// Create `path` and write the header; the error names the path.
    pub(crate) fn create(
        path: &Path,
        header: &Header,
        redactor: Redactor,
        clock: CastClock,
    ) -> Result<Recorder, String> {
        let file = File::create(path)
            .map_err(|e| format!("--record {}: cannot create the file: {e}", path.display()))?;
        Recorder::new(Box::new(file), header, redactor, clock)
            .map_err(|e| format!("--record {}: cannot write: {e}", path.display()))
    }

    /// A recorder writing to `out` (a file, or a buffer in tests).
    pub(crate) fn new(
        out: Box<dyn Write + Send>,
        header: &Header,
        redactor: Redactor,
        clock: CastClock,
    ) -> io::Result<Recorder> {
        let writer = CastWriter::new(out, header, redactor)?;
        Ok(Recorder(Arc::new(Mutex::new(Inner {
            writer: Some(writer),
            clock,
            manual_us: 0,
            pending: Vec::new(),
            in_frame: false,
            error: None,
            error_taken: false,
        }))))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave the writer half-way through a line: keep going.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Set the time of the events that follow (manual clock only).
    pub(crate) fn set_time_us(&self, us: u64) {
        self.lock().manual_us = us;
    }

    /// Hold output until `end_frame`, so one frame is one event.
    pub(crate) fn begin_frame(&self) {
        self.lock().in_frame = true;
    }

    /// Write the frame's output as one event.
    pub(crate) fn end_frame(&self) {
        let mut g = self.lock();
        g.in_frame = false;
        g.emit_pending();
    }

    /// Bytes that went to the terminal (from the `Tee`).
    pub(crate) fn output(&self, bytes: &[u8]) {
        self.lock().pending.extend_from_slice(bytes);
    }

    /// The terminal was flushed: outside a frame, what was written becomes an event.
    pub(crate) fn flushed(&self) {
        let mut g = self.lock();
        if !g.in_frame {
            g.emit_pending();
        }
    }

    /// A chapter marker at `at_us` (or now).
    pub(crate) fn marker(&self, at_us: Option<u64>, label: &str) {
        let mut g = self.lock();
        g.emit_pending();
        let at = at_us.unwrap_or_else(|| g.now_us());
        g.with_writer(|w| w.marker(at, label));
    }

    /// The terminal is now `width` x `height`.
    pub(crate) fn resize(&self, width: u16, height: u16) {
        let mut g = self.lock();
        g.emit_pending();
        let at = g.now_us();
        g.with_writer(|w| w.resize(at, width, height));
    }

    /// The write error that stopped the recording, reported once.
    pub(crate) fn take_error(&self) -> Option<String> {
        let mut g = self.lock();
        if g.error_taken {
            return None;
        }
        let e = g.error.clone()?;
        g.error_taken = true;
        Some(e)
    }

    /// Write what is pending and close the cast; returns the error that stopped it, if any.
    pub(crate) fn finish(&self) -> Result<(), String> {
        let mut g = self.lock();
        g.in_frame = false;
        g.emit_pending();
        if let Some(w) = g.writer.take() {
            if let Err(e) = w.finish() {
                g.error = Some(format!("recording stopped: {e}"));
            }
        }
        match &g.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            width: 80,
            height: 24,
            timestamp: 1_700_000_000,
            title: "t".into(),
            term: Some("xterm-256color".into()),
            shell: None,
        }
    }

    fn lines(buf: &[u8]) -> Vec<String> {
        String::from_utf8(buf.to_vec())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn header_and_events_are_one_json_line_each() {
        let mut w = CastWriter::new(Vec::new(), &header(), Redactor::default()).unwrap();
        w.output(1_500_000, b"\x1b[2Jhi\r\n\"q\"").unwrap();
        w.marker(1_600_000, "gw-a1: step").unwrap();
        w.resize(1_700_000, 100, 30).unwrap();
        let l = lines(&w.finish().unwrap());
        assert_eq!(
            l[0],
            r#"{"version": 2, "width": 80, "height": 24, "timestamp": 1700000000, "title": "t", "env": {"SHELL": null, "TERM": "xterm-256color"}}"#
        );
        assert_eq!(l[1], r#"[1.500000, "o", "\u001b[2Jhi\r\n\"q\""]"#);
        assert_eq!(l[2], r#"[1.600000, "m", "gw-a1: step"]"#);
        assert_eq!(l[3], r#"[1.700000, "r", "100x30"]"#);
        for line in &l {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
    }

    #[test]
    fn times_never_go_backwards() {
        let mut w = CastWriter::new(Vec::new(), &header(), Redactor::default()).unwrap();
        w.output(2_000_000, b"a").unwrap();
        w.marker(1_000_000, "late").unwrap();
        let l = lines(&w.finish().unwrap());
        assert!(l[2].starts_with("[2.000000, \"m\""), "{}", l[2]);
    }

    #[test]
    fn a_character_split_across_writes_is_kept_whole() {
        let mut w = CastWriter::new(Vec::new(), &header(), Redactor::default()).unwrap();
        let bar = "│".as_bytes(); // three bytes
        w.output(0, &[b'a', bar[0]]).unwrap();
        w.output(1, &bar[1..2]).unwrap(); // still incomplete: no event
        w.output(2, &[bar[2], b'b']).unwrap();
        w.output(3, &[0xff, b'c']).unwrap(); // invalid, not incomplete
        let l = lines(&w.finish().unwrap());
        assert_eq!(l.len(), 4, "{l:?}");
        assert_eq!(l[1], r#"[0.000000, "o", "a"]"#);
        assert_eq!(l[2], r#"[0.000002, "o", "│b"]"#);
        assert_eq!(l[3], "[0.000003, \"o\", \"\u{fffd}c\"]");
        assert!(!l.iter().any(|x| x.contains('\u{fffd}') && x.contains('│')));
    }

    #[test]
    fn a_dangling_partial_character_is_written_at_the_end() {
        let mut w = CastWriter::new(Vec::new(), &header(), Redactor::default()).unwrap();
        w.output(5, &"é".as_bytes()[..1]).unwrap();
        let l = lines(&w.finish().unwrap());
        assert_eq!(l[1], "[0.000005, \"o\", \"\u{fffd}\"]");
    }

    #[test]
    fn secrets_are_masked_in_output_markers_and_title() {
        let r = Redactor::new(["hunter22".to_string()]);
        let h = Header {
            title: "cutover live hunter22".into(),
            ..header()
        };
        let mut w = CastWriter::new(Vec::new(), &h, r).unwrap();
        w.output(0, b"curl -H 'Authorization: Bearer abc.def' pw=hunter22")
            .unwrap();
        w.marker(0, "Bearer abc.def").unwrap();
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        assert!(
            !text.contains("hunter22") && !text.contains("abc.def"),
            "{text}"
        );
        assert_eq!(
            text.matches(super::super::redact::MASK).count(),
            4,
            "{text}"
        );
    }
}
