//! nginx: the access log format cutover reads, and the upstream block's weights.

pub mod upstream;

/// Name of the log_format cutover documents (docs/nginx.md).
pub const LOG_FORMAT_NAME: &str = "cutover";

/// The `log_format` directive cutover needs: JSON, `escape=json`, every value quoted,
/// keys named exactly after the variables.
pub fn log_format_directive() -> String {
    const VARS: [&str; 10] = [
        "msec",
        "status",
        "request_time",
        "upstream_addr",
        "upstream_status",
        "upstream_response_time",
        "upstream_header_time",
        "request_id",
        "request",
        "bytes_sent",
    ];
    let fields: Vec<String> = VARS
        .iter()
        .map(|v| {
            // `time` holds $msec, as the spec names it.
            let key = if *v == "msec" { "time" } else { v };
            format!("\"{key}\":\"${v}\"")
        })
        .collect();
    format!(
        "log_format {LOG_FORMAT_NAME} escape=json '{{{}}}';",
        fields.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
