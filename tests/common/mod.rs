//! A lab for integration tests: brought up in its own directory, always taken down on drop.
#![allow(dead_code)]

pub mod http;
pub mod live;
pub mod load;
pub mod tmux;

use cutover::config::Config;
use cutover::lab::state::LabState;
use std::path::PathBuf;
use std::process::{Command, Output};

/// Run the cutover binary (stdin empty, `NO_COLOR` not inherited from the caller's shell).
pub fn cutover(args: &[&str]) -> Output {
    cutover_env(args, &[])
}

/// Run the cutover binary with extra environment variables.
pub fn cutover_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.args(args)
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run cutover")
}

/// Both output streams, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A fresh directory for one test.
pub fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cutover-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running lab; `lab down` on drop, so a failing test leaves nothing behind.
pub struct Lab {
    /// The lab directory.
    pub dir: PathBuf,
    /// Its state right after `lab up`.
    pub state: LabState,
    /// Its fleet.toml, loaded.
    pub config: Config,
    down: bool,
}

impl Lab {
    /// `cutover lab up --gateways n` plus extra args; panics with the output when it fails
    /// (nginx or sshd missing makes the test fail, never skip).
    pub fn up(name: &str, n: usize, extra: &[&str]) -> Lab {
        let dir = test_dir(name).join("lab");
        let n = n.to_string();
        let mut args = vec![
            "lab",
            "up",
            "--gateways",
            &n,
            "--dir",
            dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = cutover(&args);
        assert_eq!(o.status.code(), Some(0), "lab up failed: {}", text(&o));
        let state = LabState::load(&dir.join("lab.json")).expect("lab.json");
        let config = Config::load(&dir.join("fleet.toml")).expect("fleet.toml loads");
        Lab {
            dir,
            state,
            config,
            down: false,
        }
    }

    /// `ssh -F DIR/ssh_config HOST COMMAND`.
    pub fn ssh(&self, host: &str, command: &str) -> Output {
        Command::new("ssh")
            .arg("-F")
            .arg(self.dir.join("ssh_config"))
            .arg(host)
            .arg(command)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run ssh")
    }

    /// `cutover lab fault --dir DIR ...`.
    pub fn fault(&self, args: &[&str]) {
        let mut all = vec!["lab", "fault", "--dir", self.dir.to_str().unwrap()];
        all.extend_from_slice(args);
        let o = cutover(&all);
        assert_eq!(o.status.code(), Some(0), "lab fault: {}", text(&o));
    }

    /// Both colors answer at once with one token, so many requests take no time.
    pub fn fast_answers(&self) {
        for color in ["blue", "green"] {
            self.fault(&[
                "--color",
                color,
                "ttft_ms=0",
                "tokens=1",
                "tokens_per_sec=1000",
            ]);
        }
    }

    /// `cutover lab sshd start|stop` for one gateway host, asserting success.
    pub fn sshd(&self, verb: &str, gateway: &str) {
        let o = cutover(&[
            "lab",
            "sshd",
            verb,
            "--dir",
            self.dir_str(),
            "--gateway",
            gateway,
        ]);
        assert_eq!(o.status.code(), Some(0), "lab sshd {verb}: {}", text(&o));
    }

    /// The lab's directory as a string.
    pub fn dir_str(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    /// `cutover -c DIR/fleet.toml ARGS...`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with("fleet.toml", args)
    }

    /// `cutover -c DIR/FLEET ARGS...`, with another configuration file of the lab's.
    pub fn run_with(&self, fleet: &str, args: &[&str]) -> Output {
        let fleet = self.dir.join(fleet);
        let mut all = vec!["-c", fleet.to_str().unwrap()];
        all.extend_from_slice(args);
        cutover(&all)
    }

    /// The chat endpoint of every host's nginx, in host order.
    pub fn chat_urls(&self) -> Vec<String> {
        self.state
            .hosts
            .iter()
            .map(|h| load::chat_url(h.ip))
            .collect()
    }

    /// A shell command for `Tmux::start`: the live cockpit on this lab's fleet.toml with
    /// `args`, then its exit status (`exit=N`), the pane kept open to be read.
    pub fn cockpit_cmd(&self, args: &str) -> String {
        format!(
            "{} -c {} {args}; echo \"exit=$?\"; sleep 60",
            env!("CARGO_BIN_EXE_cutover"),
            self.dir.join("fleet.toml").display()
        )
    }

    /// `lab down`, asserting success.
    pub fn down(mut self) -> Output {
        self.down = true;
        let o = cutover(&["lab", "down", "--dir", self.dir_str()]);
        assert_eq!(o.status.code(), Some(0), "lab down: {}", text(&o));
        o
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.down {
            let _ = cutover(&["lab", "down", "--dir", self.dir.to_str().unwrap_or("")]);
        }
    }
}

/// True when something accepts a TCP connection at `addr` (`IP:PORT`) within 300 ms.
pub fn listens(addr: impl std::fmt::Display) -> bool {
    let addr = addr.to_string();
    let parsed: std::net::SocketAddr = addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}"));
    std::net::TcpStream::connect_timeout(&parsed, std::time::Duration::from_millis(300)).is_ok()
}

/// A single-threaded tokio runtime for a test's HTTP.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A client that opens a connection per request. A reload makes old workers close their
/// *idle* keep-alive connections; a request racing that close on a reused connection fails
/// in any HTTP/1.1 client, and one on a connection an old worker still holds is served by the
/// old configuration. Fresh connections test what nginx promises: every request it accepts is
/// answered by the configuration in force, across reloads.
/// (`cutover::fleet::probe::http_client`, which `client` is, always pools: hence this one.)
pub fn fresh_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

/// An HTTP client that never uses a proxy (the lab is on loopback).
pub fn client() -> reqwest::Client {
    cutover::fleet::probe::http_client(std::time::Duration::from_secs(60)).unwrap()
}

/// The cockpit's screen for `state` on a `w`x`h` test terminal, as text (rows joined by `\n`).
pub fn render(state: &cutover::app::state::State, w: u16, h: u16) -> String {
    use ratatui::{Terminal, backend::TestBackend};
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| {
        cutover::front::ui::view(f, state, &cutover::front::ui::theme::ThemeSet::builtin())
    })
    .expect("draw");
    let buf = term.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Lab {
    /// Its fleet.toml's path.
    pub fn fleet(&self) -> String {
        self.dir.join("fleet.toml").to_str().unwrap().to_string()
    }

    /// `status --json`, parsed.
    pub fn status(&self) -> serde_json::Value {
        let o = self.run(&["status", "--json"]);
        assert_eq!(o.status.code(), Some(0), "status: {}", text(&o));
        serde_json::from_slice(&o.stdout).expect("status --json is one JSON object")
    }

    /// Green's weight per gateway, from `status --json`.
    pub fn greens(&self) -> Vec<Option<u64>> {
        self.status()["gateways"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["weights"]["green"].as_u64())
            .collect()
    }

    /// Every record of its audit log, parsed (a torn line fails the test).
    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        let text =
            std::fs::read_to_string(self.dir.join("cutover-audit.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("torn audit line ({e}): {l:?}"))
            })
            .collect()
    }
}
