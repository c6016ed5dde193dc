//! Remote commands through the system's OpenSSH client: the user's ssh_config, ProxyJump,
//! agent and known_hosts all apply, with strict host key checking and batch mode forced on
//! the command line (which wins over any config file). One master connection per host
//! (ControlMaster) carries every command and every collector.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::session::{REMOTE_SHELL, Session, SessionError};

/// How hosts are reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SshOptions {
    /// The ssh client program.
    pub(crate) program: PathBuf,
    /// `-F` file, if any.
    pub(crate) config: Option<PathBuf>,
    /// ssh `ConnectTimeout`.
    pub(crate) connect_timeout: Duration,
    /// Longest a remote command may run before it is abandoned.
    pub(crate) command_timeout: Duration,
    /// Directory of the control sockets (private to this user).
    pub(crate) control_dir: PathBuf,
}

/// A finished remote command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Output {
    /// Its exit code.
    pub(crate) code: i32,
    /// What it printed.
    pub(crate) stdout: Vec<u8>,
    /// What it printed on stderr (raw; sanitize before display).
    pub(crate) stderr: String,
    /// Wall time including the round trip.
    pub(crate) duration: Duration,
}

/// Why a command did not run to an exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SshError {
    /// The host's key is unknown or differs from known_hosts: never accepted silently.
    HostKey {
        /// The destination.
        dest: String,
        /// ssh's own words.
        message: String,
    },
    /// No connection (refused, timed out, authentication failed, ...).
    Connect {
        /// The destination.
        dest: String,
        /// ssh's own words.
        message: String,
    },
    /// The command did not finish in time (it may still be running on the host).
    Timeout {
        /// The destination.
        dest: String,
        /// How long we waited.
        after: Duration,
    },
    /// The ssh program could not be run at all.
    Spawn(String),
}

impl std::fmt::Display for SshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let clean = crate::sanitize::sanitize;
        match self {
            SshError::HostKey { dest, message } => write!(
                f,
                "{dest}: host key verification failed ({}); refusing to connect: check the host and its known_hosts entry",
                clean(message)
            ),
            SshError::Connect { dest, message } => {
                write!(f, "{dest}: cannot connect: {}", clean(message))
            }
            SshError::Timeout { dest, after } => write!(
                f,
                "{dest}: no answer within {} s (the command may still be running there)",
                after.as_secs()
            ),
            SshError::Spawn(m) => write!(f, "cannot run ssh: {m}"),
        }
    }
}

impl std::error::Error for SshError {}

/// ssh's exit code for its own failures.
const SSH_FAILED: i32 = 255;

/// Sort ssh's stderr into a host key problem, a connection problem, or neither.
pub(crate) fn classify(dest: &str, code: i32, stderr: &str) -> Option<SshError> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("@@@"))
        .collect();
    let host_key = [
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
        "Host key verification failed",
        "host key is known for",
        "No matching host key",
    ];
    if let Some(line) = lines
        .iter()
        .find(|l| host_key.iter().any(|k| l.contains(k)))
    {
        return Some(SshError::HostKey {
            dest: dest.into(),
            message: (*line).to_string(),
        });
    }
    if code == SSH_FAILED {
        let message = lines
            .iter()
            .rev()
            .find(|l| {
                l.starts_with("ssh:") || l.contains("Permission denied") || l.contains("Connection")
            })
            .or(lines.last())
            .map_or("ssh exited 255".to_string(), |l| (*l).to_string());
        return Some(SshError::Connect {
            dest: dest.into(),
            message,
        });
    }
    None
}

/// A session that ended without an answer: ssh's words when it said why.
fn lost(dest: &str, said: &str) -> SshError {
    classify(dest, SSH_FAILED, said).unwrap_or(SshError::Connect {
        dest: dest.into(),
        message: format!("connection lost: {}", said.trim()),
    })
}

impl SshOptions {
    /// Options from the `[ssh]` section; creates the private control socket directory.
    pub(crate) fn new(
        config: Option<PathBuf>,
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Result<SshOptions, String> {
        let program = std::env::var_os("CUTOVER_SSH")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("ssh"));
        Ok(SshOptions {
            program,
            config,
            connect_timeout,
            command_timeout,
            control_dir: control_dir()?,
        })
    }

    /// The control socket path: per ssh config file, so two labs (or fleets) that reuse an
    /// address never share a master connection.
    fn control_path(&self) -> PathBuf {
        let tag = self
            .config
            .as_ref()
            .map_or(0, |p| fnv(p.to_string_lossy().as_bytes()));
        self.control_dir.join(format!("{:08x}-%C", tag as u32))
    }

    /// Options every invocation carries; given on the command line they override any config file.
    pub(crate) fn common_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        if let Some(cfg) = &self.config {
            a.push("-F".into());
            a.push(cfg.into());
        }
        let secs = self.connect_timeout.as_secs().max(1);
        for o in [
            "BatchMode=yes".to_string(),
            "StrictHostKeyChecking=yes".to_string(),
            format!("ConnectTimeout={secs}"),
            "ServerAliveInterval=5".to_string(),
            "ServerAliveCountMax=3".to_string(),
            format!("ControlPath={}", self.control_path().display()),
            "LogLevel=ERROR".to_string(),
        ] {
            a.push("-o".into());
            a.push(o.into());
        }
        a
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A private directory for control sockets: `$XDG_RUNTIME_DIR/cutover-ssh` or `/tmp/cutover-ssh-UID`.
/// Refused if someone else owns it or can reach into it (they could hijack our connections).
fn control_dir() -> Result<PathBuf, String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() && Path::new(&d).is_dir() => PathBuf::from(d).join("cutover-ssh"),
        _ => PathBuf::from(format!("/tmp/cutover-ssh-{uid}")),
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "{}: must be a directory owned by uid {uid} with mode 0700; remove it and retry",
            dir.display()
        ));
    }
    Ok(dir)
}

/// Runs commands on hosts, one master connection per destination, each command in an idle
/// long-lived shell session on it when there is one.
#[derive(Debug, Clone)]
pub(crate) struct Ssh {
    opts: Arc<SshOptions>,
    masters: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    idle: Arc<Mutex<HashMap<String, Vec<Session>>>>,
}

/// Idle sessions kept per host: the poller and one operation run side by side; more would
/// eat into sshd's `MaxSessions` (10 per connection by default), which the collectors share.
const IDLE_PER_HOST: usize = 2;

impl Ssh {
    /// A runner with `opts`.
    pub(crate) fn new(opts: SshOptions) -> Ssh {
        Ssh {
            opts: Arc::new(opts),
            masters: Arc::default(),
            idle: Arc::default(),
        }
    }

    /// The options in use.
    pub(crate) fn options(&self) -> &SshOptions {
        &self.opts
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.opts.program);
        c.args(self.opts.common_args());
        c.kill_on_drop(true);
        c
    }

    /// Make sure a master connection to `dest` is up. Started explicitly (`-M -N -f`) with its
    /// output in a file, because a master forked by a command would hold that command's pipes open.
    pub(crate) async fn connect(&self, dest: &str) -> Result<(), SshError> {
        let gate = {
            let mut m = self.masters.lock().unwrap_or_else(|e| e.into_inner());
            m.entry(dest.to_string()).or_default().clone()
        };
        let _one_at_a_time = gate.lock().await;
        if self.control(dest, &["check"]).await {
            return Ok(());
        }
        let log = self
            .opts
            .control_dir
            .join(format!("master-{:016x}.log", fnv(dest.as_bytes())));
        let err_file = std::fs::File::create(&log)
            .map_err(|e| SshError::Spawn(format!("{}: {e}", log.display())))?;
        let mut cmd = self.command();
        cmd.args(["-M", "-N", "-f", "-o", "ControlPersist=300", "--", dest])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err_file);
        let wait = self.opts.connect_timeout + Duration::from_secs(5);
        let status = match tokio::time::timeout(wait, cmd.status()).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err(SshError::Spawn(format!(
                    "{}: {e}",
                    self.opts.program.display()
                )));
            }
            Err(_) => {
                return Err(SshError::Timeout {
                    dest: dest.into(),
                    after: wait,
                });
            }
        };
        if status.success() {
            return Ok(());
        }
        let stderr = std::fs::read_to_string(&log).unwrap_or_default();
        let code = status.code().unwrap_or(SSH_FAILED);
        Err(
            classify(dest, SSH_FAILED, &stderr).unwrap_or(SshError::Connect {
                dest: dest.into(),
                message: format!("ssh exited {code}"),
            }),
        )
    }

    /// Run `command` (one shell command line) on `dest`, feeding `stdin` if given.
    pub(crate) async fn run(
        &self,
        dest: &str,
        command: &str,
        stdin: Option<Vec<u8>>,
    ) -> Result<Output, SshError> {
        let started = Instant::now();
        let limit = self.opts.command_timeout;
        let mut fresh = false;
        let mut session = match self.take_idle(dest) {
            Some(s) => s,
            None => {
                fresh = true;
                self.open_session(dest).await?
            }
        };
        let mut answer = session.run(command, stdin.as_deref(), limit).await;
        if !fresh && matches!(answer, Err(SessionError::NotSent(_))) {
            // An idle session that died unnoticed: the command never left, so one retry is safe.
            session = self.open_session(dest).await?;
            answer = session.run(command, stdin.as_deref(), limit).await;
        }
        match answer {
            Ok(a) => {
                self.give_back(dest, session);
                Ok(Output {
                    code: a.code,
                    stdout: a.stdout,
                    stderr: String::from_utf8_lossy(&a.stderr).into_owned(),
                    duration: started.elapsed(),
                })
            }
            Err(SessionError::BadInput) => self.run_once(dest, command, stdin).await,
            Err(SessionError::Timeout) => Err(SshError::Timeout {
                dest: dest.into(),
                after: limit,
            }),
            Err(SessionError::NotSent(m) | SessionError::Lost(m)) => {
                let said = session.leftover_stderr();
                Err(lost(dest, if said.trim().is_empty() { &m } else { &said }))
            }
        }
    }

    fn take_idle(&self, dest: &str) -> Option<Session> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(dest)?;
        while let Some(mut s) = list.pop() {
            if !s.is_gone() {
                return Some(s);
            }
        }
        None
    }

    fn give_back(&self, dest: &str, session: Session) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.entry(dest.to_string()).or_default();
        if list.len() < IDLE_PER_HOST {
            list.push(session);
        }
    }

    /// A new shell session over the master connection.
    async fn open_session(&self, dest: &str) -> Result<Session, SshError> {
        self.connect(dest).await?;
        let mut cmd = self.command();
        cmd.args(["-T", "-o", "ControlMaster=no", "--", dest, REMOTE_SHELL]);
        let wait = self.opts.connect_timeout + Duration::from_secs(5);
        match Session::start(cmd, wait).await {
            Ok(s) => Ok(s),
            Err(SessionError::Timeout) => Err(SshError::Timeout {
                dest: dest.into(),
                after: wait,
            }),
            Err(SessionError::NotSent(m)) => Err(SshError::Spawn(format!(
                "{}: {m}",
                self.opts.program.display()
            ))),
            Err(SessionError::Lost(m)) => Err(lost(dest, &m)),
            Err(SessionError::BadInput) => Err(SshError::Spawn("bad session input".into())),
        }
    }

    /// One ssh invocation for one command: for stdin that cannot travel in a session frame.
    async fn run_once(
        &self,
        dest: &str,
        command: &str,
        stdin: Option<Vec<u8>>,
    ) -> Result<Output, SshError> {
        self.connect(dest).await?;
        let started = Instant::now();
        let mut cmd = self.command();
        cmd.args(["-T", "-o", "ControlMaster=no", "--", dest, command])
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| SshError::Spawn(format!("{}: {e}", self.opts.program.display())))?;
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A host that stops reading must not block us: the timeout below covers it too.
            tokio::spawn(async move {
                let _ = pipe.write_all(&data).await;
                let _ = pipe.shutdown().await;
            });
        }
        let limit = self.opts.command_timeout;
        let out = match tokio::time::timeout(limit, child.wait_with_output()).await {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => return Err(SshError::Spawn(e.to_string())),
            Err(_) => {
                return Err(SshError::Timeout {
                    dest: dest.into(),
                    after: limit,
                });
            }
        };
        let code = out.status.code().unwrap_or(SSH_FAILED);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if let Some(e) = classify(dest, code, &stderr) {
            return Err(e);
        }
        Ok(Output {
            code,
            stdout: out.stdout,
            stderr,
            duration: started.elapsed(),
        })
    }

    /// Start a long-running `command` on `dest` (a log tail) with its stdout piped; stderr is
    /// dropped. The caller reads until EOF; dropping the child ends it.
    pub(crate) async fn stream(
        &self,
        dest: &str,
        command: &str,
    ) -> Result<tokio::process::Child, SshError> {
        self.connect(dest).await?;
        let mut cmd = self.command();
        cmd.args(["-T", "-o", "ControlMaster=no", "--", dest, command])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        cmd.spawn()
            .map_err(|e| SshError::Spawn(format!("{}: {e}", self.opts.program.display())))
    }

    /// Forward the private unix socket `local` to `remote` (`host:port` or a socket path) on
    /// `dest`, through its master connection. A stale socket file is replaced.
    pub(crate) async fn forward(
        &self,
        dest: &str,
        local: &Path,
        remote: &str,
    ) -> Result<(), SshError> {
        self.connect(dest).await?;
        let spec = format!("{}:{remote}", local.display());
        // A forward left by an earlier master, or a socket file without one, would refuse us.
        self.control(dest, &["cancel", "-L", &spec]).await;
        let _ = std::fs::remove_file(local);
        let out = self
            .command()
            .args(["-O", "forward", "-L", &spec, "--", dest])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(|e| SshError::Spawn(format!("{}: {e}", self.opts.program.display())))?;
        if out.status.success() {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&out.stderr);
        Err(SshError::Connect {
            dest: dest.into(),
            message: format!("forward to {remote} refused: {}", said.trim()),
        })
    }

    /// Where the forward of `what` (a color or a status page) on `dest` lives: in the private
    /// control directory, short enough for a unix socket path.
    pub(crate) fn forward_path(&self, dest: &str, what: &str) -> PathBuf {
        let tag = fnv(format!("{dest}\0{what}").as_bytes())
            ^ self
                .opts
                .config
                .as_ref()
                .map_or(0, |p| fnv(p.to_string_lossy().as_bytes()));
        self.opts
            .control_dir
            .join(format!("fwd-{tag:016x}-{}.sock", std::process::id()))
    }

    /// `ssh -O OP [ARGS] -- dest` to the master connection; true if it succeeded.
    async fn control(&self, dest: &str, op_and_args: &[&str]) -> bool {
        self.command()
            .arg("-O")
            .args(op_and_args)
            .args(["--", dest])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_key_failures_are_never_plain_connection_errors() {
        let changed = "@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@@@@@\nHost key verification failed.\n";
        assert!(matches!(
            classify("gw-a1", 255, changed),
            Some(SshError::HostKey { .. })
        ));
        let unknown = "No ED25519 host key is known for [127.0.1.2]:2222 and you have requested strict checking.\nHost key verification failed.\n";
        let e = classify("gw-a1", 255, unknown).unwrap();
        assert!(
            e.to_string().contains("host key verification failed"),
            "{e}"
        );
        let refused = "ssh: connect to host 127.0.1.2 port 2222: Connection refused\n";
        assert_eq!(
            classify("gw-a1", 255, refused),
            Some(SshError::Connect {
                dest: "gw-a1".into(),
                message: refused.trim().into()
            })
        );
        assert_eq!(classify("gw-a1", 1, "grep: no match\n"), None);
    }

    #[test]
    fn command_line_forces_strict_batch_mode_and_a_per_config_control_path() {
        let opts = |cfg: &str| SshOptions {
            program: "ssh".into(),
            config: Some(cfg.into()),
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(30),
            control_dir: "/tmp/cutover-ssh-0".into(),
        };
        let a: Vec<String> = opts("/lab/a/ssh_config")
            .common_args()
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        assert!(a.contains(&"StrictHostKeyChecking=yes".to_string()));
        assert!(a.contains(&"BatchMode=yes".to_string()));
        assert_eq!(&a[..2], ["-F", "/lab/a/ssh_config"]);
        let path = |o: SshOptions| {
            o.common_args()
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .find(|s| s.starts_with("ControlPath="))
                .unwrap()
        };
        assert_ne!(
            path(opts("/lab/a/ssh_config")),
            path(opts("/lab/b/ssh_config"))
        );
    }

    #[test]
    fn control_dir_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = control_dir().unwrap();
        let mode = std::fs::metadata(&d).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
    }
}
