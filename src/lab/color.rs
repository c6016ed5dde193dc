//! A lab host's service manager: start, stop and version of one color, as fleet.toml runs them.

use super::gateway::{self, Behaviour, GatewaySpec};
use super::layout::{self, Layout};
use super::process;
use super::state::{HostState, LabState};
use crate::model::Color;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// How long a color may take to listen after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a color gets to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

fn marker(state: &LabState) -> &str {
    &state.dir
}

/// The pid in a color's pid file, if that process is alive and ours.
pub(crate) fn running_pid(layout: &Layout, state: &LabState, host: &str, c: Color) -> Option<u32> {
    let text = std::fs::read_to_string(layout.color_pid(host, c)).ok()?;
    let pid = text.trim().parse().ok()?;
    process::ours(pid, marker(state)).then_some(pid)
}

/// Where a color listens: its unix socket in a `--unix-sockets` lab, else its TCP address.
pub(crate) fn endpoint(
    layout: &Layout,
    state: &LabState,
    host: &HostState,
    c: Color,
) -> gateway::Endpoint {
    if state.unix_sockets {
        gateway::Endpoint::Unix(layout.color_socket(&host.name, c))
    } else {
        gateway::Endpoint::Tcp(layout::color_addr(host.ip, c))
    }
}

/// The open-files limit a lab color gets when its behaviour names none: what a service
/// manager would give (65536), never above the hard limit.
const DEFAULT_NOFILE: u64 = 65_536;

/// The behaviour a color starts with: its saved file, or the defaults.
pub(crate) fn saved_behaviour(layout: &Layout, host: &str, c: Color) -> Result<Behaviour, String> {
    let path = layout.color_behaviour(host, c);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let b: Behaviour =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            b.validate()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(b)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Behaviour::default()),
        Err(e) => Err(format!("{}: cannot read: {e}", path.display())),
    }
}

/// Save the behaviour a color starts with next time.
pub(crate) fn save_behaviour(
    layout: &Layout,
    host: &str,
    c: Color,
    b: &Behaviour,
) -> Result<(), String> {
    let path = layout.color_behaviour(host, c);
    let text = serde_json::to_string_pretty(b).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

/// Start a color like a service manager would: detached, and return once it listens.
/// Starting a running color is not an error (as `systemctl start`).
pub(crate) fn start(
    layout: &Layout,
    state: &LabState,
    host: &HostState,
    c: Color,
) -> Result<String, String> {
    if let Some(pid) = running_pid(layout, state, &host.name, c) {
        return Ok(format!(
            "{} {} already running (pid {pid})",
            host.name,
            c.name()
        ));
    }
    let addr = endpoint(layout, state, host, c);
    let taken = match &addr {
        gateway::Endpoint::Tcp(a) => process::listening(*a),
        gateway::Endpoint::Unix(p) => process::listening_unix(p),
    };
    if taken {
        return Err(format!(
            "{} {}: something else already listens on {addr}",
            host.name,
            c.name()
        ));
    }
    let log = layout.color_log(&host.name, c);
    let mut cmd = Command::new(&state.binary);
    cmd.args([
        "lab",
        "serve",
        "--dir",
        &state.dir,
        "--gateway",
        &host.name,
        "--color",
        c.name(),
    ]);
    let mut child = process::spawn_detached(&mut cmd, &log).map_err(|e| {
        format!(
            "{} {}: cannot start {}: {e}",
            host.name,
            c.name(),
            state.binary
        )
    })?;
    let what = format!("{} {} gateway", host.name, c.name());
    let waited = match &addr {
        gateway::Endpoint::Tcp(a) => {
            process::wait_listening(*a, &mut child, START_TIMEOUT, &what, &log)
        }
        gateway::Endpoint::Unix(p) => {
            process::wait_listening_unix(p, &mut child, START_TIMEOUT, &what, &log)
        }
    };
    if let Err(e) = waited {
        process::terminate(&[child.id()], STOP_GRACE);
        return Err(e);
    }
    let pid = child.id();
    std::fs::write(layout.color_pid(&host.name, c), format!("{pid}\n")).map_err(|e| {
        process::terminate(&[pid], STOP_GRACE);
        format!("{} {}: cannot write its pid file: {e}", host.name, c.name())
    })?;
    Ok(format!(
        "{} {} started (pid {pid}) on {addr}",
        host.name,
        c.name()
    ))
}

/// Stop a color; stopping a stopped color is not an error (as `systemctl stop`).
pub(crate) fn stop(
    layout: &Layout,
    state: &LabState,
    host: &HostState,
    c: Color,
) -> Result<String, String> {
    let pid_file = layout.color_pid(&host.name, c);
    let Some(pid) = running_pid(layout, state, &host.name, c) else {
        let _ = std::fs::remove_file(&pid_file);
        return Ok(format!("{} {} is not running", host.name, c.name()));
    };
    let left = process::terminate(&[pid], STOP_GRACE);
    if !left.is_empty() {
        return Err(format!(
            "{} {}: pid {pid} did not exit",
            host.name,
            c.name()
        ));
    }
    let _ = std::fs::remove_file(&pid_file);
    Ok(format!("{} {} stopped (pid {pid})", host.name, c.name()))
}

/// Ask a running color for its version.
pub(crate) fn version(state: &LabState, host: &HostState, c: Color) -> Result<String, String> {
    let addr = endpoint(&Layout::new(Path::new(&state.dir)), state, host, c);
    let rt = runtime()?;
    rt.block_on(gateway::get_version(addr, Duration::from_secs(3)))
        .map_err(|e| format!("{} {} ({}): {e}", host.name, c.name(), state.dir))
}

/// Serve one color in this process until SIGTERM or SIGINT (`lab serve`, started by [`start`]).
pub(crate) fn serve(
    layout: &Layout,
    state: &LabState,
    host: &HostState,
    c: Color,
) -> Result<(), String> {
    let behaviour = saved_behaviour(layout, &host.name, c)?;
    // The open-files limit is the service manager's to set, at start.
    let start_limit = Behaviour {
        nofile: if behaviour.nofile == 0 {
            DEFAULT_NOFILE
        } else {
            behaviour.nofile
        },
        ..behaviour.clone()
    };
    start_limit.apply_nofile()?;
    let spec = GatewaySpec {
        color: c,
        version: layout::color_version(c).to_string(),
        behaviour,
    };
    let addr = endpoint(layout, state, host, c);
    let log_path = layout.color_request_log(&host.name, c);
    // Opened once for the process's life; a log that cannot even be opened is a setup error.
    let log = gateway::RequestLog::open(&log_path)
        .map_err(|e| format!("cannot open the request log {}: {e}", log_path.display()))?;
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = match &addr {
            gateway::Endpoint::Tcp(a) => gateway::Listener::Tcp(
                tokio::net::TcpListener::bind(a)
                    .await
                    .map_err(|e| format!("cannot listen on {addr}: {e}"))?,
            ),
            gateway::Endpoint::Unix(p) => {
                // A socket file left by a color that was killed would refuse the bind.
                let _ = std::fs::remove_file(p);
                let l = tokio::net::UnixListener::bind(p)
                    .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
                // nginx's workers run as another user: they must be able to connect.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o666))
                    .map_err(|e| format!("{addr}: cannot open the socket to nginx: {e}"))?;
                gateway::Listener::Unix(l)
            }
        };
        let shutdown = async {
            use tokio::signal::unix::{SignalKind, signal};
            match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => std::future::pending::<()>().await,
            }
        };
        gateway::serve_logged(listener, spec, Some(log), shutdown)
            .await
            .map_err(|e| format!("serving on {addr}: {e}"))
    })
}

/// A small runtime for one command's worth of async IO.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Load a lab's state for a color command run on a "host" of the lab.
pub(crate) fn load(dir: &Path) -> Result<(Layout, LabState), String> {
    let layout = Layout::new(dir);
    let state =
        LabState::load(&layout.state()).map_err(|e| format!("no lab in {}: {e}", dir.display()))?;
    Ok((Layout::new(Path::new(&state.dir)), state))
}
