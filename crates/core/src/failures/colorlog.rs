//! A color's own structured log (the `log` path per color in fleet.toml): the lines of one
//! request, found by its request ID (nginx passes `$request_id` on as `X-Request-Id`).
//!
//! The log is JSON lines, one object per line. Fields cutover reads, by the first name
//! present (top level first, then inside a `fields` or `span` object, where tracing's JSON
//! layout puts them):
//!
//! | field | names read |
//! | --- | --- |
//! | request ID | `request_id`, `requestId`, `req_id`, `x_request_id` |
//! | time | `time`, `ts`, `timestamp` (a string or a number, shown as written) |
//! | level | `level`, `severity` |
//! | message | `msg`, `message` (without one, the whole line is the message) |
//!
//! Other names are not mapped: a JSON line with none of the request ID names, and a line
//! that is not JSON at all, is kept when it holds the ID as a plain substring (so a logger
//! that nests the ID elsewhere, or writes text, still shows up); a JSON line whose ID field
//! holds another ID is not kept even when its message mentions this one.
//!
//! Hostile logs are expected: bytes that are not UTF-8 are read lossily, lines longer than
//! [`MAX_LINE_BYTES`] are cut there (a cut JSON line is read as text), and every field is
//! sanitized and cut ([`MAX_MESSAGE_CHARS`], [`MAX_RAW_CHARS`]). The work is linear in the
//! input: one substring search per line, and JSON parsing only of lines that can match.

use std::collections::VecDeque;

use memchr::memmem;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{clean_bytes, clean_id, clean_json_value, clean_str};

/// Longest message kept, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Longest raw line kept, in characters.
pub const MAX_RAW_CHARS: usize = 1000;
/// Bytes of a line looked at; the rest of a longer line is ignored.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Longest time or level kept, in characters.
const MAX_FIELD_CHARS: usize = 64;

/// Names of the request ID field, in the order they are looked up.
pub const ID_KEYS: [&str; 4] = ["request_id", "requestId", "req_id", "x_request_id"];
const TIME_KEYS: [&str; 3] = ["time", "ts", "timestamp"];
const LEVEL_KEYS: [&str; 2] = ["level", "severity"];
const MESSAGE_KEYS: [&str; 2] = ["msg", "message"];
/// Objects looked into when a name is not at the top level.
const NESTED: [&str; 2] = ["fields", "span"];

/// One line of a color's log about a request, every field sanitized and cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColorLogLine {
    /// The line's time field, as written.
    pub time: Option<String>,
    /// The line's level field.
    pub level: Option<String>,
    /// The message field; the whole line when it has none or is not JSON.
    pub message: String,
    /// The whole line; in a JSON line with its escapes decoded (an escaped escape sequence
    /// is removed like a raw one).
    pub raw: String,
}

/// Lines of `text` whose request ID field equals `request_id` (newest last), at most `max`
/// kept (the newest); each field sanitized and bounded (message 500 chars, raw 1000 chars).
///
/// `request_id` is compared as stored in a [`super::FailedRequest`] (sanitized and cut), so
/// an ID that had to be cleaned or cut still finds its lines. An empty ID or `-` finds none.
pub fn lines_for(text: &[u8], request_id: &str, max: usize) -> Vec<ColorLogLine> {
    let id = request_id.trim();
    if max == 0 || id.is_empty() || id == "-" {
        return Vec::new();
    }
    // A cut ID ends in `…`; what comes before it is in the line as written.
    let needle = id.strip_suffix('…').unwrap_or(id);
    let finder = memmem::Finder::new(needle.as_bytes());
    // A JSON writer copies such an ID verbatim, so a line without it cannot match; IDs
    // with characters it may escape (Go's writer escapes `<`, `>` and `&`) need every JSON
    // line parsed.
    let verbatim = !needle.is_empty()
        && needle.bytes().all(|b| {
            b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'/' | b'<' | b'>' | b'&')
        });
    let mut kept: VecDeque<&[u8]> = VecDeque::new();
    for line in text.split(|&b| b == b'\n') {
        let line = line.get(..MAX_LINE_BYTES).unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let has_id = !needle.is_empty() && finder.find(line).is_some();
        if verbatim && !has_id {
            continue;
        }
        let hit = match object(line) {
            Some(obj) => match field(&obj, &ID_KEYS).and_then(scalar) {
                Some(v) => v == id || clean_id(&v) == id,
                None => has_id,
            },
            None => has_id,
        };
        if hit {
            if kept.len() == max {
                kept.pop_front();
            }
            kept.push_back(line);
        }
    }
    kept.into_iter().map(to_line).collect()
}

/// The line as a JSON object, if it is one.
fn object(line: &[u8]) -> Option<Map<String, Value>> {
    if line.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let text = String::from_utf8_lossy(line);
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// The first of `keys` present (and not null), at the top level or in a nested object.
fn field<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    let top = keys
        .iter()
        .find_map(|k| obj.get(*k).filter(|v| !v.is_null()));
    top.or_else(|| {
        NESTED.iter().find_map(|n| match obj.get(*n) {
            Some(Value::Object(inner)) => keys
                .iter()
                .find_map(|k| inner.get(*k).filter(|v| !v.is_null())),
            _ => None,
        })
    })
}

/// A string as it is, a number or boolean as written; objects and arrays are no scalar.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn to_line(line: &[u8]) -> ColorLogLine {
    let Some(obj) = object(line) else {
        return ColorLogLine {
            time: None,
            level: None,
            message: clean_bytes(line, MAX_MESSAGE_CHARS),
            raw: clean_bytes(line, MAX_RAW_CHARS),
        };
    };
    // Escapes decoded first, so that `\u001b[2J` goes like a raw ESC [2J.
    let raw = clean_json_value(line, MAX_RAW_CHARS);
    let short = |keys: &[&str]| {
        field(&obj, keys)
            .and_then(scalar)
            .map(|s| clean_str(&s, MAX_FIELD_CHARS))
    };
    let message = match field(&obj, &MESSAGE_KEYS) {
        Some(Value::String(s)) => clean_str(s, MAX_MESSAGE_CHARS),
        Some(other) => clean_str(&other.to_string(), MAX_MESSAGE_CHARS),
        None => clean_json_value(line, MAX_MESSAGE_CHARS),
    };
    ColorLogLine {
        time: short(&TIME_KEYS),
        level: short(&LEVEL_KEYS),
        message,
        raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sanitize::is_clean;

    const ID: &str = "4f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c";

    fn messages(v: &[ColorLogLine]) -> Vec<&str> {
        v.iter().map(|l| &l.message[..]).collect()
    }

    #[test]
    fn json_lines_match_by_their_id_field() {
        let log = format!(
            concat!(
                r#"{{"time":"2025-11-21T13:02:00Z","level":"info","msg":"start","request_id":"{id}"}}"#,
                "\n",
                r#"{{"ts":1763730120.5,"severity":"ERROR","message":"upstream model timeout","requestId":"{id}"}}"#,
                "\n",
                r#"{{"timestamp":"t3","msg":"other request","req_id":"ffff"}}"#,
                "\n",
                r#"{{"msg":"retrying {id} elsewhere","x_request_id":"eeee"}}"#,
                "\r\n",
                r#"{{"timestamp":"t5","fields":{{"message":"nested","x_request_id":"{id}"}},"level":"WARN"}}"#,
                "\n",
                r#"{{"msg":"no id field but mentions {id}"}}"#,
                "\n",
                "plain text line about {id}\r\n",
                "plain text line about another\n",
                r#"{{"msg":"numeric","request_id":42}}"#,
            ),
            id = ID
        );
        let got = lines_for(log.as_bytes(), ID, 10);
        assert_eq!(
            messages(&got),
            vec![
                "start",
                "upstream model timeout",
                "nested",
                &format!("no id field but mentions {ID}"),
                &format!("plain text line about {ID}"),
            ]
        );
        assert_eq!(got[0].time.as_deref(), Some("2025-11-21T13:02:00Z"));
        assert_eq!(got[0].level.as_deref(), Some("info"));
        assert_eq!(got[1].time.as_deref(), Some("1763730120.5"));
        assert_eq!(got[1].level.as_deref(), Some("ERROR"));
        assert_eq!(
            (got[2].time.as_deref(), got[2].level.as_deref()),
            (Some("t5"), Some("WARN"))
        );
        assert_eq!((got[4].time.clone(), got[4].level.clone()), (None, None));
        assert_eq!(got[4].raw, format!("plain text line about {ID}"));
        assert!(got[0].raw.starts_with(r#"{"time":"2025-11-21T13:02:00Z""#));
        // Numbers are IDs too, as written.
        assert_eq!(
            messages(&lines_for(log.as_bytes(), "42", 10)),
            vec!["numeric"]
        );
    }

    #[test]
    fn newest_are_kept_and_empty_ids_find_nothing() {
        let log: String = (0..100)
            .map(|i| format!("{{\"msg\":\"step {i}\",\"request_id\":\"{ID}\"}}\n"))
            .collect();
        let got = lines_for(log.as_bytes(), ID, 3);
        assert_eq!(messages(&got), vec!["step 97", "step 98", "step 99"]);
        assert!(lines_for(log.as_bytes(), ID, 0).is_empty());
        assert!(lines_for(log.as_bytes(), "", 10).is_empty());
        assert!(lines_for(log.as_bytes(), " - ", 10).is_empty());
        assert!(lines_for(b"", ID, 10).is_empty());
        // Without a message field the line is the message.
        let got = lines_for(
            format!(r#"{{"request_id":"{ID}","status":500}}"#).as_bytes(),
            ID,
            5,
        );
        assert_eq!(
            got[0].message,
            format!(r#"{{"request_id":"{ID}","status":500}}"#)
        );
    }

    #[test]
    fn ids_cleaned_on_the_access_log_side_still_match() {
        // The access log's ID was cut to 64 characters; the color log has it whole.
        let long = "a".repeat(100);
        let stored = clean_id(&long);
        assert!(stored.ends_with('…'));
        let log = format!(
            "{{\"msg\":\"long\",\"request_id\":\"{long}\"}}\n{{\"msg\":\"short\",\"request_id\":\"{}\"}}\n",
            "a".repeat(50)
        );
        assert_eq!(
            messages(&lines_for(log.as_bytes(), &stored, 5)),
            vec!["long"]
        );
        // An ID with an escape sequence in it, as the color log's JSON writes it.
        let stored = clean_id("id\u{1b}[2J/x\"y");
        assert_eq!(stored, "id/x\"y");
        let log = r#"{"msg":"evil","request_id":"id\u001b[2J\/x\"y"}"#;
        assert_eq!(
            messages(&lines_for(log.as_bytes(), &stored, 5)),
            vec!["evil"]
        );
        // Go escapes `<`, `>` and `&` in JSON strings.
        let log = r#"{"msg":"go","request_id":"a\u003cb\u0026c"}"#;
        assert_eq!(messages(&lines_for(log.as_bytes(), "a<b&c", 5)), vec!["go"]);
    }

    #[test]
    fn hostile_lines_are_sanitized_and_bounded() {
        let mut log = Vec::new();
        // JSON-escaped sequences in the fields, decoded and removed.
        log.extend_from_slice(
            format!(r#"{{"level":"\u001b[31mERROR","msg":"boom\u001b]0;pwned\u0007 \u009b2J!","request_id":"{ID}","time":"\u001b[H13:02"}}"#)
                .as_bytes(),
        );
        log.push(b'\n');
        // Raw ESC and invalid UTF-8 in a text line.
        log.extend_from_slice(b"\x1b[2J\xff\xfeplain ");
        log.extend_from_slice(ID.as_bytes());
        log.extend_from_slice(b" \x1b]2;title\x07done\n");
        // A 2 MB JSON line holding the ID early: cut, read as text.
        log.extend_from_slice(format!("{{\"request_id\":\"{ID}\",\"msg\":\"").as_bytes());
        log.extend(std::iter::repeat_n(b'm', 2 << 20));
        log.extend_from_slice(b"\"}\n");
        // A 2 MB line with the ID past the cut: not seen.
        log.extend(std::iter::repeat_n(b'z', 2 << 20));
        log.extend_from_slice(ID.as_bytes());
        log.push(b'\n');
        let got = lines_for(&log, ID, 10);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].message, "boom !");
        assert_eq!(got[0].level.as_deref(), Some("ERROR"));
        assert_eq!(got[0].time.as_deref(), Some("13:02"));
        assert_eq!(got[1].message, format!("\u{fffd}\u{fffd}plain {ID} done"));
        assert_eq!(got[1].raw, got[1].message);
        assert_eq!(got[2].message.chars().count(), MAX_MESSAGE_CHARS);
        assert_eq!(got[2].raw.chars().count(), MAX_RAW_CHARS);
        for l in &got {
            for s in [&l.message, &l.raw]
                .into_iter()
                .chain(l.time.as_ref())
                .chain(l.level.as_ref())
            {
                assert!(is_clean(s), "{s:?}");
                assert!(
                    !s.contains("pwned") && !s.contains("[2J") && !s.contains("title"),
                    "{s:?}"
                );
            }
        }
        // Deep nesting is an error for the parser, not a stack overflow.
        let deep = format!("{}{ID}{}", "[".repeat(100_000), "]".repeat(100_000));
        let deep = format!("{{\"a\":{deep}}}");
        assert_eq!(lines_for(deep.as_bytes(), ID, 5).len(), 1);
    }
}
