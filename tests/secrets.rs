//! Secrets never reach what cutover writes or prints (issue 13, item 6), against the real lab:
//! a green `stop` command carrying an API key and a password in its environment that fails
//! and echoes a bearer token, and a health URL with a password. After `status --json`, a
//! headless `rollback --now`, a recorded cockpit session and a configuration error, no file
//! cutover wrote in the lab and none of its output holds a planted secret, and the masked
//! forms are there (so writing nothing cannot pass).
//! Needs nginx, sshd and tmux (`scripts/test` installs them); without them this fails.

mod common;

use common::tmux::Tmux;
use common::{Lab, cutover, text};
use std::path::{Path, PathBuf};
use std::process::Output;

/// What the configuration plants; none of it may come out.
const SECRETS: [&str; 4] = [
    "sk-live-abc123",
    "hunter2hunter2",
    "abcdef0123456789",
    "s3cretpass",
];

/// A failing stop that echoes a secret on stderr, with secrets in its environment.
const STOP: &str = "env TOKEN=sk-live-abc123 DB_PASSWORD=hunter2hunter2 sh -c 'echo Authorization: Bearer abcdef0123456789 >&2; exit 3'";

/// The same command as the audit log must hold it.
const STOP_MASKED: &str = "env TOKEN=******** DB_PASSWORD=******** sh -c 'echo Authorization: Bearer ******** >&2; exit 3'";

/// Rewrite the lab's fleet.toml: gw-a1's green `stop` is `STOP`, its health URL has a
/// password, and a drain stops after 1 s (the cockpit's drain reaches the stop quickly).
fn plant(lab: &Lab) {
    let path = lab.dir.join("fleet.toml");
    let toml = std::fs::read_to_string(&path).unwrap();
    let mut gateway = String::new();
    let mut color = String::new();
    let mut out = Vec::new();
    for line in toml.lines() {
        let mut line = line.to_string();
        if let Some(name) = line.strip_prefix("name = ") {
            gateway = name.trim_matches('"').to_string();
        }
        if line.starts_with("[gateway.") {
            color = line.clone();
        }
        if gateway == "gw-a1" {
            if line.starts_with("health_url = \"http://") {
                line = line.replacen("http://", "http://user:s3cretpass@", 1);
            }
            if color == "[gateway.green]" && line.starts_with("stop = ") {
                line = format!("stop = \"{STOP}\"");
            }
        }
        out.push(line);
        if out.last().is_some_and(|l| l == "[guardrails]") {
            out.push("drain_window_secs = 1".into());
        }
    }
    let planted = out.join("\n") + "\n";
    for s in SECRETS {
        assert!(planted.contains(s), "{s} not planted:\n{planted}");
    }
    std::fs::write(&path, planted).unwrap();
}

/// `cutover -c FLEET ARGS...`.
fn run(fleet: &Path, args: &[&str]) -> Output {
    let mut all = vec!["-c", fleet.to_str().unwrap()];
    all.extend_from_slice(args);
    cutover(&all)
}

/// Every regular file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => out.extend(files(&path)),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
    out
}

/// The file in `dir` whose name starts with `prefix`, read.
fn read_one(dir: &Path, prefix: &str) -> String {
    let found: Vec<PathBuf> = files(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {prefix}* in {}: {found:?}",
        dir.display()
    );
    std::fs::read_to_string(&found[0]).unwrap()
}

/// Where each planted secret shows up in `haystacks` (name, bytes).
fn leaks<'a>(haystacks: impl IntoIterator<Item = (String, &'a [u8])>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, bytes) in haystacks {
        for s in SECRETS {
            if bytes.windows(s.len()).any(|w| w == s.as_bytes()) {
                out.push(format!("{s} in {name}"));
            }
        }
    }
    out
}

#[test]
fn planted_secrets_reach_no_file_and_no_output() {
    let lab = Lab::up("secrets", 1, &["--weights", "50/50"]);
    plant(&lab);
    let fleet = lab.dir.join("fleet.toml");
    let mut outputs: Vec<(String, Output)> = Vec::new();

    // status --json: the health URL is shown with its password masked.
    let o = run(&fleet, &["status", "--json"]);
    assert_eq!(o.status.code(), Some(0), "status: {}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    let url = v["gateways"][0]["health_url"].as_str().unwrap_or_default();
    assert!(
        url.starts_with("http://user:********@") && url.ends_with(":8080/health"),
        "{url}"
    );
    outputs.push(("status --json".into(), o));

    // A headless rollback: 100/0, then the stop fails and echoes the token.
    let o = run(&fleet, &["rollback", "--now", "--gateway", "gw-a1"]);
    assert_eq!(o.status.code(), Some(1), "rollback: {}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("exited 3") && stdout.contains("Authorization: Bearer ********"),
        "{}",
        text(&o)
    );
    outputs.push(("rollback".into(), o));

    // A configuration error quoting the health URL: the CLI's `cutover: ...` line on stderr.
    let bad = lab.dir.join("bad-fleet.toml");
    let toml = std::fs::read_to_string(&fleet).unwrap();
    std::fs::write(&bad, toml.replace("http://user:", "ftp://user:")).unwrap();
    let o = run(&bad, &["status"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("\"ftp://user:********@"),
        "{}",
        text(&o)
    );
    outputs.push(("status with a bad fleet.toml".into(), o));

    // The cockpit, recorded: drain green (at 0 after the rollback), whose stop fails again.
    let cast = lab.dir.join("live.cast");
    let cmd = lab.cockpit_cmd(&format!("--record {}", cast.display()));
    let t = Tmux::start(120, 40, &cmd);
    t.wait_for("gw-a1 read back at 100/0", |s| {
        s.contains("LIVE")
            && s.lines()
                .any(|l| l.contains("gw-a1") && l.contains("100/0"))
    });
    t.keys("D");
    t.wait_for("the drain to ask", |s| s.contains("y confirm"));
    t.keys("y");
    t.wait_for("the failing stop", |s| s.contains("stop command exited 3"));
    // The failed stop ended the drain: nothing is in flight, q quits at once.
    t.keys("q");
    t.wait_for("the cockpit to exit", |s| s.contains("exit="));
    drop(t);

    // Every file cutover wrote in the lab (all but the fleet.toml files this test wrote), and
    // everything it printed.
    let written: Vec<PathBuf> = files(&lab.dir)
        .into_iter()
        .filter(|p| *p != fleet && *p != bad)
        .collect();
    let contents: Vec<(String, Vec<u8>)> = written
        .iter()
        .filter_map(|p| Some((p.display().to_string(), std::fs::read(p).ok()?)))
        .collect();
    let mut haystacks: Vec<(String, &[u8])> = contents
        .iter()
        .map(|(n, b)| (n.clone(), b.as_slice()))
        .collect();
    for (what, o) in &outputs {
        haystacks.push((format!("{what} stdout"), &o.stdout));
        haystacks.push((format!("{what} stderr"), &o.stderr));
    }
    let found = leaks(haystacks);
    assert!(found.is_empty(), "secrets leaked: {found:#?}");

    // The masked forms are there: the audit log has the stop command and its failure, the
    // session log the cockpit's failed stop, the cast its screen.
    let audit = std::fs::read_to_string(lab.dir.join("cutover-audit.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let commands: Vec<&str> = records
        .iter()
        .flat_map(|r| r["commands"].as_array().into_iter().flatten())
        .filter_map(|c| c["cmd"].as_str())
        .collect();
    assert!(commands.contains(&STOP_MASKED), "{audit}");
    assert!(
        records.iter().any(|r| r["error"]
            .as_str()
            .is_some_and(|e| e.contains("Authorization: Bearer ********"))),
        "{audit}"
    );
    let session = read_one(&lab.dir, "cutover-session-");
    cutover::front::session::parse_session(&session).expect("the session log still reads");
    assert!(
        session.contains("Authorization: Bearer ********"),
        "{session}"
    );
    let cast = std::fs::read_to_string(&cast).unwrap();
    cutover::front::record::validate(&cast).expect("the cast is still asciicast v2");
    assert!(cast.contains("Bearer ********"), "{cast}");
    lab.down();
}
