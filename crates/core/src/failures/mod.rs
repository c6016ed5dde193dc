//! Failure digests: which build failed which request, grouped per time window.
//!
//! Pure code, no IO. [`record::failed_request`] turns one access-log line into a
//! [`FailedRequest`] when it failed (final 5xx or 499, or a try that failed before a retry);
//! [`book::FailureBook`] groups them per window by color, status, gateway and AZ (the same
//! groups feed the cockpit's failures view and the notifier); [`digest::build`] makes one
//! window's digest, a bounded JSON body with a Slack-compatible `text`; and
//! [`colorlog::lines_for`] picks one request's lines out of a color's own structured log.
//!
//! Everything that came from a remote host (request IDs, addresses, log lines) is decoded,
//! sanitized ([`crate::sanitize`]) and cut to a fixed length before it is stored, so neither
//! the terminal nor the webhook ever sees it raw.

pub mod book;
pub mod colorlog;
pub mod digest;
pub mod record;

pub use book::{FailureBook, Group, GroupKey, clause};
pub use colorlog::{ColorLogLine, lines_for};
pub use digest::{Detail, Digest, DigestGroup, Severity, TryDetail, build};
pub use record::{FailedRequest, Try, failed_request};

use std::borrow::Cow;

use crate::sanitize::{MAX_REMOTE_CHARS, is_clean, sanitize};

/// Characters `sanitize` emits per piece when a result longer than its cap is built.
const PIECE_CHARS: usize = 256;

/// `s` made safe for one line (escape sequences removed whole, other controls as spaces,
/// exactly as [`sanitize`] does) and cut to at most `max_chars` characters, the last one
/// `…` when cut.
///
/// [`sanitize`] stops at 512 characters. For longer results the input is cut into pieces
/// right after a character `sanitize` emitted: it emits only outside escape sequences, so
/// no sequence spans two pieces, and the pieces' results joined are the uncapped result.
pub(crate) fn clean_str(s: &str, max_chars: usize) -> String {
    if max_chars == 0 {
        return String::new();
    }
    if is_clean(s) {
        return cut(Cow::Borrowed(s), max_chars).into_owned();
    }
    let whole = sanitize(s);
    if max_chars <= MAX_REMOTE_CHARS || whole.chars().count() <= MAX_REMOTE_CHARS {
        return cut(Cow::Owned(whole), max_chars).into_owned();
    }
    let mut out = String::with_capacity(max_chars + 4);
    let mut kept = 0;
    let mut rest = s;
    while !rest.is_empty() && kept <= max_chars {
        let end = piece_end(rest, PIECE_CHARS);
        let (piece, tail) = rest.split_at(end);
        let clean = sanitize(piece);
        kept += clean.chars().count();
        out.push_str(&clean);
        rest = tail;
    }
    cut(Cow::Owned(out), max_chars).into_owned()
}

/// The shortest prefix of `s` (a byte index) from which [`sanitize`] emits `n` characters,
/// or `s.len()` when all of `s` emits fewer. The characters emitted by a prefix only grow
/// with it, one at most per character added, so a gallop then a binary search find it.
fn piece_end(s: &str, n: usize) -> usize {
    let emitted = |end: usize| sanitize(s.get(..end).unwrap_or(s)).chars().count();
    let after = |from: usize, chars: usize| {
        s.get(from..)
            .and_then(|r| r.char_indices().nth(chars).map(|(i, _)| from + i))
            .unwrap_or(s.len())
    };
    let (mut lo, mut step) = (0, n);
    let hi = loop {
        let cand = after(lo, step);
        if emitted(cand) >= n {
            break cand;
        }
        if cand == s.len() {
            return s.len();
        }
        lo = cand;
        step = step.saturating_mul(2);
    };
    // Character boundaries in (lo, hi]: the answer is the first that emits `n`.
    let bounds: Vec<usize> = s
        .get(lo..hi)
        .unwrap_or_default()
        .char_indices()
        .skip(1)
        .map(|(i, _)| lo + i)
        .chain(std::iter::once(hi))
        .collect();
    let at = bounds.partition_point(|&b| emitted(b) < n);
    bounds.get(at).copied().unwrap_or(hi)
}

/// At most `max_chars` characters of `s`, the last one `…` when it was longer.
fn cut(s: Cow<'_, str>, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        None => s,
        Some(_) => {
            let keep = s
                .char_indices()
                .nth(max_chars.saturating_sub(1))
                .map_or(s.len(), |(i, _)| i);
            let mut out = String::with_capacity(keep + 3);
            out.push_str(s.get(..keep).unwrap_or_default());
            if max_chars > 0 {
                out.push('…');
            }
            Cow::Owned(out)
        }
    }
}

/// Raw bytes (invalid UTF-8 becomes U+FFFD) made safe and cut, see [`clean_str`]. Only the
/// first bytes are looked at, so a megabyte value costs no more than a short one.
pub(crate) fn clean_bytes(v: &[u8], max_chars: usize) -> String {
    let v = v.get(..input_budget(max_chars)).unwrap_or(v);
    clean_str(&String::from_utf8_lossy(v), max_chars)
}

/// A value as nginx's `escape=json` wrote it (escapes still in it), decoded, made safe and
/// cut, see [`clean_str`]: `\u001b[2J` is decoded to an escape sequence and removed whole.
pub(crate) fn clean_json_value(v: &[u8], max_chars: usize) -> String {
    clean_str(&decode_json_value(v, max_chars), max_chars)
}

/// A request ID as stored: sanitized, trimmed, at most [`record::MAX_REQUEST_ID_CHARS`]
/// characters; `-` when nothing is left. The access log's and a color log's IDs both go
/// through here, so a hostile or over-long ID still matches itself.
pub(crate) fn clean_id(s: &str) -> String {
    const MAX: usize = record::MAX_REQUEST_ID_CHARS;
    let s = prefix(s, input_budget(MAX));
    let c = clean_str(s, MAX * 4);
    match c.trim() {
        "" => "-".to_string(),
        t => cut(Cow::Borrowed(t), MAX).into_owned(),
    }
}

/// At most `max_bytes` of `s`, cut on a character boundary.
fn prefix(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// A value as nginx's `escape=json` wrote it, decoded to text (invalid UTF-8 as U+FFFD) but
/// not sanitized; only the first bytes a `max_chars` result needs are read.
pub(crate) fn decode_json_value(v: &[u8], max_chars: usize) -> String {
    let v = v.get(..input_budget(max_chars)).unwrap_or(v);
    if v.contains(&b'\\') {
        String::from_utf8_lossy(&unescape_json(v)).into_owned()
    } else {
        String::from_utf8_lossy(v).into_owned()
    }
}

/// Input bytes worth reading for `max_chars` characters of output: room for multi-byte
/// characters, escapes and stripped sequences, and a bound on hostile values.
fn input_budget(max_chars: usize) -> usize {
    max_chars.saturating_mul(8).saturating_add(4096)
}

/// The bytes of a JSON string's contents with its escapes decoded; a bad or cut escape and
/// a lone surrogate become U+FFFD. Other bytes, valid UTF-8 or not, pass through.
fn unescape_json(v: &[u8]) -> Vec<u8> {
    const REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while let Some(&b) = v.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let simple = match v.get(i + 1) {
            Some(b'"') => Some(b'"'),
            Some(b'\\') => Some(b'\\'),
            Some(b'/') => Some(b'/'),
            Some(b'b') => Some(0x08),
            Some(b'f') => Some(0x0c),
            Some(b'n') => Some(b'\n'),
            Some(b'r') => Some(b'\r'),
            Some(b't') => Some(b'\t'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        let Some(hi) = hex4(v, i + 2).filter(|_| v.get(i + 1) == Some(&b'u')) else {
            out.extend_from_slice(REPLACEMENT);
            i += 2;
            continue;
        };
        i += 6;
        let c = if (0xd800..0xdc00).contains(&hi) {
            // A high surrogate: only with the low one after it is it a character.
            match hex4(v, i + 2).filter(|lo| {
                v.get(i) == Some(&b'\\')
                    && v.get(i + 1) == Some(&b'u')
                    && (0xdc00..0xe000).contains(lo)
            }) {
                Some(lo) => {
                    i += 6;
                    char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00))
                }
                None => None,
            }
        } else {
            char::from_u32(hi)
        };
        let c = c.unwrap_or('\u{fffd}');
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    out
}

/// Four hex digits at `at`, as a number.
fn hex4(v: &[u8], at: usize) -> Option<u32> {
    let digits = v.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |n, &d| {
        let d = char::from(d).to_digit(16)?;
        Some(n * 16 + d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sequences_longer_than_the_cap_are_dropped_whole() {
        let s = format!("\u{1b}]0;{}\u{7}{}", "t".repeat(2000), "z".repeat(900));
        assert_eq!(clean_str(&s, 1000), "z".repeat(900));
        // Unterminated: the sequence swallows the rest, as in a terminal.
        let s = format!("a\u{9d}{}", "t".repeat(3000));
        assert_eq!(clean_str(&s, 1000), "a");
        let s = format!("a\u{1b}[{}mb", "1;".repeat(1000));
        assert_eq!(clean_str(&s, 1000), "ab");
        // An 8-bit introducer inside a CSI is one of its bytes, not a new sequence.
        assert_eq!(clean_str("\u{9b}\u{9d}[a", 1), "a");
        let s = format!("\u{9b}\u{9d}[{}", "a".repeat(900));
        assert_eq!(clean_str(&s, 1000), "a".repeat(900));
    }

    fn hostile_char() -> impl Strategy<Value = char> {
        prop::sample::select(vec![
            'a', 'b', ' ', '\u{1b}', '[', ']', 'P', '\\', '\u{7}', '\u{9b}', '\u{9c}', '\u{9d}',
            '\u{90}', ';', '0', '2', 'J', 'm', '\n', '\u{202e}', '\u{18}', 'é', '😀',
        ])
    }

    /// Pieces of input with what `sanitize` makes of them: text, controls, whole sequences.
    fn token() -> impl Strategy<Value = (&'static str, &'static str)> {
        prop::sample::select(vec![
            ("word ", "word "),
            ("[2J", "[2J"),
            ("0;title", "0;title"),
            ("é😀", "é😀"),
            ("\n", " "),
            ("\t\u{202e}", "  "),
            ("\u{1b}[31m", ""),
            ("\u{1b}[?1049h", ""),
            ("\u{1b}]0;pwned\u{7}", ""),
            ("\u{1b}]2;a long title for the window\u{1b}\\", ""),
            ("\u{1b}c", ""),
            ("\u{9b}2J", ""),
            ("\u{9d}8;;http://x\u{9c}", ""),
            ("\u{1b}]0;cut short\u{1b}[1m", ""),
            ("\u{1b}[1\u{18}", ""),
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn clean_agrees_with_sanitize(
            chars in proptest::collection::vec(hostile_char(), 0..1600),
            max in 1usize..1200,
        ) {
            let s: String = chars.into_iter().collect();
            let ours = clean_str(&s, max);
            let theirs = sanitize(&s);
            prop_assert!(ours.chars().count() <= max);
            prop_assert!(is_clean(&ours), "{:?}", ours);
            // Below both caps the two are the same; above, they share a prefix.
            let n = max.min(MAX_REMOTE_CHARS) - 1;
            let prefix = |x: &str| x.chars().take(n).collect::<String>();
            prop_assert_eq!(prefix(&ours), prefix(&theirs));
            if theirs.chars().count() <= MAX_REMOTE_CHARS && theirs.chars().count() <= max {
                prop_assert_eq!(ours, theirs);
            }
        }

        #[test]
        fn long_results_are_whole(
            tokens in proptest::collection::vec(token(), 0..400),
            max in 1usize..3000,
        ) {
            let s: String = tokens.iter().map(|(input, _)| *input).collect();
            let want: String = tokens.iter().map(|(_, output)| *output).collect();
            let want = cut(Cow::Owned(want), max).into_owned();
            prop_assert_eq!(clean_str(&s, max), want);
        }
    }

    #[test]
    fn clean_removes_sequences_and_cuts_to_the_limit() {
        assert_eq!(clean_str("abc", 3), "abc");
        assert_eq!(clean_str("abcd", 3), "ab…");
        assert_eq!(clean_str("a\u{1b}[2Jb\u{1b}]0;title\u{7}c\nd", 10), "abc d");
        assert_eq!(clean_str("abc", 0), "");
        // Longer than sanitize's own cap, with sequences: nothing cut in the middle.
        let long = format!("{}\u{1b}[31m{}", "x".repeat(700), "y".repeat(700));
        let c = clean_str(&long, 1000);
        assert_eq!(c.chars().count(), 1000);
        assert!(c.starts_with(&"x".repeat(700)), "{c}");
        assert!(c.ends_with(&format!("{}…", "y".repeat(299))), "{c}");
        assert!(!c.contains('\u{1b}') && !c.contains("[31m"));
    }

    #[test]
    fn json_values_are_decoded_before_sanitizing() {
        assert_eq!(clean_json_value(br"a\u001b[2Jb", 64), "ab");
        assert_eq!(clean_json_value(br#"q\"\\\/\t."#, 64), r#"q"\/ ."#);
        assert_eq!(
            clean_json_value(br"\ud83d\ude00 \ud83d x", 64),
            "😀 \u{fffd} x"
        );
        assert_eq!(
            clean_json_value(br"bad\x \u12", 64),
            "bad\u{fffd} \u{fffd}12"
        );
        assert_eq!(
            clean_json_value(b"\xff\xfeok\\", 64),
            "\u{fffd}\u{fffd}ok\u{fffd}"
        );
        assert_eq!(clean_bytes(b"ok\x1b[1m!\x9b", 64), "ok!\u{fffd}");
        // A megabyte value is cut early, not decoded whole.
        let huge = br"\u0041".repeat(200_000);
        assert_eq!(clean_json_value(&huge, 8), "AAAAAAA…");
    }
}
