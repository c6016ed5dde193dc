//! The real binary in a real pseudo-terminal (tmux), driven by key presses as a
//! user would, reading the screen back.

mod common;

use common::tmux::{Tmux, row};
use std::process::Command;

/// The cockpit exited and the shell printed the tty mode after it.
fn exited(s: &str) -> bool {
    s.contains("exit=") && s.lines().any(|l| l.trim().ends_with("icanon"))
}

fn demo_cmd(args: &str) -> String {
    // After the cockpit exits, print its status and the tty mode so the test can
    // check the terminal was restored (canonical mode back on).
    format!(
        "{} demo {args}; echo \"exit=$?\"; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; sleep 30",
        env!("CARGO_BIN_EXE_cutover")
    )
}

#[test]
fn keys_change_the_simulated_fleet_and_quit_restores_the_terminal() {
    let t = Tmux::start(120, 40, &demo_cmd("--seed 3 --speed 4"));
    let s = t.wait_for("the first frame", |s| {
        s.contains("gw-a1") && s.contains("gw-c2") && s.contains("100/0")
    });
    for title in ["Fleet", "Weights", "Burn", "TTFT", "Log"] {
        assert!(s.contains(title), "panel {title} missing:\n{s}");
    }
    // A step up waits for the TTFT guardrail's verdict (20 probes, one a second): until
    // then it is inconclusive and refused.
    t.wait_for("the TTFT verdict", |s| s.contains("% ok"));
    t.keys("]");
    t.wait_for("gw-a1 at 90/10", |s| row(s, "gw-a1").contains("90/10"));
    assert!(row(&t.screen(), "gw-a2").contains("100/0"));

    // Right after its first step gw-a1's green has too few requests for the 5xx guardrail:
    // the AZ step is either confirmed or refused as inconclusive; both dialogs name every
    // gateway and what it would do.
    t.keys("s]");
    let s = t.wait_for("the AZ dialog", |s| {
        s.contains("Confirm") || s.contains("Refused")
    });
    assert!(
        s.contains("gw-a1") && s.contains("gw-a2"),
        "dialog must name every gateway:\n{s}"
    );
    t.keys("n");
    t.wait_for("the dialog to close", |s| {
        !s.contains("Confirm") && !s.contains("Refused")
    });

    t.keys("R");
    let s = t.wait_for("the rollback dialog", |s| {
        s.contains("Confirm") && s.contains("rollback")
    });
    assert!(
        s.contains("is stopped once they close"),
        "the dialog must say green is stopped once its connections close:\n{s}"
    );
    t.keys("y");
    t.wait_for("gw-a1 back at 100/0", |s| {
        row(s, "gw-a1").contains("100/0") && !s.contains("Confirm")
    });

    // Green is in its rollback grace window: q asks what it would abandon; q again quits
    // once green is stopped.
    t.keys("q");
    let s = t.wait_for("the quit question", |s| s.contains("Quit?"));
    assert!(s.contains("rollback grace of green"), "{s}");
    t.keys("q");
    let s = t.wait_for("exit", exited);
    assert!(s.contains("exit=0"), "{s}");
    assert!(
        s.lines().any(|l| l.trim() == "icanon"),
        "terminal left in raw mode:\n{s}"
    );
    assert_eq!(t.format("#{alternate_on}"), "0", "alternate screen left on");
}

#[test]
fn sigterm_restores_the_terminal() {
    let t = Tmux::start(80, 24, &demo_cmd(""));
    t.wait_for("the first frame", |s| s.contains("gw-a1"));
    // The pane runs sh; the cockpit is its child.
    let shell = t.format("#{pane_pid}");
    let o = Command::new("pkill")
        .args(["-TERM", "-P", &shell, "-x", "cutover"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "pkill found no cockpit under pid {shell}"
    );
    let s = t.wait_for("exit", exited);
    assert!(
        s.lines().any(|l| l.trim() == "icanon"),
        "terminal left in raw mode:\n{s}"
    );
    assert_eq!(t.format("#{alternate_on}"), "0");
}

#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    let t = Tmux::start(80, 24, &demo_cmd(""));
    t.wait_for("the first frame", |s| s.contains("gw-a1"));
    t.cmd(&["send-keys", "C-c"]);
    let s = t.wait_for("exit", exited);
    assert!(s.contains("exit=0"), "{s}");
    assert!(
        s.lines().any(|l| l.trim() == "icanon"),
        "terminal left in raw mode:\n{s}"
    );
    assert_eq!(t.format("#{alternate_on}"), "0");
}

#[test]
fn live_cockpit_keys_change_real_nginx_weights_through_ssh() {
    let lab = common::Lab::up("pty-live", 2, &[]);
    let cmd = lab.cockpit_cmd("--actor pty-op --ticket CHG-3");
    let t = Tmux::start(120, 40, &cmd);
    t.wait_for("both gateways read back", |s| {
        s.contains("LIVE") && row(s, "gw-a1").contains("100/0") && row(s, "gw-b1").contains("100/0")
    });
    t.wait_for("the TTFT verdict", |s| s.contains("% ok"));
    t.keys("]");
    t.wait_for("gw-a1 read back at 90/10", |s| {
        row(s, "gw-a1").contains("90/10")
    });
    // The host itself says so: the upstream file nginx loaded.
    let conf = std::fs::read_to_string(&lab.config.gateway[0].nginx_conf).unwrap();
    assert!(
        conf.contains("weight=90") && conf.contains("weight=10"),
        "{conf}"
    );
    assert!(row(&t.screen(), "gw-b1").contains("100/0"));
    let audit = std::fs::read_to_string(lab.dir.join("cutover-audit.jsonl")).unwrap();
    let rec: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(
        (rec["actor"].as_str(), rec["ticket"].as_str()),
        (Some("pty-op"), Some("CHG-3"))
    );
    assert_eq!(rec["after"]["green"], 10);
    t.keys("q");
    t.wait_for("the cockpit to exit", |s| s.contains("exit=0"));
    lab.down();
}
