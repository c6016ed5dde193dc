//! Execute planned operations on real hosts, each audited. The cockpit and the headless
//! commands both come here with the same `Op`s the planner makes.

use super::host::{ColorCommand, CommandRecord, Host, HostRead};
use crate::app::plan::{Op, OpKind, OpOutcome, Origin};
use crate::fleet::audit::{AuditLog, AuditRecord, now_rfc3339};
use crate::guard::drain::{self, DrainStatus};
use crate::model::{Color, Weights};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Who is acting, for locks and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The operator.
    pub name: String,
    /// The change ticket.
    pub ticket: Option<String>,
    /// Observers and trainees: every mutation is refused.
    pub read_only: bool,
}

impl Actor {
    /// The text written into a host's lock: who, which ticket, since when.
    pub(crate) fn lock_holder(&self) -> String {
        let mut s = self.name.clone();
        if let Some(t) = &self.ticket {
            s.push_str(&format!(" (ticket {t})"));
        }
        s.push_str(&format!(" since {}", now_rfc3339()));
        s
    }
}

/// Told of the operations an executor runs (the Grafana annotations of the export module).
/// Called on the operation's task: it must hand work off, never wait.
pub(crate) trait ExecHook: Send + Sync {
    /// `op` is about to run on `host` (its intent is being audited).
    fn starting(&self, _host: &Host, _op: &Op) {}
    /// `op` ran on `host`; `done.record` is in the audit log.
    fn executed(&self, host: &Host, op: &Op, done: &Executed);
}

/// The optional hook, shown by `Debug` only as present or not.
#[derive(Clone, Default)]
struct Hook(Option<Arc<dyn ExecHook>>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hook({})", if self.0.is_some() { "set" } else { "none" })
    }
}

/// Runs operations on the configured hosts.
#[derive(Debug, Clone)]
pub struct Executor {
    /// The hosts, indexed like the configuration's gateways.
    pub(crate) hosts: Arc<Vec<Host>>,
    audit: Arc<AuditLog>,
    actor: Actor,
    /// When each host's pid file was last seen to name the configured nginx's master.
    master_seen: Arc<std::sync::Mutex<Vec<Option<Instant>>>>,
    hook: Hook,
}

/// A pid file checked this recently is not checked again before a change.
const MASTER_CHECK_EVERY: Duration = Duration::from_secs(60);

/// The result of one operation: what the state machine hears and what the audit log got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    /// For `Msg::OpDone`.
    pub outcome: OpOutcome,
    /// How it ended (the record's `outcome`, for code that acts on it).
    pub(crate) status: OpStatus,
    /// The audit record (already appended).
    pub(crate) record: AuditRecord,
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpStatus {
    /// Done as asked.
    Ok,
    /// Nothing was written: a check before the change said no, or another holder has the lock.
    Refused,
    /// Tried and failed; the host was read again for what it holds.
    Failed,
    /// The change may still be running on the host, or may be half-applied.
    Unknown,
}

impl OpStatus {
    /// The word in the audit record's `outcome`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OpStatus::Ok => "ok",
            OpStatus::Refused => "refused",
            OpStatus::Failed => "failed",
            OpStatus::Unknown => "unknown",
        }
    }
}

/// Why an operation did not do what it asked; `Display` is the sentence shown and audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpError {
    /// Refused before anything was written (`refused: {why}`).
    Refused(String),
    /// Another holder has the gateway's lock, so nothing was written (`locked by {holder}`).
    Locked(String),
    /// Tried and failed, or the host could not be read.
    Failed(String),
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpError::Refused(why) => write!(f, "refused: {why}"),
            OpError::Locked(holder) => write!(f, "locked by {holder}"),
            OpError::Failed(why) => f.write_str(why),
        }
    }
}

fn action_name(kind: &OpKind) -> &'static str {
    match kind {
        OpKind::SetWeights { .. } => "step",
        OpKind::Rollback { .. } => "rollback",
        OpKind::Stop { .. } => "stop",
        OpKind::Start { .. } => "start",
        OpKind::Restart { .. } => "restart",
    }
}

impl Executor {
    /// An executor writing to `audit`.
    pub(crate) fn new(hosts: Vec<Host>, audit: AuditLog, actor: Actor) -> Executor {
        Executor {
            master_seen: Arc::new(std::sync::Mutex::new(vec![None; hosts.len()])),
            hosts: Arc::new(hosts),
            audit: Arc::new(audit),
            actor,
            hook: Hook::default(),
        }
    }

    /// Tell `hook` of every operation from now on (clones made later share it).
    pub(crate) fn set_hook(&mut self, hook: Arc<dyn ExecHook>) {
        self.hook = Hook(Some(hook));
    }

    /// The acting operator.
    pub(crate) fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Execute `op`; never panics, always audits. The audit log is a write-ahead log: an
    /// `intent` record is on disk before anything is sent to the host, and an `outcome`
    /// record follows; a run that dies between them leaves an intent that the next run
    /// reconciles (see `Executor::reconcile`).
    pub async fn execute(&self, op: &Op) -> Executed {
        let started = Instant::now();
        let mut commands = Vec::new();
        let host = &self.hosts[op.gateway];
        let id = format!(
            "{}-{}-{}",
            std::process::id(),
            op.id,
            crate::fleet::audit::now_rfc3339()
        );
        let intent = AuditRecord {
            stage: Some("intent".into()),
            outcome: "pending".into(),
            id: Some(id.clone()),
            pid: Some(std::process::id()),
            ..self.record(host, op, op.before, None, Vec::new(), 0)
        };
        let (target, result, before) = if self.actor.read_only {
            (None, Err(OpError::Refused("--read-only".into())), op.before)
        } else if let Err(e) = self.audit.append(&intent) {
            // No record of the intent, no change: the audit log must never miss one.
            (
                None,
                Err(OpError::Refused(format!("{e}; nothing sent"))),
                op.before,
            )
        } else {
            if let Some(h) = &self.hook.0 {
                h.starting(host, op);
            }
            self.run(host, op, &mut commands).await
        };
        let (after, error, status) = match result {
            Ok(w) => (w, None, OpStatus::Ok),
            // Nothing was written: the weights before still hold.
            Err(e @ (OpError::Refused(_) | OpError::Locked(_))) => {
                (before, Some(e.to_string()), OpStatus::Refused)
            }
            Err(OpError::Failed(e)) => {
                // Say what the host holds now, if it answers. A change whose command got no
                // answer (timeout, connection lost) may still be running there: while its
                // lock is held the weights are unknown, never the ones asked for.
                let interrupted = commands.last().is_some_and(|c| c.exit.is_none());
                match host.read(&mut commands).await {
                    Ok(r) => match (&r.lock, interrupted) {
                        (Some(holder), true) => (
                            None,
                            Some(format!(
                                "{e}; outcome unknown: the change may still be running on the host (lock held by {holder}); steps on this gateway wait until it ends and is read"
                            )),
                            OpStatus::Unknown,
                        ),
                        _ => (Some(r.weights), Some(e), OpStatus::Failed),
                    },
                    Err(read) => (
                        None,
                        Some(if interrupted {
                            format!(
                                "{e}; outcome unknown: the host did not answer a read afterwards ({read}); the change may be half-applied. Once the host answers, `cutover status` shows what it holds; a lock left behind ({conf}.cutover.lock) is broken after {mins} minutes, or remove it by hand once nginx is checked ({conf}.cutover.prev holds the file before the change)",
                                conf = host.cfg.nginx_conf,
                                mins = super::script::STALE_LOCK_MINUTES
                            )
                        } else {
                            format!("{e}; weights unknown: {read}")
                        }),
                        if interrupted {
                            OpStatus::Unknown
                        } else {
                            OpStatus::Failed
                        },
                    ),
                }
            }
        };
        let record = AuditRecord {
            after,
            target,
            outcome: status.as_str().into(),
            error: error.clone(),
            id: Some(id),
            stage: Some("outcome".into()),
            ..self.record(
                host,
                op,
                before,
                None,
                commands,
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            )
        };
        let error = match self.audit.append(&record) {
            Ok(()) => error,
            Err(e) => Some(error.map_or(e.clone(), |x| format!("{x}; {e}"))),
        };
        let done = Executed {
            outcome: OpOutcome {
                id: op.id,
                gateway: op.gateway,
                weights: after,
                error,
            },
            status,
            record,
        };
        if let Some(h) = &self.hook.0 {
            h.executed(host, op, &done);
        }
        done
    }

    /// The fields every record of `op` shares.
    fn record(
        &self,
        host: &Host,
        op: &Op,
        before: Option<Weights>,
        after: Option<Weights>,
        commands: Vec<CommandRecord>,
        duration_ms: u64,
    ) -> AuditRecord {
        AuditRecord {
            candidate: Some(op.candidate),
            time: now_rfc3339(),
            actor: self.actor.name.clone(),
            ticket: self.actor.ticket.clone(),
            host: host.cfg.name.clone(),
            action: action_name(&op.kind).into(),
            origin: match op.origin {
                Origin::Operator => "operator".into(),
                Origin::Guardrail => "guardrail".into(),
                Origin::Plan => "plan".into(),
            },
            before,
            after,
            target: match op.kind {
                OpKind::SetWeights { to } => Some(to),
                OpKind::Rollback { to } => Some(Weights::all_on(to)),
                OpKind::Stop { .. } | OpKind::Start { .. } | OpKind::Restart { .. } => None,
            },
            commands,
            duration_ms,
            outcome: String::new(),
            error: None,
            reason: op.reason.clone(),
            detail: None,
            id: None,
            stage: None,
            pid: None,
        }
    }

    /// Reconcile the audit log: every `intent` with no `outcome` (or an outcome that could
    /// not tell what the host holds), written by a process that is gone, gets a `reconciled`
    /// record saying what its host holds now. An intent whose host still holds the lock is left for a later run. Returns one
    /// line per record written or left, for the operator.
    pub(crate) async fn reconcile(&self) -> Vec<String> {
        let text = match std::fs::read_to_string(self.audit.path()) {
            Ok(t) => t,
            Err(_) => return Vec::new(),
        };
        let mut said = Vec::new();
        for intent in orphan_intents(&text, pid_alive) {
            let name = intent["host"].as_str().unwrap_or_default();
            let Some(host) = self.hosts.iter().find(|h| h.cfg.name == name) else {
                continue;
            };
            let mut log = Vec::new();
            let (after, detail, error) = match host.read(&mut log).await {
                Ok(r) if r.lock.is_some() => {
                    said.push(format!(
                        "{name}: an interrupted {} is still locked by {}; left for a later run",
                        intent["action"].as_str().unwrap_or("change"),
                        r.lock.as_deref().unwrap_or_default()
                    ));
                    continue;
                }
                Ok(r) => (
                    Some(r.weights),
                    format!(
                        "the process that wrote this intent (pid {}) ended before its outcome; the host holds {} now",
                        intent["pid"], r.weights
                    ),
                    None,
                ),
                Err(e) => (
                    None,
                    format!(
                        "the process that wrote this intent (pid {}) ended before its outcome; the host could not be read",
                        intent["pid"]
                    ),
                    Some(e),
                ),
            };
            let weights = |k: &str| serde_json::from_value::<Weights>(intent[k].clone()).ok();
            let rec = AuditRecord {
                candidate: None,
                time: now_rfc3339(),
                actor: self.actor.name.clone(),
                ticket: self.actor.ticket.clone(),
                host: name.to_string(),
                action: intent["action"].as_str().unwrap_or("step").to_string(),
                origin: intent["origin"].as_str().unwrap_or("operator").to_string(),
                before: weights("before"),
                after,
                target: weights("target"),
                commands: log,
                duration_ms: 0,
                outcome: "reconciled".into(),
                error,
                reason: None,
                detail: Some(detail.clone()),
                id: intent["id"].as_str().map(str::to_string),
                stage: Some("reconciled".into()),
                pid: None,
            };
            match self.audit.append(&rec) {
                Ok(()) => said.push(format!(
                    "{name}: reconciled an interrupted change: {detail}"
                )),
                Err(e) => said.push(format!("{name}: cannot reconcile: {e}")),
            }
        }
        said
    }

    /// Append a decision record (a veto, work abandoned by a forced quit): no remote command.
    pub(crate) fn note(&self, note: &crate::app::msg::AuditNote) -> Result<(), String> {
        let host = self
            .hosts
            .get(note.gateway)
            .map_or_else(|| format!("#{}", note.gateway), |h| h.cfg.name.clone());
        self.audit.append(&AuditRecord {
            candidate: None,
            time: now_rfc3339(),
            actor: self.actor.name.clone(),
            ticket: self.actor.ticket.clone(),
            host,
            action: note.action.into(),
            origin: "operator".into(),
            before: None,
            after: None,
            target: None,
            commands: Vec::new(),
            duration_ms: 0,
            outcome: "ok".into(),
            error: None,
            reason: note.reason.clone(),
            detail: Some(note.detail.clone()),
            id: None,
            stage: None,
            pid: None,
        })
    }

    /// The pid file names this gateway's nginx master (checked at most every minute).
    async fn check_master(
        &self,
        i: usize,
        host: &Host,
        log: &mut Vec<CommandRecord>,
    ) -> Result<(), String> {
        use super::master;
        let fresh = |seen: &[Option<Instant>]| {
            seen.get(i)
                .copied()
                .flatten()
                .is_some_and(|t| t.elapsed() < MASTER_CHECK_EVERY)
        };
        if fresh(&self.master_seen.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(());
        }
        let started = Instant::now();
        let out = host
            .ssh()
            .run(
                &host.cfg.ssh,
                &master::master_command(&host.cfg.nginx_pid),
                None,
            )
            .await;
        log.push(CommandRecord {
            cmd: format!("check the nginx master in {}", host.cfg.nginx_pid),
            exit: out.as_ref().ok().map(|o| o.code),
            ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        let out = out.map_err(|e| e.to_string())?;
        let m = master::parse_master(&String::from_utf8_lossy(&out.stdout))?;
        if let Some(why) = master::mismatch(&m, &host.cfg.nginx_pid, &host.cfg.nginx) {
            return Err(crate::sanitize::sanitize(&why));
        }
        if let Some(slot) = self
            .master_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(i)
        {
            *slot = Some(Instant::now());
        }
        Ok(())
    }

    /// Do the work: (target weights, weights read back or error, weights before).
    async fn run(
        &self,
        host: &Host,
        op: &Op,
        log: &mut Vec<CommandRecord>,
    ) -> (
        Option<Weights>,
        Result<Option<Weights>, OpError>,
        Option<Weights>,
    ) {
        let reloads = matches!(op.kind, OpKind::SetWeights { .. } | OpKind::Rollback { .. });
        if reloads {
            // A reload is judged by the workers of the master in the pid file: that master
            // must be this gateway's nginx, or the verdict would be about another one.
            if let Err(e) = self.check_master(op.gateway, host, log).await {
                return (
                    None,
                    Err(OpError::Refused(format!("{e}; nothing written"))),
                    op.before,
                );
            }
        }
        match &op.kind {
            OpKind::SetWeights { to } => {
                // Start from the file as last seen when it is what the plan was made from;
                // the change script's checksum compare refuses if the host moved since.
                let cached = host.last_read().filter(|r| Some(r.weights) == op.before);
                let read = match cached {
                    Some(r) => r,
                    None => match host.read(log).await {
                        Ok(r) => r,
                        Err(e) => return (Some(*to), Err(OpError::Failed(e)), None),
                    },
                };
                let before = Some(read.weights);
                // The plan was made from what the operator saw; if the host moved since (another
                // operator, a hand edit), applying the old plan would double or undo their change.
                if let Some(planned) = op.before.filter(|&b| b != read.weights) {
                    return (
                        Some(*to),
                        Err(OpError::Refused(format!(
                            "{} changed since it was read (planned from {planned}, now {}); nothing written",
                            host.cfg.nginx_conf, read.weights
                        ))),
                        before,
                    );
                }
                (
                    Some(*to),
                    self.set(host, &read, *to, log).await.map(Some),
                    before,
                )
            }
            OpKind::Rollback { to: stable } => {
                let stable = *stable;
                let to = Weights::all_on(stable);
                let read = match host.read(log).await {
                    Ok(r) => r,
                    Err(e) => return (Some(to), Err(OpError::Failed(e)), None),
                };
                let before = Some(read.weights);
                let cand = stable.other();
                let result = match self.set(host, &read, to, log).await {
                    Ok(w) => host
                        .color_command(cand, ColorCommand::Stop, log)
                        .await
                        .map(|_| Some(w))
                        .map_err(|e| {
                            OpError::Failed(format!(
                                "weights are {w}, but stopping {cand} failed: {e}"
                            ))
                        }),
                    Err(e) => Err(e),
                };
                (Some(to), result, before)
            }
            OpKind::Stop { color } => {
                // Stopping a color needs proof it carries nothing: a read that fails refuses.
                let read = match read_first(host, log, &format!("stopping {color}"), "not stopped")
                    .await
                {
                    Ok(r) => r,
                    Err(e) => return (None, Err(e), None),
                };
                let before = Some(read.weights);
                if let Some(w) = before.filter(|w| w.of(*color) != 0) {
                    return (
                        None,
                        Err(OpError::Refused(format!(
                            "{color} still carries traffic ({w}); not stopped"
                        ))),
                        before,
                    );
                }
                let result = host
                    .color_command(*color, ColorCommand::Stop, log)
                    .await
                    .map(|_| before)
                    .map_err(OpError::Failed);
                (None, result, before)
            }
            OpKind::Start { color } | OpKind::Restart { color } => {
                let color = *color;
                let restart = matches!(op.kind, OpKind::Restart { .. });
                let read = match read_first(host, log, &format!("starting {color}"), "nothing run")
                    .await
                {
                    Ok(r) => r,
                    Err(e) => return (None, Err(e), None),
                };
                let before = Some(read.weights);
                // A restart cuts the color's streams: only a color without traffic restarts.
                if let Some(w) = before.filter(|w| restart && w.of(color) != 0) {
                    return (
                        None,
                        Err(OpError::Refused(format!(
                            "{color} carries traffic ({w}); step it to 0 before a restart"
                        ))),
                        before,
                    );
                }
                if restart {
                    if let Err(e) = host.color_command(color, ColorCommand::Stop, log).await {
                        return (None, Err(OpError::Failed(e)), before);
                    }
                }
                if let Err(e) = host.color_command(color, ColorCommand::Start, log).await {
                    return (None, Err(OpError::Failed(e)), before);
                }
                let result = ready(host, color, log)
                    .await
                    .map(|()| before)
                    .map_err(OpError::Failed);
                (None, result, before)
            }
        }
    }

    async fn set(
        &self,
        host: &Host,
        read: &HostRead,
        to: Weights,
        log: &mut Vec<CommandRecord>,
    ) -> Result<Weights, OpError> {
        if read.weights == to {
            return Ok(to);
        }
        let w = host.apply(read, to, &self.actor.lock_holder(), log).await?;
        if w != to {
            return Err(OpError::Failed(format!(
                "read back {w} after asking for {to}"
            )));
        }
        Ok(w)
    }

    /// Wait until `color`'s established connections on gateway `i` reach 0 or `window` passes
    /// (or `cancel` is set), polling every `every`; returns how it ended.
    pub(crate) async fn wait_drained(
        &self,
        i: usize,
        color: Color,
        window: Duration,
        every: Duration,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> DrainStatus {
        let host = &self.hosts[i];
        let started = Instant::now();
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        loop {
            let mut log = Vec::new();
            let conns = host.connections(color, &mut log).await.ok().flatten();
            let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let status = drain::evaluate(0, elapsed, conns, window_ms);
            if status.done() || cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return status;
            }
            tokio::time::sleep(every).await;
        }
    }
}

/// The weights before an operation that must know them: a read that fails refuses it
/// ("cannot read the weights before {doing} (why); {so}").
async fn read_first(
    host: &Host,
    log: &mut Vec<CommandRecord>,
    doing: &str,
    so: &str,
) -> Result<HostRead, OpError> {
    host.read(log).await.map_err(|e| {
        OpError::Refused(format!(
            "cannot read the weights before {doing} ({e}); {so}"
        ))
    })
}

/// Longest wait for a started color to answer.
const READY_WAIT: Duration = Duration::from_secs(60);
/// Longest one readiness probe may take.
const READY_PROBE: Duration = Duration::from_secs(5);

/// Wait until `color` answers a TTFT probe (a first content token), through a forward of the
/// host's connection, or `READY_WAIT` passes: a started color is not ready until it streams.
async fn ready(host: &Host, color: Color, log: &mut Vec<CommandRecord>) -> Result<(), String> {
    use crate::fleet::probe::ttft::{Dial, probe_ttft};
    let remote = crate::fleet::collect::color_target(&host.cfg.color(color).addr);
    let local = host
        .ssh()
        .forward_path(&host.cfg.ssh, &format!("ready-{}", color.name()));
    let started = Instant::now();
    let mut forwarded = false;
    let mut last = String::from("no answer yet");
    while started.elapsed() < READY_WAIT {
        if !forwarded {
            forwarded = host
                .ssh()
                .forward(&host.cfg.ssh, &local, &remote)
                .await
                .is_ok();
        }
        if forwarded {
            match probe_ttft(&Dial::Unix(local.clone()), "localhost", READY_PROBE).await {
                Ok(r) => {
                    log.push(CommandRecord {
                        cmd: format!("readiness: TTFT probe to {color}"),
                        exit: Some(0),
                        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    });
                    tracing::info!(
                        target: "cutover::ops",
                        "{}: {color} answers (first token in {} ms)",
                        crate::sanitize::sanitize(&host.cfg.name),
                        r.ttft_ms
                    );
                    return Ok(());
                }
                Err(e) => last = e,
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(format!(
        "{color} started but gave no first token within {} s ({}): not ready, and it takes no traffic until its probes answer",
        READY_WAIT.as_secs(),
        crate::sanitize::sanitize(&last)
    ))
}

/// Intents in audit-log `text` that have no outcome or reconciled record and whose writer is
/// not alive (by `alive(pid)`), oldest first. Lines that are not JSON are skipped.
pub(crate) fn orphan_intents(text: &str, alive: impl Fn(u32) -> bool) -> Vec<serde_json::Value> {
    let mut intents: Vec<serde_json::Value> = Vec::new();
    let mut settled = std::collections::HashSet::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(id) = v["id"].as_str() else {
            continue;
        };
        match (v["stage"].as_str(), v["outcome"].as_str()) {
            (Some("intent"), _) => intents.push(v),
            // An outcome that could not tell what the host holds stays open until a later
            // run reads the host and reconciles it.
            (Some("outcome"), Some("unknown")) => {}
            (Some(_), _) => {
                settled.insert(id.to_string());
            }
            (None, _) => {}
        }
    }
    intents
        .into_iter()
        .filter(|v| !settled.contains(v["id"].as_str().unwrap_or_default()))
        .filter(|v| {
            v["pid"]
                .as_u64()
                .and_then(|p| u32::try_from(p).ok())
                .is_none_or(|p| !alive(p))
        })
        .collect()
}

/// True when process `pid` exists on this machine.
fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks for the process; it sends nothing.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_intent_without_an_outcome_from_a_dead_process_is_an_orphan() {
        let text = [
            r#"{"id":"1-1-t","stage":"intent","pid":11,"host":"gw-a1"}"#,
            r#"{"id":"1-1-t","stage":"outcome","host":"gw-a1"}"#,
            r#"{"id":"1-2-t","stage":"intent","pid":11,"host":"gw-b1"}"#,
            r#"{"id":"2-1-t","stage":"intent","pid":22,"host":"gw-c1"}"#,
            "torn {",
            r#"{"id":"1-3-t","stage":"intent","pid":11,"host":"gw-d1"}"#,
            r#"{"id":"1-3-t","stage":"reconciled","host":"gw-d1"}"#,
            r#"{"id":"1-4-t","stage":"intent","pid":11,"host":"gw-e1"}"#,
            r#"{"id":"1-4-t","stage":"outcome","outcome":"unknown","host":"gw-e1"}"#,
            r#"{"host":"gw-a1","action":"step"}"#,
        ]
        .join("\n");
        let orphans = orphan_intents(&text, |pid| pid == 22);
        let hosts: Vec<&str> = orphans.iter().filter_map(|v| v["host"].as_str()).collect();
        assert_eq!(
            hosts,
            ["gw-b1", "gw-e1"],
            "pid 22 is alive: its change may be in flight; an unknown outcome stays open"
        );
    }

    #[test]
    fn op_errors_and_statuses_keep_their_words() {
        let refused = OpError::Refused("--read-only".into());
        let locked = OpError::Locked("bob (ticket CHG-1) since 2026-01-01T00:00:00.000Z".into());
        // The words of a failure are shown as they are; nothing reads them back.
        let failed = OpError::Failed("refusedhost: cannot connect: timed out".into());
        assert_eq!(refused.to_string(), "refused: --read-only");
        assert_eq!(
            locked.to_string(),
            "locked by bob (ticket CHG-1) since 2026-01-01T00:00:00.000Z"
        );
        assert_eq!(failed.to_string(), "refusedhost: cannot connect: timed out");
        assert_eq!(
            [
                OpStatus::Ok,
                OpStatus::Refused,
                OpStatus::Failed,
                OpStatus::Unknown
            ]
            .map(OpStatus::as_str),
            ["ok", "refused", "failed", "unknown"]
        );
    }

    #[test]
    fn this_process_is_alive() {
        assert!(pid_alive(std::process::id()));
    }
}
