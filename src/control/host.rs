//! One gateway host over SSH: read its weights, change them safely, run its color commands.

use super::script::{self, ApplyOut};
use crate::config::GatewayConfig;
use crate::model::{Color, Weights};
use crate::nginx::upstream::{self, Upstream};
use crate::remote::cksum::cksum_line;
use crate::remote::{Ssh, SshError};
use std::time::Duration;

/// One remote command as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommandRecord {
    /// What ran, in words an operator recognises (scripts are named, not pasted).
    pub cmd: String,
    /// Exit code, or `None` when it did not run to an exit (connection lost, timeout).
    pub exit: Option<i32>,
    /// Wall time in milliseconds, round trip included.
    pub ms: u64,
}

/// What a gateway's upstream file says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRead {
    /// The weights in force (read back from the file nginx loaded).
    pub weights: Weights,
    /// Who holds the gateway's lock, if anyone.
    pub lock: Option<String>,
    /// The file's bytes, for a compare-and-swap change.
    pub conf: Vec<u8>,
    /// Servers in the block other than blue and green (they get traffic too).
    pub other_servers: Vec<String>,
}

/// A gateway as the control code sees it: its configuration and the shared SSH runner.
#[derive(Debug, Clone)]
pub struct Host {
    /// Its configuration.
    pub cfg: GatewayConfig,
    ssh: Ssh,
    /// The last file read or written back: a change can start from it, saving a round trip,
    /// because the change script compares checksums and refuses if the file moved since.
    last: std::sync::Arc<std::sync::Mutex<Option<HostRead>>>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Host {
    /// A host reached through `ssh`.
    pub fn new(cfg: GatewayConfig, ssh: Ssh) -> Host {
        Host {
            cfg,
            ssh,
            last: Default::default(),
        }
    }

    /// The file as last seen by this process, if any.
    pub fn last_read(&self) -> Option<HostRead> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn remember(&self, r: Option<HostRead>) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = r;
    }

    fn parse(&self, bytes: &[u8]) -> Result<Upstream, String> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| format!("{}: not UTF-8 text", self.cfg.nginx_conf))?;
        Upstream::parse(
            text,
            &self.cfg.upstream,
            &self.cfg.blue.addr,
            &self.cfg.green.addr,
        )
        .map_err(|e| format!("{}: {e}", self.cfg.nginx_conf))
    }

    /// Read the upstream file and the lock.
    pub async fn read(&self, log: &mut Vec<CommandRecord>) -> Result<HostRead, String> {
        let out = self
            .ssh
            .run(&self.cfg.ssh, &script::read_command(&self.cfg), None)
            .await;
        let out = record(log, format!("cat {}", self.cfg.nginx_conf), out)?;
        if out.code != 0 {
            return Err(format!(
                "cannot read {}: {}",
                self.cfg.nginx_conf,
                crate::sanitize::sanitize(out.stderr.trim())
            ));
        }
        self.take_read(script::parse_read(&out.stdout)?)
    }

    /// Make sense of what a read (or the sampler's read section) printed, and remember it.
    pub fn take_read(&self, r: script::ReadOut) -> Result<HostRead, String> {
        let up = self.parse(&r.conf)?;
        let weights = up
            .weights()
            .map_err(|e| format!("{}: {e}", self.cfg.nginx_conf))?;
        let read = HostRead {
            weights,
            lock: r.lock,
            other_servers: up.other_servers().to_vec(),
            conf: r.conf,
        };
        self.remember(Some(read.clone()));
        Ok(read)
    }

    /// The SSH runner this host uses (the collectors share its connection).
    pub fn ssh(&self) -> &Ssh {
        &self.ssh
    }

    /// Change the weights to `to`, given the file as last read; returns the weights read back.
    pub async fn apply(
        &self,
        read: &HostRead,
        to: Weights,
        holder: &str,
        log: &mut Vec<CommandRecord>,
    ) -> Result<Weights, String> {
        let text = std::str::from_utf8(&read.conf)
            .map_err(|_| format!("{}: not UTF-8 text", self.cfg.nginx_conf))?;
        let new = upstream::rewrite(
            text,
            &self.cfg.upstream,
            &self.cfg.blue.addr,
            &self.cfg.green.addr,
            to,
        )
        .map_err(|e| format!("{}: {e}", self.cfg.nginx_conf))?;
        let cmd = script::apply_command(&self.cfg, &cksum_line(&read.conf), holder);
        let out = self
            .ssh
            .run(&self.cfg.ssh, &cmd, Some(new.into_bytes()))
            .await;
        let label = format!(
            "write {} ({to}), {} -t, {} -s reload",
            self.cfg.nginx_conf, self.cfg.nginx, self.cfg.nginx
        );
        let out = record(log, label, out)?;
        let clean = crate::sanitize::sanitize;
        match script::parse_apply(&out.stdout) {
            ApplyOut::Applied(bytes) => {
                let up = self.parse(&bytes)?;
                let weights = up
                    .weights()
                    .map_err(|e| format!("{}: {e}", self.cfg.nginx_conf))?;
                self.remember(Some(HostRead {
                    weights,
                    lock: None,
                    other_servers: up.other_servers().to_vec(),
                    conf: bytes,
                }));
                Ok(weights)
            }
            ApplyOut::Locked(h) => Err(format!("locked by {}", clean(&h))),
            ApplyOut::Changed => {
                self.remember(None);
                Err(format!(
                    "{} changed since it was read (another operator or a hand edit); nothing written, read again",
                    self.cfg.nginx_conf
                ))
            }
            ApplyOut::TestFailed(d) => Err(format!(
                "nginx -t failed, previous file restored, weights unchanged: {}",
                clean(&d)
            )),
            ApplyOut::ReloadFailed(d) => Err(format!(
                "reload did not take effect, previous file restored: {}",
                clean(&d)
            )),
            ApplyOut::NoNginx(d) => Err(format!("nginx is not running: {}", clean(&d))),
            ApplyOut::WriteFailed => Err(format!(
                "cannot write beside {}; nothing changed",
                self.cfg.nginx_conf
            )),
            ApplyOut::Unknown(d) => Err(format!(
                "unexpected answer (exit {}): {} {}",
                out.code,
                clean(&d),
                clean(out.stderr.trim())
            )),
        }
    }

    /// Run a color's configured stop, start or version command; stdout on success.
    pub async fn color_command(
        &self,
        c: Color,
        which: ColorCommand,
        log: &mut Vec<CommandRecord>,
    ) -> Result<String, String> {
        let cc = self.cfg.color(c);
        let command = match which {
            ColorCommand::Start => &cc.start,
            ColorCommand::Stop => &cc.stop,
            ColorCommand::Version => &cc.version,
        };
        let out = self
            .ssh
            .run(&self.cfg.ssh, &script::configured_command(command), None)
            .await;
        let out = record(log, command.clone(), out)?;
        if out.code != 0 {
            return Err(format!(
                "{} {} command exited {}: {}",
                c.name(),
                which.name(),
                out.code,
                crate::sanitize::sanitize(out.stderr.trim())
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Established connections to a color (`None` for unix-socket addresses, which are not counted).
    pub async fn connections(
        &self,
        c: Color,
        log: &mut Vec<CommandRecord>,
    ) -> Result<Option<u32>, String> {
        let Some((ip, port)) = self.cfg.color(c).tcp() else {
            return Ok(None);
        };
        let out = self
            .ssh
            .run(&self.cfg.ssh, &script::connections_command(ip, port), None)
            .await;
        let out = record(log, format!("count connections on :{port}"), out)?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| "cannot count connections: unexpected answer".to_string())
    }
}

impl Host {
    /// `nginx -t` on the host.
    pub async fn nginx_test(&self, log: &mut Vec<CommandRecord>) -> Result<(), String> {
        let out = self
            .ssh
            .run(
                &self.cfg.ssh,
                &script::nginx_test_command(&self.cfg.nginx),
                None,
            )
            .await;
        let out = record(log, format!("{} -t", self.cfg.nginx), out)?;
        if out.code != 0 {
            return Err(format!(
                "nginx -t failed: {}",
                crate::sanitize::sanitize(String::from_utf8_lossy(&out.stdout).trim())
            ));
        }
        Ok(())
    }

    /// The access log's newest line is in the documented JSON format (an empty log passes).
    pub async fn check_log_format(&self, log: &mut Vec<CommandRecord>) -> Result<(), String> {
        let out = self
            .ssh
            .run(
                &self.cfg.ssh,
                &script::log_tail_command(&self.cfg.access_log),
                None,
            )
            .await;
        let out = record(log, format!("tail -n 5 {}", self.cfg.access_log), out)?;
        if out.code != 0 {
            return Err(format!(
                "cannot read the access log {}: {}",
                self.cfg.access_log,
                crate::sanitize::sanitize(out.stderr.trim())
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(line) = text.lines().rev().find(|l| !l.trim().is_empty()) else {
            return Ok(());
        };
        crate::nginx::check_log_line(line).map_err(|e| {
            format!(
                "access log {}: {e} (see docs/nginx.md for the log_format)",
                self.cfg.access_log
            )
        })
    }

    /// A color listens on loopback only (a public or wildcard bind is a security alarm).
    pub async fn check_listener(
        &self,
        c: Color,
        log: &mut Vec<CommandRecord>,
    ) -> Result<(), String> {
        let Some(port) = self.cfg.color(c).tcp().map(|(_, p)| p) else {
            return Ok(());
        };
        let out = self
            .ssh
            .run(&self.cfg.ssh, &script::listeners_command(port), None)
            .await;
        let out = record(log, format!("listeners on :{port}"), out)?;
        let text = String::from_utf8_lossy(&out.stdout);
        let addrs: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if addrs.is_empty() {
            return Err(format!("{} is not listening on :{port}", c.name()));
        }
        let public: Vec<&str> = addrs
            .iter()
            .copied()
            .filter(|a| !crate::guard::listeners::is_loopback(a))
            .collect();
        if public.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} listens beyond loopback: {}",
                c.name(),
                crate::sanitize::sanitize(&public.join(", "))
            ))
        }
    }
}

/// Which configured color command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorCommand {
    /// Start the color.
    Start,
    /// Stop the color.
    Stop,
    /// Print its version.
    Version,
}

impl ColorCommand {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            ColorCommand::Start => "start",
            ColorCommand::Stop => "stop",
            ColorCommand::Version => "version",
        }
    }
}

/// Log a command's result and turn SSH failures into messages.
fn record(
    log: &mut Vec<CommandRecord>,
    cmd: String,
    out: Result<crate::remote::Output, SshError>,
) -> Result<crate::remote::Output, String> {
    match out {
        Ok(o) => {
            log.push(CommandRecord {
                cmd,
                exit: Some(o.code),
                ms: ms(o.duration),
            });
            Ok(o)
        }
        Err(e) => {
            log.push(CommandRecord {
                cmd,
                exit: None,
                ms: 0,
            });
            Err(e.to_string())
        }
    }
}
