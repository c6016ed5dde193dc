//! Where everything of a lab lives: one directory, one subdirectory per host, fixed ports.

use crate::model::Color;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// sshd's port on every lab host (each host has its own address, so ports repeat).
pub(crate) const SSH_PORT: u16 = 2222;
/// nginx's public listener: chat and health through the weighted upstream.
pub(crate) const HTTP_PORT: u16 = 8080;
/// nginx's stub_status listener.
pub(crate) const STATUS_PORT: u16 = 8081;
/// The blue build's port.
pub(crate) const BLUE_PORT: u16 = 8787;
/// The green build's port.
pub(crate) const GREEN_PORT: u16 = 8788;
/// Every port a lab host listens on.
pub(crate) const PORTS: [u16; 5] = [SSH_PORT, HTTP_PORT, STATUS_PORT, BLUE_PORT, GREEN_PORT];
/// Name of the upstream block in every lab nginx.
pub(crate) const UPSTREAM: &str = "gateway";

/// The port of a color's build.
pub(crate) fn color_port(c: Color) -> u16 {
    match c {
        Color::Blue => BLUE_PORT,
        Color::Green => GREEN_PORT,
    }
}

/// The version each color reports: stand-ins for the git SHAs of two builds.
pub(crate) fn color_version(c: Color) -> &'static str {
    match c {
        Color::Blue => "3f9a2c1",
        Color::Green => "8d41e07",
    }
}

/// The socket address of a color on a host.
pub(crate) fn color_addr(ip: Ipv4Addr, c: Color) -> SocketAddr {
    SocketAddr::from((ip, color_port(c)))
}

/// Name and AZ of host `i` of `n`: AZs `az-a`, `az-b`, `az-c` in turn, names `gw-a1`, `gw-b1`, ...
pub(crate) fn host_name(i: usize, n: usize) -> (String, String) {
    let azs = n.clamp(1, 3);
    let letter = (b'a' + (i % azs) as u8) as char;
    (
        format!("gw-{letter}{}", i / azs + 1),
        format!("az-{letter}"),
    )
}

/// Paths inside a lab directory (which is absolute and canonical).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The lab directory.
    pub(crate) dir: PathBuf,
}

impl Layout {
    /// The layout of `dir`.
    pub(crate) fn new(dir: &Path) -> Layout {
        Layout {
            dir: dir.to_path_buf(),
        }
    }
    /// The lab's state: addresses and process ids.
    pub(crate) fn state(&self) -> PathBuf {
        self.dir.join("lab.json")
    }
    /// The fleet file for `cutover -c`.
    pub(crate) fn fleet_toml(&self) -> PathBuf {
        self.dir.join("fleet.toml")
    }
    /// The ssh client configuration for `ssh -F`.
    pub(crate) fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }
    /// The host keys of every lab host.
    pub(crate) fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }
    /// The lab's client key (private half).
    pub(crate) fn client_key(&self) -> PathBuf {
        self.dir.join("ssh").join("id_ed25519")
    }
    /// The keys every lab sshd accepts.
    pub(crate) fn authorized_keys(&self) -> PathBuf {
        self.dir.join("ssh").join("authorized_keys")
    }
    /// A host's own directory.
    pub(crate) fn host(&self, name: &str) -> PathBuf {
        self.dir.join("hosts").join(name)
    }
    /// A host's sshd configuration.
    pub(crate) fn sshd_config(&self, name: &str) -> PathBuf {
        self.host(name).join("sshd_config")
    }
    /// A host's private host key.
    pub(crate) fn host_key(&self, name: &str) -> PathBuf {
        self.host(name).join("ssh_host_ed25519_key")
    }
    /// A host's sshd log.
    pub(crate) fn sshd_log(&self, name: &str) -> PathBuf {
        self.host(name).join("sshd.log")
    }
    /// A host's nginx prefix (`-p`), ending in `/` as nginx expects.
    pub(crate) fn nginx_prefix(&self, name: &str) -> PathBuf {
        self.host(name).join("nginx/")
    }
    /// A host's main nginx.conf.
    pub(crate) fn nginx_conf(&self, name: &str) -> PathBuf {
        self.nginx_prefix(name).join("conf").join("nginx.conf")
    }
    /// The included file holding the upstream block and the server blocks.
    pub(crate) fn gateway_conf(&self, name: &str) -> PathBuf {
        self.nginx_prefix(name).join("conf").join("gateway.conf")
    }
    /// A host's nginx access log (cutover JSON format).
    pub(crate) fn access_log(&self, name: &str) -> PathBuf {
        self.nginx_prefix(name).join("logs").join("access.log")
    }
    /// A host's nginx error log.
    pub(crate) fn error_log(&self, name: &str) -> PathBuf {
        self.nginx_prefix(name).join("logs").join("error.log")
    }
    /// A host's nginx pid file.
    pub(crate) fn nginx_pid(&self, name: &str) -> PathBuf {
        self.nginx_prefix(name).join("logs").join("nginx.pid")
    }
    /// The pid file of a color's gateway process.
    pub(crate) fn color_pid(&self, name: &str, c: Color) -> PathBuf {
        self.host(name).join(format!("{}.pid", c.name()))
    }
    /// The log of a color's gateway process.
    pub(crate) fn color_log(&self, name: &str, c: Color) -> PathBuf {
        self.host(name).join(format!("{}.log", c.name()))
    }
    /// A color's own structured log: one JSON line per chat request, with nginx's request
    /// ID (fleet.toml's `log`). Beside `color_log`, which holds the process's stdout and stderr.
    pub(crate) fn color_request_log(&self, name: &str, c: Color) -> PathBuf {
        self.host(name).join(format!("{}.requests.jsonl", c.name()))
    }
    /// The behaviour a color starts with (kept across restarts, updated by `lab fault`).
    pub(crate) fn color_behaviour(&self, name: &str, c: Color) -> PathBuf {
        self.host(name).join(format!("{}.json", c.name()))
    }
    /// The unix socket a color listens on in a `--unix-sockets` lab.
    pub(crate) fn color_socket(&self, name: &str, c: Color) -> PathBuf {
        self.host(name).join(format!("{}.sock", c.name()))
    }
    /// The lab's private CA (`--tls`): its certificate, which fleet.toml's `probes.ca_file` names.
    pub(crate) fn tls_ca(&self) -> PathBuf {
        self.dir.join("tls").join("ca.pem")
    }
    /// The CA's private key.
    pub(crate) fn tls_ca_key(&self) -> PathBuf {
        self.dir.join("tls").join("ca.key")
    }
    /// A host's certificate for its public listener (`--tls`).
    pub(crate) fn tls_cert(&self, name: &str) -> PathBuf {
        self.host(name).join("tls").join("server.crt")
    }
    /// A host's private key for its public listener.
    pub(crate) fn tls_key(&self, name: &str) -> PathBuf {
        self.host(name).join("tls").join("server.key")
    }
}

/// Check that `dir` can be written into configs and shell commands unquoted-safe.
pub(crate) fn check_path_chars(path: &Path) -> Result<(), String> {
    let s = path
        .to_str()
        .ok_or_else(|| format!("{}: the path is not valid UTF-8", path.display()))?;
    match s.chars().find(|c| {
        !(c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | '@' | ','))
    }) {
        Some(c) => Err(format!(
            "{s}: the path contains {c:?}; nginx, sshd and shell commands need a path of letters, digits and . _ - + @ , /"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_spread_over_three_azs() {
        let names: Vec<_> = (0..5).map(|i| host_name(i, 5)).collect();
        assert_eq!(
            names,
            [
                ("gw-a1".into(), "az-a".into()),
                ("gw-b1".into(), "az-b".into()),
                ("gw-c1".into(), "az-c".into()),
                ("gw-a2".into(), "az-a".into()),
                ("gw-b2".into(), "az-b".into()),
            ]
        );
        assert_eq!(host_name(1, 2), ("gw-b1".into(), "az-b".into()));
    }

    #[test]
    fn paths_that_configs_cannot_carry_are_refused() {
        assert!(check_path_chars(Path::new("/tmp/lab-1/x_y.z")).is_ok());
        let e = check_path_chars(Path::new("/tmp/my lab")).unwrap_err();
        assert!(e.contains("' '"), "{e}");
        assert!(check_path_chars(Path::new("/tmp/a'b")).is_err());
        assert!(check_path_chars(Path::new("/tmp/a;b")).is_err());
    }
}
