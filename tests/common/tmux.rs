//! A private tmux server driving the real binary in a pseudo-terminal, as a user would.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Generous: CI runs debug builds on two busy cores. The time-to-first-frame
/// figure is measured separately (docs/performance.md), not asserted here.
pub const WAIT: Duration = Duration::from_secs(15);

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A private tmux server running `shell_cmd` in a `w`x`h` window.
    pub fn start(w: u16, h: u16, shell_cmd: &str) -> Tmux {
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

    pub fn cmd(&self, args: &[&str]) -> Output {
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

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p"]).stdout).into_owned()
    }

    pub fn keys(&self, keys: &str) {
        self.cmd(&["send-keys", "-l", keys]);
    }

    pub fn format(&self, f: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["display-message", "-p", f]).stdout)
            .trim()
            .to_string()
    }

    /// Wait until `pred` holds for the screen; panics with the screen if it never does.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
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

/// The fleet-table row of gateway `name` on a cockpit screen (not the header, which may name
/// it as the scope); empty when there is none.
pub fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.trim_start_matches(['▸', ' ']).starts_with(name))
        .unwrap_or("")
}
