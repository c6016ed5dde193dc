//! Execute planned operations on real hosts, each audited. The cockpit and the headless
//! commands both come here with the same `Op`s the planner makes.

use super::host::{ColorCommand, CommandRecord, Host, HostRead};
use crate::app::plan::{Op, OpKind, OpOutcome, Origin};
use crate::audit::{AuditLog, AuditRecord, now_rfc3339};
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
    pub fn lock_holder(&self) -> String {
        let mut s = self.name.clone();
        if let Some(t) = &self.ticket {
            s.push_str(&format!(" (ticket {t})"));
        }
        s.push_str(&format!(" since {}", now_rfc3339()));
        s
    }
}

/// Runs operations on the configured hosts.
#[derive(Debug, Clone)]
pub struct Executor {
    /// The hosts, indexed like the configuration's gateways.
    pub hosts: Arc<Vec<Host>>,
    audit: Arc<AuditLog>,
    actor: Actor,
}

/// The result of one operation: what the state machine hears and what the audit log got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    /// For `Msg::OpDone`.
    pub outcome: OpOutcome,
    /// The audit record (already appended).
    pub record: AuditRecord,
}

fn action_name(kind: &OpKind) -> &'static str {
    match kind {
        OpKind::SetWeights { .. } => "step",
        OpKind::Rollback => "rollback",
        OpKind::Stop { .. } => "stop",
    }
}

impl Executor {
    /// An executor writing to `audit`.
    pub fn new(hosts: Vec<Host>, audit: AuditLog, actor: Actor) -> Executor {
        Executor {
            hosts: Arc::new(hosts),
            audit: Arc::new(audit),
            actor,
        }
    }

    /// The acting operator.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Execute `op`; never panics, always audits (a failed audit write is reported as the error).
    pub async fn execute(&self, op: &Op) -> Executed {
        let started = Instant::now();
        let mut commands = Vec::new();
        let host = &self.hosts[op.gateway];
        let (target, result, before) = if self.actor.read_only {
            (None, Err("refused: --read-only".to_string()), op.before)
        } else {
            self.run(host, op, &mut commands).await
        };
        let (after, error, outcome) = match result {
            Ok(w) => (w, None, "ok"),
            Err(e) => {
                // Leave each host in a known state: say what it holds now, if it still answers.
                let now = if e.starts_with("refused") {
                    before
                } else {
                    host.read(&mut commands).await.ok().map(|r| r.weights)
                };
                let kind = if e.starts_with("refused") || e.starts_with("locked by") {
                    "refused"
                } else {
                    "failed"
                };
                (now, Some(e), kind)
            }
        };
        let record = AuditRecord {
            time: now_rfc3339(),
            actor: self.actor.name.clone(),
            ticket: self.actor.ticket.clone(),
            host: host.cfg.name.clone(),
            action: action_name(&op.kind).into(),
            origin: match op.origin {
                Origin::Operator => "operator".into(),
                Origin::Guardrail => "guardrail".into(),
            },
            before,
            after,
            target,
            commands,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            outcome: outcome.into(),
            error: error.clone(),
            reason: op.reason.clone(),
            detail: None,
        };
        let error = match self.audit.append(&record) {
            Ok(()) => error,
            Err(e) => Some(error.map_or(e.clone(), |x| format!("{x}; {e}"))),
        };
        Executed {
            outcome: OpOutcome {
                id: op.id,
                gateway: op.gateway,
                weights: after,
                error,
            },
            record,
        }
    }

    /// Append a decision record (a veto, work abandoned by a forced quit): no remote command.
    pub fn note(&self, note: &crate::app::msg::AuditNote) -> Result<(), String> {
        let host = self
            .hosts
            .get(note.gateway)
            .map_or_else(|| format!("#{}", note.gateway), |h| h.cfg.name.clone());
        self.audit.append(&AuditRecord {
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
        })
    }

    /// Do the work: (target weights, weights read back or error, weights before).
    async fn run(
        &self,
        host: &Host,
        op: &Op,
        log: &mut Vec<CommandRecord>,
    ) -> (
        Option<Weights>,
        Result<Option<Weights>, String>,
        Option<Weights>,
    ) {
        match &op.kind {
            OpKind::SetWeights { to } => {
                // Start from the file as last seen when it is what the plan was made from;
                // the change script's checksum compare refuses if the host moved since.
                let cached = host.last_read().filter(|r| Some(r.weights) == op.before);
                let read = match cached {
                    Some(r) => r,
                    None => match host.read(log).await {
                        Ok(r) => r,
                        Err(e) => return (Some(*to), Err(e), None),
                    },
                };
                let before = Some(read.weights);
                // The plan was made from what the operator saw; if the host moved since (another
                // operator, a hand edit), applying the old plan would double or undo their change.
                if let Some(planned) = op.before.filter(|&b| b != read.weights) {
                    return (
                        Some(*to),
                        Err(format!(
                            "refused: {} changed since it was read (planned from {planned}, now {}); nothing written",
                            host.cfg.nginx_conf, read.weights
                        )),
                        before,
                    );
                }
                (
                    Some(*to),
                    self.set(host, &read, *to, log).await.map(Some),
                    before,
                )
            }
            OpKind::Rollback => {
                let read = match host.read(log).await {
                    Ok(r) => r,
                    Err(e) => return (Some(Weights::STEADY), Err(e), None),
                };
                let before = Some(read.weights);
                let to = Weights::STEADY;
                let result = match self.set(host, &read, to, log).await {
                    Ok(w) => host
                        .color_command(Color::Green, ColorCommand::Stop, log)
                        .await
                        .map(|_| Some(w))
                        .map_err(|e| format!("weights are {w}, but stopping green failed: {e}")),
                    Err(e) => Err(e),
                };
                (Some(to), result, before)
            }
            OpKind::Stop { color } => {
                let read = host.read(log).await.ok();
                let before = read.as_ref().map(|r| r.weights);
                if let Some(w) = before.filter(|w| w.of(*color) != 0) {
                    return (
                        None,
                        Err(format!(
                            "refused: {color} still carries traffic ({w}); not stopped"
                        )),
                        before,
                    );
                }
                let result = host
                    .color_command(*color, ColorCommand::Stop, log)
                    .await
                    .map(|_| before);
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
    ) -> Result<Weights, String> {
        if read.weights == to {
            return Ok(to);
        }
        let w = host.apply(read, to, &self.actor.lock_holder(), log).await?;
        if w != to {
            return Err(format!("read back {w} after asking for {to}"));
        }
        Ok(w)
    }

    /// Wait until `color`'s established connections on gateway `i` reach 0 or `window` passes,
    /// polling every `every`; returns how it ended.
    pub async fn wait_drained(
        &self,
        i: usize,
        color: Color,
        window: Duration,
        every: Duration,
    ) -> DrainStatus {
        let host = &self.hosts[i];
        let started = Instant::now();
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        loop {
            let mut log = Vec::new();
            let conns = host.connections(color, &mut log).await.ok().flatten();
            let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let status = drain::evaluate(0, elapsed, conns, window_ms);
            if status.done() {
                return status;
            }
            tokio::time::sleep(every).await;
        }
    }
}
