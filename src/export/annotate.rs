//! Grafana annotations: one at every nginx reload cutover performs (a step, a rollback, the
//! weight change of a drain) and at every stop of a color, posted to `/api/annotations`.
//!
//! Delivery never blocks or delays an operation: the executor's hook only queues an event;
//! one worker task posts them in order, retrying with backoff (1 s, 2 s, 4 s). After
//! [`MAX_ATTEMPTS`] failures in a row Grafana is taken as down: everything queued goes to the
//! spool beside the audit log (`spool.rs`), counted in `cutover_annotations_failed_total`,
//! and the spool is tried again every [`RESPOOL_EVERY`] and by the next process that starts.
//! At exit, what is left is tried once more within the exit budget and spooled otherwise.
//! Nothing is dropped silently.
//!
//! The token goes only into the `Authorization` header; it is registered with the redactor
//! when the configuration loads, so no error text can carry it either.

use super::Shared;
use super::spool::{self, Claim};
use crate::app::plan::{Op, OpKind, Origin};
use crate::config::export::Secret;
use crate::fleet::control::host::ColorCommand;
use crate::fleet::control::{ExecHook, Executed, Host, OpStatus};
use crate::model::{Color, Weights};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Failures in a row after which Grafana is taken as down and the queue is spooled.
pub(crate) const MAX_ATTEMPTS: u32 = 4;
/// How often a process tries the spool again while Grafana is down.
pub(crate) const RESPOOL_EVERY: Duration = Duration::from_secs(30);
/// Longest wait for one POST.
const POST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for green's version command before an annotation goes without it.
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

/// One annotation, as spooled. `id` is ours (spool bookkeeping) and is never sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Annotation {
    /// Unique per annotation: process, time and sequence.
    pub(crate) id: String,
    /// When the reload or stop happened, ms since the epoch.
    pub(crate) time: i64,
    /// `cutover`, the gateway, its AZ, the action and the ticket when set.
    pub(crate) tags: Vec<String>,
    /// What happened, e.g. `gw-a1 90/10 -> 80/20 by alice (CHG-7); green 8d41e07`.
    pub(crate) text: String,
}

/// The body of `POST /api/annotations` (Grafana's HTTP API).
#[derive(Debug, Serialize)]
struct Body<'a> {
    #[serde(rename = "dashboardUID", skip_serializing_if = "Option::is_none")]
    dashboard_uid: Option<&'a str>,
    time: i64,
    tags: &'a [String],
    text: &'a str,
}

/// Where annotations go.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Grafana's base URL.
    pub(crate) url: String,
    /// The service-account token.
    pub(crate) token: Secret,
    /// The dashboard, if any.
    pub(crate) dashboard_uid: Option<String>,
    /// The spool file.
    pub(crate) spool: PathBuf,
}

impl Target {
    /// From `[export]`, or `None` when annotations are not configured. The spool goes beside
    /// the audit log.
    pub(crate) fn from_config(config: &crate::config::Config) -> Option<Target> {
        let e = &config.export;
        let (url, token) = (e.grafana_url.clone()?, e.grafana_token.clone()?);
        Some(Target {
            url,
            token,
            dashboard_uid: e.grafana_dashboard_uid.clone(),
            spool: spool_path(&config.audit_log_path()),
        })
    }
}

/// The spool beside the audit log at `audit`.
pub(crate) fn spool_path(audit: &std::path::Path) -> PathBuf {
    audit.with_file_name("cutover-annotations.spool.jsonl")
}

/// How the worker tells the operator what went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reporter {
    /// Through `tracing` (the cockpit's log panel, `watch`'s stderr).
    Tracing,
    /// Straight to stderr (the headless commands, which have no log).
    Stderr,
}

impl Reporter {
    // Redacted here too: the log panel is on the operator's screen, and an error may echo
    // what Grafana (or a proxy) sent back.
    fn warn(self, text: &str) {
        match self {
            Reporter::Tracing => {
                tracing::warn!(target: "cutover::export", "{}", crate::redact::redact(text))
            }
            Reporter::Stderr => eprintln!(
                "cutover: {}",
                crate::redact::redact(&crate::sanitize::sanitize(text))
            ),
        }
    }

    fn info(self, text: &str) {
        match self {
            Reporter::Tracing => {
                tracing::info!(target: "cutover::export", "{}", crate::redact::redact(text))
            }
            Reporter::Stderr => eprintln!(
                "cutover: {}",
                crate::redact::redact(&crate::sanitize::sanitize(text))
            ),
        }
    }
}

/// An operation that reloaded nginx or stopped a color, as the hook saw it.
#[derive(Debug, Clone)]
struct Event {
    host: Host,
    time: i64,
    action: String,
    guardrail: bool,
    before: Option<Weights>,
    after: Option<Weights>,
    stopped: Option<Color>,
    actor: String,
    ticket: Option<String>,
}

enum Job {
    /// Learn green's version of this host now, before an operation may stop it.
    Prefetch(Box<Host>),
    /// An operation to annotate.
    Event(Box<Event>),
    /// Send or spool everything by `deadline`, then stop.
    Finish {
        deadline: Instant,
        done: oneshot::Sender<Outcome>,
    },
}

/// What the worker did with the annotations it had at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Delivered during the run.
    pub(crate) sent: u64,
    /// Left in the spool for a later process.
    pub(crate) spooled: u64,
}

/// The annotation queue: a handle to its worker task.
pub(crate) struct Annotator {
    tx: mpsc::UnboundedSender<Job>,
    worker: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl Annotator {
    /// Start the worker on the current tokio runtime. It first takes over what earlier
    /// processes spooled.
    pub(crate) fn start(target: Target, shared: Arc<Shared>, report: Reporter) -> Annotator {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = client(&target.url);
        let worker = Worker {
            target,
            client,
            shared: shared.clone(),
            report,
            queue: VecDeque::new(),
            claims: HashMap::new(),
            claim_seq: 0,
            streak: 0,
            retry_at: None,
            reclaim_at: Some(Instant::now()),
            versions: HashMap::new(),
        };
        let worker = tokio::spawn(worker.run(rx));
        Annotator { tx, worker, shared }
    }

    /// The hook to give the executor (`Executor::set_hook`).
    pub(crate) fn hook(&self) -> Arc<dyn ExecHook> {
        Arc::new(Hook {
            tx: self.tx.clone(),
            shared: self.shared.clone(),
        })
    }

    /// Deliver or spool everything queued within `within`, then stop the worker.
    pub(crate) async fn finish(self, within: Duration) -> Outcome {
        let (done, got) = oneshot::channel();
        let deadline = Instant::now() + within;
        if self.tx.send(Job::Finish { deadline, done }).is_err() {
            return Outcome::default();
        }
        // The worker keeps to the deadline; the margin covers a spool write.
        let out = tokio::time::timeout(within + Duration::from_secs(2), got)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let _ = self.worker.await;
        out
    }
}

/// An HTTP client for a receiver at `url` (Grafana, a digest webhook): the environment's
/// proxy for a remote one, none for a local one.
pub(crate) fn client(url: &str) -> Option<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let authority = url
        .split_once("://")
        .map_or("", |(_, r)| r.split('/').next().unwrap_or(""));
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    let local = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let b = reqwest::Client::builder().timeout(POST_TIMEOUT);
    let b = if local { b.no_proxy() } else { b };
    b.build().ok()
}

/// The executor's hook: queues, never waits.
struct Hook {
    tx: mpsc::UnboundedSender<Job>,
    shared: Arc<Shared>,
}

impl ExecHook for Hook {
    fn starting(&self, host: &Host, _op: &Op) {
        if self.shared.version(&host.cfg.name).is_none() {
            let _ = self.tx.send(Job::Prefetch(Box::new(host.clone())));
        }
    }

    fn executed(&self, host: &Host, op: &Op, done: &Executed) {
        let r = &done.record;
        if done.status != OpStatus::Ok {
            return;
        }
        let stopped = match op.kind {
            OpKind::Stop { color } => Some(color),
            OpKind::Rollback { to } => Some(to.other()),
            // A start changes no weight: it is the stop of nothing; not annotated.
            OpKind::SetWeights { .. } | OpKind::Start { .. } | OpKind::Restart { .. } => None,
        };
        let reloaded = r.before.is_some() && r.after.is_some() && r.before != r.after;
        if !reloaded && stopped.is_none() {
            return;
        }
        let event = Event {
            host: host.clone(),
            time: now_ms(),
            action: r.action.clone(),
            guardrail: op.origin == Origin::Guardrail,
            before: r.before,
            after: r.after,
            stopped,
            actor: r.actor.clone(),
            ticket: r.ticket.clone(),
        };
        let _ = self.tx.send(Job::Event(Box::new(event)));
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The annotation of `e`, with green's version when known. Sanitized and redacted: it
/// leaves for another system.
fn annotation(e: &Event, version: Option<&str>, id: String) -> Annotation {
    let name = &e.host.cfg.name;
    let who = match (&e.ticket, e.guardrail) {
        (Some(t), false) => format!("by {} ({t})", e.actor),
        (None, false) => format!("by {}", e.actor),
        (Some(t), true) => format!("by a guardrail (session of {}, {t})", e.actor),
        (None, true) => format!("by a guardrail (session of {})", e.actor),
    };
    let w = |w: Option<Weights>| w.map_or("?".to_string(), |w| w.to_string());
    let what = match (e.stopped, e.before != e.after) {
        (None, _) => format!("{name} {} -> {}", w(e.before), w(e.after)),
        (Some(c), true) => format!("{name} {} -> {}, {c} stopped", w(e.before), w(e.after)),
        (Some(c), false) => format!("{name} {c} stopped at {}", w(e.after)),
    };
    let green = version.map_or("green version unknown".to_string(), |v| {
        format!("green {v}")
    });
    let text = format!("{what} {who}; {green}");
    let mut tags = vec![
        "cutover".to_string(),
        name.clone(),
        e.host.cfg.az.clone(),
        e.action.clone(),
    ];
    if let Some(t) = &e.ticket {
        tags.push(t.clone());
    }
    let clean = |s: &str| crate::redact::redact(&crate::sanitize::sanitize(s)).into_owned();
    Annotation {
        id,
        time: e.time,
        tags: tags.iter().map(|t| clean(t)).collect(),
        text: clean(&text),
    }
}

/// One queued annotation and the claim file it came from, if it came from the spool.
#[derive(Debug)]
struct Item {
    ann: Annotation,
    claim: Option<u64>,
}

/// A claimed spool file and the annotations of it not yet delivered or spooled again.
struct Held {
    claim: Claim,
    left: Vec<Annotation>,
}

struct Worker {
    target: Target,
    client: Option<reqwest::Client>,
    shared: Arc<Shared>,
    report: Reporter,
    queue: VecDeque<Item>,
    /// Claims with annotations not yet delivered or spooled again, by number.
    claims: HashMap<u64, Held>,
    claim_seq: u64,
    /// Failures in a row.
    streak: u32,
    retry_at: Option<Instant>,
    /// When to take the spool again (at start, then while Grafana is down).
    reclaim_at: Option<Instant>,
    /// Version commands under way, by gateway.
    versions: HashMap<String, JoinHandle<()>>,
}

impl Worker {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Job>) {
        let mut seq = 0u64;
        loop {
            let due = self.next_due();
            let sleep = async {
                match due {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                job = rx.recv() => match job {
                    Some(Job::Prefetch(host)) => self.prefetch(*host),
                    Some(Job::Event(e)) => {
                        seq += 1;
                        let id = format!("{}-{}-{seq}", std::process::id(), e.time);
                        let version = self.version_of(&e.host).await;
                        let ann = annotation(&e, version.as_deref(), id);
                        self.queue.push_back(Item { ann, claim: None });
                        if self.retry_at.is_none() {
                            self.retry_at = Some(Instant::now());
                        }
                    }
                    Some(Job::Finish { deadline, done }) => {
                        let out = self.finish(deadline).await;
                        let _ = done.send(out);
                        return;
                    }
                    None => {
                        // Every handle is gone without a finish: spool what is left.
                        self.finish(Instant::now()).await;
                        return;
                    }
                },
                () = sleep => {
                    if self.queue.is_empty() {
                        self.reclaim();
                    } else {
                        self.try_head().await;
                    }
                }
            }
        }
    }

    /// When the worker has something to do without a new job.
    fn next_due(&self) -> Option<Instant> {
        if self.queue.is_empty() {
            self.reclaim_at
        } else {
            self.retry_at
        }
    }

    fn prefetch(&mut self, host: Host) {
        let name = host.cfg.name.clone();
        if self.versions.get(&name).is_some_and(|h| !h.is_finished()) {
            return;
        }
        let shared = self.shared.clone();
        let task = tokio::spawn(async move {
            let mut log = Vec::new();
            let ask = host.color_command(Color::Green, ColorCommand::Version, &mut log);
            if let Ok(Ok(v)) = tokio::time::timeout(VERSION_TIMEOUT, ask).await {
                let v = crate::sanitize::sanitize(v.lines().next().unwrap_or("").trim());
                if !v.is_empty() {
                    shared.set_version(&host.cfg.name, &v);
                }
            }
        });
        self.versions.insert(name, task);
    }

    /// Green's version on `host`: known, or asked now (a stopped green has none).
    async fn version_of(&mut self, host: &Host) -> Option<String> {
        let name = &host.cfg.name;
        if let Some(v) = self.shared.version(name) {
            return Some(v);
        }
        if !self.versions.contains_key(name) {
            self.prefetch(host.clone());
        }
        if let Some(task) = self.versions.remove(name) {
            let _ = tokio::time::timeout(VERSION_TIMEOUT, task).await;
        }
        self.shared.version(name)
    }

    /// Take over the spool (and claims orphaned by dead processes) into the queue.
    fn reclaim(&mut self) {
        self.reclaim_at = None;
        let mut got = Vec::new();
        if self.claim_seq == 0 {
            got = spool::adopt_orphans(&self.target.spool, 1_000_000);
        }
        match spool::claim(&self.target.spool, self.claim_seq) {
            Ok(Some(c)) => got.push(c),
            Ok(None) => {}
            Err(e) => self.report.warn(&format!("annotations: {e}")),
        }
        self.claim_seq += 1;
        for claim in got {
            let (anns, bad) = match claim.read() {
                Ok(x) => x,
                Err(e) => {
                    self.report.warn(&format!("annotations: {e}"));
                    continue;
                }
            };
            if bad > 0 {
                // Kept aside under a name no process claims, for a human to look at.
                let mut keep = claim.path.clone().into_os_string();
                keep.push(".unreadable");
                let keep = PathBuf::from(keep);
                let kept = std::fs::copy(&claim.path, &keep).is_ok();
                self.report.warn(&format!(
                    "annotations: {bad} unreadable lines in the spool (a write cut short){}",
                    if kept {
                        format!("; the file is kept as {}", keep.display())
                    } else {
                        String::new()
                    }
                ));
            }
            if anns.is_empty() {
                let _ = claim.rewrite(&[]);
                continue;
            }
            self.report.info(&format!(
                "annotations: sending {} spooled earlier (from {})",
                anns.len(),
                self.target.spool.display()
            ));
            let k = self.claim_seq;
            self.claim_seq += 1;
            for a in &anns {
                self.queue.push_back(Item {
                    ann: a.clone(),
                    claim: Some(k),
                });
            }
            self.claims.insert(k, Held { claim, left: anns });
        }
        if !self.queue.is_empty() {
            self.retry_at = Some(Instant::now());
        }
    }

    /// POST one annotation.
    async fn post(&self, a: &Annotation, timeout: Duration) -> Result<(), String> {
        let Some(client) = &self.client else {
            return Err("no HTTP client (TLS set-up failed)".into());
        };
        let body = Body {
            dashboard_uid: self.target.dashboard_uid.as_deref(),
            time: a.time,
            tags: &a.tags,
            text: &a.text,
        };
        let json = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let url = format!("{}/api/annotations", self.target.url.trim_end_matches('/'));
        let resp = client
            .post(&url)
            .bearer_auth(self.target.token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let text: String = text.chars().take(200).collect();
        Err(format!("POST {url}: HTTP {status}: {}", text.trim()))
    }

    /// The head of the queue was delivered: drop it, and from its claim file.
    fn delivered(&mut self) {
        let Some(item) = self.queue.pop_front() else {
            return;
        };
        self.shared.annotations_sent.fetch_add(1, Ordering::Relaxed);
        if let Some(h) = item.claim.and_then(|k| self.claims.get_mut(&k)) {
            h.left.retain(|a| a.id != item.ann.id);
            if let Err(e) = h.claim.rewrite(&h.left) {
                self.report.warn(&format!("annotations: {e}"));
            }
        }
        self.claims.retain(|_, h| !h.left.is_empty());
    }

    async fn try_head(&mut self) {
        let Some(item) = self.queue.front() else {
            return;
        };
        match self.post(&item.ann, POST_TIMEOUT).await {
            Ok(()) => {
                if self.streak >= MAX_ATTEMPTS - 1 {
                    self.report.info(
                        "annotations: Grafana answers again; delivering what was queued and spooled",
                    );
                    // What went to the spool while it was down follows the queue at once.
                    self.reclaim_at = Some(Instant::now());
                }
                self.streak = 0;
                self.delivered();
                self.retry_at = Some(Instant::now());
            }
            Err(e) => {
                self.streak += 1;
                if self.streak >= MAX_ATTEMPTS {
                    let n = self.spool_all();
                    self.report.warn(&format!(
                        "annotations: {e}; {} failures in a row, {n} annotations spooled to {} (tried again every {} s and at the next start)",
                        self.streak,
                        self.target.spool.display(),
                        RESPOOL_EVERY.as_secs()
                    ));
                    // Down: a newcomer gets one try before it joins the spool.
                    self.streak = MAX_ATTEMPTS - 1;
                    let later = Instant::now() + RESPOOL_EVERY;
                    // Not even spooled (the disk said no): they stay queued for later.
                    self.retry_at = (!self.queue.is_empty()).then_some(later);
                    self.reclaim_at = Some(later);
                } else {
                    let backoff = Duration::from_secs(1 << (self.streak - 1).min(4));
                    self.retry_at = Some(Instant::now() + backoff);
                }
            }
        }
    }

    /// Move the whole queue to the spool; the claims it came from shrink accordingly.
    fn spool_all(&mut self) -> usize {
        let items: Vec<Item> = self.queue.drain(..).collect();
        if items.is_empty() {
            return 0;
        }
        let anns: Vec<Annotation> = items.iter().map(|i| i.ann.clone()).collect();
        // Counted once per process: what came from the spool was counted where it failed.
        let new = items.iter().filter(|i| i.claim.is_none()).count();
        if let Err(e) = spool::append(&self.target.spool, &anns) {
            // Cannot even spool: keep them queued and say so; retried on the next round.
            self.report.warn(&format!(
                "annotations: cannot spool {} annotations: {e}",
                anns.len()
            ));
            self.queue.extend(items);
            return 0;
        }
        self.shared
            .annotations_failed
            .fetch_add(new as u64, Ordering::Relaxed);
        for h in self.claims.values_mut() {
            let before = h.left.len();
            h.left.retain(|a| !anns.iter().any(|x| x.id == a.id));
            if h.left.len() != before {
                if let Err(e) = h.claim.rewrite(&h.left) {
                    self.report.warn(&format!("annotations: {e}"));
                }
            }
        }
        self.claims.retain(|_, h| !h.left.is_empty());
        anns.len()
    }

    /// Try what is queued once each, until the first failure or `deadline`; spool the rest.
    async fn finish(&mut self, deadline: Instant) -> Outcome {
        let sent_before = self.shared.annotations_sent.load(Ordering::Relaxed);
        // Down: the queue just went to the spool, and one more try would only wait.
        let down = self.streak >= MAX_ATTEMPTS - 1;
        if !down {
            while let Some(item) = self.queue.front() {
                let left = deadline.saturating_duration_since(Instant::now());
                if left < Duration::from_millis(50) {
                    break;
                }
                match self.post(&item.ann, left.min(Duration::from_secs(2))).await {
                    Ok(()) => self.delivered(),
                    Err(e) => {
                        self.report.warn(&format!("annotations: {e}"));
                        break;
                    }
                }
            }
        }
        let spooled = self.spool_all();
        if spooled > 0 {
            self.report.warn(&format!(
                "annotations: {spooled} not delivered, spooled to {} for the next start",
                self.target.spool.display()
            ));
        }
        Outcome {
            sent: self.shared.annotations_sent.load(Ordering::Relaxed) - sent_before,
            spooled: spooled as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GatewayConfig;

    fn host() -> Host {
        let toml = r#"
name = "gw-a1"
az = "az-a"
ssh = "gw-a1"
nginx_conf = "/etc/nginx/conf.d/gw.conf"
access_log = "/var/log/nginx/access.log"
health_url = "http://gw-a1/health"
[blue]
addr = "127.0.0.1:8787"
start = "s"
stop = "s"
version = "v"
[green]
addr = "127.0.0.1:8788"
start = "s"
stop = "s"
version = "v"
"#;
        let cfg: GatewayConfig = toml::from_str(toml).unwrap();
        let opts = crate::fleet::remote::SshOptions::new(
            None,
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .unwrap();
        Host::new(cfg, crate::fleet::remote::Ssh::new(opts))
    }

    fn event(before: u8, after: u8, stopped: Option<Color>, ticket: Option<&str>) -> Event {
        Event {
            host: host(),
            time: 1_763_683_200_123,
            action: if stopped.is_some() { "stop" } else { "step" }.into(),
            guardrail: false,
            before: Weights::with_green(before),
            after: Weights::with_green(after),
            stopped,
            actor: "alice".into(),
            ticket: ticket.map(str::to_string),
        }
    }

    #[test]
    fn the_text_names_gateway_weights_actor_ticket_and_green_build() {
        let a = annotation(
            &event(10, 20, None, Some("CHG-7")),
            Some("8d41e07"),
            "1".into(),
        );
        assert_eq!(
            a.text,
            "gw-a1 90/10 -> 80/20 by alice (CHG-7); green 8d41e07"
        );
        assert_eq!(a.tags, ["cutover", "gw-a1", "az-a", "step", "CHG-7"]);
        assert_eq!(a.time, 1_763_683_200_123);
        let a = annotation(&event(0, 0, Some(Color::Green), None), None, "2".into());
        assert_eq!(
            a.text,
            "gw-a1 green stopped at 100/0 by alice; green version unknown"
        );
        assert_eq!(a.tags, ["cutover", "gw-a1", "az-a", "stop"]);
        let mut e = event(30, 0, Some(Color::Green), None);
        e.guardrail = true;
        e.action = "rollback".into();
        let a = annotation(&e, Some("8d41e07"), "3".into());
        assert_eq!(
            a.text,
            "gw-a1 70/30 -> 100/0, green stopped by a guardrail (session of alice); green 8d41e07"
        );
    }

    #[test]
    fn the_body_is_grafanas() {
        let tags = vec!["cutover".to_string()];
        let b = Body {
            dashboard_uid: Some("abc"),
            time: 5,
            tags: &tags,
            text: "t",
        };
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            r#"{"dashboardUID":"abc","time":5,"tags":["cutover"],"text":"t"}"#
        );
        let b = Body {
            dashboard_uid: None,
            ..b
        };
        assert!(!serde_json::to_string(&b).unwrap().contains("dashboardUID"));
    }
}
