//! One gateway host over SSH: read its weights, change them safely, run its color commands.

use super::exec::OpError;
use super::script::{self, ApplyOut};
use crate::config::GatewayConfig;
use crate::fleet::remote::cksum::cksum_line;
use crate::fleet::remote::{Ssh, SshError};
use crate::model::{Color, Weights};
use crate::nginx::upstream::{self, LoadedReport, Upstream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an answer of `nginx -T` (the configuration nginx loads) is taken as current.
///
/// `nginx -T` parses the whole configuration, certificates included, which is slow on a big
/// host, so it never runs once per interval: it runs in a host's first read (`check`, every
/// headless command), before a change when the last answer is older than this (always when the
/// upstream block has includes: they are what it reads), and, from the sampler's reads, in the
/// background at most this often. In between, every read carries what it last said.
pub(crate) const LOADED_EVERY: Duration = Duration::from_secs(30);

pub(crate) use crate::fleet::audit::CommandRecord;

/// What a gateway's upstream file says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRead {
    /// The weights in force (read back from the file nginx loaded).
    pub weights: Weights,
    /// Who holds the gateway's lock, if anyone.
    pub(crate) lock: Option<String>,
    /// The file's bytes, for a compare-and-swap change.
    pub(crate) conf: Vec<u8>,
    /// Servers in the block other than blue and green (they get traffic too), including those
    /// that reach it through an `include`, as `ADDR (from FILE)`.
    pub(crate) other_servers: Vec<String>,
}

/// What `nginx -T` last said for a host, and when it was last asked.
#[derive(Debug, Default)]
struct LoadedCache {
    asked: Option<Instant>,
    report: Option<LoadedReport>,
    /// The dump itself (configuration files only), for the preflight lint: one reader.
    dump: Option<Arc<str>>,
}

/// A gateway as the control code sees it: its configuration and the shared SSH runner.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    /// Its configuration.
    pub(crate) cfg: GatewayConfig,
    ssh: Ssh,
    /// The last file read or written back: a change can start from it, saving a round trip,
    /// because the change script compares checksums and refuses if the file moved since.
    last: Arc<Mutex<Option<HostRead>>>,
    /// The loaded configuration as last seen (see [`LOADED_EVERY`]).
    loaded: Arc<Mutex<LoadedCache>>,
    /// Held while `nginx -T` runs: one at a time per host; a waiter uses its answer.
    loading: Arc<tokio::sync::Mutex<()>>,
    /// The lock holders this process wrote (the latest few): a sampler read taken while our
    /// own change held the lock arrives after the change ended, and must not read as
    /// someone else's lock.
    own_locks: Arc<Mutex<std::collections::VecDeque<String>>>,
}

/// Own lock holders remembered per host.
const OWN_LOCKS: usize = 16;

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Host {
    /// A host reached through `ssh`.
    pub(crate) fn new(cfg: GatewayConfig, ssh: Ssh) -> Host {
        Host {
            cfg,
            ssh,
            last: Default::default(),
            loaded: Default::default(),
            loading: Default::default(),
            own_locks: Default::default(),
        }
    }

    /// Whether `holder` is a lock this process took (and, as its changes end before the
    /// next one starts, has released).
    pub(crate) fn own_lock(&self, holder: &str) -> bool {
        self.own_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|h| h == holder)
    }

    /// The file as last seen by this process, if any.
    pub(crate) fn last_read(&self) -> Option<HostRead> {
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

    fn loaded_cache(&self) -> std::sync::MutexGuard<'_, LoadedCache> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `nginx -T` was asked less than `max_age` ago.
    fn loaded_within(&self, max_age: Duration) -> bool {
        self.loaded_cache()
            .asked
            .is_some_and(|t| t.elapsed() < max_age)
    }

    /// Ask nginx what it loads (`nginx -T`) unless it was asked less than `max_age` ago, and
    /// keep what that says about the configured file and its upstream's includes. `-T` reads
    /// the files on disk: what nginx loads at its next reload, which every change makes.
    pub(crate) async fn refresh_loaded(
        &self,
        max_age: Duration,
        log: &mut Vec<CommandRecord>,
    ) -> Result<(), String> {
        let _one = self.loading.lock().await;
        if self.loaded_within(max_age) {
            return Ok(());
        }
        self.loaded_cache().asked = Some(Instant::now());
        let nginx = &self.cfg.nginx;
        let out = self
            .ssh
            .run(&self.cfg.ssh, &script::loaded_command(&self.cfg), None)
            .await;
        let mut dump = None;
        let judged = record(log, format!("{nginx} -T"), out).and_then(|out| {
            let l = script::parse_loaded(&out.stdout)?;
            if l.rc != 0 {
                return Err(format!(
                    "{nginx} -T failed: {}",
                    crate::sanitize::sanitize(l.dump.trim())
                ));
            }
            let conf = &self.cfg.nginx_conf;
            let judged =
                upstream::judge_loaded(&l.dump, conf, &|p| l.is_conf(conf, p), &self.cfg.upstream);
            dump = Some(Arc::from(l.dump));
            judged
        });
        // A failed answer leaves nothing known: an old one may no longer hold.
        let mut cache = self.loaded_cache();
        cache.report = judged.as_ref().ok().cloned();
        cache.dump = dump.filter(|_| judged.is_ok());
        drop(cache);
        judged.map(|_| ())
    }

    /// The configuration nginx loads, as `nginx -T` last printed it (`None`: not asked yet, or
    /// it failed); [`Host::refresh_loaded`] asks.
    pub(crate) fn loaded_dump(&self) -> Option<Arc<str>> {
        self.loaded_cache().dump.clone()
    }

    /// Read the upstream file and the lock (and, when due, what nginx loads).
    pub(crate) async fn read(&self, log: &mut Vec<CommandRecord>) -> Result<HostRead, String> {
        // Its failure is not the read's: `nginx -t` in `check` and in a change says why.
        let _ = self.refresh_loaded(LOADED_EVERY, log).await;
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
    ///
    /// What `nginx -T` last said is folded in: a file nginx does not load is an error (its
    /// weights are not in force), servers that includes add are other servers. When that is
    /// older than [`LOADED_EVERY`], it is asked again in the background (the sampler's path).
    pub(crate) fn take_read(&self, r: script::ReadOut) -> Result<HostRead, String> {
        self.refresh_loaded_in_background();
        let up = self.parse(&r.conf)?;
        let report = self.loaded_cache().report.clone();
        if let Some(problem) = report.as_ref().and_then(|l| l.problem.as_ref()) {
            self.remember(None);
            return Err(problem.clone());
        }
        let weights = up
            .weights()
            .map_err(|e| format!("{}: {e}", self.cfg.nginx_conf))?;
        let read = HostRead {
            weights,
            lock: r.lock,
            other_servers: other_servers(&up, report.as_ref()),
            conf: r.conf,
        };
        self.remember(Some(read.clone()));
        Ok(read)
    }

    /// Start [`Host::refresh_loaded`] on the current runtime when due and none is running.
    fn refresh_loaded_in_background(&self) {
        if self.loaded_within(LOADED_EVERY) || self.loading.try_lock().is_err() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let host = self.clone();
            rt.spawn(async move {
                let _ = host.refresh_loaded(LOADED_EVERY, &mut Vec::new()).await;
            });
        }
    }

    /// The SSH runner this host uses (the collectors share its connection).
    pub(crate) fn ssh(&self) -> &Ssh {
        &self.ssh
    }

    /// Change the weights to `to`, given the file as last read; returns the weights read back.
    pub(crate) async fn apply(
        &self,
        read: &HostRead,
        to: Weights,
        holder: &str,
        log: &mut Vec<CommandRecord>,
    ) -> Result<Weights, OpError> {
        let text = std::str::from_utf8(&read.conf)
            .map_err(|_| OpError::Failed(format!("{}: not UTF-8 text", self.cfg.nginx_conf)))?;
        self.refuse_unless_loaded(text, log).await?;
        {
            let mut own = self.own_locks.lock().unwrap_or_else(|e| e.into_inner());
            if own.len() == OWN_LOCKS {
                own.pop_front();
            }
            own.push_back(holder.to_string());
        }
        let new = upstream::rewrite(
            text,
            &self.cfg.upstream,
            &self.cfg.blue.addr,
            &self.cfg.green.addr,
            to,
        )
        .map_err(|e| OpError::Failed(format!("{}: {e}", self.cfg.nginx_conf)))?;
        let cmd = script::apply_command(&self.cfg, &cksum_line(&read.conf), holder);
        let out = self
            .ssh
            .run(&self.cfg.ssh, &cmd, Some(new.into_bytes()))
            .await;
        let label = format!(
            "write {} ({to}), {} -t, {} -s reload",
            self.cfg.nginx_conf, self.cfg.nginx, self.cfg.nginx
        );
        let out = record(log, label, out).map_err(OpError::Failed)?;
        let clean = crate::sanitize::sanitize;
        let failed = |why: String| Err(OpError::Failed(why));
        match script::parse_apply(&out.stdout) {
            ApplyOut::Applied(bytes) => {
                let up = self.parse(&bytes).map_err(OpError::Failed)?;
                let weights = up
                    .weights()
                    .map_err(|e| OpError::Failed(format!("{}: {e}", self.cfg.nginx_conf)))?;
                self.remember(Some(HostRead {
                    weights,
                    lock: None,
                    other_servers: up.other_servers().to_vec(),
                    conf: bytes,
                }));
                Ok(weights)
            }
            ApplyOut::Locked(h) => Err(OpError::Locked(clean(&h))),
            // A failure, not a refusal: the file is read again for what it holds now.
            ApplyOut::Changed => {
                self.remember(None);
                failed(format!(
                    "{} changed since it was read (another operator or a hand edit); nothing written, read again",
                    self.cfg.nginx_conf
                ))
            }
            ApplyOut::TestFailed(d) => failed(format!(
                "nginx -t failed, previous file restored, weights unchanged: {}",
                clean(&d)
            )),
            ApplyOut::ReloadFailed(d) => failed(format!(
                "reload did not take effect, previous file restored: {}",
                clean(&d)
            )),
            ApplyOut::NoNginx(d) => failed(format!("nginx is not running: {}", clean(&d))),
            ApplyOut::Unresolved(d) => failed(format!(
                "cannot follow the symbolic link {}: {}; nothing changed",
                self.cfg.nginx_conf,
                clean(&d)
            )),
            ApplyOut::WriteFailed => failed(format!(
                "cannot write beside {}; nothing changed",
                self.cfg.nginx_conf
            )),
            ApplyOut::Unknown(d) => failed(format!(
                "unexpected answer (exit {}): {} {}",
                out.code,
                clean(&d),
                clean(out.stderr.trim())
            )),
        }
    }

    /// Refuse a change whose weights would not be the traffic split: the file is not what
    /// nginx loads, or includes add servers to the upstream that the file does not show.
    async fn refuse_unless_loaded(
        &self,
        text: &str,
        log: &mut Vec<CommandRecord>,
    ) -> Result<(), OpError> {
        let up = self.parse(text.as_bytes()).map_err(OpError::Failed)?;
        // Includes are read fresh: what they add is exactly what this file cannot show.
        let max_age = if up.includes().is_empty() {
            LOADED_EVERY
        } else {
            Duration::ZERO
        };
        let asked = self.refresh_loaded(max_age, log).await;
        let report = self.loaded_cache().report.clone();
        let conf = &self.cfg.nginx_conf;
        if let Some(problem) = report.as_ref().and_then(|l| l.problem.as_ref()) {
            self.remember(None);
            return Err(OpError::Refused(format!("{problem}; nothing written")));
        }
        let name = &self.cfg.upstream;
        if let Some(inc) = up.includes().iter().find(|inc| {
            report
                .as_ref()
                .is_none_or(|l| !l.via_include.iter().any(|(a, _)| a == *inc))
        }) {
            return Err(OpError::Refused(format!(
                "upstream {name} in {conf} has \"include {}\" and what it adds is unknown ({}); nothing written",
                crate::sanitize::sanitize(inc),
                asked
                    .err()
                    .unwrap_or_else(|| "nginx -T did not read it".into())
            )));
        }
        let hidden: Vec<&String> = report
            .iter()
            .flat_map(|l| &l.via_include)
            .filter(|(inc, _)| up.includes().contains(inc))
            .flat_map(|(_, servers)| servers)
            .collect();
        if hidden.is_empty() {
            return Ok(());
        }
        Err(OpError::Refused(format!(
            "upstream {name} has other servers from includes in {conf}: {}; they take traffic too, so the weights written would not be the split (move them into the file or out of the upstream); nothing written",
            hidden
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// Run a color's configured stop or version command; stdout on success.
    pub(crate) async fn color_command(
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

    /// Established connections to a color: on its TCP address, or accepted on its unix socket
    /// (`ss -x`); `None` when the address is neither.
    pub(crate) async fn connections(
        &self,
        c: Color,
        log: &mut Vec<CommandRecord>,
    ) -> Result<Option<u32>, String> {
        let (cmd, label) = match self.cfg.color(c).tcp() {
            Some((ip, port)) => (
                script::connections_command(ip, port),
                format!("count connections on :{port}"),
            ),
            None => match self.cfg.color(c).addr.strip_prefix("unix:") {
                Some(path) => (
                    script::unix_connections_command(path),
                    format!("count connections on unix:{path}"),
                ),
                None => return Ok(None),
            },
        };
        let out = self.ssh.run(&self.cfg.ssh, &cmd, None).await;
        let out = record(log, label, out)?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| "cannot count connections: unexpected answer".to_string())
    }
}

impl Host {
    /// `nginx -t` on the host.
    pub(crate) async fn nginx_test(&self, log: &mut Vec<CommandRecord>) -> Result<(), String> {
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
    pub(crate) async fn check_log_format(
        &self,
        log: &mut Vec<CommandRecord>,
    ) -> Result<LogFormat, String> {
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
            return Ok(LogFormat::Empty);
        };
        crate::nginx::check_log_line(line)
            .map(|()| LogFormat::Good)
            .map_err(|e| {
                format!(
                    "access log {}: {e} (see docs/nginx.md for the log_format)",
                    self.cfg.access_log
                )
            })
    }
}

/// The block's other servers: those written in it, and those its includes add as nginx loads
/// them (`report`), or, before nginx was asked, a note per include that it may add some.
fn other_servers(up: &Upstream, report: Option<&LoadedReport>) -> Vec<String> {
    let mut out = up.other_servers().to_vec();
    for inc in up.includes() {
        match report.and_then(|l| l.via_include.iter().find(|(a, _)| a == inc)) {
            Some((_, servers)) => out.extend(servers.iter().cloned()),
            None => out.push(format!("servers of \"include {inc}\" (not read yet)")),
        }
    }
    out
}

/// What the access log's newest line says of its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// The newest line is in the cutover format.
    Good,
    /// The log has no line yet: nothing to judge.
    Empty,
}

/// Which configured color command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColorCommand {
    /// Start the color.
    Start,
    /// Stop the color.
    Stop,
    /// Print its version.
    Version,
}

impl ColorCommand {
    /// Lowercase name.
    pub(crate) fn name(self) -> &'static str {
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
    out: Result<crate::fleet::remote::Output, SshError>,
) -> Result<crate::fleet::remote::Output, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_from_includes_are_other_servers() {
        let src = "upstream gateway {\n server 127.0.0.1:8787;\n server 127.0.0.1:8788;\n server 10.0.0.9:1;\n include extra.inc;\n include empty.inc;\n}\n";
        let up = Upstream::parse(src, "gateway", "127.0.0.1:8787", "127.0.0.1:8788").unwrap();
        assert_eq!(
            other_servers(&up, None),
            [
                "10.0.0.9:1",
                "servers of \"include extra.inc\" (not read yet)",
                "servers of \"include empty.inc\" (not read yet)"
            ]
        );
        let report = LoadedReport {
            problem: None,
            via_include: vec![
                (
                    "extra.inc".into(),
                    vec!["127.0.0.1:8787 (from /x/extra.inc)".into()],
                ),
                ("empty.inc".into(), vec![]),
            ],
        };
        assert_eq!(
            other_servers(&up, Some(&report)),
            ["10.0.0.9:1", "127.0.0.1:8787 (from /x/extra.inc)"]
        );
    }
}
