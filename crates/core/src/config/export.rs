//! The `[export]` section: the Prometheus `/metrics` listener and the Grafana annotations.
//!
//! The Grafana token is read from `grafana_token_file` when the configuration is loaded (so
//! the redactor knows it before anything is written or printed) and is kept in a [`Secret`],
//! whose `Debug` never shows it.

use super::FieldError;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `[export]`: where the metrics are served and where reload annotations go.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportConfig {
    /// `IP:PORT` on which `GET /metrics` is served (Prometheus text format); unset: no server.
    pub metrics_listen: Option<String>,
    /// Allow `metrics_listen` on an address other than loopback (the figures name every
    /// gateway of the fleet).
    pub metrics_allow_remote: bool,
    /// Grafana's base URL (`https://grafana.example.com`); unset: no annotations.
    pub grafana_url: Option<String>,
    /// File holding a Grafana service-account token (Bearer); relative to the config file.
    pub grafana_token_file: Option<PathBuf>,
    /// The dashboard the annotations belong to; unset: organization-wide annotations.
    pub grafana_dashboard_uid: Option<String>,
    /// The token read from `grafana_token_file` (filled in by `Config::load`).
    #[serde(skip)]
    pub grafana_token: Option<Secret>,
}

/// A secret string: compared and cloned like one, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap `value`.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself: only for the request header and the redactor.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl ExportConfig {
    /// The metrics address, parsed; `None` when unset. Assumes [`ExportConfig::validate`] passed.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listen.as_deref().and_then(|s| s.parse().ok())
    }

    /// Whether annotations are configured (URL and token both there after `Config::load`).
    pub fn annotations(&self) -> bool {
        self.grafana_url.is_some() && self.grafana_token.is_some()
    }

    /// Check the values; the error names the field (`export.metrics_listen: ...`).
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(listen) = &self.metrics_listen {
            let bad = |message: String| FieldError::new("export.metrics_listen", message);
            let addr: SocketAddr = listen.parse().map_err(|_| {
                bad(format!(
                    "{listen:?} is not IP:PORT (e.g. \"127.0.0.1:9464\"; a host name is not resolved)"
                ))
            })?;
            if addr.port() == 0 {
                return Err(bad(format!(
                    "{listen:?} needs a port Prometheus can be told (not 0)"
                )));
            }
            if !addr.ip().is_loopback() && !self.metrics_allow_remote {
                return Err(bad(format!(
                    "{listen:?} is not a loopback address, and the metrics name every gateway of the fleet; set export.metrics_allow_remote = true to serve them there"
                )));
            }
        }
        match (&self.grafana_url, &self.grafana_token_file) {
            (Some(url), Some(_)) => check_url(
                "export.grafana_url",
                url,
                "put a service-account token in export.grafana_token_file",
            )?,
            (Some(_), None) => {
                return Err(FieldError::new(
                    "export.grafana_url",
                    "needs export.grafana_token_file (a file holding a Grafana service-account token)",
                ));
            }
            (None, Some(_)) => {
                return Err(FieldError::new(
                    "export.grafana_token_file",
                    "set export.grafana_url too, or remove it",
                ));
            }
            (None, None) => {}
        }
        if let Some(uid) = &self.grafana_dashboard_uid {
            if self.grafana_url.is_none() {
                return Err(FieldError::new(
                    "export.grafana_dashboard_uid",
                    "set export.grafana_url too, or remove it",
                ));
            }
            let ok = !uid.is_empty()
                && uid.len() <= 40
                && uid
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
            if !ok {
                return Err(FieldError::new(
                    "export.grafana_dashboard_uid",
                    format!(
                        "{uid:?} is not a Grafana dashboard UID (1 to 40 letters, digits, '-' or '_')"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Read the token file (relative to `base`) into `grafana_token`. The error names the
    /// field and the file, never the content.
    pub fn load_token(&mut self, base: &Path) -> Result<(), FieldError> {
        let Some(file) = &self.grafana_token_file else {
            return Ok(());
        };
        let (path, token) = read_token_file("export.grafana_token_file", base, file)?;
        self.grafana_token_file = Some(path);
        self.grafana_token = Some(token);
        Ok(())
    }
}

/// Read the token in `file` (relative to `base`): trimmed, at least 8 characters, one word on
/// one line. Returns the resolved path and the token; the error names `field` and the file,
/// never the content.
pub(crate) fn read_token_file(
    field: &str,
    base: &Path,
    file: &Path,
) -> Result<(PathBuf, Secret), FieldError> {
    let path = if file.is_relative() {
        base.join(file)
    } else {
        file.to_path_buf()
    };
    let bad = |message: String| FieldError::new(field, message);
    // Worded so that no `NAME: value` follows the field's name: the redactor would
    // take the path for the secret and mask it.
    let text = std::fs::read_to_string(&path)
        .map_err(|e| bad(format!("at {} (cannot read it, {e})", path.display())))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(bad(format!("at {} is empty", path.display())));
    }
    // Shorter ones could not be masked everywhere without masking ordinary words.
    if token.chars().count() < 8 {
        return Err(bad(format!(
            "at {} is too short for a token (at least 8 characters)",
            path.display()
        )));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(format!(
            "at {} must hold one token on one line",
            path.display()
        )));
    }
    let token = Secret::new(token);
    Ok((path, token))
}

/// `http(s)://host[:port][/path]`, with no credentials, query or fragment in it. `field` is
/// the URL's dotted name; `credentials_hint` says where a credential goes instead (the
/// error never repeats one).
pub(crate) fn check_url(field: &str, url: &str, credentials_hint: &str) -> Result<(), FieldError> {
    let bad = |message: String| FieldError::new(field, message);
    // Credentials first, whatever the scheme, so that no other message echoes them.
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    if after_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .contains('@')
    {
        return Err(bad(format!(
            "must not carry credentials (user:password@); {credentials_hint}"
        )));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad(format!("{url:?} must start with https:// (or http://)")))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(bad(format!("{url:?} has no host")));
    }
    if url.contains(['?', '#']) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(format!(
            "{url:?} must be a base URL, without spaces, query or fragment"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(listen: &str) -> ExportConfig {
        ExportConfig {
            metrics_listen: Some(listen.into()),
            ..ExportConfig::default()
        }
    }

    #[test]
    fn listen_addresses_are_loopback_unless_allowed() {
        assert_eq!(cfg("127.0.0.1:9464").validate(), Ok(()));
        assert_eq!(cfg("[::1]:9464").validate(), Ok(()));
        assert_eq!(cfg("127.0.1.7:9464").validate(), Ok(()));
        let e = cfg("0.0.0.0:9464").validate().unwrap_err().to_string();
        assert!(
            e.starts_with("export.metrics_listen:") && e.contains("metrics_allow_remote"),
            "{e}"
        );
        let mut remote = cfg("10.1.2.3:9464");
        remote.metrics_allow_remote = true;
        assert_eq!(remote.validate(), Ok(()));
        assert!(
            cfg("localhost:9464")
                .validate()
                .unwrap_err()
                .to_string()
                .contains("IP:PORT")
        );
        assert!(
            cfg("127.0.0.1:0")
                .validate()
                .unwrap_err()
                .to_string()
                .contains("port")
        );
    }

    #[test]
    fn grafana_needs_url_and_token_file_together() {
        let mut c = ExportConfig {
            grafana_url: Some("https://grafana.example.com".into()),
            ..ExportConfig::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("grafana_token_file")
        );
        c.grafana_token_file = Some("token".into());
        assert_eq!(c.validate(), Ok(()));
        c.grafana_url = Some("https://admin:hunter22@grafana.example.com".into());
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("credentials") && !e.contains("hunter22"),
            "the error never repeats a credential: {e}"
        );
        c.grafana_url = Some("grafana.example.com".into());
        assert!(c.validate().unwrap_err().to_string().contains("https://"));
        c.grafana_url = None;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .starts_with("export.grafana_token_file")
        );
    }

    #[test]
    fn dashboard_uids_are_checked() {
        let mut c = ExportConfig {
            grafana_url: Some("http://127.0.0.1:3000".into()),
            grafana_token_file: Some("t".into()),
            grafana_dashboard_uid: Some("cutover-main_1".into()),
            ..ExportConfig::default()
        };
        assert_eq!(c.validate(), Ok(()));
        c.grafana_dashboard_uid = Some("a b".into());
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .starts_with("export.grafana_dashboard_uid")
        );
    }

    #[test]
    fn the_token_is_read_trimmed_and_never_debug_printed() {
        let dir = std::env::temp_dir().join(format!("cutover-export-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), "glsa_s3cr3t-T0ken\n").unwrap();
        let mut c = ExportConfig {
            grafana_url: Some("http://127.0.0.1:3000".into()),
            grafana_token_file: Some("token".into()),
            ..ExportConfig::default()
        };
        c.load_token(&dir).unwrap();
        assert_eq!(
            c.grafana_token.as_ref().unwrap().expose(),
            "glsa_s3cr3t-T0ken"
        );
        assert!(!format!("{c:?}").contains("s3cr3t"));
        std::fs::write(dir.join("token"), "two words-in-a-file\n").unwrap();
        let e = c.load_token(&dir).unwrap_err().to_string();
        assert!(e.contains("one token") && !e.contains("words"), "{e}");
        std::fs::write(dir.join("token"), "abc\n").unwrap();
        assert!(
            c.load_token(&dir)
                .unwrap_err()
                .to_string()
                .contains("too short")
        );
        c.grafana_token_file = Some("missing".into());
        let e = c.load_token(&dir).unwrap_err().to_string();
        assert!(
            e.starts_with("export.grafana_token_file:") && e.contains("missing"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
