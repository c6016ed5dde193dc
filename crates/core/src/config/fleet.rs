//! The real fleet in `fleet.toml`: `[ssh]` settings and one `[[gateway]]` table per host.
//!
//! Values that end up inside remote shell commands (paths, addresses, names) are checked
//! here, once, so that a value that cannot be quoted safely never reaches a host.

use serde::Deserialize;

/// The `[ssh]` section: how every host is reached.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SshSettings {
    /// An ssh_config file passed as `ssh -F` (relative to the fleet file); default: the user's own.
    pub config: Option<std::path::PathBuf>,
    /// Seconds to wait for a connection (ssh `ConnectTimeout`).
    pub connect_timeout_secs: u64,
    /// Seconds one remote command may take before it is abandoned and reported.
    pub command_timeout_secs: u64,
    /// Hosts worked on at once during a fan-out.
    pub max_parallel: usize,
}

impl Default for SshSettings {
    fn default() -> Self {
        SshSettings {
            config: None,
            connect_timeout_secs: 5,
            command_timeout_secs: 30,
            max_parallel: 16,
        }
    }
}

/// One gateway host (`[[gateway]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Short unique name shown in the cockpit.
    pub name: String,
    /// Availability zone.
    pub az: String,
    /// SSH destination: a host alias of the ssh_config, or `user@host`.
    pub ssh: String,
    /// The nginx command on the host, with any `-p`/`-c` flags; `-t` and `-s reload` are appended.
    #[serde(default = "default_nginx")]
    pub nginx: String,
    /// The file on the host that holds the upstream block.
    pub nginx_conf: String,
    /// nginx's pid file on the host, to verify a reload by its worker PIDs.
    #[serde(default = "default_nginx_pid")]
    pub nginx_pid: String,
    /// nginx's error log on the host, to report why a reload failed.
    #[serde(default = "default_error_log")]
    pub nginx_error_log: String,
    /// Name of the upstream block with the blue and green servers.
    #[serde(default = "default_upstream")]
    pub upstream: String,
    /// The access log on the host in the cutover JSON format (docs/nginx.md).
    pub access_log: String,
    /// The composite health URL (through nginx).
    pub health_url: String,
    /// nginx stub_status URL, fetched on the host itself.
    #[serde(default)]
    pub stub_status_url: Option<String>,
    /// The blue build.
    pub blue: ColorConfig,
    /// The green build.
    pub green: ColorConfig,
}

/// One color's build on a host (`[gateway.blue]`, `[gateway.green]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColorConfig {
    /// The upstream server address exactly as in nginx: `127.0.0.1:8787` or `unix:/path`.
    pub addr: String,
    /// Shell command on the host that starts this color (systemd, launchd, ...).
    pub start: String,
    /// Shell command on the host that stops this color.
    pub stop: String,
    /// Shell command on the host that prints this color's version.
    pub version: String,
    /// Shell command on the host that prints the configuration/secret revision this color
    /// runs (first line); without it, the `revision` field of the color's own health JSON.
    #[serde(default)]
    pub revision: Option<String>,
    /// The longest silence this color allows on a stream, in seconds (its idle ceiling):
    /// nginx's `proxy_read_timeout` must be at least this. Unknown when unset.
    #[serde(default)]
    pub idle_timeout_secs: Option<u64>,
    /// Absolute path on the host of this color's own structured log: JSON lines that carry
    /// the request ID (docs/configuration.md, "A color's own log"). None when not known.
    #[serde(default)]
    pub log: Option<String>,
}

fn default_nginx() -> String {
    "nginx".into()
}
fn default_nginx_pid() -> String {
    "/run/nginx.pid".into()
}
fn default_error_log() -> String {
    "/var/log/nginx/error.log".into()
}
fn default_upstream() -> String {
    "gateway".into()
}

/// A validation failure: which gateway (index into the list), the field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetError {
    /// Index of the `[[gateway]]` table, or `None` for `[ssh]`.
    pub gateway: Option<usize>,
    /// Field within the table, dotted (`blue.addr`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn err(gateway: Option<usize>, field: &str, message: String) -> FleetError {
    FleetError {
        gateway,
        field: field.to_string(),
        message,
    }
}

/// Names: what the cockpit shows and scripts match on; kept to a plain alphabet.
fn check_name(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 64 {
        return Err("must be 1 to 64 characters".into());
    }
    match s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        Some(c) => Err(format!(
            "{s:?} contains {c:?}; use letters, digits, '-', '_' and '.'"
        )),
        None => Ok(()),
    }
}

/// Values substituted into remote commands or configs: no control characters, no quotes
/// or shell metacharacters that single-quoting could still get wrong across tools.
fn check_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    match s
        .chars()
        .find(|c| c.is_control() || matches!(c, '\'' | '"' | '`' | '\\' | '$'))
    {
        Some(c) => Err(format!(
            "contains {c:?}, which cannot be passed to a remote host safely"
        )),
        None if s.starts_with('-') => Err(format!(
            "{s:?} starts with '-', which a remote command would take as an option"
        )),
        None => Ok(()),
    }
}

/// A command written by the operator: run as given by the remote shell, so only control characters are refused.
fn check_command(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!("contains control character {c:?}")),
        None => Ok(()),
    }
}

/// `host:port` or `unix:/path`, as nginx writes upstream servers.
fn check_addr(s: &str) -> Result<(), String> {
    check_value(s)?;
    if let Some(path) = s.strip_prefix("unix:") {
        return if path.starts_with('/') {
            Ok(())
        } else {
            Err(format!(
                "{s:?}: a unix socket address needs an absolute path"
            ))
        };
    }
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?}: expected host:port or unix:/path"))?;
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("{s:?}: expected host:port or unix:/path"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!(
            "{s:?}: port {port:?} is not a number from 1 to 65535"
        )),
    }
}

fn check_url(s: &str) -> Result<(), String> {
    check_value(s)?;
    if !(s.starts_with("http://") || s.starts_with("https://")) {
        return Err(format!("{s:?}: expected an http:// or https:// URL"));
    }
    Ok(())
}

impl SshSettings {
    /// Check the values.
    pub fn validate(&self) -> Result<(), FleetError> {
        if self.connect_timeout_secs == 0 {
            return Err(err(
                None,
                "connect_timeout_secs",
                "must be at least 1".into(),
            ));
        }
        if self.command_timeout_secs == 0 {
            return Err(err(
                None,
                "command_timeout_secs",
                "must be at least 1".into(),
            ));
        }
        if self.max_parallel == 0 {
            return Err(err(None, "max_parallel", "must be at least 1".into()));
        }
        Ok(())
    }
}

impl ColorConfig {
    /// `(ip, port)` of a TCP address; `None` for a unix socket (nothing to count by port).
    pub fn tcp(&self) -> Option<(&str, u16)> {
        if self.addr.starts_with("unix:") {
            return None;
        }
        let (ip, port) = self.addr.rsplit_once(':')?;
        Some((ip, port.parse().ok()?))
    }
}

impl GatewayConfig {
    /// The settings of color `c`.
    pub fn color(&self, c: crate::model::Color) -> &ColorConfig {
        match c {
            crate::model::Color::Blue => &self.blue,
            crate::model::Color::Green => &self.green,
        }
    }

    /// Check every field of gateway number `i`.
    pub fn validate(&self, i: usize) -> Result<(), FleetError> {
        let at = |field: &str| {
            let field = field.to_string();
            move |m: String| err(Some(i), &field, m)
        };
        check_name(&self.name).map_err(at("name"))?;
        check_name(&self.az).map_err(at("az"))?;
        check_value(&self.ssh).map_err(at("ssh"))?;
        check_command(&self.nginx).map_err(at("nginx"))?;
        let blue_log = self.blue.log.as_ref().map(|p| ("blue.log", p));
        let green_log = self.green.log.as_ref().map(|p| ("green.log", p));
        for (field, path) in [
            ("nginx_conf", &self.nginx_conf),
            ("nginx_pid", &self.nginx_pid),
            ("nginx_error_log", &self.nginx_error_log),
            ("access_log", &self.access_log),
        ]
        .into_iter()
        .chain(blue_log)
        .chain(green_log)
        {
            check_value(path).map_err(at(field))?;
            if !path.starts_with('/') {
                return Err(err(
                    Some(i),
                    field,
                    format!("{path:?}: must be an absolute path on the host"),
                ));
            }
        }
        check_name(&self.upstream).map_err(at("upstream"))?;
        check_url(&self.health_url).map_err(at("health_url"))?;
        if let Some(url) = &self.stub_status_url {
            check_url(url).map_err(at("stub_status_url"))?;
        }
        for (color, c) in [("blue", &self.blue), ("green", &self.green)] {
            check_addr(&c.addr).map_err(at(&format!("{color}.addr")))?;
            check_command(&c.start).map_err(at(&format!("{color}.start")))?;
            check_command(&c.stop).map_err(at(&format!("{color}.stop")))?;
            check_command(&c.version).map_err(at(&format!("{color}.version")))?;
            if let Some(r) = &c.revision {
                check_command(r).map_err(at(&format!("{color}.revision")))?;
            }
            if c.idle_timeout_secs == Some(0) {
                return Err(err(
                    Some(i),
                    &format!("{color}.idle_timeout_secs"),
                    "must be at least 1 (leave it out when unknown)".into(),
                ));
            }
        }
        if self.blue.addr == self.green.addr {
            return Err(err(
                Some(i),
                "green.addr",
                format!("{:?} is also blue's address", self.green.addr),
            ));
        }
        Ok(())
    }
}

/// Check the whole list: every gateway, and names unique across the fleet.
pub fn validate(ssh: &SshSettings, gateways: &[GatewayConfig]) -> Result<(), FleetError> {
    ssh.validate()?;
    for (i, g) in gateways.iter().enumerate() {
        g.validate(i)?;
        if let Some(j) = gateways[..i].iter().position(|o| o.name == g.name) {
            return Err(err(
                Some(i),
                "name",
                format!("{:?} is also the name of gateway {}", g.name, j + 1),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gw() -> GatewayConfig {
        let color = |port: u16| ColorConfig {
            addr: format!("127.0.0.1:{port}"),
            start: "systemctl start gw".into(),
            stop: "systemctl stop gw".into(),
            version: "cat /opt/gw/VERSION".into(),
            revision: None,
            idle_timeout_secs: None,
            log: None,
        };
        GatewayConfig {
            name: "gw-a1".into(),
            az: "az-a".into(),
            ssh: "deploy@gw-a1.internal".into(),
            nginx: default_nginx(),
            nginx_conf: "/etc/nginx/conf.d/gateway.conf".into(),
            nginx_pid: default_nginx_pid(),
            nginx_error_log: default_error_log(),
            upstream: default_upstream(),
            access_log: "/var/log/nginx/access.log".into(),
            health_url: "https://gw-a1.internal/health".into(),
            stub_status_url: None,
            blue: color(8787),
            green: color(8788),
        }
    }

    #[test]
    fn a_plain_gateway_is_valid() {
        assert_eq!(gw().validate(0), Ok(()));
        let mut g = gw();
        g.green.addr = "unix:/run/gw-green.sock".into();
        assert_eq!(g.validate(0), Ok(()));
    }

    #[test]
    fn values_that_cannot_be_quoted_are_refused() {
        let mut g = gw();
        g.nginx_conf = "/etc/nginx/it's.conf".into();
        let e = g.validate(3).unwrap_err();
        assert_eq!((e.gateway, e.field.as_str()), (Some(3), "nginx_conf"));
        assert!(e.message.contains("'\\''"), "{}", e.message);

        let mut g = gw();
        g.ssh = "-oProxyCommand=evil".into();
        assert_eq!(g.validate(0).unwrap_err().field, "ssh");

        let mut g = gw();
        g.access_log = "logs/access.log".into();
        assert!(g.validate(0).unwrap_err().message.contains("absolute"));
    }

    #[test]
    fn addresses_are_checked() {
        for (bad, why) in [
            ("127.0.0.1", "expected host:port"),
            ("127.0.0.1:0", "port"),
            ("127.0.0.1:http", "port"),
            ("unix:run/x.sock", "absolute"),
        ] {
            let mut g = gw();
            g.blue.addr = bad.into();
            let e = g.validate(0).unwrap_err();
            assert_eq!(e.field, "blue.addr");
            assert!(e.message.contains(why), "{bad}: {}", e.message);
        }
        let mut g = gw();
        g.green.addr = g.blue.addr.clone();
        assert_eq!(g.validate(0).unwrap_err().field, "green.addr");
    }

    #[test]
    fn names_are_unique_and_plain() {
        let mut g = gw();
        g.name = "gw a1".into();
        assert_eq!(g.validate(0).unwrap_err().field, "name");
        let e = validate(&SshSettings::default(), &[gw(), gw()]).unwrap_err();
        assert_eq!((e.gateway, e.field.as_str()), (Some(1), "name"));
    }

    #[test]
    fn preflight_fields_of_a_color_are_checked() {
        let mut g = gw();
        g.green.revision = Some("cat /etc/gw/REVISION".into());
        g.green.idle_timeout_secs = Some(120);
        assert_eq!(g.validate(0), Ok(()));
        g.green.idle_timeout_secs = Some(0);
        assert_eq!(g.validate(0).unwrap_err().field, "green.idle_timeout_secs");
        let mut g = gw();
        g.blue.revision = Some("cat x\nrm -rf /".into());
        assert_eq!(g.validate(0).unwrap_err().field, "blue.revision");
    }

    #[test]
    fn a_color_log_is_an_absolute_quotable_path() {
        let mut g = gw();
        g.blue.log = Some("/var/log/gateway-blue/requests.jsonl".into());
        g.green.log = Some("/var/log/gateway-green/requests.jsonl".into());
        assert_eq!(g.validate(0), Ok(()));
        for (bad, why) in [
            ("logs/green.jsonl", "absolute"),
            ("/var/log/gw\ngreen.jsonl", "'\\n'"),
            ("/var/log/$HOME.jsonl", "'$'"),
            ("", "empty"),
        ] {
            let mut g = gw();
            g.green.log = Some(bad.into());
            let e = g.validate(2).unwrap_err();
            assert_eq!(
                (e.gateway, e.field.as_str()),
                (Some(2), "green.log"),
                "{bad}"
            );
            assert!(e.message.contains(why), "{bad}: {}", e.message);
        }
        let mut g = gw();
        g.blue.log = Some("blue.jsonl".into());
        assert_eq!(g.validate(0).unwrap_err().field, "blue.log");
    }

    #[test]
    fn commands_refuse_control_characters() {
        let mut g = gw();
        g.green.stop = "systemctl stop gw\nrm -rf /".into();
        assert_eq!(g.validate(0).unwrap_err().field, "green.stop");
    }
}
