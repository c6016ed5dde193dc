//! Checking a cast the way asciinema 2.2 reads it, and more strictly: the header's fields,
//! every line one JSON event, known codes, times that never go back.

use serde_json::Value;

/// What a valid cast holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Terminal columns from the header.
    pub width: u16,
    /// Terminal rows from the header.
    pub height: u16,
    /// Start, seconds since the Unix epoch.
    pub(crate) timestamp: f64,
    /// The header's title.
    pub title: String,
    /// `TERM` from the header's env (null: not set).
    pub(crate) term: Option<String>,
    /// `SHELL` from the header's env (null: not set).
    pub(crate) shell: Option<String>,
    /// Event lines.
    pub events: usize,
    /// `"o"` events.
    pub(crate) output_events: usize,
    /// Everything the `"o"` events wrote, concatenated.
    pub output: String,
    /// `"m"` markers in file order: time and label.
    pub markers: Vec<(f64, String)>,
    /// `"r"` events: time, columns, rows.
    pub resizes: Vec<(f64, u16, u16)>,
    /// Time of the last event, seconds.
    pub duration: f64,
}

/// Check `text` as an asciicast v2 file; the error names the line (1-based) and the fault.
///
/// A partial last line is an error: asciinema 2.2 stops with a JSON error on it, which is why
/// the writer puts each event down with one write of the whole line.
pub fn validate(text: &str) -> Result<Summary, String> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let Some((first, events)) = lines.split_first() else {
        return Err("empty file: no header".into());
    };
    let mut s = header(first).map_err(|e| format!("line 1: header: {e}"))?;
    let mut last = 0.0_f64;
    for (i, line) in events.iter().enumerate() {
        let n = i + 2;
        let (t, code, data) = event(line).map_err(|e| format!("line {n}: {e}"))?;
        if t < last {
            return Err(format!(
                "line {n}: time {t} goes back before {last} (the previous event)"
            ));
        }
        last = t;
        match code {
            "o" => {
                s.output_events += 1;
                s.output.push_str(&data);
            }
            "m" => {
                if data.trim().is_empty() {
                    return Err(format!("line {n}: marker without a label"));
                }
                s.markers.push((t, data));
            }
            "r" => {
                let (w, h) = size(&data)
                    .ok_or_else(|| format!("line {n}: resize {data:?} is not COLSxROWS"))?;
                s.resizes.push((t, w, h));
            }
            _ => {}
        }
        s.events += 1;
    }
    s.duration = last;
    Ok(s)
}

/// The header line's fields.
fn header(line: &str) -> Result<Summary, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    match obj.get("version").and_then(Value::as_u64) {
        Some(2) => {}
        other => return Err(format!("version must be 2, found {other:?}")),
    }
    let dim = |k: &str| -> Result<u16, String> {
        obj.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{k} must be a whole number from 1 to 65535"))
    };
    let (width, height) = (dim("width")?, dim("height")?);
    let timestamp = obj
        .get("timestamp")
        .and_then(Value::as_f64)
        .ok_or("timestamp must be a number")?;
    let title = obj
        .get("title")
        .and_then(Value::as_str)
        .ok_or("title must be a string")?;
    let env = obj
        .get("env")
        .and_then(Value::as_object)
        .ok_or("env must be an object")?;
    let var = |k: &str| -> Result<Option<String>, String> {
        match env.get(k) {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Null) => Ok(None),
            Some(_) => Err(format!("env.{k} must be a string or null")),
            None => Err(format!("env.{k} is missing")),
        }
    };
    Ok(Summary {
        width,
        height,
        timestamp,
        title: title.to_string(),
        term: var("TERM")?,
        shell: var("SHELL")?,
        ..Summary::default()
    })
}

/// One event line: time, code, data.
fn event(line: &str) -> Result<(f64, &'static str, String), String> {
    if line.trim().is_empty() {
        return Err("blank line (asciinema 2.2 stops reading there)".into());
    }
    let v: Value = serde_json::from_str(line)
        .map_err(|e| format!("not JSON ({e}); a partial line left by a crash?"))?;
    let Some([t, code, data]) = v.as_array().map(Vec::as_slice) else {
        return Err("an event is a JSON array [time, code, data]".into());
    };
    let t = t
        .as_f64()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or("time must be a number of seconds, 0 or more")?;
    let code = match code.as_str() {
        Some("o") => "o",
        Some("i") => "i",
        Some("m") => "m",
        Some("r") => "r",
        _ => return Err(format!("unknown event code {code}; expected o, i, m or r")),
    };
    let data = data.as_str().ok_or("data must be a string")?;
    Ok((t, code, data.to_string()))
}

/// `"120x40"` as columns and rows, both at least 1.
fn size(s: &str) -> Option<(u16, u16)> {
    let (w, h) = s.split_once('x')?;
    let w: u16 = w.parse().ok().filter(|n| *n > 0)?;
    let h: u16 = h.parse().ok().filter(|n| *n > 0)?;
    Some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"{"version": 2, "width": 120, "height": 40, "timestamp": 1700000000, "title": "t", "env": {"SHELL": "/bin/bash", "TERM": null}}"#;

    fn cast(events: &[&str]) -> String {
        let mut s = format!("{HEAD}\n");
        for e in events {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    #[test]
    fn a_good_cast_is_summarised() {
        let s = validate(&cast(&[
            r#"[0.000000, "o", "a"]"#,
            r#"[0.5, "m", "gw-a1: step"]"#,
            r#"[0.5, "r", "100x30"]"#,
            r#"[1.25, "i", "q"]"#,
            r#"[2.000000, "o", "b"]"#,
        ]))
        .unwrap();
        assert_eq!((s.width, s.height, s.title.as_str()), (120, 40, "t"));
        assert_eq!((s.term, s.shell.as_deref()), (None, Some("/bin/bash")));
        assert_eq!((s.events, s.output_events), (5, 2));
        assert_eq!(s.output, "ab");
        assert_eq!(s.markers, [(0.5, "gw-a1: step".to_string())]);
        assert_eq!(s.resizes, [(0.5, 100, 30)]);
        assert_eq!(s.duration, 2.0);
        // No newline after the last line: asciinema reads it, so do we.
        assert!(validate(cast(&[r#"[0, "o", "a"]"#]).trim_end()).is_ok());
    }

    #[test]
    fn faults_are_named_with_their_line() {
        let bad = |events: &[&str]| validate(&cast(events)).unwrap_err();
        assert!(
            bad(&[r#"[1, "o", "a"]"#, r#"[0.5, "o", "b"]"#])
                .starts_with("line 3: time 0.5 goes back")
        );
        assert!(bad(&[r#"[1, "x", "a"]"#]).contains("unknown event code"));
        assert!(bad(&[""]).contains("blank line"));
        assert!(bad(&[r#"[1, "o", "a"#]).contains("partial line"));
        assert!(bad(&[r#"[1, "r", "wide"]"#]).contains("not COLSxROWS"));
        assert!(bad(&[r#"[1, "m", " "]"#]).contains("without a label"));
        assert!(bad(&[r#"[-1, "o", "a"]"#]).contains("0 or more"));
        assert!(bad(&[r#"{"t": 1}"#]).contains("[time, code, data]"));
        assert!(bad(&[r#"[1, "o", 5]"#]).contains("data must be a string"));
    }

    #[test]
    fn header_faults_are_named() {
        let with = |h: &str| validate(&format!("{h}\n")).unwrap_err();
        assert!(validate("").unwrap_err().contains("no header"));
        assert!(with(r#"{"version": 1, "width": 1, "height": 1}"#).contains("version must be 2"));
        assert!(with(r#"{"version": 2, "width": 0, "height": 1}"#).contains("width"));
        assert!(with(r#"{"version": 2, "width": 1, "height": 1}"#).contains("timestamp"));
        assert!(
            with(r#"{"version": 2, "width": 1, "height": 1, "timestamp": 1, "title": "t", "env": {"TERM": "x"}}"#)
                .contains("env.SHELL is missing")
        );
        assert!(with("[1]").starts_with("line 1: header: not a JSON object"));
    }
}
