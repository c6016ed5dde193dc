//! `cutover ramp` on the lab: real nginx, real sshd, real gateway processes under load.

mod common;

use common::load::{Load, assert_none_failed};
use common::{Lab, text};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The lab's fleet with short windows: a TTFT window of `ttft_secs` (probes come once a
/// second, so that many samples per color), short grace and drain windows. The TTFT limit
/// is +25 %: on a loaded two-core machine the lab's own jitter is a few percent, and the
/// test is about the plan, not about the judge's resolution (examples/judge_quality.rs).
fn short_windows(lab: &Lab, ttft_secs: u64) {
    let path = lab.dir.join("fleet.toml");
    let fleet = std::fs::read_to_string(&path).unwrap();
    let fleet = fleet.replace(
        "[guardrails]\n",
        &format!("[guardrails]\nttft_window_secs = {ttft_secs}\nttft_halt_pct = 25.0\nfivexx_window_secs = 30\nrollback_grace_secs = 3\ndrain_window_secs = 15\n"),
    );
    std::fs::write(&path, fleet).unwrap();
}

/// Both colors of every gateway fast and at parity.
fn parity(lab: &Lab) {
    for color in ["blue", "green"] {
        lab.fault(&[
            "--color",
            color,
            "ttft_ms=60",
            "tokens=2",
            "tokens_per_sec=200",
        ]);
    }
}

fn plan(lab: &Lab, name: &str, body: &str) -> String {
    let path = lab.dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("name = \"{name}\"\n{body}")).unwrap();
    path.to_str().unwrap().to_string()
}

/// Outcome records of operations a plan made.
fn plan_steps(lab: &Lab) -> Vec<serde_json::Value> {
    lab.audit_lines()
        .into_iter()
        .filter(|r| r["origin"] == "plan" && r["stage"] == "outcome" && r["action"] == "step")
        .collect()
}

/// Wait (reading the audit log, which costs the hosts nothing) until the plan run by `child`
/// has made `n` step operations; a run that ended first fails with what it said.
fn wait_for_steps(lab: &Lab, child: &mut std::process::Child, n: usize) {
    let t = Instant::now();
    while plan_steps(lab).len() < n {
        if let Some(status) = child.try_wait().unwrap() {
            let mut said = String::new();
            if let Some(mut err) = child.stderr.take() {
                use std::io::Read as _;
                let _ = err.read_to_string(&mut said);
            }
            panic!("the ramp ended ({status}) before {n} steps: {said}");
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "first step not made: {:?}",
            lab.audit_lines()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

const TWO_STEPS: &str = r#"
on_fail = "rollback"
[[step]]
weight = 50
bake = "6s"
[[step]]
weight = 100
bake = "6s"
"#;

#[test]
fn ramp_runs_a_plan_to_the_end_under_load() {
    let lab = Lab::up("ramp-happy", 3, &[]);
    // Enough samples for the judge to prove parity within the limit.
    short_windows(&lab, 50);
    parity(&lab);
    let loader = Load::new(2, 2).start(lab.chat_urls());
    let p = plan(&lab, "happy", &format!("drain = true\n{TWO_STEPS}"));
    let dry = lab.run(&["ramp", &p, "--all", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(
        text(&dry).contains("step 2/2: candidate 100 on all at +6s, bake 6s"),
        "{}",
        text(&dry)
    );
    let o = lab.run(&["ramp", &p, "--all", "--json"]);
    let done = loader.stop();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_none_failed(&done);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(
        lines
            .last()
            .is_some_and(|l| l["line"].as_str().unwrap().starts_with(
                "plan happy done: every step baked, every gate passed, blue drained and stopped"
            )),
        "{lines:?}"
    );
    assert_eq!(lab.greens(), vec![Some(100); 3]);
    for g in &lab.config.gateway {
        assert!(
            !common::listens(&g.blue.addr),
            "{}: blue drained and stopped",
            g.name
        );
    }
    let steps = plan_steps(&lab);
    assert_eq!(steps.len(), 6, "two steps on three gateways: {steps:?}");
    assert!(
        steps
            .iter()
            .all(|r| r["outcome"] == "ok" && r["candidate"] == "green")
    );
    lab.down();
}

#[test]
fn a_slower_green_fails_the_bake_and_the_plan_rolls_back_for_real() {
    let lab = Lab::up("ramp-slow", 3, &[]);
    // A short window, so the slowdown shows within seconds.
    short_windows(&lab, 30);
    parity(&lab);
    let loader = Load::new(2, 2).start(lab.chat_urls());
    let p = plan(
        &lab,
        "slow",
        r#"
on_fail = "rollback"
[[step]]
weight = 50
bake = "60s"
[[step]]
weight = 100
bake = "6s"
"#,
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["-c", lab.dir.join("fleet.toml").to_str().unwrap()])
        .args(["ramp", &p, "--all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the first step is in force, green becomes two and a half times slower.
    wait_for_steps(&lab, &mut child, 3);
    lab.fault(&[
        "--color",
        "green",
        "ttft_ms=150",
        "tokens=2",
        "tokens_per_sec=200",
    ]);
    let o = child.wait_with_output().unwrap();
    let done = loader.stop();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("FAILED: gate failed"), "{}", text(&o));
    assert!(
        text(&o).contains("TTFT"),
        "the failing gate is named: {}",
        text(&o)
    );
    assert!(
        text(&o).contains("95 % CI"),
        "with its interval: {}",
        text(&o)
    );
    assert_eq!(lab.greens(), vec![Some(0); 3], "rolled back for real");
    assert_none_failed(&done);
    let records = lab.audit_lines();
    let stops = records
        .iter()
        .filter(|r| r["action"] == "stop" && r["origin"] == "plan" && r["stage"] == "outcome")
        .count();
    assert_eq!(stops, 3, "green stopped on every gateway after its grace");
    assert!(
        !plan_steps(&lab).iter().any(|r| r["target"]["green"] == 100),
        "the second step was never made"
    );
    lab.down();
}

#[test]
fn a_killed_ramp_run_again_finishes_without_repeating_a_step() {
    let lab = Lab::up("ramp-kill", 2, &[]);
    short_windows(&lab, 50);
    parity(&lab);
    let loader = Load::new(2, 2).start(lab.chat_urls());
    let p = plan(
        &lab,
        "resume",
        r#"
[[step]]
weight = 30
bake = "30s"
[[step]]
weight = 60
bake = "3s"
"#,
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["-c", lab.dir.join("fleet.toml").to_str().unwrap()])
        .args(["ramp", &p, "--all"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_steps(&lab, &mut child, 2);
    // Mid-bake: SIGKILL, no chance to clean up.
    std::thread::sleep(Duration::from_secs(2));
    child.kill().unwrap();
    child.wait().unwrap();
    let o = lab.run(&["ramp", &p, "--all"]);
    let done = loader.stop();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("step 1/2 is in force: baking it again"),
        "{}",
        text(&o)
    );
    assert_eq!(lab.greens(), vec![Some(60); 2]);
    assert_none_failed(&done);
    let steps = plan_steps(&lab);
    for g in ["gw-a1", "gw-b1"] {
        let targets: Vec<u64> = steps
            .iter()
            .filter(|r| r["host"] == g)
            .map(|r| r["target"]["green"].as_u64().unwrap())
            .collect();
        assert_eq!(targets, vec![30, 60], "{g}: each step made once");
    }
    lab.down();
}
