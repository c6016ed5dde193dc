//! The terminal writer of the cockpit: every byte goes to the terminal and, when recording,
//! to the cast.

use super::cast::Recorder;
use std::io::{self, Write};

/// A writer for ratatui's `CrosstermBackend` that forwards to `term` and copies what was
/// written to a `Recorder` (one `"o"` event per flush outside a frame, per frame inside one).
pub(crate) struct Tee<W: Write> {
    term: W,
    rec: Option<Recorder>,
}

impl<W: Write> Tee<W> {
    /// Write to `term`, and to `rec` if recording.
    pub(crate) fn new(term: W, rec: Option<Recorder>) -> Tee<W> {
        Tee { term, rec }
    }
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.term.write(buf)?;
        // Only what the terminal took: the rest comes back in the next call.
        if let Some(r) = &self.rec {
            r.output(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        let res = self.term.flush();
        if let Some(r) = &self.rec {
            r.flushed();
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::record::SharedBuffer;
    use crate::front::record::cast::{CastClock, Header};
    use crate::front::record::redact::Redactor;
    use crate::front::record::validate::validate;

    fn recorder(secrets: &[&str]) -> (Recorder, SharedBuffer) {
        let cast = SharedBuffer::default();
        let header = Header {
            width: 80,
            height: 24,
            timestamp: 0,
            title: "test".into(),
            term: None,
            shell: None,
        };
        let r = Recorder::new(
            Box::new(cast.clone()),
            &header,
            Redactor::new(secrets.iter().map(|s| s.to_string())),
            CastClock::Manual,
        )
        .unwrap();
        (r, cast)
    }

    #[test]
    fn terminal_gets_every_byte_and_a_frame_is_one_event() {
        let (rec, cast) = recorder(&[]);
        let term = SharedBuffer::default();
        let mut tee = Tee::new(term.clone(), Some(rec.clone()));
        rec.set_time_us(100_000);
        rec.begin_frame();
        tee.write_all(b"\x1b[?2026h").unwrap();
        tee.flush().unwrap();
        tee.write_all(b"frame").unwrap();
        tee.flush().unwrap();
        tee.write_all(b"\x1b[?2026l").unwrap();
        tee.flush().unwrap();
        rec.end_frame();
        rec.set_time_us(200_000);
        tee.write_all(b"after").unwrap();
        tee.flush().unwrap();
        rec.marker(Some(150_000), "m1");
        rec.finish().unwrap();
        assert_eq!(term.text(), "\x1b[?2026hframe\x1b[?2026lafter");
        let text = cast.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(
            lines[1],
            r#"[0.100000, "o", "\u001b[?2026hframe\u001b[?2026l"]"#
        );
        assert_eq!(lines[2], r#"[0.200000, "o", "after"]"#);
        assert_eq!(lines[3], r#"[0.200000, "m", "m1"]"#, "never back in time");
        let s = validate(&text).unwrap();
        assert_eq!(s.markers, [(0.2, "m1".to_string())]);
    }

    #[test]
    fn secrets_in_the_output_stream_are_redacted_in_the_cast_only() {
        let (rec, cast) = recorder(&["hunter22"]);
        let term = SharedBuffer::default();
        let mut tee = Tee::new(term.clone(), Some(rec.clone()));
        let screen = "\x1b[1;1Hcurl -H 'Authorization: Bearer abc.def' https://ops:hunter22@gw/";
        tee.write_all(screen.as_bytes()).unwrap();
        tee.flush().unwrap();
        rec.finish().unwrap();
        assert_eq!(term.text(), screen, "the terminal is not changed");
        let text = cast.text();
        assert!(
            !text.contains("abc.def") && !text.contains("hunter22"),
            "{text}"
        );
        let s = validate(&text).unwrap();
        assert_eq!(
            s.output,
            "\x1b[1;1Hcurl -H 'Authorization: Bearer ********' https://ops:********@gw/"
        );
    }

    #[test]
    fn without_a_recorder_it_is_the_terminal() {
        let term = SharedBuffer::default();
        let mut tee = Tee::new(term.clone(), None);
        tee.write_all(b"x").unwrap();
        tee.flush().unwrap();
        assert_eq!(term.text(), "x");
    }

    /// A cast that stops being writable stops the recording, not the cockpit.
    #[test]
    fn a_write_error_stops_the_recording_and_is_reported_once() {
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk full"));
                }
                self.0 -= 1;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let header = Header {
            width: 80,
            height: 24,
            timestamp: 0,
            title: "t".into(),
            term: None,
            shell: None,
        };
        let rec = Recorder::new(
            Box::new(Full(1)),
            &header,
            Redactor::default(),
            CastClock::Manual,
        )
        .unwrap();
        let mut tee = Tee::new(io::sink(), Some(rec.clone()));
        tee.write_all(b"x").unwrap();
        tee.flush().expect("the terminal write still succeeds");
        let e = rec.take_error().unwrap();
        assert!(e.contains("disk full"), "{e}");
        assert_eq!(rec.take_error(), None);
        assert!(rec.finish().is_err());
    }
}
