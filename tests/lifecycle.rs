//! Color lifecycle on the lab (real nginx, real sshd, the lab's color processes): start and
//! restart from the headless commands, with the readiness wait, the rules and the audit
//! log; `status` shows each color's state and version. Needs nginx and sshd.

mod common;

use common::{Lab, text};

/// Green's `running` and `version` in `status --json`.
fn green(lab: &Lab) -> (Option<bool>, Option<String>) {
    let s = lab.status();
    let c = &s["gateways"][0]["colors"]["green"];
    (
        c["running"].as_bool(),
        c["version"].as_str().map(str::to_string),
    )
}

#[test]
fn a_color_restarts_and_starts_answering_and_the_rules_keep_traffic_safe() {
    let lab = Lab::up("lifecycle", 1, &[]);
    let (running, version) = green(&lab);
    assert_eq!(running, Some(true));
    assert!(version.is_some(), "status shows green's version");
    let o = lab.run(&["status"]);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains(&format!("g {}", version.as_deref().unwrap())),
        "{table}"
    );

    // Green carries nothing at 100/0: a restart stops, starts and waits until it answers.
    let o = lab.run(&["restart", "green", "--gateway", "gw-a1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("green restarted and answers its probe"),
        "{}",
        text(&o)
    );
    // Blue carries everything: its restart is refused, nothing run.
    let o = lab.run(&["restart", "blue", "--gateway", "gw-a1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("blue still carries traffic"),
        "{}",
        text(&o)
    );
    // A running color is not started again (benign: exit 0).
    let o = lab.run(&["start", "green", "--gateway", "gw-a1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("green runs already"), "{}", text(&o));
    // Drained and stopped, green refuses traffic; started, it answers again.
    let o = lab.run(&["drain", "green", "--gateway", "gw-a1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(green(&lab).0, Some(false));
    let o = lab.run(&["step", "--by", "10", "--gateway", "gw-a1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("green is stopped"), "{}", text(&o));
    let o = lab.run(&["start", "green", "--gateway", "gw-a1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("green started and answers its probe"),
        "{}",
        text(&o)
    );
    assert_eq!(green(&lab).0, Some(true));

    // Each is audited with its commands, the readiness probe among them.
    let audit = lab.audit_lines();
    let of = |action: &str| {
        audit
            .iter()
            .filter(|r| r["action"] == action && r["outcome"] == "ok")
            .count()
    };
    assert_eq!(of("restart"), 1, "{audit:?}");
    assert_eq!(of("start"), 1, "{audit:?}");
    let start = audit.iter().rev().find(|r| r["action"] == "start").unwrap();
    let cmds: Vec<&str> = start["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cmd"].as_str().unwrap())
        .collect();
    assert!(
        cmds.iter()
            .any(|c| c.starts_with("readiness: TTFT probe to green")),
        "{cmds:?}"
    );
    lab.down();
}
