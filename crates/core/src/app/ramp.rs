//! A ramp plan on autopilot: its steps are made by the same rules as a key press, each bake
//! is watched by the candidate's gates, and nothing advances while a gate is inconclusive
//! or failing. Runs inside `update` on every tick, so the cockpit, the headless `ramp`
//! command and the simulator run the very same plan.
//!
//! The gates are the candidate's guardrails (`rules::candidate_verdicts`: TTFT, 5xx, burn,
//! listeners, health, revision parity) and the freshness of every gateway of the run. A
//! gate that fails at any moment of a bake fails the step; at the end of the bake all must
//! pass. The statistical windows are the guardrails' own (`ttft_window_secs`,
//! `fivexx_window_secs`), judged continuously through the bake.

use super::msg::{AuditNote, Effect, LogLevel, LogLine, LogTarget};
use super::plan::{OpKind, Origin};
use super::rules;
use super::state::State;
use super::update;
use crate::guard::verdict::{GuardVerdict, Judgement};
use crate::model::{Color, Ms, Weights};
use crate::ramp::plan::{FleetEntry, OnFail, OnInconclusive, RampPlan, in_scope};
use crate::ramp::{Resume, format_duration};

/// Seconds shown before each automatic step, during which `x` vetoes it.
pub const COUNTDOWN_MS: Ms = 10_000;
/// How long a due step waits for its checks to have data (a guardrail inconclusive, none
/// failing) before the plan holds: the probes of a freshly started run need a moment.
pub const WAIT_FOR_DATA_MS: Ms = 60_000;

/// Where a run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum RunPhase {
    /// Step `step` (0-based) is made at `at` unless vetoed.
    Countdown {
        /// The step about to be made.
        step: usize,
        /// When.
        at: Ms,
    },
    /// Step `step`'s operations are under way.
    Stepping {
        /// The step being made.
        step: usize,
    },
    /// Step `step` is in force; the gates watch until `until`.
    Baking {
        /// The step in force.
        step: usize,
        /// When its bake began.
        since: Ms,
        /// When it ends.
        until: Ms,
        /// Extension already granted to this bake (`on_inconclusive = "extend"`), ms.
        extended_ms: Ms,
    },
    /// Waiting for the operator (a hold, a veto, a refusal): `:plan resume` or `:plan abort`.
    Held {
        /// The step it stopped at.
        step: usize,
        /// Why, in words.
        why: String,
        /// The step was made (its bake is judged again on resume) or not (it is made).
        made: bool,
    },
    /// The last step baked; the stable color drains on the run's gateways (`drain = true`).
    Draining,
    /// Every step made and baked.
    Done,
    /// A gate failed (or the operator aborted) and `on_fail` was carried out.
    Failed {
        /// The step it failed at.
        step: usize,
        /// Why, in words.
        why: String,
    },
}

impl RunPhase {
    /// The run has ended (done or failed): nothing more happens.
    pub fn ended(&self) -> bool {
        matches!(self, RunPhase::Done | RunPhase::Failed { .. })
    }
}

/// A plan running on some gateways.
#[derive(Debug, Clone, PartialEq)]
pub struct RampRun {
    /// The plan.
    pub plan: RampPlan,
    /// The gateways it runs on (indices), in display order.
    pub gateways: Vec<usize>,
    /// Their candidate (every one of them has this one).
    pub candidate: Color,
    /// Where it stands.
    pub phase: RunPhase,
    /// Paused by the operator since this instant: no step, no end of bake.
    pub paused_at: Option<Ms>,
    /// Wait before each automatic step, ms (0 for the headless runner).
    pub countdown_ms: Ms,
}

impl RampRun {
    /// "step 3/10".
    pub fn step_label(&self, step: usize) -> String {
        format!("step {}/{}", step + 1, self.plan.steps.len())
    }

    /// The plan's estimated end (bakes not yet done, countdowns included), if it is running.
    pub fn eta(&self, now: Ms) -> Option<Ms> {
        let rest = |from: usize| -> Ms {
            self.plan.steps[from..]
                .iter()
                .map(|s| s.bake_ms + self.countdown_ms)
                .sum()
        };
        match &self.phase {
            RunPhase::Countdown { step, at } => Some(at.max(&now) + rest(*step)),
            RunPhase::Stepping { step } => Some(now + rest(*step)),
            RunPhase::Baking { step, until, .. } => Some(until.max(&now) + rest(step + 1)),
            _ => None,
        }
    }

    /// One line for the header and the headless runner.
    pub fn status(&self, now: Ms) -> String {
        let name = &self.plan.name;
        let secs = |ms: Ms| format_duration(ms.div_ceil(1000) * 1000);
        let what = match &self.phase {
            RunPhase::Countdown { step, at } => format!(
                "{} in {} (x vetoes)",
                self.step_label(*step),
                secs(at.saturating_sub(now))
            ),
            RunPhase::Stepping { step } => format!("{}: stepping", self.step_label(*step)),
            RunPhase::Baking { step, until, .. } => format!(
                "{} baking, {} left",
                self.step_label(*step),
                secs(until.saturating_sub(now))
            ),
            RunPhase::Held { step, why, .. } => format!("{} HELD: {why}", self.step_label(*step)),
            RunPhase::Draining => "draining the stable color".to_string(),
            RunPhase::Done => "done".to_string(),
            RunPhase::Failed { step, why } => {
                format!("{} FAILED: {why}", self.step_label(*step))
            }
        };
        let paused = if self.paused_at.is_some() {
            " (paused)"
        } else {
            ""
        };
        let eta = self
            .eta(now)
            .map(|t| format!(", ends in ~{}", secs(t.saturating_sub(now))))
            .unwrap_or_default();
        format!("plan {name} {what}{eta}{paused}")
    }
}

fn say(fx: &mut Vec<Effect>, level: LogLevel, text: String, marker: bool) {
    fx.push(Effect::Log(LogLine {
        level,
        target: LogTarget::Plan,
        text: text.clone(),
    }));
    if marker {
        fx.push(Effect::Marker(text));
    }
}

/// Start `plan` on `gateways`. Where it starts is read from the weights in force, so a plan
/// started again after a crash continues and never makes a step twice.
pub fn start(
    s: &mut State,
    plan: RampPlan,
    gateways: Vec<usize>,
    countdown_ms: Ms,
    fx: &mut Vec<Effect>,
) -> Result<(), String> {
    if s.session.read_only {
        return Err("refused: --read-only can watch a plan, not start one".into());
    }
    if s.ramp.as_ref().is_some_and(|r| !r.phase.ended()) {
        return Err("refused: a plan is running already (:plan abort ends it)".into());
    }
    if gateways.is_empty() {
        return Err("refused: no gateway to run the plan on".into());
    }
    let candidate = s.gateways[gateways[0]].candidate;
    if let Some(&i) = gateways
        .iter()
        .find(|&&i| s.gateways[i].candidate != candidate)
    {
        return Err(format!(
            "refused: {} has candidate {}, {} has {candidate}: a plan moves one candidate (:candidate sets it)",
            s.gateways[i].name, s.gateways[i].candidate, s.gateways[gateways[0]].name
        ));
    }
    let mut weights = Vec::new();
    for &i in &gateways {
        match s.gateways[i].model.weights {
            Some(w) => weights.push(w.of(candidate)),
            None => {
                return Err(format!(
                    "refused: {}: weights not read yet",
                    s.gateways[i].name
                ));
            }
        }
    }
    let fleet: Vec<FleetEntry<'_>> = gateways
        .iter()
        .map(|&i| (s.gateways[i].name.as_str(), s.gateways[i].az.as_str()))
        .collect();
    let Resume { done, partial } = plan.resume_point(&fleet, &weights)?;
    let now = s.now;
    let n = plan.steps.len();
    let (phase, how) = if done == n && !partial {
        (RunPhase::Done, "every step is in force already".to_string())
    } else if done > 0 && !partial {
        let step = done - 1;
        let bake = plan.steps[step].bake_ms;
        (
            RunPhase::Baking {
                step,
                since: now,
                until: now + bake,
                extended_ms: 0,
            },
            format!(
                "step {done}/{n} is in force: baking it again, then step {}",
                done + 1
            ),
        )
    } else {
        let how = if partial {
            format!("step {}/{n} was cut short: completing it", done + 1)
        } else {
            format!("from step {}/{n}", done + 1)
        };
        (
            RunPhase::Countdown {
                step: done,
                at: now,
            },
            how,
        )
    };
    let total = format_duration(plan.total_bake_ms());
    let names: Vec<&str> = fleet.iter().map(|(n, _)| *n).collect();
    let run = RampRun {
        plan,
        gateways,
        candidate,
        phase,
        paused_at: None,
        countdown_ms,
    };
    say(
        fx,
        LogLevel::Info,
        format!(
            "plan {} started by {} on {} (candidate {candidate}, {total} of bakes): {how}",
            run.plan.name,
            s.session.actor,
            names.join(", ")
        ),
        true,
    );
    s.ramp = Some(run);
    Ok(())
}

/// The gates of the run's gateways now: every verdict that is not pass.
fn gates(s: &State, run: &RampRun) -> Vec<(usize, GuardVerdict)> {
    let mut out = Vec::new();
    for &i in &run.gateways {
        let g = &s.gateways[i];
        let fresh = rules::available(s, i)
            .err()
            .filter(|r| !matches!(r, rules::Refusal::Busy));
        if let Some(r) = fresh {
            out.push((
                i,
                GuardVerdict::new(
                    crate::guard::verdict::Guardrail::Freshness,
                    Judgement::Inconclusive,
                    r.to_string(),
                ),
            ));
            continue;
        }
        let Some(w) = g.model.weights else { continue };
        for v in rules::candidate_verdicts(g, &s.cfg, s.now, w) {
            if v.verdict != Judgement::Pass {
                out.push((i, v));
            }
        }
    }
    out
}

fn gate_text(s: &State, gates: &[(usize, GuardVerdict)]) -> String {
    gates
        .iter()
        .map(|(i, v)| format!("{}: {v}", s.gateways[*i].name))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Advance the run, if there is one: called on every tick after the guardrails.
pub fn tick(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(run) = s.ramp.as_ref() else { return };
    if run.phase.ended() || run.paused_at.is_some() {
        return;
    }
    let now = s.now;
    match run.phase.clone() {
        RunPhase::Countdown { step, at } if now >= at => make_step(s, step, now - at, fx),
        RunPhase::Stepping { step } => {
            let run = s.ramp.as_ref().expect("checked");
            let target = Weights::with(run.candidate, run.plan.steps[step].weight);
            let members = step_members(s, run, step);
            if members.iter().any(|&i| s.gateways[i].op.is_some()) {
                return;
            }
            let failed: Vec<String> = members
                .iter()
                .filter_map(|&i| {
                    let g = &s.gateways[i];
                    (g.model.weights != target).then(|| {
                        let err = g.last_error.as_deref().unwrap_or("weights not where asked");
                        format!("{}: {err}", g.name)
                    })
                })
                .collect();
            if !failed.is_empty() {
                let why = format!("the step did not take: {}", failed.join("; "));
                fail(s, step, why, fx);
                return;
            }
            let bake = run.plan.steps[step].bake_ms;
            let text = format!(
                "plan {} {} in force ({}): baking {}",
                run.plan.name,
                run.step_label(step),
                target.map_or("?".into(), |t| t.to_string()),
                format_duration(bake)
            );
            let run = s.ramp.as_mut().expect("checked");
            run.phase = RunPhase::Baking {
                step,
                since: now,
                until: now + bake,
                extended_ms: 0,
            };
            say(fx, LogLevel::Info, text, true);
        }
        RunPhase::Baking {
            step,
            since,
            until,
            extended_ms,
        } => {
            // Only a bake is judged: the gates' sentences are built when they are read.
            let current = gates(s, run);
            let failing: Vec<(usize, GuardVerdict)> = current
                .iter()
                .filter(|(_, v)| v.verdict == Judgement::Fail)
                .cloned()
                .collect();
            if !failing.is_empty() {
                let why = format!("gate failed: {}", gate_text(s, &failing));
                fail(s, step, why, fx);
                return;
            }
            if now < until {
                return;
            }
            if current.is_empty() {
                advance(s, step, fx);
                return;
            }
            let run = s.ramp.as_ref().expect("checked");
            let room = run.plan.max_extend_ms.saturating_sub(extended_ms);
            if run.plan.on_inconclusive == OnInconclusive::Extend && room > 0 {
                let more = room.min(run.plan.steps[step].bake_ms.max(60_000));
                let text = format!(
                    "plan {} {}: inconclusive, baking {} more: {}",
                    run.plan.name,
                    run.step_label(step),
                    format_duration(more),
                    gate_text(s, &current)
                );
                let run = s.ramp.as_mut().expect("checked");
                run.phase = RunPhase::Baking {
                    step,
                    since,
                    until: now + more,
                    extended_ms: extended_ms + more,
                };
                say(fx, LogLevel::Warn, text, true);
            } else {
                let why = format!("inconclusive: {}", gate_text(s, &current));
                hold(s, step, why, true, fx);
            }
        }
        RunPhase::Draining => {
            let run = s.ramp.as_ref().expect("checked");
            let busy = run
                .gateways
                .iter()
                .any(|&i| s.gateways[i].drain.is_some() || s.gateways[i].op.is_some());
            if busy {
                return;
            }
            let name = run.plan.name.clone();
            let stable = run.candidate.other();
            // The stop's outcome, not the next host sample, says whether it stopped.
            let running: Vec<&str> = run
                .gateways
                .iter()
                .filter(|&&i| s.gateways[i].last_error.is_some())
                .map(|&i| s.gateways[i].name.as_str())
                .collect();
            let text = if running.is_empty() {
                format!(
                    "plan {name} done: every step baked, every gate passed, {stable} drained and stopped"
                )
            } else {
                format!(
                    "plan {name} done: every step baked, every gate passed; {stable} still runs on {} (its stop failed: see the log)",
                    running.join(", ")
                )
            };
            s.ramp.as_mut().expect("checked").phase = RunPhase::Done;
            say(fx, LogLevel::Info, text, true);
        }
        _ => {}
    }
}

/// The run's gateways a step changes.
fn step_members(s: &State, run: &RampRun, step: usize) -> Vec<usize> {
    let scope = &run.plan.steps[step].scope;
    run.gateways
        .iter()
        .copied()
        .filter(|&i| in_scope(scope, &s.gateways[i].name, &s.gateways[i].az))
        .collect()
}

/// Make step `step` on its gateways, by the same rules as a key press; a refusal or a
/// guardrail that does not pass holds the run instead.
fn make_step(s: &mut State, step: usize, waited: Ms, fx: &mut Vec<Effect>) {
    let run = s.ramp.as_ref().expect("a run");
    let candidate = run.candidate;
    let weight = run.plan.steps[step].weight;
    let label = format!("plan {} {}", run.plan.name, run.step_label(step));
    let Some(target) = Weights::with(candidate, weight) else {
        return;
    };
    let mut moves = Vec::new();
    let mut refusals = Vec::new();
    // Only inconclusive checks (no data yet), none failing, no refusal: wait a while.
    let mut only_waiting = true;
    for i in step_members(s, run, step) {
        let g = &s.gateways[i];
        if g.candidate != candidate {
            refusals.push(format!(
                "{}: {}",
                g.name,
                rules::Refusal::OtherCandidate(g.candidate)
            ));
            continue;
        }
        match rules::available(s, i) {
            Err(r) => {
                only_waiting &= r.awaits_data();
                refusals.push(format!("{}: {r}", g.name));
            }
            Ok(before) if before == target => {}
            Ok(before) => match rules::judge_change(g, &s.cfg, s.now, before, target) {
                Err(r) => {
                    // A host sample not heard yet (just started) is waited for like data.
                    only_waiting &= r.awaits_data();
                    refusals.push(format!("{}: {r}", g.name));
                }
                Ok(holds) if !holds.is_empty() => {
                    only_waiting &= holds.iter().all(|v| v.verdict == Judgement::Inconclusive);
                    let t: Vec<String> = holds.iter().map(ToString::to_string).collect();
                    refusals.push(format!("{}: {}", g.name, t.join("; ")));
                }
                Ok(_) => moves.push(i),
            },
        }
    }
    if !refusals.is_empty() {
        if only_waiting && waited < WAIT_FOR_DATA_MS {
            return;
        }
        hold(
            s,
            step,
            format!("step refused: {}", refusals.join("; ")),
            false,
            fx,
        );
        return;
    }
    for &i in &moves {
        update::start_op(
            s,
            i,
            OpKind::SetWeights { to: target },
            Origin::Plan,
            Some(label.clone()),
            fx,
        );
    }
    let run = s.ramp.as_mut().expect("a run");
    run.phase = RunPhase::Stepping { step };
    say(
        fx,
        LogLevel::Info,
        format!("{label}: {target} on {} gateway(s)", moves.len()),
        true,
    );
}

/// The bake of `step` passed: the next step after a countdown, or done.
fn advance(s: &mut State, step: usize, fx: &mut Vec<Effect>) {
    let now = s.now;
    let run = s.ramp.as_mut().expect("a run");
    let name = run.plan.name.clone();
    if step + 1 == run.plan.steps.len() && run.plan.drain {
        run.phase = RunPhase::Draining;
        let stable = run.candidate.other();
        let gateways = run.gateways.clone();
        for i in gateways {
            let g = &s.gateways[i];
            if g.model.weights.is_some_and(|w| w.of(stable) == 0)
                && g.model.host.as_ref().is_none_or(|h| h.running[stable])
            {
                update::begin_drain(s, i, stable, false, Origin::Plan);
            }
        }
        say(
            fx,
            LogLevel::Info,
            format!("plan {name}: every step baked, every gate passed; draining {stable}"),
            true,
        );
        return;
    }
    if step + 1 == run.plan.steps.len() {
        run.phase = RunPhase::Done;
        say(
            fx,
            LogLevel::Info,
            format!("plan {name} done: every step in force and baked, every gate passed"),
            true,
        );
        return;
    }
    let label = run.step_label(step);
    run.phase = RunPhase::Countdown {
        step: step + 1,
        at: now + run.countdown_ms,
    };
    say(
        fx,
        LogLevel::Info,
        format!("plan {name} {label}: every gate passed"),
        true,
    );
}

fn hold(s: &mut State, step: usize, why: String, made: bool, fx: &mut Vec<Effect>) {
    let run = s.ramp.as_mut().expect("a run");
    let text = format!(
        "plan {} {} held: {why}",
        run.plan.name,
        run.step_label(step)
    );
    run.phase = RunPhase::Held { step, why, made };
    say(fx, LogLevel::Warn, text.clone(), true);
    update::notify(s, super::state::Level::Alarm, text);
}

/// A gate failed at `step` (or the operator aborted): carry out `on_fail`.
fn fail(s: &mut State, step: usize, why: String, fx: &mut Vec<Effect>) {
    let run = s.ramp.as_ref().expect("a run");
    if run.plan.on_fail == OnFail::Hold {
        hold(s, step, why, true, fx);
        return;
    }
    let name = run.plan.name.clone();
    let label = run.step_label(step);
    let gateways = run.gateways.clone();
    let mut back = Vec::new();
    let mut kept = Vec::new();
    for i in gateways {
        let g = &s.gateways[i];
        let stable = g.stable();
        let carries = g.model.weights.is_some_and(|w| w.of(g.candidate) > 0);
        if !carries {
            continue;
        }
        // The rules of every automatic rollback: not onto a stopped or failing stable color,
        // not on a gateway that cannot be read or is busy. Said, not skipped silently.
        if let Some(refused) = rules::auto_rollback_refusal(s, i) {
            kept.push(format!("{} ({refused})", g.name));
            continue;
        }
        update::roll_back(
            s,
            i,
            Origin::Plan,
            Some(format!("plan {name} {label}: {why}")),
            fx,
        );
        back.push(format!(
            "{} to {}",
            s.gateways[i].name,
            Weights::all_on(stable)
        ));
    }
    let mut text = format!(
        "plan {name} {label} FAILED: {why}; rolling back: {}",
        if back.is_empty() {
            "nothing".to_string()
        } else {
            back.join(", ")
        }
    );
    if !kept.is_empty() {
        text.push_str(&format!("; NOT rolled back: {}", kept.join(", ")));
    }
    let run = s.ramp.as_mut().expect("a run");
    run.phase = RunPhase::Failed { step, why };
    say(fx, LogLevel::Error, text.clone(), true);
    update::notify(s, super::state::Level::Alarm, text);
}

/// What the operator can do to a run: `:plan pause|resume|promote|abort` and the `x` veto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steer {
    /// Stop the clock: no step and no end of bake until resumed.
    Pause,
    /// Go on after a pause or a hold (a held step is judged again).
    Resume,
    /// End this bake now (gates that fail still stop the plan).
    Promote,
    /// Stop the plan and carry out `on_fail`.
    Abort,
    /// Refuse the step counting down; the plan holds.
    Veto,
}

/// Apply the operator's `steer` with `reason` (audited); `Err` says why it does not apply.
pub fn steer(
    s: &mut State,
    steer: Steer,
    reason: Option<String>,
    fx: &mut Vec<Effect>,
) -> Result<(), String> {
    if s.session.read_only {
        return Err("refused: --read-only can watch a plan, not steer it".into());
    }
    let now = s.now;
    let Some(run) = s.ramp.as_mut() else {
        return Err("no plan is running".into());
    };
    if run.phase.ended() {
        return Err(format!("plan {} has ended", run.plan.name));
    }
    let name = run.plan.name.clone();
    let audit_gateway = run.gateways[0];
    let detail;
    match steer {
        Steer::Pause => {
            if run.paused_at.is_some() {
                return Err(format!("plan {name} is paused already"));
            }
            run.paused_at = Some(now);
            detail = format!("plan {name} paused");
        }
        Steer::Resume => {
            if let Some(at) = run.paused_at.take() {
                let d = now.saturating_sub(at);
                match &mut run.phase {
                    RunPhase::Countdown { at, .. } => *at += d,
                    RunPhase::Baking { until, .. } => *until += d,
                    _ => {}
                }
                detail = format!("plan {name} resumed");
            } else if let RunPhase::Held { step, made, .. } = run.phase.clone() {
                run.phase = if made {
                    RunPhase::Baking {
                        step,
                        since: now,
                        until: now,
                        extended_ms: run.plan.max_extend_ms,
                    }
                } else {
                    RunPhase::Countdown { step, at: now }
                };
                detail = format!("plan {name} resumed at {}", run.step_label(step));
            } else {
                return Err(format!("plan {name} is neither paused nor held"));
            }
        }
        Steer::Promote => match run.phase.clone() {
            RunPhase::Baking { step, since, .. } => {
                run.phase = RunPhase::Baking {
                    step,
                    since,
                    until: now,
                    extended_ms: run.plan.max_extend_ms,
                };
                detail = format!(
                    "plan {name} {} promoted: bake cut short",
                    run.step_label(step)
                );
            }
            _ => return Err(format!("plan {name} is not baking")),
        },
        Steer::Veto => match run.phase.clone() {
            RunPhase::Countdown { step, .. } => {
                let label = run.step_label(step);
                run.phase = RunPhase::Held {
                    step,
                    why: "vetoed by the operator".into(),
                    made: false,
                };
                detail = format!("plan {name} {label} vetoed");
            }
            _ => return Err(format!("plan {name} has no step counting down")),
        },
        Steer::Abort => {
            let step = match &run.phase {
                RunPhase::Countdown { step, .. }
                | RunPhase::Stepping { step }
                | RunPhase::Baking { step, .. }
                | RunPhase::Held { step, .. } => *step,
                _ => 0,
            };
            run.paused_at = None;
            detail = format!("plan {name} aborted by the operator");
            fx.push(Effect::Audit(AuditNote {
                gateway: audit_gateway,
                action: "plan",
                reason,
                detail: detail.clone(),
            }));
            fail(s, step, "aborted by the operator".into(), fx);
            return Ok(());
        }
    }
    fx.push(Effect::Audit(AuditNote {
        gateway: audit_gateway,
        action: "plan",
        reason,
        detail: detail.clone(),
    }));
    say(fx, LogLevel::Info, detail.clone(), true);
    update::notify(s, super::state::Level::Info, detail);
    Ok(())
}
