//! `fleet.toml`: serde structs with defaults and `deny_unknown_fields`, and errors that
//! name the file, the line and the field at fault (`fleet.toml:7:1: guardrails.stepp: ...`).

pub mod export;
pub mod fleet;
pub mod telemetry;

pub use export::ExportConfig;
pub use fleet::{ColorConfig, GatewayConfig, SshSettings};
pub use telemetry::{QueryTemplates, Substitutions, TelemetryConfig, TelemetrySource};

use crate::app::keymap::{KeyMap, KeysConfig};
use crate::guard::GuardConfig;
use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Theme to start with; the `--theme` flag wins over it, and it wins over `NO_COLOR`.
    pub theme: Option<String>,
    /// Extra directory of `*.toml` themes; relative paths are resolved against the config file's directory.
    pub themes_dir: Option<PathBuf>,
    /// Key bindings: one optional field per action (`[keys]`).
    pub keys: KeysConfig,
    /// Guardrail thresholds (`[guardrails]`).
    pub guardrails: GuardConfig,
    /// Settings of `cutover demo` (`[demo]`).
    pub demo: DemoConfig,
    /// How hosts are reached (`[ssh]`).
    pub ssh: SshSettings,
    /// How often the collectors probe (`[probes]`).
    pub probes: ProbeConfig,
    /// What `check` and the step rules require before traffic moves (`[preflight]`).
    pub preflight: PreflightConfig,
    /// Prometheus metrics and Grafana annotations (`[export]`).
    pub export: ExportConfig,
    /// Where the traffic figures come from: SSH collectors or Prometheus (`[telemetry]`).
    pub telemetry: TelemetryConfig,
    /// The real fleet, one `[[gateway]]` table per host.
    pub gateway: Vec<GatewayConfig>,
    /// The audit log (JSON lines); relative to the config file. Default `cutover-audit.jsonl` beside it.
    pub audit_log: Option<PathBuf>,
    /// Directory of the config file (filled in by [`Config::load`]).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The resolved key bindings: the defaults overridden by `keys` (filled in by [`Config::load`]).
    #[serde(skip)]
    pub keymap: KeyMap,
}

/// The `[demo]` section: shape of the simulated fleet.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    /// Simulated gateways in each AZ.
    pub gateways_per_az: Option<usize>,
    /// Names of the simulated AZs.
    pub azs: Option<Vec<String>>,
}

impl DemoConfig {
    /// Check the values; the error names the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.gateways_per_az == Some(0) {
            return Err(FieldError::new(
                "demo.gateways_per_az",
                "must be at least 1",
            ));
        }
        if let Some(azs) = &self.azs {
            if azs.is_empty() {
                return Err(FieldError::new("demo.azs", "must name at least one AZ"));
            }
            for (i, az) in azs.iter().enumerate() {
                if az.trim().is_empty() {
                    return Err(FieldError::new("demo.azs", "AZ names cannot be empty"));
                }
                if azs[..i].contains(az) {
                    return Err(FieldError::new(
                        "demo.azs",
                        format!("{az:?} is listed twice"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The `[probes]` section: how often the live collectors ask. The host sampler runs every
/// `guardrails.interval_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbeConfig {
    /// Seconds between health probes of a gateway.
    pub health_every_secs: u64,
    /// Seconds between synthetic TTFT probes of each color (0 turns them off).
    pub ttft_every_secs: u64,
    /// Longest a TTFT probe may wait for its first token, seconds.
    pub ttft_timeout_secs: u64,
    /// Seconds between runs of each color's version command.
    pub version_every_secs: u64,
    /// PEM file of the CA(s) that sign the health URLs' certificates, for private CAs
    /// (added to the system's roots); relative to the config file.
    pub ca_file: Option<PathBuf>,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            health_every_secs: 2,
            ttft_every_secs: 2,
            ttft_timeout_secs: 10,
            version_every_secs: 30,
            ca_file: None,
        }
    }
}

impl ProbeConfig {
    /// Check the values; the error names the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (field, v) in [
            ("probes.health_every_secs", self.health_every_secs),
            ("probes.ttft_timeout_secs", self.ttft_timeout_secs),
            ("probes.version_every_secs", self.version_every_secs),
        ] {
            if v == 0 {
                return Err(FieldError::new(field, "must be at least 1"));
            }
        }
        Ok(())
    }
}

/// The `[preflight]` section: what must hold on a gateway before green gets more traffic,
/// and the limits of `cutover check`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PreflightConfig {
    /// The configuration/secret revision both colors must run; unset, green must equal blue.
    pub expected_revision: Option<String>,
    /// Smallest open-files limit (`ulimit -n`) each color's process may have.
    pub min_nofile: u64,
    /// Days before the public certificate expires from which `check` warns.
    pub tls_warn_days: u64,
    /// Days before the public certificate expires from which `check` fails.
    pub tls_fail_days: u64,
    /// Health probes `check` sends per gateway to judge the probe p95.
    pub probe_samples: u32,
}

impl Default for PreflightConfig {
    fn default() -> Self {
        PreflightConfig {
            expected_revision: None,
            min_nofile: 4096,
            tls_warn_days: 14,
            tls_fail_days: 3,
            probe_samples: 5,
        }
    }
}

impl PreflightConfig {
    /// Check the values; the error names the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(r) = &self.expected_revision {
            if r.trim().is_empty() || r.chars().any(char::is_control) {
                return Err(FieldError::new(
                    "preflight.expected_revision",
                    "must be a non-empty revision without control characters",
                ));
            }
        }
        if self.min_nofile == 0 {
            return Err(FieldError::new(
                "preflight.min_nofile",
                "must be at least 1",
            ));
        }
        if self.tls_fail_days > self.tls_warn_days {
            return Err(FieldError::new(
                "preflight.tls_fail_days",
                format!(
                    "{} is above tls_warn_days {} (it fails before it warns)",
                    self.tls_fail_days, self.tls_warn_days
                ),
            ));
        }
        if !(1..=100).contains(&self.probe_samples) {
            return Err(FieldError::new(
                "preflight.probe_samples",
                "must be from 1 to 100",
            ));
        }
        Ok(())
    }
}

impl Config {
    /// Where audit records go.
    pub fn audit_log_path(&self) -> PathBuf {
        let p = self
            .audit_log
            .clone()
            .unwrap_or_else(|| PathBuf::from("cutover-audit.jsonl"));
        if p.is_relative() {
            self.base_dir.join(p)
        } else {
            p
        }
    }

    /// Read, parse and validate `path`; also resolves the key bindings and `themes_dir`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let src = ConfigError::read(path)?;
        let mut cfg = Config::parse(&src, path)?;
        cfg.base_dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        if let Some(dir) = &cfg.themes_dir {
            if dir.is_relative() {
                let base = path.parent().unwrap_or(Path::new(""));
                cfg.themes_dir = Some(base.join(dir));
            }
        }
        if let Some(file) = &cfg.ssh.config {
            if file.is_relative() {
                let base = path.parent().unwrap_or(Path::new(""));
                cfg.ssh.config = Some(base.join(file));
            }
        }
        let base = path.parent().unwrap_or(Path::new(""));
        if let Some(file) = &cfg.probes.ca_file {
            // Checked now, not at the first probe: a probe without its CA would only say "down".
            cfg.probes.ca_file = Some(
                read_ca_file("probes.ca_file", base, file)
                    .map_err(|e| ConfigError::at_field(path, &src, &e))?,
            );
        }
        // Read now, so the redactor masks the tokens before anything is written or printed.
        cfg.export
            .load_token(base)
            .map_err(|e| ConfigError::at_field(path, &src, &e))?;
        cfg.telemetry
            .load_files(base)
            .map_err(|e| ConfigError::at_field(path, &src, &e))?;
        Ok(cfg)
    }

    /// Parse and validate `src`; `path` is only used in errors.
    pub fn parse(src: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config =
            toml::from_str(src).map_err(|e| ConfigError::from_toml(path, src, &e))?;
        let at = |msg: String| ConfigError::from_message(path, src, &msg);
        let field = |e: FieldError| ConfigError::at_field(path, src, &e);
        cfg.guardrails.validate().map_err(field)?;
        cfg.demo.validate().map_err(field)?;
        cfg.probes.validate().map_err(field)?;
        cfg.preflight.validate().map_err(field)?;
        cfg.export.validate().map_err(field)?;
        cfg.telemetry.validate().map_err(field)?;
        fleet::validate(&cfg.ssh, &cfg.gateway).map_err(|e| fleet_error(path, src, &e))?;
        if let Some(theme) = &cfg.theme {
            if theme.trim().is_empty() {
                return Err(field(FieldError::new("theme", "must not be empty")));
            }
        }
        cfg.keymap = KeyMap::from_config(&cfg.keys).map_err(at)?;
        Ok(cfg)
    }
}

/// Resolve the CA file `file` against `base` and check that it is a readable PEM file of CA
/// certificates; the error names `field` and the resolved path.
pub(crate) fn read_ca_file(field: &str, base: &Path, file: &Path) -> Result<PathBuf, FieldError> {
    let file = base.join(file);
    let pem = std::fs::read_to_string(&file).unwrap_or_default();
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(FieldError::new(
            field,
            format!(
                "{} is not a readable PEM file of CA certificates",
                file.display()
            ),
        ));
    }
    Ok(file)
}

/// A configuration (or theme) file error: file, line and column when known, the field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file at fault.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    /// Dotted field path, e.g. `guardrails.step`, when known.
    pub field: Option<String>,
    /// What is wrong, on one line.
    pub message: String,
}

impl fmt::Display for ConfigError {
    /// `fleet.toml:12:1: guardrails.step: must divide 100 (e.g. 5, 10, 20, 25, 50)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

pub use crate::field::FieldError;

impl ConfigError {
    /// The contents of `path`, or the error that names it (`cannot read: ...`).
    pub fn read(path: &Path) -> Result<String, ConfigError> {
        std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            field: None,
            message: format!("cannot read: {e}"),
        })
    }

    /// An error at byte range `span` of `src` (line, column and field are worked out from it).
    pub fn at_span(
        path: &Path,
        src: &str,
        span: Option<Range<usize>>,
        message: &str,
    ) -> ConfigError {
        let (line, column, field) = match span {
            Some(span) => {
                let (line, col) = line_col(src, span.start);
                (Some(line), Some(col), field_at(src, span.start))
            }
            None => (None, None, None),
        };
        ConfigError {
            path: path.to_path_buf(),
            line,
            column,
            field,
            message: one_line(message),
        }
    }

    /// A deserialization or syntax error from the `toml` crate.
    pub fn from_toml(path: &Path, src: &str, err: &toml::de::Error) -> ConfigError {
        ConfigError::at_span(path, src, err.span(), err.message())
    }

    /// A validation error of `src`: its field's line is looked up there.
    pub fn at_field(path: &Path, src: &str, e: &FieldError) -> ConfigError {
        let pos = locate_field(src, &e.field);
        ConfigError {
            path: path.to_path_buf(),
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
            field: Some(e.field.clone()),
            message: one_line(&e.message),
        }
    }

    /// A validation message of the form `field.path: what is wrong`, for errors still built as
    /// text (the key bindings'); the field's line is looked up in `src`.
    pub fn from_message(path: &Path, src: &str, msg: &str) -> ConfigError {
        let (field, message) = match msg.split_once(": ") {
            Some((field, rest)) if !field.contains(' ') => (Some(field.to_string()), rest),
            _ => (None, msg),
        };
        let pos = field.as_deref().and_then(|f| locate_field(src, f));
        ConfigError {
            path: path.to_path_buf(),
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
            field,
            message: one_line(message),
        }
    }
}

/// A fleet validation error located at its `[[gateway]]` table's field.
fn fleet_error(path: &Path, src: &str, e: &fleet::FleetError) -> ConfigError {
    let (label, pos) = match e.gateway {
        Some(i) => (
            format!("gateway[{}].{}", i + 1, e.field),
            locate_in_array(src, "gateway", i, &e.field),
        ),
        None => (
            format!("ssh.{}", e.field),
            locate_field(src, &format!("ssh.{}", e.field)),
        ),
    };
    ConfigError {
        path: path.to_path_buf(),
        line: pos.map(|p| p.0),
        column: pos.map(|p| p.1),
        field: Some(label),
        message: one_line(&e.message),
    }
}

/// Where `field` (relative to the table, e.g. `blue.addr`) is set in the `index`-th `[[array]]` table.
/// Falls back to the table's header line when the field is not written there.
pub(crate) fn locate_in_array(
    src: &str,
    array: &str,
    index: usize,
    field: &str,
) -> Option<(usize, usize)> {
    let array_path = vec![array.to_string()];
    let mut seen = 0usize;
    let mut inside = false;
    let mut header_pos = None;
    let mut table: Vec<String> = Vec::new();
    for (n, line) in src.lines().enumerate() {
        if let Some(h) = header(line) {
            let is_element = line.trim_start().starts_with("[[") && h == array_path;
            if is_element {
                inside = seen == index;
                seen += 1;
                if inside {
                    header_pos = Some((n + 1, line.len() - line.trim_start().len() + 1));
                }
            } else if inside && !h.starts_with(&array_path) {
                inside = false;
            }
            table = h;
            continue;
        }
        if !inside {
            continue;
        }
        for (start, key) in line_keys(line) {
            let mut full = table[1..].to_vec();
            full.extend(key);
            if full.join(".") == field {
                return Some((n + 1, line[..start].chars().count() + 1));
            }
        }
    }
    header_pos
}

/// Collapse toml's multi-line messages into one line.
fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// 1-based line and character column of byte `offset` in `src`.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, src[line_start..offset].chars().count() + 1)
}

/// The dotted key of a `[table]` or `[[array]]` header line, if `line` is one.
fn header(line: &str) -> Option<Vec<String>> {
    let t = line.trim_start();
    let inner = t.strip_prefix("[[").or_else(|| t.strip_prefix('['))?;
    // The key ends at the first `]` outside quotes.
    let mut quote = None;
    let end = inner.char_indices().find_map(|(i, c)| {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ']') => return Some(i),
            _ => {}
        }
        None
    })?;
    let keys = line_keys(&format!("{} =", &inner[..end]));
    keys.into_iter().next().map(|(_, k)| k)
}

/// The keys assigned on one line, as (byte column of the key, dotted path within the line's table).
/// Understands dotted and quoted keys and inline tables; enough to point at a field, not a parser.
fn line_keys(line: &str) -> Vec<(usize, Vec<String>)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut bases: Vec<usize> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut pending: Vec<(usize, String)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => break,
            q @ (b'"' | b'\'') => {
                let start = i;
                i += 1;
                let mut s = String::new();
                while i < b.len() && b[i] != q {
                    if q == b'"' && b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                s.push_str(&line[start + 1..i.min(b.len())]);
                pending.push((start, s));
            }
            b'=' => {
                if !pending.is_empty() {
                    path.truncate(bases.last().copied().unwrap_or(0));
                    let start = pending[0].0;
                    path.extend(pending.drain(..).map(|(_, s)| s));
                    out.push((start, path.clone()));
                }
            }
            b'{' | b'[' => {
                bases.push(path.len());
                pending.clear();
            }
            b'}' | b']' => {
                if let Some(n) = bases.pop() {
                    path.truncate(n);
                }
                pending.clear();
            }
            b'.' | b' ' | b'\t' => {}
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-')
                {
                    i += 1;
                }
                pending.push((start, line[start..i].to_string()));
                continue;
            }
            _ => pending.clear(),
        }
        i += 1;
    }
    out
}

/// The dotted field at byte `offset` of `src`: the table header above it plus the key on its line.
pub(crate) fn field_at(src: &str, offset: usize) -> Option<String> {
    let offset = offset.min(src.len());
    let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
    let line = &src[line_start..line_end];
    if let Some(h) = header(line) {
        return Some(h.join("."));
    }
    let table = src[..line_start]
        .lines()
        .rev()
        .find_map(header)
        .unwrap_or_default();
    let col = offset - line_start;
    let key = line_keys(line)
        .into_iter()
        .rev()
        .find(|(start, _)| *start <= col);
    let mut path = table;
    path.extend(key.map(|(_, k)| k).unwrap_or_default());
    (!path.is_empty()).then(|| path.join("."))
}

/// The 1-based line and column where `field` (e.g. `guardrails.step`) is set in `src`.
pub(crate) fn locate_field(src: &str, field: &str) -> Option<(usize, usize)> {
    let mut table: Vec<String> = Vec::new();
    let mut table_line = None;
    for (n, line) in src.lines().enumerate() {
        if let Some(h) = header(line) {
            table = h;
            if table.join(".") == field {
                table_line = Some((n + 1, line.len() - line.trim_start().len() + 1));
            }
            continue;
        }
        for (start, key) in line_keys(line) {
            let mut path = table.clone();
            path.extend(key);
            if path.join(".") == field {
                return Some((n + 1, line[..start].chars().count() + 1));
            }
        }
    }
    table_line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A temp file with a unique name, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(contents: &str) -> TempFile {
            static N: AtomicUsize = AtomicUsize::new(0);
            let name = format!(
                "cutover-config-test-{}-{}.toml",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            );
            let path = std::env::temp_dir().join(name);
            std::fs::write(&path, contents).unwrap();
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn load(contents: &str) -> (TempFile, Result<Config, ConfigError>) {
        let f = TempFile::new(contents);
        let r = Config::load(&f.0);
        (f, r)
    }

    #[test]
    fn valid_file_loads() {
        let (f, r) = load(
            r#"
# A fleet config.
theme = "colorblind"
themes_dir = "my-themes"

[keys]
step_up = "+"
step_down = ["-", "Ctrl-Down"]

[guardrails]
step = 5
ttft_halt_pct = 10.0
auto_rollback = false

[demo]
gateways_per_az = 3
azs = ["eu-west-1a", "eu-west-1b"]
"#,
        );
        let cfg = r.unwrap();
        assert_eq!(cfg.theme.as_deref(), Some("colorblind"));
        assert_eq!(
            cfg.themes_dir,
            Some(f.0.parent().unwrap().join("my-themes"))
        );
        assert_eq!(cfg.guardrails.step, 5);
        assert_eq!(cfg.guardrails.ttft_halt_pct, 10.0);
        assert!(!cfg.guardrails.auto_rollback);
        // Unset guardrails keep their defaults.
        assert_eq!(cfg.guardrails.slo_pct, GuardConfig::default().slo_pct);
        assert_eq!(cfg.demo.gateways_per_az, Some(3));
        assert_eq!(cfg.demo.azs.as_ref().map(Vec::len), Some(2));
        use crate::app::action::Action;
        assert_eq!(cfg.keymap.keys_for(Action::StepUp), ["+"]);
        assert_eq!(cfg.keymap.keys_for(Action::StepDown), ["-", "Ctrl-Down"]);
        assert_eq!(cfg.keymap.keys_for(Action::Rollback), ["R"]);
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let (_f, r) = load("");
        let mut cfg = r.unwrap();
        assert!(
            cfg.base_dir.is_absolute(),
            "load remembers where the file is"
        );
        cfg.base_dir = PathBuf::new();
        assert_eq!(cfg, Config::default());
        assert_eq!(cfg.keymap, KeyMap::default());
    }

    #[test]
    fn unknown_field_names_line_and_field() {
        let (f, r) = load("theme = \"default\"\n\n[guardrails]\nstep = 10\nstepp = 5\n");
        let e = r.unwrap_err();
        assert_eq!(e.path, f.0);
        assert_eq!(e.line, Some(5));
        assert_eq!(e.field.as_deref(), Some("guardrails.stepp"));
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("{}:5:", f.0.display())),
            "{shown}"
        );
        assert!(shown.contains("unknown field `stepp`"), "{shown}");

        // Unknown top-level table.
        let (_f, r) = load("[guardrail]\nstep = 10\n");
        let e = r.unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
        assert!(e.to_string().contains("guardrail"), "{e}");

        // Unknown top-level key.
        let (_f, r) = load("\ntheme = \"x\"\ncolour = \"red\"\n");
        let e = r.unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(3), Some("colour")),
            "{e}"
        );
    }

    #[test]
    fn type_error_names_line_and_field() {
        let (_f, r) = load("[guardrails]\nauto_rollback = \"yes\"\n");
        let e = r.unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(2), Some("guardrails.auto_rollback")),
            "{e}"
        );
    }

    #[test]
    fn syntax_error_names_line() {
        let (_f, r) = load("[guardrails]\nstep = \n");
        let e = r.unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn bad_guardrail_value_names_field() {
        let (f, r) = load("[guardrails]\nslo_pct = 99.9\nstep = 7\n");
        let e = r.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("guardrails.step"));
        assert_eq!(e.line, Some(3));
        assert_eq!(
            e.to_string(),
            format!(
                "{}:3:1: guardrails.step: must divide 100 (e.g. 5, 10, 20, 25, 50)",
                f.0.display()
            )
        );
    }

    #[test]
    fn malformed_keys_names_field() {
        let (f, r) = load("[keys]\nquit = \"q\"\nstep_up = \"Ctrl-\"\n");
        let e = r.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:3:1: keys.step_up: unknown key \"Ctrl-\"", f.0.display())
        );
        // Unknown action.
        let (_f, r) = load("[keys]\nstep_upp = \"]\"\n");
        let e = r.unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(2), Some("keys.step_upp")),
            "{e}"
        );
        // Wrong type.
        let (_f, r) = load("[keys]\nhelp = 1\n");
        let e = r.unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(2), Some("keys.help")),
            "{e}"
        );
        // Clash with another action's default.
        let (_f, r) = load("[keys]\nveto = \"n\"\n");
        let e = r.unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(2), Some("keys.veto")),
            "{e}"
        );
        assert!(e.message.contains("cancel"), "{e}");
    }

    #[test]
    fn bad_demo_value_names_field() {
        let (_f, r) = load("[demo]\nazs = [\"a\", \"a\"]\n");
        let e = r.unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(2), Some("demo.azs")),
            "{e}"
        );
    }

    #[test]
    fn gateway_errors_name_the_gateway_line_and_field() {
        let gw = |name: &str, blue: &str| {
            format!(
                "[[gateway]]\nname = \"{name}\"\naz = \"az-a\"\nssh = \"{name}\"\n\
                 nginx_conf = \"/etc/nginx/conf.d/gw.conf\"\naccess_log = \"/var/log/nginx/access.log\"\n\
                 health_url = \"http://{name}/health\"\n\
                 [gateway.blue]\naddr = \"{blue}\"\nstart = \"s\"\nstop = \"s\"\nversion = \"v\"\n\
                 [gateway.green]\naddr = \"127.0.0.1:8788\"\nstart = \"s\"\nstop = \"s\"\nversion = \"v\"\n"
            )
        };
        let good = format!(
            "{}{}",
            gw("gw1", "127.0.0.1:8787"),
            gw("gw2", "127.0.0.1:8787")
        );
        let (_f, r) = load(&good);
        let cfg = r.unwrap();
        assert_eq!(cfg.gateway.len(), 2);
        assert_eq!(cfg.gateway[1].upstream, "gateway");

        let bad = format!("{}{}", gw("gw1", "127.0.0.1:8787"), gw("gw2", "127.0.0.1"));
        let (_f, r) = load(&bad);
        let e = r.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("gateway[2].blue.addr"), "{e}");
        let line = bad
            .lines()
            .position(|l| l == "addr = \"127.0.0.1\"")
            .unwrap()
            + 1;
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.to_string().contains("expected host:port"), "{e}");

        let (_f, r) = load("[[gateway]]\nname = \"gw1\"\n");
        let e = r.unwrap_err();
        assert_eq!(e.line, Some(1), "missing fields point at the table: {e}");
        assert!(e.message.contains("missing field"), "{e}");
    }

    #[test]
    fn preflight_section_loads_and_its_errors_name_line_and_field() {
        let toml = "[probes]\nca_file = \"tls/ca.pem\"\n\n[preflight]\nexpected_revision = \"r42\"\nmin_nofile = 8192\n";
        let (f, r) = load(toml);
        let e = r.unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(2), Some("probes.ca_file")),
            "a CA file that is not there: {e}"
        );
        // A CA beside the file, as `lab up --tls` writes one.
        let ca = f.0.with_extension("ca.pem");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let name = ca.file_name().unwrap().to_str().unwrap();
        std::fs::write(&f.0, toml.replace("tls/ca.pem", name)).unwrap();
        let cfg = Config::load(&f.0).unwrap();
        let _ = std::fs::remove_file(&ca);
        assert_eq!(cfg.preflight.expected_revision.as_deref(), Some("r42"));
        assert_eq!(cfg.preflight.min_nofile, 8192);
        assert_eq!(cfg.preflight.tls_warn_days, 14);
        assert_eq!(
            cfg.probes.ca_file,
            Some(f.0.parent().unwrap().join(name)),
            "relative to the config file"
        );
        let (_f, r) = load("[preflight]\ntls_warn_days = 2\ntls_fail_days = 5\n");
        let e = r.unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(3), Some("preflight.tls_fail_days")),
            "{e}"
        );
        let (_f, r) = load("[preflight]\nmin_nofile = 0\n");
        assert_eq!(
            r.unwrap_err().field.as_deref(),
            Some("preflight.min_nofile")
        );
        let (_f, r) = load("[preflight]\nexpected_revison = \"r1\"\n");
        let e = r.unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("unknown field"), "{e}");
    }

    #[test]
    fn telemetry_section_loads_and_its_errors_name_file_line_and_field() {
        let toml = r#"
[guardrails]
step = 10

[telemetry]
source = "prometheus"
prometheus_url = "http://10.0.0.1:9090"
bearer_token_file = "TOKEN"
timeout_secs = 10

[telemetry.queries]
requests = 'sum by (gateway, color) (nginx_requests_total{gateway=~"{gateway}", color=~"{color}"})'
health = 'min by (gateway) (up{job="gateways", gateway=~"{gateway}"})'

[[gateway]]
name = "gw-a1"
az = "az-a"
ssh = "gw-a1"
nginx_conf = "/etc/nginx/conf.d/gw.conf"
access_log = "/var/log/nginx/access.log"
health_url = "http://gw-a1/health"
[gateway.blue]
addr = "127.0.0.1:8787"
start = "s"
stop = "s"
version = "v"
[gateway.green]
addr = "127.0.0.1:8788"
start = "s"
stop = "s"
version = "v"
"#;
        let f = TempFile::new("");
        // A token beside the file, as an operator would keep it.
        let token = f.0.with_extension("prom.token");
        std::fs::write(&token, "pr0m-t0ken-value\n").unwrap();
        let name = token.file_name().unwrap().to_str().unwrap();
        std::fs::write(&f.0, toml.replace("TOKEN", name)).unwrap();
        let cfg = Config::load(&f.0);
        let _ = std::fs::remove_file(&token);
        let cfg = cfg.unwrap();
        let t = &cfg.telemetry;
        assert_eq!(t.source, TelemetrySource::Prometheus);
        assert_eq!(t.prometheus_url.as_deref(), Some("http://10.0.0.1:9090"));
        assert_eq!(t.timeout_secs, 10);
        assert_eq!(
            t.bearer_token.as_ref().map(|s| s.expose()),
            Some("pr0m-t0ken-value")
        );
        assert_eq!(
            t.bearer_token_file,
            Some(f.0.parent().unwrap().join(name)),
            "relative to the config file"
        );
        assert!(
            t.queries
                .requests
                .starts_with("sum by (gateway, color) (nginx_")
        );
        assert_eq!(
            t.queries.ttft,
            QueryTemplates::default().ttft,
            "unset: the default"
        );
        assert_eq!(cfg.gateway.len(), 1);

        // A typo'd key names the file, the line and the field.
        let (f, r) = load("[telemetry]\nsource = \"ssh\"\ntimeout_sec = 5\n");
        let e = r.unwrap_err();
        assert_eq!(e.path, f.0);
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(3), Some("telemetry.timeout_sec")),
            "{e}"
        );
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("{}:3:", f.0.display())),
            "{shown}"
        );
        assert!(shown.contains("unknown field `timeout_sec`"), "{shown}");

        // So does a typo'd placeholder, and a source without its URL.
        let (_f, r) =
            load("[telemetry]\n\n[telemetry.queries]\nstreams = 'sum(x{g=~\"{gatway}\"})'\n");
        let e = r.unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(4), Some("telemetry.queries.streams")),
            "{e}"
        );
        assert!(e.message.contains("{gatway}"), "{e}");
        let (_f, r) = load("[telemetry]\nsource = \"prometheus\"\n");
        let e = r.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("telemetry.prometheus_url"), "{e}");
        let (_f, r) = load("[telemetry]\nsource = \"prom\"\n");
        let e = r.unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(2), Some("telemetry.source")),
            "{e}"
        );
    }

    #[test]
    fn missing_file_names_file() {
        let path = std::env::temp_dir().join("cutover-config-test-does-not-exist.toml");
        let e = Config::load(&path).unwrap_err();
        assert!(
            e.to_string().starts_with(&path.display().to_string()),
            "{e}"
        );
        assert!(e.message.starts_with("cannot read"), "{e}");
    }

    #[test]
    fn field_lookup() {
        let src = "a = 1\n[roles]\nalarm = { fg = \"redd\", bold = true }\n[x.\"y z\"]\nk.l = 2\n";
        let at = |needle: &str| field_at(src, src.find(needle).unwrap());
        assert_eq!(at("1").as_deref(), Some("a"));
        assert_eq!(at("alarm").as_deref(), Some("roles.alarm"));
        assert_eq!(at("\"redd").as_deref(), Some("roles.alarm.fg"));
        assert_eq!(at("true").as_deref(), Some("roles.alarm.bold"));
        assert_eq!(at("2").as_deref(), Some("x.y z.k.l"));
        assert_eq!(locate_field(src, "roles.alarm.bold"), Some((3, 24)));
        assert_eq!(locate_field(src, "x.y z.k.l"), Some((5, 1)));
        assert_eq!(locate_field(src, "roles"), Some((2, 1)));
        assert_eq!(locate_field(src, "nope"), None);
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
