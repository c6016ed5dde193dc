//! `lab.json`: what a lab started and where, so that `lab down` and the color commands find it.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::Path;

/// The state of one lab, written as soon as each process starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    /// The lab directory (canonical).
    pub(crate) dir: String,
    /// The cutover binary the color commands run.
    pub(crate) binary: String,
    /// The hosts, in order.
    pub hosts: Vec<HostState>,
    /// The lab's Prometheus (`lab up --prometheus`); its URL is `prometheus.url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) prometheus: Option<super::prometheus::PrometheusState>,
    /// The public listeners speak https with the lab's own CA (`lab up --tls`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) tls: bool,
    /// The colors listen on unix sockets, not TCP ports (`lab up --unix-sockets`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) unix_sockets: bool,
}

/// One host of the lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostState {
    /// Gateway name.
    pub name: String,
    /// Availability zone.
    pub(crate) az: String,
    /// Its loopback address.
    pub ip: Ipv4Addr,
    /// nginx master pid, once started.
    pub nginx_pid: Option<u32>,
    /// sshd pid, once started.
    pub sshd_pid: Option<u32>,
}

impl LabState {
    /// Read `path`; errors name the file.
    pub fn load(path: &Path) -> Result<LabState, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Write `path` atomically (beside, then rename), so a crash never leaves half a file.
    pub(crate) fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n")
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))
    }

    /// The host called `name`.
    pub(crate) fn host(&self, name: &str) -> Result<&HostState, String> {
        self.hosts.iter().find(|h| h.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.hosts.iter().map(|h| h.name.as_str()).collect();
            format!(
                "no gateway {name:?} in the lab in {} (it has {})",
                self.dir,
                names.join(", ")
            )
        })
    }
}
