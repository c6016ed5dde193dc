//! The real binary in a real pseudo-terminal (tmux), driven by key presses as a
//! user would, reading the screen back.

mod common;

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Generous: CI runs debug builds on two busy cores. The time-to-first-frame
/// figure is measured separately (docs/performance.md), not asserted here.
const WAIT: Duration = Duration::from_secs(15);

struct Tmux {
    socket: String,
}

impl Tmux {
    /// A private tmux server running `shell_cmd` in a `w`x`h` window.
    fn start(w: u16, h: u16, shell_cmd: &str) -> Tmux {
        static N: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "cutover-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let t = Tmux { socket };
        let o = t.cmd(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
            shell_cmd,
        ]);
        assert!(
            o.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        t.cmd(&["set-option", "-g", "remain-on-exit", "on"]);
        t
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect(
                "tmux is required for this test: apt-get install tmux (scripts/test installs it)",
            )
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p"]).stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        self.cmd(&["send-keys", "-l", keys]);
    }

    fn format(&self, f: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["display-message", "-p", f]).stdout)
            .trim()
            .to_string()
    }

    /// Wait until `pred` holds for the screen; panics with the screen if it never does.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > WAIT {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}

/// The fleet-table row of gateway `name` (not the header, which may name it as the scope).
fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.trim_start_matches(['▸', ' ']).starts_with(name))
        .unwrap_or("")
}

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
    let t = Tmux::start(120, 40, &demo_cmd("--seed 3"));
    let s = t.wait_for("the first frame", |s| {
        s.contains("gw-a1") && s.contains("gw-c2") && s.contains("100/0")
    });
    for title in ["Fleet", "Weights", "Burn", "TTFT", "Log"] {
        assert!(s.contains(title), "panel {title} missing:\n{s}");
    }
    t.keys("]");
    t.wait_for("gw-a1 at 90/10", |s| row(s, "gw-a1").contains("90/10"));
    assert!(row(&t.screen(), "gw-a2").contains("100/0"));

    t.keys("s]");
    let s = t.wait_for("the confirm dialog", |s| s.contains("Confirm"));
    assert!(
        s.contains("gw-a1") && s.contains("gw-a2"),
        "dialog must name every gateway:\n{s}"
    );
    t.keys("n");
    t.wait_for("the dialog to close", |s| !s.contains("Confirm"));

    t.keys("R");
    let s = t.wait_for("the rollback dialog", |s| {
        s.contains("Confirm") && s.contains("rollback")
    });
    assert!(
        s.contains("then green is stopped"),
        "the dialog must say green is stopped:\n{s}"
    );
    t.keys("y");
    t.wait_for("gw-a1 back at 100/0", |s| {
        row(s, "gw-a1").contains("100/0") && !s.contains("Confirm")
    });

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
    let fleet = lab.dir.join("fleet.toml");
    let cmd = format!(
        "{} -c {} --actor pty-op --ticket CHG-3; echo \"exit=$?\"; sleep 30",
        env!("CARGO_BIN_EXE_cutover"),
        fleet.display()
    );
    let t = Tmux::start(120, 40, &cmd);
    t.wait_for("both gateways read back", |s| {
        s.contains("LIVE") && row(s, "gw-a1").contains("100/0") && row(s, "gw-b1").contains("100/0")
    });
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
