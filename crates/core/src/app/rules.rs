//! The safety rules. Every path that changes traffic (keys, `:` commands, headless commands,
//! the auto-rollback, plans) asks these functions before anything is sent, so a new path
//! cannot forget one. Pure: the state and its clock are the only inputs.
//!
//! Two kinds of "no": a [`Refusal`] that is a fact (the gateway cannot be read, a color is
//! stopped, the row is not in view) and no override passes; and a hold, a guardrail that does
//! not say pass, which the operator may override with a reason that is audited.

use super::state::{Gateway, State};
use crate::guard::GuardConfig;
use crate::guard::fivexx::FivexxState;
use crate::guard::ttft::TtftVerdict;
use crate::guard::verdict::{GuardVerdict, Guardrail, Judgement};
use crate::model::gateway::Answering;
use crate::model::{Color, HealthStatus, Ms, Weights};

/// Why a gateway takes no part in an action. Displayed as the sentence shown in dialogs,
/// refusals, headless errors and the audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The row is filtered out of view: keys act only on what the operator sees.
    Hidden,
    /// Another operation on this gateway has not ended.
    Busy,
    /// Someone else holds the gateway's lock.
    Locked(String),
    /// The host could not be read.
    Unreachable(String),
    /// The newest data is older than the stale limit (age in ms; None: never heard).
    Stale(Option<Ms>),
    /// The weights in force were never read.
    WeightsUnknown,
    /// A drain is under way.
    Draining,
    /// The last operation ended without knowing what the host holds.
    OutcomeUnknown,
    /// Nothing to change: already at these weights.
    Already(Weights),
    /// Rollback has nothing to do: these weights (all on the stable color) with the
    /// candidate stopped.
    AlreadyRolledBack(Weights, Color),
    /// A step moves toward the selected gateway's candidate; this gateway's is the other color.
    OtherCandidate(Color),
    /// Drain: the color still carries traffic.
    CarriesTraffic(Color, Weights),
    /// Drain: the color is stopped already.
    AlreadyStopped(Color),
    /// Drain: no color is at 0.
    NothingAtZero(Option<Weights>),
    /// A color that would receive traffic is stopped.
    ColorStopped(Color),
    /// Start: the color runs already.
    AlreadyRunning(Color),
    /// A color that would receive traffic is not known to be running (no host sample).
    RunningUnknown(Color),
}

impl Refusal {
    /// True when the refusal is only data not heard yet (a plan waits for it a while).
    pub fn awaits_data(&self) -> bool {
        matches!(
            self,
            Refusal::RunningUnknown(_) | Refusal::WeightsUnknown | Refusal::Stale(None)
        )
    }

    /// True when the gateway is simply where the action would put it (not a failure).
    pub fn benign(&self) -> bool {
        matches!(
            self,
            Refusal::Already(_)
                | Refusal::AlreadyRolledBack(..)
                | Refusal::AlreadyStopped(_)
                | Refusal::AlreadyRunning(_)
        )
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Hidden => write!(f, "filtered out of view (keys act only on rows shown)"),
            Refusal::Busy => write!(f, "operation under way"),
            Refusal::Locked(holder) => write!(f, "locked by {holder}"),
            Refusal::Unreachable(why) => write!(f, "unreachable: {why}"),
            Refusal::Stale(Some(age)) => write!(f, "no fresh data (age {}s)", age / 1000),
            Refusal::Stale(None) => write!(f, "no fresh data (never heard)"),
            Refusal::WeightsUnknown => write!(f, "weights not read yet"),
            Refusal::Draining => write!(f, "drain under way"),
            Refusal::OutcomeUnknown => write!(
                f,
                "the last change's outcome is unknown: waiting for the host to be read again"
            ),
            Refusal::Already(w) => write!(f, "already at {w}"),
            Refusal::AlreadyRolledBack(w, c) => write!(f, "already {w} with {c} stopped"),
            Refusal::OtherCandidate(c) => write!(
                f,
                "its candidate is {c}, not the selected gateway's (:candidate sets it)"
            ),
            Refusal::CarriesTraffic(c, w) => write!(f, "{c} still carries traffic ({w})"),
            Refusal::AlreadyStopped(c) => write!(f, "{c} already stopped"),
            Refusal::NothingAtZero(w) => write!(
                f,
                "no color is at 0 (weights {})",
                w.map_or("unknown".into(), |w| w.to_string())
            ),
            Refusal::AlreadyRunning(c) => write!(f, "{c} runs already (:restart {c} restarts it)"),
            Refusal::ColorStopped(c) => {
                write!(f, "{c} is stopped: it cannot take traffic (start it first)")
            }
            Refusal::RunningUnknown(c) => {
                write!(f, "{c} is not known to be running (no host sample yet)")
            }
        }
    }
}

/// Can gateway `i` take an operator's action now? Its weights when it can. Keys act only on
/// rows in view.
pub fn ready(state: &State, i: usize) -> Result<Weights, Refusal> {
    if !state.visible(i) {
        return Err(Refusal::Hidden);
    }
    available(state, i)
}

/// Can gateway `i` take any operation now (the guardrails' own included)?
pub fn available(state: &State, i: usize) -> Result<Weights, Refusal> {
    let g = &state.gateways[i];
    if g.op.is_some() {
        return Err(Refusal::Busy);
    }
    if let Some(holder) = &g.lock {
        return Err(Refusal::Locked(holder.clone()));
    }
    if let Some(reason) = &g.model.unreachable {
        return Err(Refusal::Unreachable(reason.clone()));
    }
    if g.verdicts.stale {
        return Err(Refusal::Stale(g.model.age(state.now)));
    }
    if g.outcome_unknown {
        return Err(Refusal::OutcomeUnknown);
    }
    g.model.weights.ok_or(Refusal::WeightsUnknown)
}

/// Judge moving gateway `g` from `before` to `after`. `Err` is a refusal no override passes;
/// `Ok` lists the holds: guardrails that are not `pass` for a color about to get more traffic.
pub fn judge_change(
    g: &Gateway,
    cfg: &GuardConfig,
    now: Ms,
    before: Weights,
    after: Weights,
) -> Result<Vec<GuardVerdict>, Refusal> {
    let mut holds = Vec::new();
    for c in Color::BOTH {
        if after.of(c) <= before.of(c) {
            continue;
        }
        match g.model.host.as_ref().map(|h| h.running[c]) {
            Some(false) => return Err(Refusal::ColorStopped(c)),
            None => return Err(Refusal::RunningUnknown(c)),
            Some(true) => {}
        }
        if let Some(v) = answering_verdict(g, cfg, now, c) {
            holds.push(v);
        }
        if c == g.candidate {
            for v in candidate_verdicts(g, cfg, now, before) {
                if v.verdict != Judgement::Pass && !holds.contains(&v) {
                    holds.push(v);
                }
            }
        }
    }
    Ok(holds)
}

/// Why a due auto-rollback of gateway `i` must not start, if it must not. An automatic action
/// cannot be overridden: a refusal or a failing check on blue stops it (and is said); blue
/// merely not judged yet does not, since green is known to be failing.
pub fn auto_rollback_refusal(state: &State, i: usize) -> Option<String> {
    let g = &state.gateways[i];
    let before = match available(state, i) {
        Ok(w) => w,
        Err(r) => return Some(r.to_string()),
    };
    match judge_change(
        g,
        &state.cfg,
        state.now,
        before,
        Weights::all_on(g.stable()),
    ) {
        Err(r) => Some(r.to_string()),
        Ok(holds) => {
            let fails: Vec<String> = holds
                .iter()
                .filter(|v| v.verdict == Judgement::Fail)
                .map(ToString::to_string)
                .collect();
            (!fails.is_empty()).then(|| fails.join("; "))
        }
    }
}

/// A hold when color `c` does not answer its probes (failing or not heard lately).
fn answering_verdict(g: &Gateway, cfg: &GuardConfig, now: Ms, c: Color) -> Option<GuardVerdict> {
    match g.model.probes[c].answering(now, cfg.probe_fresh_ms()) {
        Answering::Yes => None,
        Answering::Failing { failures } => Some(GuardVerdict::new(
            Guardrail::Ttft,
            Judgement::Fail,
            format!("{c} is not answering: {failures} TTFT probe(s) in a row failed or timed out"),
        )),
        Answering::Unknown => Some(GuardVerdict::new(
            Guardrail::Ttft,
            Judgement::Inconclusive,
            format!(
                "{c} has no probe result in the last {} s: not known to answer",
                cfg.probe_fresh_secs
            ),
        )),
    }
}

/// The candidate's guardrails as they stand (every verdict, pass included), for plans and
/// `status --json`. `weights` are the weights in force.
pub fn candidate_verdicts(
    g: &Gateway,
    cfg: &GuardConfig,
    now: Ms,
    weights: Weights,
) -> Vec<GuardVerdict> {
    let (cand, stable) = (g.candidate, g.stable());
    let sum = &g.model.summary;
    let mut out = Vec::new();
    out.push(ttft_verdict(g, cfg));
    out.push(match g.verdicts.fivexx {
        FivexxState::Breaching { delta_pp, .. } | FivexxState::Fire { delta_pp } => {
            GuardVerdict::new(
                Guardrail::Fivexx,
                Judgement::Fail,
                format!(
                    "{cand} 5xx {delta_pp:+.2} pp over {stable} (limit {} pp)",
                    cfg.fivexx_delta_pp
                ),
            )
        }
        _ if weights.of(cand) == 0 => GuardVerdict::new(
            Guardrail::Fivexx,
            Judgement::Pass,
            format!("{cand} carries no traffic yet: nothing to compare"),
        ),
        FivexxState::Unproven { delta_pp, low_pp } => GuardVerdict::new(
            Guardrail::Fivexx,
            Judgement::Inconclusive,
            format!(
                "{cand} 5xx {delta_pp:+.2} pp over {stable} by the raw ratios, but its 95 % interval reaches {low_pp:+.2} pp: not proven over the +{} pp limit, nor within it ({} and {} requests)",
                cfg.fivexx_delta_pp,
                sum[cand].ratio_window.requests,
                sum[stable].ratio_window.requests
            ),
        ),
        FivexxState::TooFewRequests => GuardVerdict::new(
            Guardrail::Fivexx,
            Judgement::Inconclusive,
            format!(
                "too few requests to compare 5xx in {} s: {stable} {}, {cand} {} (need {} each)",
                cfg.fivexx_window_secs,
                sum[stable].ratio_window.requests,
                sum[cand].ratio_window.requests,
                cfg.fivexx_min_requests
            ),
        ),
        FivexxState::Clear => {
            let pct = |c: crate::model::window::Counts| c.ratio().unwrap_or(0.0) * 100.0;
            GuardVerdict::new(
                Guardrail::Fivexx,
                Judgement::Pass,
                format!(
                    "{cand} 5xx {:.2} % vs {stable} {:.2} % (limit +{} pp; {} and {} requests)",
                    pct(sum[cand].ratio_window),
                    pct(sum[stable].ratio_window),
                    cfg.fivexx_delta_pp,
                    sum[cand].ratio_window.requests,
                    sum[stable].ratio_window.requests
                ),
            )
        }
    });
    let burn = &g.verdicts.burn[cand];
    if burn.page {
        out.push(GuardVerdict::new(
            Guardrail::Burn,
            Judgement::Fail,
            format!(
                "{cand} error budget burning at page level (5 min {:.1}x, 1 h {:.1}x; page at {}x)",
                burn.short.unwrap_or(0.0),
                burn.long.unwrap_or(0.0),
                cfg.page_burn
            ),
        ));
    }
    out.push(match (&g.model.host, g.verdicts.listeners.first()) {
        (None, _) => GuardVerdict::new(
            Guardrail::Listeners,
            Judgement::Inconclusive,
            "listeners not sampled yet",
        ),
        (Some(_), Some(l)) => GuardVerdict::new(
            Guardrail::Listeners,
            Judgement::Fail,
            format!("{} listens on {} (not loopback)", l.color, l.addr),
        ),
        (Some(_), None) => GuardVerdict::new(
            Guardrail::Listeners,
            Judgement::Pass,
            "both colors listen on loopback only",
        ),
    });
    out.push(match g.model.health.as_ref() {
        None => GuardVerdict::new(
            Guardrail::Health,
            Judgement::Inconclusive,
            match g.model.metrics.as_ref() {
                // With Prometheus the health is the exporters', and only while it is fresh.
                Some(m) => match m.problems.iter().find(|p| p.starts_with("health:")) {
                    Some(p) => format!("no fresh health from prometheus ({p})"),
                    None => "no fresh health from prometheus".to_string(),
                },
                None => "no health probe answer yet".to_string(),
            },
        ),
        Some(h) if h.status == HealthStatus::Down || h.status == HealthStatus::Unknown => {
            let failing = if h.failing.is_empty() {
                String::new()
            } else {
                format!(" (failing: {})", h.failing.join(", "))
            };
            GuardVerdict::new(
                Guardrail::Health,
                Judgement::Fail,
                format!("health is {}{failing}", h.status.name()),
            )
        }
        Some(h) => GuardVerdict::new(
            Guardrail::Health,
            Judgement::Pass,
            format!("health is {}", h.status.name()),
        ),
    });
    out.extend(preflight_verdicts(g, cfg, now));
    if let Some(why) = metrics_unjudged(g, cfg, now) {
        // Old or missing figures never pass: what rests on them is inconclusive.
        for v in &mut out {
            if matches!(
                v.guardrail,
                Guardrail::Ttft | Guardrail::Fivexx | Guardrail::Health
            ) && v.verdict == Judgement::Pass
            {
                *v = GuardVerdict::new(
                    v.guardrail,
                    Judgement::Inconclusive,
                    format!("{why}: not judged"),
                );
            }
        }
    }
    out
}

/// With the metrics source (Prometheus): why its figures cannot be judged now (no counts for
/// both colors yet, or the newest older than the stale limit), with what the last poll could
/// not tell; `None` when they are fresh or the source is SSH.
pub fn metrics_unjudged(g: &Gateway, cfg: &GuardConfig, now: Ms) -> Option<String> {
    let m = g.model.metrics.as_ref()?;
    let limit = cfg.stale_after_ms();
    let mut why = match m.counts_age(now) {
        Some(age) if age <= limit => return None,
        // Rounded up: "3 s old (limit 3 s)" would read as within the limit.
        Some(age) => format!(
            "prometheus data is {} s old (limit {} s)",
            age.div_ceil(1000),
            limit / 1000
        ),
        None => "prometheus has given no request counts for both colors yet".to_string(),
    };
    // What the counts' own queries said first; another query's problem otherwise.
    let counts_problem = m
        .problems
        .iter()
        .find(|p| p.starts_with("requests:") || p.starts_with("errors:"));
    if let Some(p) = counts_problem.or(m.problems.first()) {
        why.push_str(&format!(" ({p})"));
    }
    Some(why)
}

/// The preflight's step rules, judged from the model: revision parity (both colors run one
/// configuration/secret revision, or the expected one; a mismatch fails, naming both) and the
/// latest preflight round (nginx lint, limits, certificate; a failing check fails). Missing
/// or old data is inconclusive. Both hold the candidate where it is.
pub fn preflight_verdicts(g: &Gateway, cfg: &GuardConfig, now: Ms) -> Vec<GuardVerdict> {
    let revisions = g.model.host.as_ref().and_then(|h| h.revisions.as_deref());
    let (verdict, sentence) = crate::guard::revision::judge(revisions);
    let (round, round_sentence) = crate::guard::preflight::judge(
        g.model.preflight.as_ref(),
        now,
        cfg.preflight_max_age_secs * 1000,
    );
    vec![
        GuardVerdict::new(Guardrail::Revision, verdict, sentence),
        GuardVerdict::new(Guardrail::Preflight, round, round_sentence),
    ]
}

/// The TTFT guardrail in words.
fn ttft_verdict(g: &Gateway, cfg: &GuardConfig) -> GuardVerdict {
    let (cand, stable) = (g.candidate, g.stable());
    let s = &g.model.summary;
    let (bn, gn) = (s[stable].ttft.count, s[cand].ttft.count);
    let source = if g.model.ttft_from_histogram() {
        " requests, quantiles from prometheus histograms"
    } else {
        ""
    };
    let shift = |delta: f64, low: f64, high: f64| {
        format!(
            "{cand} TTFT {delta:+.1} % vs {stable} (95 % CI {low:+.1}..{high:+.1} %, limit +{} %), p50 {} vs {} ms, n {gn}/{bn}{source}",
            cfg.ttft_halt_pct, s[cand].ttft.p50, s[stable].ttft.p50
        )
    };
    match g.verdicts.ttft {
        TtftVerdict::Ok {
            delta_pct,
            low_pct,
            high_pct,
        } => GuardVerdict::new(
            Guardrail::Ttft,
            Judgement::Pass,
            shift(delta_pct, low_pct, high_pct),
        ),
        TtftVerdict::Inconclusive {
            delta_pct,
            low_pct,
            high_pct,
        } => GuardVerdict::new(
            Guardrail::Ttft,
            Judgement::Inconclusive,
            format!(
                "{}: the interval holds the limit, more samples decide",
                shift(delta_pct, low_pct, high_pct)
            ),
        ),
        TtftVerdict::Halt {
            delta_pct,
            low_pct,
            high_pct,
            ..
        } => GuardVerdict::new(
            Guardrail::Ttft,
            Judgement::Fail,
            shift(delta_pct, low_pct, high_pct),
        ),
        TtftVerdict::ProbeFailing { color, failures } => GuardVerdict::new(
            Guardrail::Ttft,
            if color == cand {
                Judgement::Fail
            } else {
                Judgement::Inconclusive
            },
            format!(
                "{color} is not answering: {failures} TTFT probe(s) in a row failed or timed out"
            ),
        ),
        TtftVerdict::TooFewSamples { have, need } => {
            // Why a histogram is missing, when the last poll said (a failed or empty query).
            let why = g
                .model
                .metrics
                .as_ref()
                .and_then(|m| m.problems.iter().find(|p| p.starts_with("ttft:")))
                .map_or(String::new(), |p| format!(" ({p})"));
            GuardVerdict::new(
                Guardrail::Ttft,
                Judgement::Inconclusive,
                format!(
                    "too few {} to judge: {stable} {}/{need}, {cand} {}/{need}{why}",
                    if source.is_empty() {
                        "TTFT samples"
                    } else {
                        "requests in the prometheus TTFT histograms"
                    },
                    have.blue,
                    have.green
                ),
            )
        }
    }
}

/// Every guardrail verdict of a gateway as it stands, for `status --json`: freshness, then the
/// candidate's guardrails, then whether each color answers its probes.
pub fn all_verdicts(g: &Gateway, cfg: &GuardConfig, now: Ms) -> Vec<GuardVerdict> {
    let mut out = Vec::new();
    out.push(match (&g.model.unreachable, g.verdicts.stale) {
        (Some(why), _) => GuardVerdict::new(
            Guardrail::Freshness,
            Judgement::Fail,
            format!("unreachable: {why}"),
        ),
        (None, true) => GuardVerdict::new(
            Guardrail::Freshness,
            Judgement::Fail,
            Refusal::Stale(g.model.age(now)).to_string(),
        ),
        (None, false) => GuardVerdict::new(Guardrail::Freshness, Judgement::Pass, "data is fresh"),
    });
    let Some(w) = g.model.weights else {
        return out;
    };
    out.extend(candidate_verdicts(g, cfg, now, w));
    for c in Color::BOTH {
        // A stopped color failing its probes is expected: its stop is the news.
        let running = g.model.host.as_ref().is_none_or(|h| h.running[c]);
        if running && (w.of(c) > 0 || c == g.candidate) {
            if let Some(v) = answering_verdict(g, cfg, now, c) {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
    }
    out
}

/// The sentence for a step across more than one step's worth of weight, or None.
pub fn jump(cfg: &GuardConfig, before: Weights, after: Weights) -> Option<String> {
    let moved = before.green.abs_diff(after.green);
    (moved > cfg.step).then(|| {
        format!(
            "{moved} points of traffic move at once ({} steps of {})",
            moved / cfg.step.max(1),
            cfg.step
        )
    })
}
