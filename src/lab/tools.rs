//! The system programs a lab needs, found on PATH or in the sbin directories, or named by env vars.

use std::path::{Path, PathBuf};

/// A program the lab runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tool {
    /// Executable name.
    pub(crate) name: &'static str,
    /// Environment variable that overrides where it is.
    pub(crate) env: &'static str,
    /// The Debian/Ubuntu package that provides it.
    pub(crate) package: &'static str,
}

/// nginx, for each host's proxy.
pub(crate) const NGINX: Tool = Tool {
    name: "nginx",
    env: "CUTOVER_LAB_NGINX",
    package: "nginx-light",
};
/// The OpenSSH server, one per host.
pub(crate) const SSHD: Tool = Tool {
    name: "sshd",
    env: "CUTOVER_LAB_SSHD",
    package: "openssh-server",
};
/// ssh-keygen, for host and client keys.
pub(crate) const SSH_KEYGEN: Tool = Tool {
    name: "ssh-keygen",
    env: "CUTOVER_LAB_SSH_KEYGEN",
    package: "openssh-client",
};

/// openssl, for the CA and certificates of `lab up --tls`.
pub(crate) const OPENSSL: Tool = Tool {
    name: "openssl",
    env: "CUTOVER_LAB_OPENSSL",
    package: "openssl",
};

const SBIN: [&str; 3] = ["/usr/sbin", "/usr/local/sbin", "/sbin"];

fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Tool {
    /// Where the tool is, or an error that says how to install it.
    pub(crate) fn find(self) -> Result<PathBuf, String> {
        if let Some(v) = std::env::var_os(self.env) {
            let p = PathBuf::from(&v);
            return if executable(&p) {
                Ok(p)
            } else {
                Err(format!(
                    "{}={}: no executable there; unset it to search PATH, or install {} (`apt-get install {}` on Debian/Ubuntu)",
                    self.env,
                    p.display(),
                    self.name,
                    self.package
                ))
            };
        }
        // sshd must be run by absolute path (it re-executes itself), so always resolve fully.
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(SBIN.iter().map(PathBuf::from))
            .map(|d| d.join(self.name))
            .find(|p| p.is_absolute() && executable(p))
            .ok_or_else(|| {
                format!(
                    "{} not found on PATH or in {}: install it with `apt-get install {}` (Debian/Ubuntu), or set {} to its path",
                    self.name,
                    SBIN.join(", "),
                    self.package,
                    self.env
                )
            })
    }
}
