//! Ramp plans on the simulated fleet, on the virtual clock: the same runner the cockpit and
//! the headless `ramp` command use, driven through `update` on every tick.

use cutover::app::driver::Driver;
use cutover::app::keymap::KeyMap;
use cutover::app::keys::{KeyCode, KeyEvent, KeyModifiers};
use cutover::app::plan::{OpKind, Origin};
use cutover::app::ramp::{self, COUNTDOWN_MS, RunPhase};
use cutover::guard::GuardConfig;
use cutover::model::{Color, Weights};
use cutover::ramp::RampPlan;
use cutover::sim::{self, Scenario, SimFleet};
use std::path::Path;

fn demo(s: Scenario, cfg: GuardConfig) -> Driver<SimFleet> {
    let mut d = sim::demo(s, 1, cfg, KeyMap::default(), vec!["default".into()]);
    // Enough TTFT probes and requests for the gates to judge.
    d.advance_to(25_000);
    d
}

/// A fleet of `per_az` gateways in each of `azs` AZs at 100/0, both colors at parity and
/// error-free (every gate can pass), then `events`.
fn scenario(azs: usize, per_az: usize, events: &str) -> Scenario {
    let azs: Vec<String> = ["az-a", "az-b", "az-c"][..azs]
        .iter()
        .map(|a| format!("{a:?}"))
        .collect();
    Scenario::parse(
        "t.toml",
        &format!(
            "name = \"t\"\ndescription = \"parity, no errors\"\nspeed = 1.0\n[fleet]\nazs = [{}]\ngateways_per_az = {per_az}\nrps = 40.0\ninitial_green = 0\n[blue]\nttft_ms = 240.0\nerror_rate = 0.0\n[green]\nttft_ms = 240.0\nerror_rate = 0.0\n{events}",
            azs.join(", ")
        ),
    )
    .unwrap()
}

/// Six gateways in three AZs, healthy.
fn clean() -> Scenario {
    scenario(3, 2, "")
}

fn plan(d: &Driver<SimFleet>, src: &str) -> RampPlan {
    let fleet: Vec<(&str, &str)> = d
        .state
        .gateways
        .iter()
        .map(|g| (g.name.as_str(), g.az.as_str()))
        .collect();
    RampPlan::parse(src, Path::new("t.toml"), &fleet, 10).unwrap_or_else(|e| panic!("{e}"))
}

fn start(d: &mut Driver<SimFleet>, src: &str) {
    let p = plan(d, src);
    let all = (0..d.state.gateways.len()).collect();
    let mut fx = Vec::new();
    ramp::start(&mut d.state, p, all, COUNTDOWN_MS, &mut fx).unwrap();
    d.run_effects(fx);
}

fn later(d: &mut Driver<SimFleet>, secs: u64) {
    let t = d.state.now + secs * 1000;
    d.advance_to(t);
}

/// Run until the plan's phase satisfies `done` or `limit` seconds pass.
fn until(d: &mut Driver<SimFleet>, limit: u64, done: impl Fn(&RunPhase) -> bool) -> bool {
    for _ in 0..limit {
        later(d, 1);
        if d.state.ramp.as_ref().is_some_and(|r| done(&r.phase)) {
            return true;
        }
    }
    false
}

fn phase(d: &Driver<SimFleet>) -> RunPhase {
    d.state.ramp.as_ref().unwrap().phase.clone()
}

fn command(d: &mut Driver<SimFleet>, line: &str) {
    d.key(KeyEvent::new(KeyCode::Char(':'), KeyModifiers::NONE));
    for c in line.chars() {
        d.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    d.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

/// Type `text` on the footer's reason line and press Enter.
fn type_line(d: &mut Driver<SimFleet>, text: &str) {
    for c in text.chars() {
        d.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    d.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

fn markers(d: &mut Driver<SimFleet>) -> Vec<String> {
    d.take_markers().into_iter().map(|(_, m)| m).collect()
}

const THREE_STEPS: &str = r#"
name = "t"
[[step]]
weight = 10
bake = "30s"
[[step]]
weight = 50
bake = "30s"
[[step]]
weight = 100
bake = "30s"
"#;

#[test]
fn a_plan_completes_with_every_step_audited_as_the_plans() {
    let mut d = demo(clean(), GuardConfig::default());
    start(&mut d, THREE_STEPS);
    assert!(
        until(&mut d, 200, RunPhase::ended),
        "{:?}",
        d.state.ramp.as_ref().map(|r| r.status(d.state.now))
    );
    assert_eq!(phase(&d), RunPhase::Done);
    for i in 0..6 {
        assert_eq!(d.world.true_weights(i), Weights::with_green(100).unwrap());
    }
    let plan_ops: Vec<_> = d
        .world
        .executed
        .iter()
        .filter(|(_, op)| op.origin == Origin::Plan)
        .collect();
    assert_eq!(plan_ops.len(), 18, "three steps on six gateways");
    assert!(
        plan_ops.iter().all(|(_, op)| op
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("plan t step "))),
        "every operation names the plan and its step"
    );
    // No step is made before the previous one has baked for its whole bake and the countdown.
    let times: Vec<u64> = plan_ops.iter().map(|(t, _)| *t).collect();
    assert!(times[6] - times[0] >= 30_000 + COUNTDOWN_MS, "{times:?}");
    let m = markers(&mut d);
    assert!(m.iter().any(|m| m.starts_with("plan t started")), "{m:?}");
    assert!(m.iter().any(|m| m.starts_with("plan t done")), "{m:?}");
}

#[test]
fn a_plan_fails_at_thirty_percent_on_ttft_and_rolls_back() {
    // Green slows down by 40 % at 110 s, while the 30 % step bakes.
    let s = scenario(
        2,
        1,
        "[[event]]
at_secs = 110.0
green_ttft_ms = 340.0
",
    );
    // A short TTFT window, so the slowdown shows within the bake.
    let cfg = GuardConfig {
        ttft_window_secs: 30,
        ..GuardConfig::default()
    };
    let mut d = demo(s, cfg);
    start(
        &mut d,
        r#"
name = "t"
on_fail = "rollback"
[[step]]
weight = 10
bake = "30s"
[[step]]
weight = 20
bake = "30s"
[[step]]
weight = 30
bake = "60s"
[[step]]
weight = 50
bake = "30s"
"#,
    );
    assert!(until(&mut d, 300, RunPhase::ended));
    match phase(&d) {
        RunPhase::Failed { step, why } => {
            assert_eq!(step, 2, "failed at the 30 % step: {why}");
            assert!(why.contains("TTFT"), "{why}");
            assert!(
                why.contains("95 % CI"),
                "the sentence carries the interval: {why}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    later(&mut d, 5);
    assert_eq!(d.world.true_weights(0), Weights::STEADY, "rolled back");
    later(&mut d, 35);
    assert!(
        d.world.executed.iter().any(|(_, op)| op.kind
            == OpKind::Stop {
                color: Color::Green
            }
            && op.origin == Origin::Plan),
        "green is stopped after its grace window, by the plan"
    );
    assert!(
        !d.world.executed.iter().any(|(_, op)| op.kind
            == OpKind::SetWeights {
                to: Weights::with_green(50).unwrap()
            }),
        "the 50 % step was never made"
    );
}

#[test]
fn a_failing_preflight_round_fails_the_gate_for_its_gateway() {
    // gw-b1's nginx configuration stops passing `nginx -t` during the first bake.
    let s = scenario(
        2,
        1,
        "[[event]]\nat_secs = 40.0\ngateways = [\"gw-b1\"]\nnginx_test_fails = true\n",
    );
    let mut d = demo(s, GuardConfig::default());
    start(
        &mut d,
        "name = \"t\"\non_fail = \"hold\"\n[[step]]\nweight = 10\nbake = \"30s\"\n[[step]]\nweight = 20\nbake = \"30s\"\n",
    );
    assert!(until(&mut d, 120, |p| matches!(p, RunPhase::Held { .. })));
    match phase(&d) {
        RunPhase::Held { step, why, made } => {
            assert_eq!((step, made), (0, true));
            assert!(
                why.contains("gw-b1") && why.contains("preflight fails: nginx -t"),
                "{why}"
            );
            assert!(!why.contains("gw-a1"), "gw-a1's preflight passes: {why}");
        }
        other => panic!("expected a hold on the preflight, got {other:?}"),
    }
    assert!(
        d.world.executed.iter().all(|(_, op)| op.kind
            != OpKind::SetWeights {
                to: Weights::with_green(20).unwrap()
            }),
        "the 20 % step was never made"
    );
}

/// gw-b1 stops answering at 30 s.
fn dark_at_30() -> Scenario {
    scenario(
        2,
        1,
        "[[event]]\nat_secs = 30.0\ngateways = [\"gw-b1\"]\ndark = true\n",
    )
}

#[test]
fn inconclusive_holds_and_extend_bakes_longer_first() {
    let src = |on: &str| {
        format!(
            "name = \"t\"\non_inconclusive = \"{on}\"\nmax_extend = \"1m\"\n[[step]]\nweight = 10\nbake = \"30s\"\n[[step]]\nweight = 20\nbake = \"30s\"\n"
        )
    };
    // hold: a gateway the gates cannot see (no fresh data) holds the plan at the end of the bake.
    let mut d = demo(dark_at_30(), GuardConfig::default());
    start(&mut d, &src("hold"));
    assert!(until(&mut d, 120, |p| matches!(p, RunPhase::Held { .. })));
    match phase(&d) {
        RunPhase::Held { step, why, made } => {
            assert_eq!((step, made), (0, true));
            assert!(why.starts_with("inconclusive"), "{why}");
            assert!(why.contains("gw-b1"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    later(&mut d, 30);
    assert!(
        matches!(phase(&d), RunPhase::Held { .. }),
        "nothing advances while held"
    );
    // extend: the bake is extended first, then it holds.
    let mut d = demo(dark_at_30(), GuardConfig::default());
    start(&mut d, &src("extend"));
    assert!(until(&mut d, 120, |p| matches!(
        p,
        RunPhase::Baking { extended_ms, .. } if *extended_ms > 0
    )));
    assert!(until(&mut d, 120, |p| matches!(p, RunPhase::Held { .. })));
    let m = markers(&mut d);
    assert!(
        m.iter().any(|m| m.contains("inconclusive, baking 1m more")),
        "{m:?}"
    );
    // Only the first step was ever made.
    assert!(d.world.executed.iter().all(|(_, op)| op.kind
        != OpKind::SetWeights {
            to: Weights::with_green(20).unwrap()
        }));
}

#[test]
fn a_step_counting_down_is_vetoed_with_x_and_the_plan_holds() {
    let mut d = demo(clean(), GuardConfig::default());
    start(&mut d, THREE_STEPS);
    assert!(until(&mut d, 60, |p| matches!(
        p,
        RunPhase::Countdown { step: 1, .. }
    )));
    d.key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE));
    assert!(matches!(
        phase(&d),
        RunPhase::Held {
            step: 1,
            made: false,
            ..
        }
    ));
    later(&mut d, 30);
    assert_eq!(d.world.true_weights(0), Weights::with_green(10).unwrap());
    assert!(
        d.world
            .notes
            .iter()
            .any(|(_, n)| n.action == "plan" && n.detail.contains("vetoed")),
        "the veto is audited"
    );
    // Resumed, the vetoed step is made (after its own checks).
    command(&mut d, "plan resume");
    later(&mut d, 5);
    assert_eq!(d.world.true_weights(0), Weights::with_green(50).unwrap());
}

#[test]
fn promote_cuts_a_bake_short_and_abort_rolls_back() {
    let mut d = demo(clean(), GuardConfig::default());
    start(
        &mut d,
        r#"
name = "t"
[[step]]
weight = 10
bake = "10m"
[[step]]
weight = 20
bake = "10m"
"#,
    );
    assert!(until(&mut d, 30, |p| matches!(
        p,
        RunPhase::Baking { step: 0, .. }
    )));
    later(&mut d, 20);
    command(&mut d, "plan promote");
    assert!(
        matches!(phase(&d), RunPhase::Baking { step: 0, .. }),
        "a reason is asked first"
    );
    type_line(&mut d, "canary looks fine, saving time");
    assert!(
        until(&mut d, 30, |p| matches!(
            p,
            RunPhase::Countdown { step: 1, .. }
        )),
        "{:?}",
        phase(&d)
    );
    assert!(until(&mut d, 30, |p| matches!(
        p,
        RunPhase::Baking { step: 1, .. }
    )));
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), Weights::with_green(20).unwrap());
    command(&mut d, "plan abort");
    type_line(&mut d, "customer escalation");
    assert!(matches!(phase(&d), RunPhase::Failed { step: 1, .. }));
    later(&mut d, 5);
    assert_eq!(
        d.world.true_weights(0),
        Weights::STEADY,
        "abort follows on_fail"
    );
    let notes: Vec<_> = d
        .world
        .notes
        .iter()
        .map(|(_, n)| n.detail.clone())
        .collect();
    assert!(notes.iter().any(|n| n.contains("promoted")), "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("aborted")), "{notes:?}");
    let reasons: Vec<_> = d
        .world
        .notes
        .iter()
        .filter_map(|(_, n)| n.reason.clone())
        .collect();
    assert_eq!(
        reasons,
        vec!["canary looks fine, saving time", "customer escalation"],
        "each is audited with its reason"
    );
}

#[test]
fn read_only_can_neither_start_nor_steer_a_plan() {
    let mut d = demo(clean(), GuardConfig::default());
    d.state.session.read_only = true;
    let p = plan(&d, THREE_STEPS);
    let mut fx = Vec::new();
    let e = ramp::start(&mut d.state, p, vec![0], COUNTDOWN_MS, &mut fx).unwrap_err();
    assert!(e.contains("--read-only"), "{e}");
    assert!(fx.is_empty());
    let e = ramp::steer(&mut d.state, ramp::Steer::Abort, None, &mut fx).unwrap_err();
    assert!(e.contains("--read-only"), "{e}");
}

#[test]
fn a_plan_started_again_continues_where_the_weights_say() {
    let mut d = demo(clean(), GuardConfig::default());
    start(&mut d, THREE_STEPS);
    assert!(until(&mut d, 100, |p| matches!(
        p,
        RunPhase::Baking { step: 1, .. }
    )));
    // The runner is lost (the process died); a new one reads the weights and bakes step 2
    // again rather than making it twice.
    d.state.ramp = None;
    let made_before = d
        .world
        .executed
        .iter()
        .filter(|(_, op)| op.origin == Origin::Plan)
        .count();
    start(&mut d, THREE_STEPS);
    assert!(matches!(phase(&d), RunPhase::Baking { step: 1, .. }));
    assert!(until(&mut d, 200, RunPhase::ended));
    assert_eq!(phase(&d), RunPhase::Done);
    let made = d
        .world
        .executed
        .iter()
        .filter(|(_, op)| op.origin == Origin::Plan)
        .count();
    assert_eq!(
        made - made_before,
        6,
        "only the last step was made after the restart"
    );
}

#[test]
fn the_cockpit_starts_a_plan_from_a_file_after_listing_its_steps() {
    let mut d = demo(clean(), GuardConfig::default());
    let dir = std::env::temp_dir().join(format!("cutover-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.toml");
    std::fs::write(&file, THREE_STEPS).unwrap();
    // Scope: the AZ of gw-a1.
    d.key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE));
    command(&mut d, &format!("plan {}", file.display()));
    match &d.state.popup {
        Some(cutover::app::state::Popup::StartPlan(plan, gateways)) => {
            assert_eq!(plan.steps.len(), 3);
            assert_eq!(gateways, &vec![0, 1], "the scope's gateways");
        }
        other => panic!("expected the plan's confirmation, got {other:?}"),
    }
    assert!(d.state.ramp.is_none(), "nothing starts before y");
    d.key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
    let status = d.state.ramp.as_ref().unwrap().status(d.state.now);
    assert!(status.starts_with("plan t step 1/3"), "{status}");
    assert!(until(&mut d, 200, RunPhase::ended));
    assert_eq!(phase(&d), RunPhase::Done);
    assert_eq!(d.world.true_weights(1), Weights::with_green(100).unwrap());
    assert_eq!(
        d.world.true_weights(2),
        Weights::STEADY,
        "outside the scope"
    );
    // A bad file is said, with what is wrong, and starts nothing.
    std::fs::write(
        &file,
        "name = \"x\"\n[[step]]\nweight = 15\nbake = \"1m\"\n",
    )
    .unwrap();
    d.state.ramp = None;
    command(&mut d, &format!("plan {}", file.display()));
    assert!(d.state.popup.is_none());
    let notice = d.state.notice.as_ref().unwrap().text.clone();
    assert!(notice.contains("step[1].weight"), "{notice}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_plan_that_says_drain_ends_with_the_stable_color_drained_and_stopped() {
    let mut d = demo(clean(), GuardConfig::default());
    start(
        &mut d,
        "name = \"t\"\ndrain = true\n[[step]]\nweight = 50\nbake = \"30s\"\n[[step]]\nweight = 100\nbake = \"30s\"\n",
    );
    assert!(until(&mut d, 200, |p| *p == RunPhase::Draining));
    assert!(until(&mut d, 200, RunPhase::ended));
    assert_eq!(phase(&d), RunPhase::Done);
    later(&mut d, 3); // the next host samples
    for i in 0..6 {
        let host = d.state.gateways[i].model.host.clone().unwrap();
        assert!(!host.running.blue && host.running.green, "{i}: {host:?}");
    }
    assert!(
        d.world
            .executed
            .iter()
            .filter(|(_, op)| op.kind == OpKind::Stop { color: Color::Blue }
                && op.origin == Origin::Plan)
            .count()
            == 6,
        "blue stopped by the plan on every gateway"
    );
    let fleet: Vec<(&str, &str)> = vec![("gw-a1", "az-a")];
    let e = RampPlan::parse(
        "name = \"t\"\ndrain = true\n[[step]]\nweight = 50\nbake = \"1m\"\n",
        Path::new("t.toml"),
        &fleet,
        10,
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("drain"), "{e}");
}

#[test]
fn a_failed_plan_rolls_back_by_the_rules_and_names_what_it_could_not() {
    // gw-a1's green slows down at 60 s; gw-b1 has gone dark at 30 s.
    let s = scenario(
        2,
        1,
        "[[event]]\nat_secs = 30.0\ngateways = [\"gw-b1\"]\ndark = true\n[[event]]\nat_secs = 60.0\ngateways = [\"gw-a1\"]\ngreen_ttft_ms = 480.0\n",
    );
    let cfg = GuardConfig {
        ttft_window_secs: 30,
        ..GuardConfig::default()
    };
    let mut d = demo(s, cfg);
    start(
        &mut d,
        "name = \"t\"\n[[step]]\nweight = 10\nbake = \"2m\"\n[[step]]\nweight = 20\nbake = \"1m\"\n",
    );
    assert!(until(&mut d, 200, RunPhase::ended), "{:?}", phase(&d));
    let text = markers(&mut d)
        .into_iter()
        .find(|m| m.contains("FAILED"))
        .expect("a failure marker");
    assert!(text.contains("rolling back: gw-a1 to 100/0"), "{text}");
    assert!(
        text.contains("NOT rolled back: gw-b1 (no fresh data"),
        "the dark gateway is named, not skipped silently: {text}"
    );
    later(&mut d, 5);
    assert_eq!(d.world.true_weights(0), Weights::STEADY);
}

#[test]
fn a_gateway_whose_host_sample_is_not_heard_yet_is_waited_for_not_held() {
    let mut d = demo(clean(), GuardConfig::default());
    start(
        &mut d,
        "name = \"t\"\n[[step]]\nweight = 10\nbake = \"10s\"\n",
    );
    let RunPhase::Countdown { at, .. } = phase(&d) else {
        panic!("{:?}", phase(&d))
    };
    // At the countdown's end gw-b1's host sample is not known (as when a plan starts with the
    // collectors' first SSH round still under way): the tick judges it without a new sample.
    d.state.gateways[1].model.host = None;
    d.apply(at, cutover::app::msg::Msg::Tick);
    assert!(
        !matches!(phase(&d), RunPhase::Held { .. }),
        "no host sample yet is waited for: {:?}",
        phase(&d)
    );
    // The next sample arrives: the step is made on both gateways.
    assert!(until(&mut d, 30, |p| matches!(p, RunPhase::Baking { .. })));
    later(&mut d, 2);
    assert_eq!(d.world.true_weights(1), Weights::with_green(10).unwrap());
}
