//! Starting lab processes detached from the terminal, and stopping them by pid, safely.

use std::fs::OpenOptions;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Start `cmd` in its own session (so it outlives `lab up` and can be stopped as a group),
/// stdin from /dev/null, stdout and stderr appended to `log`.
pub(crate) fn spawn_detached(cmd: &mut Command, log: &Path) -> io::Result<Child> {
    let out = OpenOptions::new().create(true).append(true).open(log)?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if p <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence.
    let exists = unsafe { libc::kill(p, 0) } == 0
        || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && !zombie(pid)
}

fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // The state follows the parenthesised command name, which may itself hold spaces.
            let after = &s[s.rfind(')')? + 1..];
            after.split_whitespace().next().map(|st| st == "Z")
        })
        .unwrap_or(false)
}

/// The command line of `pid`, arguments joined by spaces (nginx and sshd rewrite theirs; both keep their flags).
pub(crate) fn cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        String::from_utf8_lossy(&raw)
            .split('\0')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// True when `pid` is alive and its command line mentions `marker` (the lab directory):
/// a pid file that outlived its process must never make us signal a stranger.
pub(crate) fn ours(pid: u32, marker: &str) -> bool {
    alive(pid) && cmdline(pid).is_some_and(|c| c.contains(marker))
}

fn signal_group(pid: u32, sig: libc::c_int) {
    if let Ok(p) = libc::pid_t::try_from(pid) {
        if p > 1 {
            // SAFETY: plain kill(2); the group is the one spawn_detached created (pgid == pid).
            unsafe {
                libc::kill(-p, sig);
                libc::kill(p, sig);
            }
        }
    }
}

/// SIGTERM each process group, wait up to `grace` for them to exit, then SIGKILL what is left.
/// Returns the pids that were still alive at the end (normally none).
pub(crate) fn terminate(pids: &[u32], grace: Duration) -> Vec<u32> {
    for &pid in pids {
        signal_group(pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && pids.iter().any(|&p| alive(p)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &pid in pids.iter().filter(|&&p| alive(p)) {
        signal_group(pid, libc::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && pids.iter().any(|&p| alive(p)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    pids.iter().copied().filter(|&p| alive(p)).collect()
}

/// The name of the effective user, from the password database.
pub(crate) fn user_name() -> Option<String> {
    // SAFETY: geteuid cannot fail; getpwuid's static result is copied before any other call.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            None
        } else {
            Some(
                std::ffi::CStr::from_ptr((*pw).pw_name)
                    .to_string_lossy()
                    .into_owned(),
            )
        }
    }
}

/// Every live descendant of `pid` (children first found, then theirs), from /proc.
pub(crate) fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            let ppid = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().nth(1))
                .and_then(|s| s.parse::<u32>().ok());
            if let Some(pp) = ppid {
                parent_of.push((p, pp));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(child, _) in parent_of.iter().filter(|(_, pp)| *pp == p) {
            if !out.contains(&child) {
                out.push(child);
                frontier.push(child);
            }
        }
    }
    out
}

/// True when something accepts TCP connections on `addr`.
pub(crate) fn listening(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// True when something accepts connections on the unix socket `path`.
pub(crate) fn listening_unix(path: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

/// Wait until the unix socket `path` accepts connections; fail early if `child` exits first.
pub(crate) fn wait_listening_unix(
    path: &Path,
    child: &mut Child,
    timeout: Duration,
    what: &str,
    log: &Path,
) -> Result<(), String> {
    let shown = format!("unix:{}", path.display());
    wait_until(|| listening_unix(path), &shown, child, timeout, what, log)
}

/// Wait until `addr` accepts connections; fail early if `child` exits first.
pub(crate) fn wait_listening(
    addr: SocketAddr,
    child: &mut Child,
    timeout: Duration,
    what: &str,
    log: &Path,
) -> Result<(), String> {
    wait_until(
        || listening(addr),
        &addr.to_string(),
        child,
        timeout,
        what,
        log,
    )
}

fn wait_until(
    ready: impl Fn() -> bool,
    addr: &str,
    child: &mut Child,
    timeout: Duration,
    what: &str,
    log: &Path,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        // Exited first: a listener we did not start (another lab) must not count as ours.
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{what} exited ({status}) before listening on {addr}: {}",
                log_tail(log)
            ));
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{what} did not listen on {addr} within {} s: {}",
                timeout.as_secs(),
                log_tail(log)
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The last lines of a log, on one line, for error messages.
pub(crate) fn log_tail(log: &Path) -> String {
    match std::fs::read_to_string(log) {
        Ok(s) => {
            let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
            if tail.is_empty() {
                format!("{} is empty", log.display())
            } else {
                format!(
                    "{} says: {}",
                    log.display(),
                    crate::sanitize::sanitize(&tail)
                )
            }
        }
        Err(e) => format!("cannot read {}: {e}", log.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detached_child_is_ours_until_terminated() {
        let dir = std::env::temp_dir().join(format!("cutover-proc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let marker = dir.join("marker-arg");
        // `sh -c CMD NAME`: the marker becomes $0, so it shows in the command line.
        let mut child = spawn_detached(
            Command::new("sh")
                .arg("-c")
                .arg("sleep 30; true")
                .arg(marker.to_str().unwrap()),
            &dir.join("log"),
        )
        .unwrap();
        let pid = child.id();
        assert!(alive(pid));
        assert!(ours(pid, marker.to_str().unwrap()));
        assert!(!ours(pid, "/somewhere/else"));
        // Reap in the background so the zombie does not linger in this test process.
        let reaper = std::thread::spawn(move || child.wait());
        assert_eq!(terminate(&[pid], Duration::from_secs(2)), Vec::<u32>::new());
        reaper.join().unwrap().unwrap();
        assert!(!alive(pid));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_pid_is_alive_at_zero() {
        assert!(!alive(0));
        assert!(!alive(u32::MAX));
    }
}
