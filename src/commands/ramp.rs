//! `cutover -c fleet.toml ramp PLAN.toml (--gateway NAME | --az AZ | --all)`: a ramp plan
//! run to its end without a terminal, by the cockpit's own runner on the live collectors.
//!
//! One line per transition on stdout (JSON lines with `--json`); exit 0 when the plan is
//! done, 1 when it failed, held or was interrupted, 2 for a bad plan. Resumable: where it
//! stands is read from the weights in force, so the same command after a crash continues
//! and never makes a step twice. SIGINT/SIGTERM/SIGHUP stop it after the operations in
//! flight, leaving the weights as they are.

use crate::app::keymap::KeyMap;
use crate::app::msg::{LogLine, LogTarget};
use crate::app::ramp::{self, RunPhase};
use crate::app::state::Session;
use crate::app::update::pending_work;
use crate::commands::error::CommandError;
use crate::config::Config;
use crate::fleet::control::Actor;
use crate::fleet::service::{Fleet, Target};
use crate::front::clock::Clock;
use crate::model::Ms;
use crate::ramp::{RampPlan, format_duration};
use std::path::Path;
use std::time::Duration;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// How often the driver is advanced (as the cockpit's loop does).
const STEP: Duration = Duration::from_millis(100);
/// Longest wait for every gateway of the run to be read before the plan starts.
const READY_WITHIN_MS: Ms = 30_000;

/// What the command line asked.
pub(crate) struct RampArgs<'a> {
    /// The plan file.
    pub(crate) plan: &'a Path,
    /// The gateways it runs on.
    pub(crate) target: Target,
    /// Print the schedule only.
    pub(crate) dry_run: bool,
    /// JSON lines.
    pub(crate) json: bool,
    /// The candidate, when the weights do not say.
    pub(crate) candidate: Option<crate::model::Color>,
}

/// The plan, validated against the configured fleet (exit 2 when it is bad).
fn load(config: &Config, path: &Path) -> Result<RampPlan, CommandError> {
    let fleet: Vec<(&str, &str)> = config
        .gateway
        .iter()
        .map(|g| (g.name.as_str(), g.az.as_str()))
        .collect();
    RampPlan::load(path, &fleet, config.guardrails.step)
        .map_err(|e| CommandError::usage(e.to_string()))
}

/// The schedule of `--dry-run`, one line per step, then the total.
fn schedule(plan: &RampPlan) -> Vec<String> {
    let mut at = 0;
    let mut out = Vec::new();
    for (k, s) in plan.steps.iter().enumerate() {
        out.push(format!(
            "step {}/{}: candidate {} on {} at +{}, bake {}",
            k + 1,
            plan.steps.len(),
            s.weight,
            s.scope,
            format_duration(at),
            format_duration(s.bake_ms)
        ));
        at += s.bake_ms;
    }
    out.push(format!(
        "plan {}: {} steps, {} of bakes at least; on_fail {:?}, on_inconclusive {:?}",
        plan.name,
        plan.steps.len(),
        format_duration(at),
        plan.on_fail,
        plan.on_inconclusive
    ));
    out
}

fn emit(json: bool, text: &str) {
    if json {
        let v = serde_json::json!({
            "time": crate::model::civil::now_rfc3339(),
            "line": crate::redact::redact(text),
        });
        println!("{v}");
    } else {
        println!("{}", crate::redact::redact(text));
    }
}

/// Run `ramp` on `config` as `actor`.
pub(crate) async fn run(
    config: Config,
    actor: Actor,
    args: RampArgs<'_>,
) -> Result<(), CommandError> {
    let plan = load(&config, args.plan)?;
    if args.dry_run {
        for line in schedule(&plan) {
            emit(args.json, &line);
        }
        return Ok(());
    }
    if actor.read_only {
        return Err(CommandError::failed(
            "refused: --read-only can watch a plan, not run one",
        ));
    }
    // Signals are caught from here on: a SIGINT while the fleet is set up must not kill the
    // process before the plan could say where it stands.
    let handler = |k| signal(k).map_err(|e| CommandError::failed(e.to_string()));
    let signals = (
        handler(SignalKind::interrupt())?,
        handler(SignalKind::terminate())?,
        handler(SignalKind::hangup())?,
    );
    let guard = config.guardrails;
    // The plan's changes are annotated in Grafana when [export] says where, as `step`'s are.
    let exports = config
        .export
        .annotations()
        .then(|| crate::export::Exports::start(&config, crate::export::annotate::Reporter::Stderr));
    let mut fleet = Fleet::new(config, actor.clone())?;
    if let Some(h) = exports.as_ref().and_then(|x| x.hook()) {
        fleet.exec.set_hook(h);
    }
    let result = drive(fleet, guard, actor, &args, plan, signals).await;
    if let Some(x) = exports {
        x.finish(crate::export::EXIT_BUDGET).await;
    }
    result
}

/// Run the plan on the live fleet until it ends, holds or a signal arrives.
async fn drive(
    fleet: Fleet,
    guard: crate::guard::GuardConfig,
    actor: Actor,
    args: &RampArgs<'_>,
    plan: RampPlan,
    signals: (Signal, Signal, Signal),
) -> Result<(), CommandError> {
    let (mut int, mut term, mut hup) = signals;
    // Changes a killed run left without an outcome are read and recorded first.
    for line in fleet.exec.reconcile().await {
        eprintln!(
            "cutover: audit: {}",
            crate::redact::redact(&crate::sanitize::sanitize(&line))
        );
    }
    let members = fleet.state(&[], &args.target).map(|s| s.scope_members());
    let gateways = members.map_err(CommandError::from)?;
    let mut driver = crate::fleet::live::driver(fleet, guard, KeyMap::default(), Vec::new());
    let json = args.json;
    driver.log_to(Box::new(move |_, line: &LogLine| {
        if line.target == LogTarget::Plan {
            emit(json, &line.text);
        } else {
            crate::front::tui::emit(line);
        }
    }));
    driver.state.session = Session {
        actor: actor.name.clone(),
        ticket: actor.ticket.clone(),
        ..Session::default()
    };
    let clock = Clock::new(0, 1.0);
    let mut every = tokio::time::interval(STEP);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // Wait until every gateway of the run has been read (and its telemetry is flowing).
    loop {
        every.tick().await;
        driver.advance_to(clock.now());
        let read = gateways
            .iter()
            .all(|&i| driver.state.gateways[i].model.weights.is_some());
        if read {
            break;
        }
        if clock.now() > READY_WITHIN_MS {
            let missing: Vec<&str> = gateways
                .iter()
                .filter(|&&i| driver.state.gateways[i].model.weights.is_none())
                .map(|&i| driver.state.gateways[i].name.as_str())
                .collect();
            return Err(CommandError::failed(format!(
                "cannot read {} within {} s: not started",
                missing.join(", "),
                READY_WITHIN_MS / 1000
            )));
        }
    }
    if let Some(c) = args.candidate {
        for &i in &gateways {
            driver.state.gateways[i].candidate = c;
            driver.state.gateways[i].candidate_chosen = true;
        }
    }
    let mut fx = Vec::new();
    ramp::start(&mut driver.state, plan, gateways, 0, &mut fx).map_err(CommandError::failed)?;
    driver.run_effects(fx);
    let interrupted = loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = int.recv() => break Some("SIGINT"),
            _ = term.recv() => break Some("SIGTERM"),
            _ = hup.recv() => break Some("SIGHUP"),
        }
        driver.advance_to(clock.now());
        driver.take_markers();
        driver.take_changed();
        let ended = driver
            .state
            .ramp
            .as_ref()
            .is_none_or(|r| r.phase.ended() || matches!(r.phase, RunPhase::Held { .. }));
        if ended && pending_work(&driver.state).is_empty() {
            break None;
        }
    };
    if let Some(sig) = interrupted {
        // Stop the plan from making anything new, and let what was sent finish (audited).
        if let Some(r) = driver.state.ramp.as_mut() {
            r.paused_at = Some(driver.state.now);
        }
        emit(
            json,
            &format!("{sig}: finishing the operations already sent, starting no more"),
        );
        while driver.state.gateways.iter().any(|g| g.op.is_some()) {
            every.tick().await;
            driver.advance_to(clock.now());
        }
        let cmd: Vec<String> = std::env::args().collect();
        emit(
            json,
            &format!(
                "interrupted; the weights stay as they are. To continue: {}",
                cmd.join(" ")
            ),
        );
        return Err(CommandError::failed(format!("ramp interrupted by {sig}")));
    }
    let run = driver.state.ramp.as_ref().expect("started");
    let status = run.status(driver.state.now);
    match &run.phase {
        RunPhase::Done => Ok(()),
        _ => Err(CommandError::failed(status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_lists_every_step_with_its_start() {
        let fleet = [("gw-a1", "az-a"), ("gw-b1", "az-b")];
        let plan = RampPlan::parse(
            "name = \"p\"\n[[step]]\nweight = 10\nscope = \"az-a\"\nbake = \"5m\"\n[[step]]\nweight = 50\nbake = \"90s\"\n",
            Path::new("p.toml"),
            &fleet,
            10,
        )
        .unwrap();
        let lines = schedule(&plan);
        assert_eq!(
            lines[0],
            "step 1/2: candidate 10 on AZ az-a at +0s, bake 5m"
        );
        assert_eq!(lines[1], "step 2/2: candidate 50 on all at +5m, bake 1m30s");
        assert!(
            lines[2].starts_with("plan p: 2 steps, 6m30s of bakes"),
            "{}",
            lines[2]
        );
    }
}
