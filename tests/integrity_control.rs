//! Control-path integrity on the lab (issue 13): what the host runs, what cutover reports and
//! what the audit log says never disagree, on hosts that hang, lie or die half-way.
//! Needs nginx and sshd (`scripts/test` installs them); without them these fail.

mod common;

use common::load::Conn;
use common::tmux::Tmux;
use common::{Lab, text};
use std::process::Output;
use std::time::{Duration, Instant};

/// Both output streams with every run of white space made one space (tables wrap).
fn words(o: &Output) -> String {
    text(o).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Replace `from` with `to` in the lab's fleet.toml (the lab writes `[ssh]` and
/// `[guardrails]` sections).
fn tweak(lab: &Lab, from: &str, to: &str) {
    let path = lab.dir.join("fleet.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "fleet.toml has no {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// The nginx master of gateway `i`, from its pid file.
fn master(lab: &Lab, i: usize) -> String {
    std::fs::read_to_string(&lab.config.gateway[i].nginx_pid)
        .unwrap()
        .trim()
        .to_string()
}

fn signal(sig: &str, pid: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, pid])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// Green's share of 40 requests through gateway `i`'s nginx, in percent.
fn served_green(lab: &Lab, i: usize) -> u64 {
    let colors = common::load::colors_through_nginx(lab.state.hosts[i].ip, 40, Conn::Fresh);
    colors.iter().filter(|c| *c == "green").count() as u64 * 100 / 40
}

fn green_weight(lab: &Lab, i: usize) -> Option<u64> {
    let o = lab.run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["gateways"][i]["weights"]["green"].as_u64()
}

#[test]
fn a_stop_needs_a_read_showing_the_color_at_zero() {
    let lab = Lab::up("int-stop", 1, &["--weights", "0/100"]);
    tweak(
        &lab,
        "ttft_min_samples = 5\n",
        "ttft_min_samples = 5\ndrain_window_secs = 6\n",
    );
    let g = &lab.config.gateway[0];
    // While the drain waits, someone hand-edits the file into something cutover cannot read
    // as two weights, and nginx serves blue again.
    let conf = g.nginx_conf.clone();
    let nginx = g.nginx.clone();
    let editor = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        let text = std::fs::read_to_string(&conf).unwrap();
        let edited = text
            .lines()
            .map(|l| {
                if l.contains(":8787") {
                    "    server 127.0.0.1:8787 weight=2;".to_string()
                } else if l.contains(":8788") {
                    "    server 127.0.0.1:8788 weight=1;".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&conf, edited + "\n").unwrap();
        let ok = std::process::Command::new("sh")
            .args(["-c", &format!("{nginx} -s reload")])
            .status()
            .unwrap()
            .success();
        assert!(ok, "reload");
    });
    // A client still connected to blue keeps the drain waiting past the edit.
    let blue_addr: std::net::SocketAddr = g.blue.addr.parse().unwrap();
    let held = std::net::TcpStream::connect(blue_addr).unwrap();
    let o = lab.run(&["drain", "blue", "--gateway", &g.name]);
    drop(held);
    editor.join().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("blue still carries traffic")
            || text(&o).contains("cannot read the weights before stopping blue"),
        "{}",
        text(&o)
    );
    let blue: std::net::SocketAddr = g.blue.addr.parse().unwrap();
    assert!(
        std::net::TcpStream::connect_timeout(&blue, Duration::from_millis(500)).is_ok(),
        "blue must still be running: it carries traffic again"
    );
    let rec = lab
        .audit_lines()
        .into_iter()
        .rfind(|r| r["action"] == "stop" && r["stage"] == "outcome")
        .unwrap();
    assert_eq!(rec["outcome"], "refused", "{rec}");
    lab.down();
}

#[test]
fn a_timed_out_step_reports_unknown_weights_then_the_next_run_records_the_truth() {
    let lab = Lab::up("int-timeout", 1, &["--weights", "50/50"]);
    tweak(
        &lab,
        "config = \"ssh_config\"\n",
        "config = \"ssh_config\"\ncommand_timeout_secs = 3\n",
    );
    let pid = master(&lab, 0);
    let name = lab.config.gateway[0].name.clone();
    signal("-STOP", &pid);
    // Down a step: blue answers its probes, so no guardrail holds it; the reload cannot
    // happen while the master is stopped.
    let o = lab.run(&["step", "--by", "-10", "--gateway", &name]);
    signal("-CONT", &pid);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("outcome unknown"), "{}", text(&o));
    assert!(
        !text(&o).contains("weights now 60/40"),
        "never the weights asked for: {}",
        text(&o)
    );
    let rec = lab
        .audit_lines()
        .into_iter()
        .rfind(|r| r["action"] == "step" && r["stage"] == "outcome")
        .unwrap();
    assert_eq!(rec["outcome"], "unknown", "{rec}");
    assert!(rec["after"].is_null(), "{rec}");

    // Once the script on the host has ended, the next run reads the host and says what
    // it holds, and that is what nginx serves.
    let deadline = Instant::now() + Duration::from_secs(30);
    let green = loop {
        let o = lab.run(&["status", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        if v["gateways"][0]["lock"].is_null() {
            break v["gateways"][0]["weights"]["green"].as_u64().unwrap();
        }
        assert!(Instant::now() < deadline, "the lock never went: {v}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let _ = green_weight(&lab, 0); // one more run: reconciles what the last one left locked
    let reconciled = lab
        .audit_lines()
        .into_iter()
        .rfind(|r| r["stage"] == "reconciled")
        .unwrap_or_else(|| panic!("no reconciled record: {:#?}", lab.audit_lines()));
    assert_eq!(reconciled["id"], rec["id"]);
    assert_eq!(reconciled["after"]["green"], green, "{reconciled}");
    let served = served_green(&lab, 0);
    assert!(
        served.abs_diff(green) <= 8,
        "the file says green {green}, nginx served {served} % to green"
    );
    lab.down();
}

#[test]
fn a_hangup_lets_the_cockpits_operations_finish_and_be_audited() {
    let lab = Lab::up("int-hup", 2, &[]);
    tweak(
        &lab,
        "config = \"ssh_config\"\n",
        "config = \"ssh_config\"\ncommand_timeout_secs = 3\n",
    );
    let cmd = lab.cockpit_cmd("--actor hup-op --no-session-log");
    let t = Tmux::start(120, 40, &cmd);
    // Both gateways' TTFT verdicts must pass before the fleet step is offered: gw-a1's shows
    // first, then gw-b1's (on a loaded machine its probes can lag a few seconds behind).
    t.wait_for("gw-a1's TTFT verdict", |s| {
        s.contains("TTFT gw-a1") && s.contains("% ok")
    });
    t.keys("j");
    t.wait_for("gw-b1's TTFT verdict", |s| {
        s.contains("TTFT gw-b1") && s.contains("% ok")
    });
    t.keys("k");
    t.wait_for("gw-a1 selected", |s| s.contains("TTFT gw-a1"));
    let stopped = master(&lab, 1);
    signal("-STOP", &stopped);
    t.keys("ss]");
    t.wait_for("the fleet dialog", |s| s.contains("Confirm"));
    t.keys("y");
    std::thread::sleep(Duration::from_millis(300));
    // The bastion session drops: SIGHUP to the cockpit while gw-b1's change hangs.
    let pids = std::process::Command::new("pgrep")
        .args(["-f", "--", "--actor hup-op"])
        .output()
        .unwrap();
    let cockpit = String::from_utf8_lossy(&pids.stdout)
        .lines()
        .map(str::to_string)
        .find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "cutover")
        })
        .expect("the cockpit's pid");
    signal("-HUP", &cockpit);
    let s = t.wait_for("the cockpit to exit", |s| s.contains("exit="));
    signal("-CONT", &stopped);
    assert!(s.contains("exit=0"), "{s}");
    let records = lab.audit_lines();
    for g in &lab.config.gateway {
        let outcome = records
            .iter()
            .rfind(|r| r["host"] == g.name.as_str() && r["stage"] == "outcome")
            .unwrap_or_else(|| panic!("{}: no outcome recorded: {records:#?}", g.name));
        assert_eq!(outcome["actor"], "hup-op");
        if g.name == lab.config.gateway[0].name {
            assert_eq!(outcome["outcome"], "ok", "{outcome}");
            assert_eq!(outcome["after"]["green"], 10);
        } else {
            assert_ne!(outcome["outcome"], "ok", "{outcome}");
            assert!(outcome["after"].is_null() || outcome["after"]["green"] == 0);
        }
    }
    lab.down();
}

#[test]
fn check_fails_for_a_pid_file_of_another_nginx_and_for_a_dead_master() {
    let lab = Lab::up("int-master", 2, &[]);
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // gw-a1's pid file pointed at gw-b1's nginx, as /run/nginx.pid would be on a host that
    // also runs a system nginx.
    let a1 = lab.config.gateway[0].nginx_pid.clone();
    let b1 = lab.config.gateway[1].nginx_pid.clone();
    tweak(
        &lab,
        &format!("nginx_pid = \"{a1}\""),
        &format!("nginx_pid = \"{b1}\""),
    );
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        words(&o).contains("belongs to another nginx"),
        "{}",
        text(&o)
    );
    // A change is refused before anything is written: its reload would be judged by the
    // other nginx's workers.
    let gw = lab.config.gateway[0].name.clone();
    let conf = std::fs::read(&lab.config.gateway[0].nginx_conf).unwrap();
    let o = lab.run(&["step", "--to", "50", "--gateway", &gw, "--override", "test"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        words(&o).contains("belongs to another nginx"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read(&lab.config.gateway[0].nginx_conf).unwrap(),
        conf
    );
    assert_eq!(served_green(&lab, 0), 0, "nginx still serves 100/0");
    tweak(
        &lab,
        &format!("nginx_pid = \"{b1}\""),
        &format!("nginx_pid = \"{a1}\""),
    );
    // gw-a1's nginx stops (master and workers; the pid file goes with them).
    signal("-TERM", &master(&lab, 0));
    std::thread::sleep(Duration::from_millis(500));
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(words(&o).contains("no nginx master"), "{}", text(&o));
    lab.down();
}
