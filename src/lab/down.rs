//! `cutover lab down`: stop every process a lab started, by pid, and check nothing still listens.

use super::LabError;
use super::claims;
use super::layout::{self, Layout};
use super::process;
use super::state::LabState;
use super::up::live_processes;
use crate::model::Color;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// What `lab down` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DownReport {
    /// The lab directory.
    pub(crate) dir: String,
    /// Processes stopped, with labels (`gw-a1 nginx`).
    pub(crate) stopped: Vec<(String, u32)>,
    /// Hosts whose addresses were released.
    pub(crate) hosts: usize,
}

/// Stop the lab in `dir`. A lab that is not there is an error; a lab whose processes already died
/// is cleaned up without one.
pub(crate) fn down(dir: &Path) -> Result<DownReport, LabError> {
    let dir = dir
        .canonicalize()
        .map_err(|e| LabError::Failed(format!("no lab in {}: {e}", dir.display())))?;
    let layout = Layout::new(&dir);
    if !layout.state().exists() {
        return Err(LabError::Failed(format!(
            "no lab in {}: {} not found (was it brought up with `cutover lab up --dir {}`?)",
            dir.display(),
            layout.state().display(),
            dir.display()
        )));
    }
    let state = LabState::load(&layout.state()).map_err(LabError::Failed)?;
    let live = live_processes(&layout, &state);
    let pids: Vec<u32> = live.iter().map(|x| x.1).collect();
    let left = process::terminate(&pids, Duration::from_secs(5));
    if !left.is_empty() {
        return Err(LabError::Failed(format!(
            "lab {}: pids {left:?} did not exit even after SIGKILL",
            dir.display()
        )));
    }
    let still: Vec<String> = state
        .hosts
        .iter()
        .flat_map(|h| {
            layout::PORTS
                .iter()
                .map(move |&p| SocketAddr::from((h.ip, p)))
        })
        .chain(super::prometheus::addresses(&state))
        .filter(|&a| process::listening(a))
        .map(|a| a.to_string())
        .collect();
    if !still.is_empty() {
        return Err(LabError::Failed(format!(
            "lab {}: every recorded process is stopped, but something still listens on {}",
            dir.display(),
            still.join(", ")
        )));
    }
    for h in &state.hosts {
        for c in Color::BOTH {
            let _ = std::fs::remove_file(layout.color_pid(&h.name, c));
        }
    }
    claims::release(&state.hosts.iter().map(|h| h.ip).collect::<Vec<_>>());
    std::fs::remove_file(layout.state()).map_err(|e| {
        LabError::Failed(format!("cannot remove {}: {e}", layout.state().display()))
    })?;
    Ok(DownReport {
        dir: state.dir,
        stopped: live,
        hosts: state.hosts.len(),
    })
}
