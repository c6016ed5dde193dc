//! The headless commands (`status`, `step`, `rollback`, `drain`, `check`): the planner the
//! cockpit uses decides, the executor the cockpit uses acts, and every action is audited.

use crate::app::plan::{Op, OpKind, OpOutcome, Origin, Plan, PlanKind};
use crate::app::planner::{self, Planned};
use crate::app::rules;
use crate::commands::error::CommandError;
use crate::fleet::service::{Fleet, SNAPSHOT_AT, Target};
use crate::guard::drain::DrainStatus;
use crate::guard::verdict::{GuardVerdict, Judgement};
use crate::model::{Color, HealthStatus, Weights};
use crate::sanitize::sanitize;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How the operator qualified a headless change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ActOptions {
    /// `--override REASON`: run past guardrails that do not pass, and steps across more than
    /// one step; the reason is audited.
    pub(crate) override_reason: Option<String>,
    /// `rollback --now`: stop the candidate at once, without its grace window.
    pub(crate) stop_now: bool,
    /// `--candidate`: the color being introduced on every gateway, instead of the one the
    /// weights suggest.
    pub(crate) candidate: Option<Color>,
}

/// The plan to run, or the refusal: the same rules as the cockpit, with `--override` in
/// place of the override key and the reason prompt.
fn admit(planned: Planned, reason: Option<&str>) -> Result<Result<Plan, Vec<Line>>, CommandError> {
    let hint = "--override REASON runs it anyway (audited)";
    match planned {
        Planned::Ready(mut plan) if plan.needs_reason() => match reason {
            Some(r) => {
                plan.reason = Some(r.to_string());
                Ok(Ok(plan))
            }
            None => Err(CommandError::failed(format!(
                "refused: {}; a step across more than one step needs a reason: {hint}",
                plan.jumps
                    .iter()
                    .map(|(_, j)| j.as_str())
                    .next()
                    .unwrap_or("a jump")
            ))),
        },
        Planned::Ready(mut plan) => {
            // A reason given is a reason kept, even where no rule asked for it.
            plan.reason = reason.map(str::to_string);
            Ok(Ok(plan))
        }
        Planned::Refused { mut plan, reasons } => match reason {
            Some(r) => {
                tracing::warn!(target: "cutover::guard", "override: {}; reason: {r}", reasons.join("; "));
                plan.overridden = true;
                plan.reason = Some(r.to_string());
                Ok(Ok(plan))
            }
            None => Err(CommandError::failed(format!(
                "refused by a guardrail: {}; {hint}",
                reasons.join("; ")
            ))),
        },
        p @ Planned::Nothing { .. } if p.benign() => {
            let Planned::Nothing { why, .. } = p else {
                unreachable!("matched above")
            };
            Ok(Err(vec![Line {
                gateway: "-".into(),
                text: why,
                failed: false,
            }]))
        }
        Planned::Nothing { why, .. } => Err(CommandError::failed(why)),
    }
}

/// The operation a headless command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    /// Move green by this many points.
    By(i16),
    /// Move green to this weight.
    To(u8),
    /// 100/0 and stop green.
    Rollback,
    /// Wait for the color (at 0) to empty, then stop it.
    Drain(Color),
    /// Start the (stopped) color and wait until it answers.
    Start(Color),
    /// Stop and start the color (at 0) and wait until it answers.
    Restart(Color),
}

/// One gateway's line in a command's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// Gateway name.
    pub(crate) gateway: String,
    /// What happened.
    pub(crate) text: String,
    /// Whether it counts as a failure.
    pub(crate) failed: bool,
}

/// Plan and run `req` on `target`; one line per gateway in scope. Err only for usage errors
/// and refusals of the whole request.
pub(crate) async fn act(
    fleet: &Fleet,
    target: &Target,
    req: Request,
    opts: &ActOptions,
) -> Result<Vec<Line>, CommandError> {
    if fleet.exec.actor().read_only {
        return Err(CommandError::failed(
            "refused: --read-only disables every change",
        ));
    }
    let snaps = fleet.snapshot_all().await;
    let mut state = fleet.state(&snaps, target)?;
    if let Some(c) = opts.candidate {
        for g in &mut state.gateways {
            g.candidate = c;
            g.candidate_chosen = true;
        }
        // The verdicts compare the candidate with the stable color: judge again in this order.
        crate::app::update::update(&mut state, crate::app::msg::Msg::Tick, SNAPSHOT_AT);
    }
    let planned = match req {
        Request::By(d) => planner::step(&state, d),
        Request::To(g) => planner::step_to(&state, g),
        Request::Rollback => planner::rollback(&state),
        Request::Drain(c) => planner::drain(&state, Some(c)),
        Request::Start(c) => planner::start(&state, c),
        Request::Restart(c) => planner::restart(&state, c),
    };
    let plan = match admit(planned, opts.override_reason.as_deref())? {
        Ok(plan) => plan,
        Err(lines) => return Ok(lines),
    };
    let mut lines: Vec<Line> = plan
        .skipped
        .iter()
        .map(|(i, why)| Line {
            gateway: state.gateways[*i].name.clone(),
            text: format!("skipped: {}", sanitize(&why.to_string())),
            failed: !why.benign(),
        })
        .collect();
    let sem = Arc::new(Semaphore::new(fleet.max_parallel));
    let window = Duration::from_secs(fleet.config.guardrails.drain_window_secs);
    let grace = Duration::from_secs(fleet.config.guardrails.rollback_grace_secs);
    let stop_now = opts.stop_now || grace.is_zero();
    let mut tasks = Vec::new();
    for (n, item) in plan.items.iter().enumerate() {
        let exec = fleet.exec.clone();
        let sem = sem.clone();
        let item = item.clone();
        let kind = plan.kind;
        let cand = state.gateways[item.gateway].candidate;
        let back = Weights::all_on(cand.other());
        let reason = plan.reason.clone();
        let stop = fleet.interrupted.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            let halted = |what: &str| OpOutcome {
                id: n as u64 + 1,
                gateway: item.gateway,
                weights: None,
                error: Some(format!("interrupted by a signal: {what}")),
            };
            if stop.load(Ordering::Relaxed) {
                return halted(&format!("not started; still {}", item.before));
            }
            let op = |kind: OpKind| Op {
                id: n as u64 + 1,
                gateway: item.gateway,
                kind,
                before: Some(item.before),
                origin: Origin::Operator,
                reason: reason.clone(),
                candidate: cand,
            };
            match kind {
                PlanKind::Step { .. } | PlanKind::StepTo { .. } => {
                    exec.execute(&op(OpKind::SetWeights { to: item.after })).await.outcome
                }
                PlanKind::Rollback if stop_now => {
                    exec.execute(&op(OpKind::Rollback { to: cand.other() }))
                        .await
                        .outcome
                }
                PlanKind::Rollback => {
                    // All on the stable color first; the candidate's open streams finish (or
                    // the grace window passes) before it is stopped, so no stream is cut.
                    if item.before != back {
                        let o = exec
                            .execute(&op(OpKind::SetWeights { to: back }))
                            .await
                            .outcome;
                        if o.error.is_some() {
                            return o;
                        }
                    }
                    let status = exec
                        .wait_drained(
                            item.gateway,
                            cand,
                            grace,
                            Duration::from_millis(250),
                            &stop,
                        )
                        .await;
                    if stop.load(Ordering::Relaxed) {
                        return halted(&format!("weights are {back}, {cand} was not stopped (its grace window was cut short)"));
                    }
                    if let DrainStatus::TimedOut { conns } = status {
                        tracing::warn!(target: "cutover::ops", "rollback grace passed with {conns} {cand} connections open");
                    }
                    exec.execute(&op(OpKind::Stop { color: cand }))
                    .await
                    .outcome
                }
                PlanKind::Start { color } => {
                    exec.execute(&op(OpKind::Start { color })).await.outcome
                }
                PlanKind::Restart { color } => {
                    exec.execute(&op(OpKind::Restart { color })).await.outcome
                }
                PlanKind::Drain { color } => {
                    let status = exec
                        .wait_drained(item.gateway, color, window, Duration::from_millis(500), &stop)
                        .await;
                    if stop.load(Ordering::Relaxed) {
                        return halted(&format!("{color} was not stopped (its drain was cut short)"));
                    }
                    let mut o = exec.execute(&op(OpKind::Stop { color })).await.outcome;
                    if let (DrainStatus::TimedOut { conns }, None) = (status, &o.error) {
                        o.error = None;
                        tracing::warn!(target: "cutover::ops", "drain window passed with {conns} connections open");
                    }
                    o
                }
            }
        }));
    }
    for (item, t) in plan.items.iter().zip(tasks) {
        let name = state.gateways[item.gateway].name.clone();
        let line = match t.await {
            Ok(o) => match (&o.error, o.weights) {
                (None, w) => Line {
                    gateway: name,
                    text: match plan.kind {
                        PlanKind::Drain { color } => format!("{color} drained and stopped"),
                        PlanKind::Start { color } => {
                            format!("{color} started and answers its probe")
                        }
                        PlanKind::Restart { color } => {
                            format!("{color} restarted and answers its probe")
                        }
                        PlanKind::Rollback => format!(
                            "{} -> {} and {} stopped",
                            item.before,
                            w.map_or("?".into(), |w| w.to_string()),
                            state.gateways[item.gateway].candidate
                        ),
                        _ => format!(
                            "{} -> {}",
                            item.before,
                            w.map_or("?".into(), |w| w.to_string())
                        ),
                    },
                    failed: false,
                },
                (Some(e), w) => Line {
                    gateway: name,
                    text: format!(
                        "FAILED: {} (weights now {})",
                        sanitize(e),
                        w.map_or("unknown".into(), |w| w.to_string())
                    ),
                    failed: true,
                },
            },
            Err(e) => Line {
                gateway: name,
                text: format!("FAILED: internal error {e}"),
                failed: true,
            },
        };
        lines.push(line);
    }
    Ok(lines)
}

/// One gateway in `status --json`. Field names are a contract: extend, never rename.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StatusEntry {
    /// Name.
    pub(crate) name: String,
    /// AZ.
    pub(crate) az: String,
    /// Weights read back from the host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) weights: Option<Weights>,
    /// Cutover phase, seen from the candidate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) phase: Option<String>,
    /// The candidate (the color being introduced; the other is stable), derived from the
    /// weights: the color at 0 when one color carries everything, else green.
    pub(crate) candidate: Color,
    /// `ok`, `degraded`, `down` or `unknown`.
    pub(crate) health: String,
    /// The probed URL (its password masked in JSON).
    #[serde(serialize_with = "crate::redact::serialize")]
    pub(crate) health_url: String,
    /// Whether the data is old (headless status reads fresh, so false unless unreachable).
    pub(crate) stale: bool,
    /// Lock holder, or null.
    pub(crate) lock: Option<String>,
    /// Each color: whether it runs and the version it reports (null: not sampled).
    pub(crate) colors: crate::model::PerColor<ColorStatus>,
    /// Guardrails that do not pass (fail or inconclusive), each as "name verdict: sentence".
    pub(crate) guardrails: Vec<String>,
    /// Every guardrail's live verdict: `guardrail`, `verdict` (pass/fail/inconclusive), `sentence`.
    pub(crate) verdicts: Vec<GuardVerdict>,
    /// Why the host could not be read; no guessed values then (secrets masked in JSON).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::redact::serialize_opt"
    )]
    pub(crate) error: Option<String>,
}
/// One color as `status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct ColorStatus {
    /// Whether its service runs (null: the host was not sampled).
    pub(crate) running: Option<bool>,
    /// The version its `version` command printed (sanitized), or null.
    pub(crate) version: Option<String>,
}

/// `status`: every gateway's weights, lock, health and live guardrail verdicts, from fresh
/// data (the same burst `step` judges by).
pub(crate) async fn status(fleet: &Fleet) -> Vec<StatusEntry> {
    fleet.read_all().await; // A first read asks nginx what it loads (nginx -T); snapshots carry it.
    let snaps = fleet.snapshot_all().await;
    let state = fleet.state(&snaps, &Target::All).ok();
    let mut out = Vec::new();
    for (i, (g, snap)) in fleet.config.gateway.iter().zip(&snaps).enumerate() {
        let gw = state.as_ref().map(|s| &s.gateways[i]);
        let candidate = gw.map_or(Color::Green, |g| g.candidate);
        let health = gw
            .map_or(HealthStatus::Unknown, |g| g.model.health_status())
            .name()
            .to_string();
        let verdicts: Vec<GuardVerdict> = match (&state, gw) {
            (Some(s), Some(gw)) => rules::all_verdicts(gw, &s.cfg, SNAPSHOT_AT)
                .into_iter()
                .map(|mut v| {
                    v.sentence = sanitize(&v.sentence);
                    v
                })
                .collect(),
            _ => Vec::new(),
        };
        let host = gw.and_then(|g| g.model.host.as_ref());
        let colors = crate::model::PerColor::from_fn(|c| ColorStatus {
            running: host.map(|h| h.running[c]),
            version: host.and_then(|h| h.versions[c].as_deref()).map(sanitize),
        });
        let mut guardrails: Vec<String> = verdicts
            .iter()
            .filter(|v| v.verdict != Judgement::Pass)
            .map(ToString::to_string)
            .collect();
        out.push(match &snap.read {
            Ok(read) => {
                if !read.other_servers.is_empty() {
                    guardrails.push(format!(
                        "upstream has other servers: {}",
                        sanitize(&read.other_servers.join(", "))
                    ));
                }
                StatusEntry {
                    name: g.name.clone(),
                    az: g.az.clone(),
                    weights: Some(read.weights),
                    phase: Some(read.weights.phase_for(candidate).name().to_string()),
                    candidate,
                    health,
                    health_url: g.health_url.clone(),
                    stale: false,
                    lock: read.lock.as_deref().map(sanitize),
                    colors,
                    guardrails,
                    verdicts,
                    error: None,
                }
            }
            Err(e) => StatusEntry {
                name: g.name.clone(),
                az: g.az.clone(),
                weights: None,
                phase: None,
                candidate,
                health,
                health_url: g.health_url.clone(),
                stale: true,
                lock: None,
                colors,
                guardrails,
                verdicts,
                error: Some(sanitize(e)),
            },
        });
    }
    out
}

/// `check`: the preflight table ([`crate::fleet::preflight`]), one row per gateway and check, in
/// configuration order: SSH and host key, the upstream, `nginx -t`, the nginx master, the log
/// format, the nginx lint, clock skew, listeners, versions, open-files limits, revision parity,
/// health, probe p95 and, for https, the certificate. At most `[ssh] max_parallel` gateways at once.
pub(crate) async fn check(fleet: &Fleet) -> Vec<crate::fleet::preflight::Row> {
    use crate::fleet::preflight::remote::{CheckSettings, check_gateway};
    let settings = Arc::new(CheckSettings::for_config(&fleet.config));
    let sem = Arc::new(Semaphore::new(fleet.max_parallel));
    let mut tasks = Vec::new();
    for h in fleet.exec.hosts.iter() {
        let (h, sem, settings) = (h.clone(), sem.clone(), settings.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            check_gateway(&h, &settings).await
        }));
    }
    // With Prometheus as the source: does it answer every signal for every gateway?
    let window_ms = fleet.config.guardrails.fivexx_window_secs * 1000;
    let polled = match &fleet.metrics {
        Some(source) => Some(
            source
                .poll_window(crate::fleet::collect::wall_ms(), window_ms)
                .await,
        ),
        None => None,
    };
    let mut rows = Vec::new();
    for (i, (t, g)) in tasks.into_iter().zip(&fleet.config.gateway).enumerate() {
        match t.await {
            Ok(r) => rows.extend(r),
            Err(e) => rows.push(crate::fleet::preflight::Row::new(
                &g.name,
                "internal",
                crate::fleet::preflight::Status::Fail,
                format!("internal error: {e}"),
            )),
        }
        if let Some(sample) = polled.as_ref().and_then(|p| p.get(i)) {
            rows.push(prometheus_row(&g.name, sample, window_ms));
        }
    }
    rows
}

/// `check`'s `prometheus` row of one gateway: every signal answered (with the requests of
/// the window), or what did not: a step on missing figures would be held.
fn prometheus_row(
    gateway: &str,
    m: &crate::model::MetricsSample,
    window_ms: u64,
) -> crate::fleet::preflight::Row {
    use crate::fleet::preflight::{Row, Status};
    if !m.problems.is_empty() {
        let shown: Vec<&str> = m.problems.iter().take(3).map(String::as_str).collect();
        let more = m.problems.len().saturating_sub(shown.len());
        let tail = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        // A query that failed is a fault; a series that is missing may be a stopped color's
        // (its row above says so), and holds steps only while that color should answer.
        let failed = m.problems.iter().any(|p| !p.contains("no series"));
        let (status, consequence) = if failed {
            (Status::Fail, "steps would be held")
        } else {
            (
                Status::Warn,
                "a running color without series holds its gateway's steps",
            )
        };
        return Row::new(
            gateway,
            "prometheus",
            status,
            format!("{}{tail}: {consequence}", shown.join("; ")),
        );
    }
    let n = |c: crate::model::Color| m.counts[c].map_or(0, |c| c.requests);
    Row::new(
        gateway,
        "prometheus",
        Status::Ok,
        format!(
            "every signal answers: {} and {} requests (blue, green) in {} s, TTFT histograms of {} and {}",
            n(crate::model::Color::Blue),
            n(crate::model::Color::Green),
            window_ms / 1000,
            m.ttft.blue.as_ref().map_or(0, |h| h.count),
            m.ttft.green.as_ref().map_or(0, |h| h.count),
        ),
    )
}
