//! Incremental parser of an OpenAI-style server-sent event stream: finds the first content
//! token and the terminal `data: [DONE]`, whatever the chunking of the bytes.

use std::fmt;

use memchr::memchr2;
use serde_json::Value;

/// Largest event accepted (its data plus the line being read), in bytes.
pub(crate) const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// What the stream has shown so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SseSummary {
    /// Text of the first event with a non-empty `choices[0].delta.content`.
    pub(crate) first_content: Option<String>,
    /// 1-based index, among dispatched data events, of that first content event.
    pub(crate) first_content_event: Option<u64>,
    /// `data: [DONE]` was seen.
    pub(crate) done: bool,
    /// Data events dispatched (including `[DONE]` and malformed ones).
    pub(crate) events: u64,
    /// Data events whose payload was not JSON (skipped).
    pub(crate) malformed: u64,
}

/// Why a stream cannot be scanned any further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SseError {
    /// One event (or one line) grew beyond the limit.
    EventTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::EventTooLarge { limit } => {
                write!(f, "SSE event larger than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// Feed it byte chunks as they arrive; read [`SseScanner::summary`] after each one.
#[derive(Debug, Clone)]
pub(crate) struct SseScanner {
    limit: usize,
    /// The current line, not yet terminated.
    line: Vec<u8>,
    /// Data lines of the current event, joined with `\n`.
    data: Vec<u8>,
    /// The current event has at least one `data` field (possibly empty).
    has_data: bool,
    /// The previous chunk ended with `\r`: a `\n` starting the next one belongs to it.
    pending_cr: bool,
    error: Option<SseError>,
    summary: SseSummary,
}

impl Default for SseScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl SseScanner {
    /// A scanner with the [`MAX_EVENT_BYTES`] limit.
    pub(crate) fn new() -> Self {
        Self::with_limit(MAX_EVENT_BYTES)
    }

    /// A scanner refusing events larger than `limit` bytes.
    pub(crate) fn with_limit(limit: usize) -> Self {
        SseScanner {
            limit,
            line: Vec::new(),
            data: Vec::new(),
            has_data: false,
            pending_cr: false,
            error: None,
            summary: SseSummary::default(),
        }
    }

    /// What has been seen so far.
    pub(crate) fn summary(&self) -> &SseSummary {
        &self.summary
    }

    /// Scan one chunk. After an error, every later call returns the same error; after
    /// `[DONE]`, input is ignored.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), SseError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.summary.done {
                // Nothing after [DONE] matters; do not buffer it.
                self.line.clear();
                self.data.clear();
                return Ok(());
            }
            if self.pending_cr {
                self.pending_cr = false;
                if rest[0] == b'\n' {
                    rest = &rest[1..];
                    continue;
                }
            }
            match memchr2(b'\n', b'\r', rest) {
                Some(i) => {
                    self.grow_line(&rest[..i])?;
                    self.end_line();
                    if rest[i] == b'\r' {
                        self.pending_cr = true;
                    }
                    rest = &rest[i + 1..];
                }
                None => {
                    self.grow_line(rest)?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// The stream ended: take an unterminated last line and event as complete (lenient: some
    /// servers omit the final blank line).
    pub(crate) fn finish(&mut self) {
        if self.error.is_some() || self.summary.done {
            return;
        }
        if !self.line.is_empty() {
            self.end_line();
        }
        self.dispatch();
    }

    /// Append to the current line, refusing to let the event outgrow the limit.
    fn grow_line(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        // Checked on every append, so the decision does not depend on the chunking: a line
        // crosses the limit at the same byte however it was split.
        let size = self
            .line
            .len()
            .saturating_add(bytes.len())
            .saturating_add(self.data.len());
        if size > self.limit {
            let e = SseError::EventTooLarge { limit: self.limit };
            self.error = Some(e.clone());
            // Release the memory now; the scanner is dead.
            self.line = Vec::new();
            self.data = Vec::new();
            return Err(e);
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// Interpret the completed current line.
    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            self.dispatch();
        } else if line[0] == b':' {
            // A comment: keep-alives.
        } else {
            let (field, value) = match line.iter().position(|&b| b == b':') {
                Some(i) => {
                    let value = &line[i + 1..];
                    (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
                }
                None => (&line[..], &b""[..]),
            };
            // `event`, `id`, `retry` and unknown fields do not matter here.
            if field == b"data" {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
        }
        // Keep the allocation for the next line.
        self.line = line;
        self.line.clear();
    }

    /// A blank line: the event, if it carried data, is complete.
    fn dispatch(&mut self) {
        if !self.has_data {
            return;
        }
        self.has_data = false;
        let data = std::mem::take(&mut self.data);
        self.summary.events += 1;
        if data.trim_ascii() == b"[DONE]" {
            self.summary.done = true;
        } else {
            match serde_json::from_slice::<Value>(&data) {
                Ok(v) => {
                    if self.summary.first_content.is_none() {
                        let content = v
                            .pointer("/choices/0/delta/content")
                            .and_then(Value::as_str)
                            .filter(|s| !s.is_empty());
                        if let Some(text) = content {
                            self.summary.first_content = Some(text.to_string());
                            self.summary.first_content_event = Some(self.summary.events);
                        }
                    }
                }
                Err(_) => self.summary.malformed += 1,
            }
        }
        self.data = data;
        self.data.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ROLE: &str = r#"data: {"choices":[{"delta":{"role":"assistant","content":""}}]}"#;
    const FINISH: &str = r#"data: {"choices":[{"delta":{},"finish_reason":"stop"}]}"#;

    fn content(tok: &str) -> String {
        format!(r#"data: {{"choices":[{{"delta":{{"content":"{tok}"}}}}]}}"#)
    }

    /// The lab gateway's stream, with `eol` as line ending.
    fn lab_stream(eol: &str) -> Vec<u8> {
        let events = [
            ": keep-alive".to_string(),
            ROLE.to_string(),
            content("tok0 "),
            content("tok1 "),
            FINISH.to_string(),
            "data: [DONE]".to_string(),
        ];
        events
            .iter()
            .map(|e| format!("{e}{eol}{eol}"))
            .collect::<String>()
            .into_bytes()
    }

    fn scan(chunks: &[&[u8]]) -> (SseSummary, Result<(), SseError>) {
        scan_with(SseScanner::new(), chunks)
    }

    fn scan_with(mut s: SseScanner, chunks: &[&[u8]]) -> (SseSummary, Result<(), SseError>) {
        let mut result = Ok(());
        for c in chunks {
            result = s.push(c);
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            s.finish();
        }
        (s.summary().clone(), result)
    }

    fn expected_lab() -> SseSummary {
        SseSummary {
            first_content: Some("tok0 ".to_string()),
            first_content_event: Some(2),
            done: true,
            events: 5,
            malformed: 0,
        }
    }

    #[test]
    fn lab_stream_whole_and_split_at_every_byte() {
        for eol in ["\n", "\r\n", "\r"] {
            let bytes = lab_stream(eol);
            assert_eq!(scan(&[&bytes]), (expected_lab(), Ok(())), "eol {eol:?}");
            for i in 0..=bytes.len() {
                let (a, b) = bytes.split_at(i);
                assert_eq!(
                    scan(&[a, b]),
                    (expected_lab(), Ok(())),
                    "eol {eol:?} split {i}"
                );
            }
            let singles: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(
                scan(&singles),
                (expected_lab(), Ok(())),
                "eol {eol:?} bytewise"
            );
        }
    }

    #[test]
    fn role_chunk_and_keep_alive_alone_are_not_content() {
        let mut s = SseScanner::new();
        s.push(b": keep-alive\n\n").expect("push");
        s.push(format!("{ROLE}\n\n").as_bytes()).expect("push");
        assert_eq!(s.summary().first_content, None);
        assert_eq!(s.summary().events, 1);
        s.push(content("x").as_bytes()).expect("push");
        // Not dispatched until the blank line.
        assert_eq!(s.summary().first_content, None);
        s.push(b"\n\n").expect("push");
        assert_eq!(s.summary().first_content.as_deref(), Some("x"));
        assert!(!s.summary().done);
    }

    #[test]
    fn data_without_space_and_other_fields() {
        let stream = concat!(
            "event: message\n",
            "id: 7\n",
            "retry: 1000\n",
            "data:{\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n",
            "\n",
            "data:[DONE]\n\n",
        );
        let (sum, res) = scan(&[stream.as_bytes()]);
        assert_eq!(res, Ok(()));
        assert_eq!(sum.first_content.as_deref(), Some("hi"));
        assert!(sum.done);
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        let stream = "data: {\"choices\":\ndata: [{\"delta\":{\"content\":\"a\\nb\"}}]}\n\n";
        let (sum, res) = scan(&[stream.as_bytes()]);
        assert_eq!(res, Ok(()));
        assert_eq!(sum.first_content.as_deref(), Some("a\nb"));
        assert_eq!(sum.malformed, 0);
    }

    #[test]
    fn null_missing_empty_or_non_string_content_does_not_count() {
        let events = [
            r#"data: {"choices":[{"delta":{"content":null}}]}"#,
            r#"data: {"choices":[{"delta":{}}]}"#,
            r#"data: {"choices":[{"delta":{"content":""}}]}"#,
            r#"data: {"choices":[{"delta":{"content":5}}]}"#,
            r#"data: {"choices":[]}"#,
            r#"data: {"choices":[{"delta":{"content":"   "}},{"x":1}]}"#,
        ];
        for e in &events[..5] {
            let (sum, _) = scan(&[format!("{e}\n\n").as_bytes()]);
            assert_eq!(sum.first_content, None, "{e}");
            assert_eq!(sum.malformed, 0, "{e}");
        }
        // Whitespace is content: a model may well start with a space.
        let (sum, _) = scan(&[format!("{}\n\n", events[5]).as_bytes()]);
        assert_eq!(sum.first_content.as_deref(), Some("   "));
    }

    #[test]
    fn malformed_json_is_counted_and_skipped() {
        let stream = format!("data: {{not json\n\n{}\n\ndata: [DONE]\n\n", content("ok"));
        let (sum, res) = scan(&[stream.as_bytes()]);
        assert_eq!(res, Ok(()));
        assert_eq!(sum.malformed, 1);
        assert_eq!(sum.first_content.as_deref(), Some("ok"));
        assert_eq!(sum.first_content_event, Some(2));
        assert!(sum.done);
    }

    #[test]
    fn an_event_without_its_blank_line_counts_at_the_end() {
        let (sum, _) = scan(&[format!("{}\n\ndata: [DONE]", content("t")).as_bytes()]);
        assert!(sum.done && sum.first_content.is_some());
        // A comment-only or field-less tail is no event.
        let (sum, _) = scan(&[b": ping\nid: 3"]);
        assert_eq!(sum, SseSummary::default());
    }

    #[test]
    fn input_after_done_is_ignored() {
        let mut s = SseScanner::with_limit(64);
        s.push(b"data: [DONE]\n\n").expect("push");
        s.push(content("late").as_bytes()).expect("push");
        s.push(&[b'x'; 1000]).expect("ignored, not buffered");
        s.push(b"\n\n").expect("push");
        assert_eq!(s.summary().first_content, None);
        assert!(s.summary().done);
        assert_eq!(s.summary().events, 1);
    }

    #[test]
    fn oversize_event_is_an_error_not_growth() {
        let mut s = SseScanner::new();
        s.push(b": keep-alive\n\ndata: \"").expect("push");
        let block = vec![b'a'; 64 * 1024];
        let mut result = Ok(());
        for _ in 0..32 {
            result = s.push(&block);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(
            result,
            Err(SseError::EventTooLarge {
                limit: MAX_EVENT_BYTES
            })
        );
        assert!(
            s.line.capacity() == 0 && s.data.capacity() == 0,
            "memory released"
        );
        // Sticky: the stream is unusable from here.
        assert!(s.push(b"\n\ndata: [DONE]\n\n").is_err());
        assert!(!s.summary().done);

        // Many data lines adding up count as well as one long line.
        let mut s = SseScanner::new();
        let line = format!("data: {}\n", "b".repeat(1000));
        let mut result = Ok(());
        for _ in 0..1100 {
            result = s.push(line.as_bytes());
            if result.is_err() {
                break;
            }
        }
        assert!(result.is_err());
        assert!(
            result
                .expect_err("too large")
                .to_string()
                .contains("1048576")
        );
    }

    #[test]
    fn an_event_just_under_the_limit_is_fine() {
        let mut s = SseScanner::with_limit(100);
        // 100 bytes of line, then the terminator.
        let line = format!("data: \"{}\"", "c".repeat(92));
        assert_eq!(line.len(), 100);
        s.push(line.as_bytes()).expect("at the limit");
        s.push(b"\n\n").expect("terminated");
        assert_eq!(s.summary().events, 1);
        assert_eq!(s.summary().malformed, 0);
    }

    /// Pieces that make streams worth scanning: valid events, odd line endings, junk.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b": keep-alive\n\n".to_vec()),
            Just(format!("{ROLE}\n\n").into_bytes()),
            Just(format!("{}\r\n\r\n", content("tok")).into_bytes()),
            Just(format!("{FINISH}\n\n").into_bytes()),
            Just(b"data: [DONE]\n\n".to_vec()),
            Just(b"data:".to_vec()),
            Just(b"\r".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..24),
        ]
    }

    fn stream() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(piece(), 0..16).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn chunking_never_changes_the_answer(
            bytes in stream(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
            limit in prop_oneof![Just(MAX_EVENT_BYTES), 0usize..80],
        ) {
            let whole = scan_with(SseScanner::with_limit(limit), &[&bytes]);
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            at.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut from = 0;
            for i in at {
                chunks.push(&bytes[from..i]);
                from = i;
            }
            chunks.push(&bytes[from..]);
            prop_assert_eq!(scan_with(SseScanner::with_limit(limit), &chunks), whole.clone());
            let singles: Vec<&[u8]> = bytes.chunks(1).collect();
            prop_assert_eq!(scan_with(SseScanner::with_limit(limit), &singles), whole);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut s = SseScanner::with_limit(128);
            let _ = s.push(&bytes);
            s.finish();
            prop_assert!(s.line.len() + s.data.len() <= 128);
        }
    }
}
