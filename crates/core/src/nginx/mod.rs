//! nginx: the access log format cutover reads, and the upstream block's weights.

pub mod accesslog;
pub mod synth;
pub mod upstream;

/// Name of the log_format cutover documents (docs/nginx.md).
pub const LOG_FORMAT_NAME: &str = "cutover";

/// The `log_format` directive cutover needs: JSON, `escape=json`, every value quoted,
/// keys named exactly after the variables.
pub fn log_format_directive() -> String {
    let fields: Vec<String> = LOG_FIELDS
        .iter()
        .map(|(key, var)| format!("\"{key}\":\"${var}\""))
        .collect();
    format!(
        "log_format {LOG_FORMAT_NAME} escape=json '{{{}}}';",
        fields.join(",")
    )
}

/// The logged keys and their variables; `time` holds `$msec`, as the spec names it.
const LOG_FIELDS: [(&str, &str); 10] = [
    ("time", "msec"),
    ("status", "status"),
    ("request_time", "request_time"),
    ("upstream_addr", "upstream_addr"),
    ("upstream_status", "upstream_status"),
    ("upstream_response_time", "upstream_response_time"),
    ("upstream_header_time", "upstream_header_time"),
    ("request_id", "request_id"),
    ("request", "request"),
    ("bytes_sent", "bytes_sent"),
];

/// How many of [`LOG_FIELDS`], from the start, every line must carry (the spec's minimum).
const REQUIRED_LOG_FIELDS: usize = 8;

/// Check one access log line against the documented format; the error names the missing key.
pub fn check_log_line(line: &str) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("a line is not JSON ({e})"))?;
    for (key, _) in &LOG_FIELDS[..REQUIRED_LOG_FIELDS] {
        match v.get(key) {
            Some(serde_json::Value::String(_)) => {}
            Some(_) => return Err(format!("key {key:?} is not a quoted string")),
            None => return Err(format!("key {key:?} is missing")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_checked() {
        let good = r#"{"time":"1.0","status":"200","request_time":"0.1","upstream_addr":"127.0.0.1:8787","upstream_status":"200","upstream_response_time":"0.1","upstream_header_time":"0.01","request_id":"x"}"#;
        assert_eq!(check_log_line(good), Ok(()));
        let e = check_log_line(&good.replace(",\"request_id\":\"x\"", "")).unwrap_err();
        assert!(e.contains("request_id"), "{e}");
        assert!(check_log_line("127.0.0.1 - - [..] GET /").is_err());
        let e = check_log_line(&good.replace("\"200\",\"request_time", "200,\"request_time"))
            .unwrap_err();
        assert!(e.contains("status"), "{e}");
    }

    #[test]
    fn log_format_is_quoted_json_with_the_variable_names() {
        let d = log_format_directive();
        assert!(d.starts_with("log_format cutover escape=json '{\"time\":\"$msec\","));
        assert!(d.ends_with("\"bytes_sent\":\"$bytes_sent\"}';"));
        for key in ["upstream_addr", "upstream_header_time", "request_id"] {
            assert!(d.contains(&format!("\"{key}\":\"${key}\"")), "{key}");
        }
    }
}
