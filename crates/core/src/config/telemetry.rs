//! The `[telemetry]` section: where the cockpit's traffic figures come from, today's SSH
//! collectors (access-log tail and probes) or a Prometheus server, and the PromQL it asks.
//!
//! A template holds placeholders (`{gateway}`, `{az}`, `{color}`, `{window}`) that
//! [`render`] fills in. One query per signal covers the whole fleet, so `{gateway}` becomes
//! a regex alternation of every gateway name. PromQL itself uses braces for its label
//! matchers (`{job="x"}`); only a brace around a bare identifier is a placeholder.
//!
//! The bearer token is read from `bearer_token_file` when the configuration is loaded (so
//! the redactor can know it before anything is written or printed) and is kept in a
//! [`Secret`], whose `Debug` never shows it.

use super::FieldError;
use super::export::{Secret, check_url, read_token_file};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The placeholders a query template may use.
const PLACEHOLDERS: [&str; 4] = ["gateway", "az", "color", "window"];

/// `[telemetry]`: the source of the traffic figures and, for Prometheus, how to ask it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Where the figures come from: the SSH collectors (default) or Prometheus.
    pub source: TelemetrySource,
    /// Prometheus' base URL (`http://10.0.0.1:9090`); required when `source = "prometheus"`.
    pub prometheus_url: Option<String>,
    /// File holding a token sent as `Authorization: Bearer`; relative to the config file.
    pub bearer_token_file: Option<PathBuf>,
    /// PEM file of the CA(s) that sign an https `prometheus_url`; relative to the config file.
    pub ca_file: Option<PathBuf>,
    /// Longest a query may take, seconds (1 to 60).
    pub timeout_secs: u64,
    /// The PromQL templates, one per signal (`[telemetry.queries]`).
    pub queries: QueryTemplates,
    /// The token read from `bearer_token_file` (filled in by `Config::load`).
    #[serde(skip)]
    pub bearer_token: Option<Secret>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            source: TelemetrySource::default(),
            prometheus_url: None,
            bearer_token_file: None,
            ca_file: None,
            timeout_secs: 5,
            queries: QueryTemplates::default(),
            bearer_token: None,
        }
    }
}

/// Where the cockpit's traffic figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TelemetrySource {
    /// The collectors over SSH: the access-log tail and the probes.
    #[default]
    Ssh,
    /// Queries to a Prometheus server (`prometheus_url`).
    Prometheus,
}

impl TelemetrySource {
    /// The name as written in the file: `ssh` or `prometheus`.
    pub fn name(self) -> &'static str {
        match self {
            TelemetrySource::Ssh => "ssh",
            TelemetrySource::Prometheus => "prometheus",
        }
    }
}

/// `[telemetry.queries]`: one PromQL template per signal, each covering the whole fleet.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryTemplates {
    /// Requests per gateway and color: a counter's total (cutover takes the differences).
    pub requests: String,
    /// 5xx responses per gateway and color: a counter's total.
    pub errors: String,
    /// Time-to-first-token histogram buckets per gateway and color over `{window}` (keeps `le`).
    pub ttft: String,
    /// Open upstream connections (streams) per gateway and color, now.
    pub streams: String,
    /// Health per gateway, now (1 up, 0 down).
    pub health: String,
}

impl Default for QueryTemplates {
    fn default() -> Self {
        QueryTemplates {
            requests: r#"sum by (gateway, color) (cutover_requests_total{job="gateways", gateway=~"{gateway}", color=~"{color}"})"#.into(),
            errors: r#"sum by (gateway, color) (cutover_requests_total{job="gateways", gateway=~"{gateway}", color=~"{color}", code_class="5xx"})"#.into(),
            ttft: r#"sum by (gateway, color, le) (increase(cutover_ttft_seconds_bucket{job="gateways", gateway=~"{gateway}", color=~"{color}"}[{window}]))"#.into(),
            streams: r#"sum by (gateway, color) (cutover_upstream_active_connections{job="gateways", gateway=~"{gateway}", color=~"{color}"})"#.into(),
            health: r#"min by (gateway) (cutover_health{job="gateways", gateway=~"{gateway}"})"#.into(),
        }
    }
}

impl QueryTemplates {
    /// Every template with its field name (`requests`, `errors`, `ttft`, `streams`, `health`).
    pub fn each(&self) -> [(&'static str, &str); 5] {
        [
            ("requests", &self.requests),
            ("errors", &self.errors),
            ("ttft", &self.ttft),
            ("streams", &self.streams),
            ("health", &self.health),
        ]
    }
}

impl TelemetryConfig {
    /// Check the values; the error names the field (`telemetry.queries.ttft: ...`).
    pub fn validate(&self) -> Result<(), FieldError> {
        match &self.prometheus_url {
            Some(url) => check_url(
                "telemetry.prometheus_url",
                url,
                "put a token in telemetry.bearer_token_file",
            )?,
            None if self.source == TelemetrySource::Prometheus => {
                return Err(FieldError::new(
                    "telemetry.prometheus_url",
                    "is required for source = \"prometheus\" (Prometheus' base URL, e.g. \"http://10.0.0.1:9090\")",
                ));
            }
            None => {}
        }
        if !(1..=60).contains(&self.timeout_secs) {
            return Err(FieldError::new(
                "telemetry.timeout_secs",
                "must be from 1 to 60",
            ));
        }
        for (name, template) in self.queries.each() {
            check_template(name, template)
                .map_err(|m| FieldError::new(format!("telemetry.queries.{name}"), m))?;
        }
        Ok(())
    }

    /// Read `bearer_token_file` into `bearer_token` and check `ca_file`, both relative to
    /// `base` (the config file's directory); the paths are replaced by the resolved ones.
    /// The error names the field and the file, never the token.
    pub fn load_files(&mut self, base: &Path) -> Result<(), FieldError> {
        if let Some(file) = &self.bearer_token_file {
            let (path, token) = read_token_file("telemetry.bearer_token_file", base, file)?;
            self.bearer_token_file = Some(path);
            self.bearer_token = Some(token);
        }
        if let Some(file) = &self.ca_file {
            self.ca_file = Some(super::read_ca_file("telemetry.ca_file", base, file)?);
        }
        Ok(())
    }
}

/// What is wrong with the template of query `name`, if anything.
fn check_template(name: &str, template: &str) -> Result<(), String> {
    if template.trim().is_empty() {
        return Err("must not be empty".into());
    }
    for (_, placeholder) in placeholders(template) {
        if !PLACEHOLDERS.contains(&placeholder) {
            let accepted: Vec<String> = PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect();
            return Err(format!(
                "unknown placeholder {{{placeholder}}} (the accepted ones are {})",
                accepted.join(", ")
            ));
        }
    }
    let has = |p: &str| placeholders(template).any(|(_, found)| found == p);
    if name == "ttft" && !has("window") {
        return Err(
            "must use {window} (an increase over the window the cockpit chooses, e.g. [{window}])"
                .into(),
        );
    }
    if matches!(name, "requests" | "errors") && has("window") {
        // Differences of totals count every request once, whatever the poll timing; an
        // increase() over a window would be counted again by the next poll.
        return Err(
            "must give the counter's total, without {window}: cutover takes the differences between its polls itself"
                .into(),
        );
    }
    if name == "ttft" && !has_word(template, "le") {
        return Err(
            "must keep the bucket label le (e.g. sum by (gateway, color, le) (...))".into(),
        );
    }
    Ok(())
}

/// The placeholders of `template`: each `{identifier}` (ASCII letters and `_` only), with the
/// byte range of its braces. Other braces (PromQL's `{job="x"}`) are left alone.
fn placeholders(template: &str) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    template.match_indices('{').filter_map(move |(start, _)| {
        let rest = &template[start + 1..];
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphabetic() || *b == b'_')
            .count();
        (len > 0 && rest[len..].starts_with('}')).then(|| (start..start + len + 2, &rest[..len]))
    })
}

/// Whether `word` appears in `text` as a whole identifier (not inside a longer one).
fn has_word(text: &str, word: &str) -> bool {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    text.match_indices(word).any(|(at, _)| {
        !ident(text[..at].chars().next_back()) && !ident(text[at + word.len()..].chars().next())
    })
}

/// What the placeholders of a template stand for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Substitutions {
    /// Every gateway of the fleet: `{gateway}` becomes their regex alternation.
    pub gateways: Vec<String>,
    /// Every AZ of the fleet: `{az}` becomes their regex alternation.
    pub azs: Vec<String>,
    /// The window of the increases: `{window}` becomes `{window_ms}ms`.
    pub window_ms: u64,
}

/// `template` with its placeholders filled in: `{gateway}` and `{az}` by the alternation of
/// the names (regex-escaped, duplicates dropped), `{color}` by `blue|green`, `{window}` by
/// `<window_ms>ms`. Inside a PromQL `"..."` or `'...'` string a regex backslash is doubled
/// (PromQL unescapes it there), in a `` `...` `` string it is not. Unknown placeholders are
/// left as they are ([`TelemetryConfig::validate`] refuses them).
pub fn render(template: &str, s: &Substitutions) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut done = 0;
    for (range, name) in placeholders(template) {
        let value = match name {
            "gateway" => alternation(&s.gateways),
            "az" => alternation(&s.azs),
            "color" => "blue|green".to_string(),
            "window" => format!("{}ms", s.window_ms),
            _ => continue,
        };
        out.push_str(&template[done..range.start]);
        if matches!(quote_at(template, range.start), Some('"' | '\'')) {
            out.push_str(&value.replace('\\', "\\\\"));
        } else {
            out.push_str(&value);
        }
        done = range.end;
    }
    out.push_str(&template[done..]);
    out
}

/// The regex alternation of `names`, each escaped, in order, duplicates dropped.
fn alternation(names: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for n in names {
        if !seen.contains(&n.as_str()) {
            seen.push(n);
        }
    }
    seen.iter()
        .map(|n| regex_escape(n))
        .collect::<Vec<_>>()
        .join("|")
}

/// `name` with the regex metacharacters `\.+*?()|[]{}^$` escaped.
fn regex_escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The quote of the PromQL string literal open at byte `at` of `template`, if any.
fn quote_at(template: &str, at: usize) -> Option<char> {
    let mut quote = None;
    let mut chars = template[..at].chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'' | '`') => quote = Some(c),
            // Backslash escapes inside "..." and '...', not inside `...`.
            (Some('"' | '\''), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    quote
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml: &str) -> TelemetryConfig {
        #[derive(Deserialize)]
        struct File {
            telemetry: TelemetryConfig,
        }
        toml::from_str::<File>(toml).unwrap().telemetry
    }

    fn prometheus(url: &str) -> TelemetryConfig {
        TelemetryConfig {
            source: TelemetrySource::Prometheus,
            prometheus_url: Some(url.into()),
            ..TelemetryConfig::default()
        }
    }

    fn subs() -> Substitutions {
        Substitutions {
            gateways: vec!["gw-a1".into(), "gw-a2".into()],
            azs: vec!["az-a".into(), "az-a".into()],
            window_ms: 5000,
        }
    }

    #[test]
    fn an_empty_section_is_the_defaults_and_they_render() {
        let c = parse("[telemetry]\n");
        assert_eq!(c, TelemetryConfig::default());
        assert_eq!(c.source, TelemetrySource::Ssh);
        assert_eq!(c.source.name(), "ssh");
        assert_eq!(c.timeout_secs, 5);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(
            render(&c.queries.errors, &subs()),
            r#"sum by (gateway, color) (cutover_requests_total{job="gateways", gateway=~"gw-a1|gw-a2", color=~"blue|green", code_class="5xx"})"#
        );
        assert_eq!(
            render(&c.queries.ttft, &subs()),
            r#"sum by (gateway, color, le) (increase(cutover_ttft_seconds_bucket{job="gateways", gateway=~"gw-a1|gw-a2", color=~"blue|green"}[5000ms]))"#
        );
        let names: Vec<_> = c.queries.each().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["requests", "errors", "ttft", "streams", "health"]);
        // The defaults hold no placeholder left after rendering.
        for (_, t) in c.queries.each() {
            assert_eq!(placeholders(&render(t, &subs())).count(), 0, "{t}");
        }
        let c = parse(
            "[telemetry]\nsource = \"prometheus\"\nprometheus_url = \"http://10.0.0.1:9090\"\n[telemetry.queries]\nhealth = 'up{instance=~\"{az}\"}'\n",
        );
        assert_eq!(c.source.name(), "prometheus");
        assert_eq!(c.queries.requests, QueryTemplates::default().requests);
        assert_eq!(render(&c.queries.health, &subs()), "up{instance=~\"az-a\"}");
    }

    #[test]
    fn names_are_regex_escaped_for_the_string_they_land_in() {
        let s = Substitutions {
            gateways: vec!["gw.a1".into(), "gw_2".into()],
            ..subs()
        };
        assert_eq!(
            render(r#"x{g=~"{gateway}"}"#, &s),
            r#"x{g=~"gw\\.a1|gw_2"}"#
        );
        assert_eq!(render("x{g=~`{gateway}`}", &s), r"x{g=~`gw\.a1|gw_2`}");
        assert_eq!(
            render(r#"x{a="\"", g=~'{gateway}'}"#, &s),
            r#"x{a="\"", g=~'gw\\.a1|gw_2'}"#
        );
        assert_eq!(
            regex_escape(r"a\.+*?()|[]{}^$z"),
            r"a\\\.\+\*\?\(\)\|\[\]\{\}\^\$z"
        );
    }

    #[test]
    fn prometheus_needs_its_url() {
        let c = TelemetryConfig {
            source: TelemetrySource::Prometheus,
            ..TelemetryConfig::default()
        };
        let e = c.validate().unwrap_err();
        assert_eq!(e.field, "telemetry.prometheus_url");
        assert!(
            e.message.contains("required for source = \"prometheus\""),
            "{e}"
        );
        assert_eq!(prometheus("http://10.0.0.1:9090").validate(), Ok(()));
        assert_eq!(
            prometheus("https://prom.example.com/thanos").validate(),
            Ok(())
        );
        // With the SSH source, the Prometheus fields are allowed and unused.
        let ssh = TelemetryConfig {
            prometheus_url: Some("http://10.0.0.1:9090".into()),
            bearer_token_file: Some("prom.token".into()),
            ca_file: Some("ca.pem".into()),
            ..TelemetryConfig::default()
        };
        assert_eq!(ssh.validate(), Ok(()));
        let mut slow = prometheus("http://10.0.0.1:9090");
        slow.timeout_secs = 61;
        assert_eq!(slow.validate().unwrap_err().field, "telemetry.timeout_secs");
        slow.timeout_secs = 0;
        assert_eq!(slow.validate().unwrap_err().field, "telemetry.timeout_secs");
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echo() {
        for url in [
            "https://admin:hunter22@prom.example.com",
            "admin:hunter22@prom.example.com:9090",
        ] {
            let e = prometheus(url).validate().unwrap_err();
            assert_eq!(e.field, "telemetry.prometheus_url");
            assert!(
                e.message.contains("credentials")
                    && e.message.contains("bearer_token_file")
                    && !e.message.contains("hunter22"),
                "{e}"
            );
        }
        for url in [
            "prom:9090",
            "http://prom:9090/?q=1",
            "http://prom:9090/#x",
            "http://",
        ] {
            assert_eq!(
                prometheus(url).validate().unwrap_err().field,
                "telemetry.prometheus_url",
                "{url}"
            );
        }
    }

    #[test]
    fn an_unknown_placeholder_is_named() {
        let mut c = TelemetryConfig::default();
        c.queries.ttft = c.queries.ttft.replace("{gateway}", "{gatway}");
        let e = c.validate().unwrap_err();
        assert_eq!(e.field, "telemetry.queries.ttft");
        assert!(
            e.message.contains("{gatway}")
                && e.message.contains("{gateway}, {az}, {color}, {window}"),
            "{e}"
        );
        c.queries.ttft = " ".into();
        assert!(c.validate().unwrap_err().message.contains("empty"));
        c.queries.ttft = QueryTemplates::default().ttft.replace(", le", "");
        let e = c.validate().unwrap_err();
        assert!(e.field.ends_with("ttft") && e.message.contains("le"), "{e}");
    }

    #[test]
    fn increases_need_the_window_and_counter_totals_do_not_take_one() {
        let mut c = TelemetryConfig::default();
        c.queries.ttft = r#"sum by (gateway, color, le) (increase(cutover_ttft_seconds_bucket{gateway=~"{gateway}"}[5m]))"#.into();
        let e = c.validate().unwrap_err();
        assert_eq!(e.field, "telemetry.queries.ttft");
        assert!(e.message.contains("{window}"), "{e}");
        c.queries.ttft = QueryTemplates::default().ttft;
        c.queries.requests = r#"sum by (gateway, color) (increase(cutover_requests_total{gateway=~"{gateway}"}[{window}]))"#.into();
        let e = c.validate().unwrap_err();
        assert_eq!(e.field, "telemetry.queries.requests");
        assert!(e.message.contains("total"), "{e}");
        // Gauges need none.
        c.queries.requests = QueryTemplates::default().requests;
        c.queries.streams = "sum by (gateway, color) (cutover_upstream_active_connections)".into();
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn label_matchers_are_not_placeholders() {
        let mut c = TelemetryConfig::default();
        c.queries.health = r#"min by (gateway) (up{job="x"} * on(instance) group_left {__name__="y", env!="dev"})"#.into();
        assert_eq!(c.validate(), Ok(()));
        let t = r#"up{job="x",az=~"{az}"}"#;
        let found: Vec<_> = placeholders(t).map(|(_, p)| p).collect();
        assert_eq!(found, ["az"]);
        assert_eq!(render(t, &subs()), r#"up{job="x",az=~"az-a"}"#);
        assert_eq!(placeholders("{ gateway }{gate way}{gw1}{}").count(), 0);
    }

    #[test]
    fn the_token_is_read_and_never_debug_printed() {
        let dir =
            std::env::temp_dir().join(format!("cutover-telemetry-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("prom.token"), "  pr0m-s3cr3t-T0ken\n").unwrap();
        let mut c = prometheus("http://10.0.0.1:9090");
        c.bearer_token_file = Some("prom.token".into());
        c.load_files(&dir).unwrap();
        assert_eq!(
            c.bearer_token.as_ref().unwrap().expose(),
            "pr0m-s3cr3t-T0ken"
        );
        assert_eq!(c.bearer_token_file, Some(dir.join("prom.token")));
        assert!(!format!("{c:?}").contains("s3cr3t"));
        std::fs::write(dir.join("prom.token"), "two pr0m-words\n").unwrap();
        let e = c.load_files(&dir).unwrap_err();
        assert_eq!(e.field, "telemetry.bearer_token_file");
        assert!(
            e.message.contains("one token") && !e.message.contains("pr0m"),
            "{e}"
        );
        // The CA file must be there.
        let mut c = prometheus("https://10.0.0.1:9090");
        c.ca_file = Some("missing-ca.pem".into());
        let e = c.load_files(&dir).unwrap_err();
        assert_eq!(e.field, "telemetry.ca_file");
        assert!(e.message.contains("missing-ca.pem"), "{e}");
        std::fs::write(
            dir.join("ca.pem"),
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        c.ca_file = Some("ca.pem".into());
        c.load_files(&dir).unwrap();
        assert_eq!(c.ca_file, Some(dir.join("ca.pem")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
