//! The preflight against the lab: `check`'s table and exit codes, revision parity as a step
//! rule (headless and in the cockpit), the nginx lint of what nginx loads, the colors'
//! open-files limits, the public certificate (`lab up --tls`) and unix-socket upstreams end to
//! end (`lab up --unix-sockets`). Real nginx, sshd, openssl and gateway processes.
//! Needs nginx, sshd and openssl installed (`scripts/test` installs them).

mod common;

use common::{Lab, cutover, runtime, text};
use cutover::app::keys::{KeyCode, KeyEvent};
use cutover::app::state::Popup;
use std::time::{Duration, Instant};

/// `check --json`, parsed, with its exit code.
fn check_json(lab: &Lab) -> (Option<i32>, serde_json::Value) {
    let o = lab.run(&["check", "--json"]);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("check --json is one JSON object ({e}): {}", text(&o)));
    (o.status.code(), v)
}

/// The row of `gateway` and `check` in a `check --json` answer.
fn row<'a>(v: &'a serde_json::Value, gateway: &str, check: &str) -> &'a serde_json::Value {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["gateway"] == gateway && r["check"] == check)
        .unwrap_or_else(|| panic!("no {check} row for {gateway}: {v}"))
}

/// `lab color VERB` for one color of one gateway.
fn color(lab: &Lab, verb: &str, gateway: &str, c: &str) {
    let o = cutover(&[
        "lab",
        "color",
        verb,
        "--dir",
        lab.dir_str(),
        "--gateway",
        gateway,
        "--color",
        c,
    ]);
    assert_eq!(o.status.code(), Some(0), "lab color {verb}: {}", text(&o));
}

#[test]
fn a_plain_lab_passes_every_check_and_the_table_fits_80_columns() {
    let lab = Lab::up("pf-clean", 3, &[]);
    // An empty access log is a warning (nothing to judge), not a pass and not a failure.
    let (code, v) = check_json(&lab);
    assert_eq!(code, Some(0), "{v}");
    let empty = row(&v, "gw-a1", "log format");
    assert_eq!(empty["result"], "warn", "{empty}");
    assert!(
        empty["reason"].as_str().unwrap().contains("is empty"),
        "{empty}"
    );
    // One request each, so the log format row judges a real line.
    for h in &lab.state.hosts {
        common::load::colors_through_nginx(h.ip, 1, common::load::Conn::Fresh);
    }
    let (code, v) = check_json(&lab);
    let bad: Vec<&serde_json::Value> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] != "ok")
        .collect();
    assert!(bad.is_empty(), "a fresh lab is clean: {bad:?}");
    assert_eq!(code, Some(0));
    assert_eq!(v["summary"]["gateways"], 3);
    for check in [
        "ssh",
        "upstream",
        "nginx -t",
        "nginx master",
        "log format",
        "nginx buffering",
        "nginx keepalive",
        "nginx timeout",
        "nginx max_fails",
        "nginx shutdown",
        "clock skew",
        "listeners",
        "versions",
        "nofile",
        "revision",
        "health",
        "probe p95",
    ] {
        row(&v, "gw-c1", check);
    }
    let o = lab.run(&["check", "--strict"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.starts_with("check ok: 3 gateways, 0 FAIL, 0 warn, 51 ok\n"),
        "{table}"
    );
    for l in table.lines() {
        assert!(l.chars().count() <= 80, "wider than 80: {l:?}");
    }
    lab.down();
}

#[test]
fn another_revision_on_green_refuses_steps_and_fails_check_naming_both() {
    let lab = Lab::up("pf-revision", 1, &["--weights", "90/10"]);
    lab.fault(&["--color", "green", "revision=r43"]);

    let (code, v) = check_json(&lab);
    assert_eq!(code, Some(1), "{v}");
    let r = row(&v, "gw-a1", "revision");
    assert_eq!(r["result"], "fail", "{r}");
    let why = r["reason"].as_str().unwrap();
    assert!(
        why.contains("green runs r43") && why.contains("blue runs r42"),
        "{why}"
    );
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("check FAIL: 1 gateways, 1 FAIL"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("gw-a1    revision") && lines[2].contains("FAIL"),
        "the failing row comes right after the header:\n{table}"
    );

    // Headless: refused, both revisions named, nothing written.
    let conf = std::fs::read(&lab.config.gateway[0].nginx_conf).unwrap();
    let o = lab.run(&["step", "--by", "10", "--gateway", "gw-a1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("revision fail") && err.contains("r43") && err.contains("r42"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&lab.config.gateway[0].nginx_conf).unwrap(),
        conf
    );

    // An expected revision that neither color runs fails too, naming it.
    let fleet = std::fs::read_to_string(lab.dir.join("fleet.toml")).unwrap();
    std::fs::write(
        lab.dir.join("expected.toml"),
        fleet.replace(
            "[ssh]\n",
            "[preflight]\nexpected_revision = \"r44\"\n\n[ssh]\n",
        ),
    )
    .unwrap();
    lab.fault(&["--color", "green", "revision=r42"]);
    let o = lab.run_with("expected.toml", &["check", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let why = row(&v, "gw-a1", "revision")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("expected r44"), "{why}");
    lab.fault(&["--color", "green", "revision=r43"]);

    // The cockpit: `]` is refused with both revisions; the override is the audited way past.
    let rt = runtime();
    rt.block_on(Box::pin(async {
        let mut d = common::live::cockpit(&lab, |_| {});
        let start = Instant::now();
        let until = start + Duration::from_secs(30);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            d.advance_to(start.elapsed().as_millis() as u64);
            let known = d.state.gateways[0]
                .model
                .host
                .as_ref()
                .and_then(|h| h.revisions.as_ref())
                .is_some_and(|r| r.of.blue.is_some() && r.of.green.is_some());
            if known && d.state.gateways[0].model.weights.is_some() {
                break;
            }
            assert!(Instant::now() < until, "no revisions in 30 s");
        }
        // The weights panel shows each color's revision.
        let screen = common::render(&d.state, 120, 40);
        assert!(screen.contains("@r43"), "{screen}");
        d.key(KeyEvent::from(KeyCode::Char(']')));
        let Some(Popup::Refused { reasons, .. }) = d.state.popup.clone() else {
            panic!("] was not refused: {:?}", d.state.popup)
        };
        let all = reasons.join("\n");
        assert!(
            all.contains("revision") && all.contains("r43") && all.contains("r42"),
            "{all}"
        );
        d.key(KeyEvent::from(KeyCode::Char('n')));
    }));
    lab.down();
}

#[test]
fn lint_and_low_nofile_are_reported_with_file_and_line() {
    let lab = Lab::up("pf-lint", 3, &[]);
    // gw-a1: the chat location loses `proxy_buffering off` (nginx -T reads the file on disk).
    let conf = &lab.config.gateway[0].nginx_conf;
    let text_conf = std::fs::read_to_string(conf).unwrap();
    let line = text_conf
        .lines()
        .position(|l| l.contains("location = /v1/chat/completions"))
        .unwrap()
        + 1;
    std::fs::write(
        conf,
        text_conf.replace("        proxy_buffering off;\n", ""),
    )
    .unwrap();
    // gw-b1: green restarted with an open-files limit of 256, as a bad unit file would.
    lab.fault(&["--gateway", "gw-b1", "--color", "green", "nofile=256"]);
    color(&lab, "stop", "gw-b1", "green");
    color(&lab, "start", "gw-b1", "green");

    let (code, v) = check_json(&lab);
    assert_eq!(code, Some(1), "{v}");
    let b = row(&v, "gw-a1", "nginx buffering");
    assert_eq!(b["result"], "fail", "{b}");
    let why = b["reason"].as_str().unwrap();
    assert!(
        why.contains(&format!("{conf}:{line}")) && why.contains("proxy_buffering off"),
        "names file and line: {why}"
    );
    assert_eq!(row(&v, "gw-b1", "nginx buffering")["result"], "ok");
    let n = row(&v, "gw-b1", "nofile");
    assert_eq!(n["result"], "fail", "{n}");
    assert!(
        n["reason"].as_str().unwrap().contains("green nofile 256"),
        "{n}"
    );
    assert_eq!(row(&v, "gw-a1", "nofile")["result"], "ok");

    // The table: summary first, the two failures next, 80 columns.
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("check FAIL: 3 gateways, 2 FAIL"),
        "{table}"
    );
    let fails: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains("  FAIL  "))
        .collect();
    let first_ok = lines.iter().position(|l| l.contains("  ok  ")).unwrap();
    assert!(
        fails.len() == 2 && fails.iter().all(|&i| i < first_ok),
        "{table}"
    );
    for l in &lines {
        assert!(l.chars().count() <= 80, "wider than 80: {l:?}");
    }

    // The same findings gate steps: headless, each failing gateway is refused naming its
    // check (with file and line), nothing is written; the clean gateway steps.
    let before = std::fs::read(conf).unwrap();
    let o = lab.run(&["step", "--by", "10", "--gateway", "gw-a1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("preflight fail")
            && err.contains("nginx buffering")
            && err.contains(&format!("{conf}:{line}")),
        "{err}"
    );
    assert_eq!(std::fs::read(conf).unwrap(), before, "nothing written");
    let o = lab.run(&["step", "--by", "10", "--gateway", "gw-b1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("preflight fail") && err.contains("green nofile 256"),
        "{err}"
    );
    let o = lab.run(&["step", "--by", "10", "--gateway", "gw-c1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // The cockpit: `]` on gw-a1 is held by the preflight round, naming the check.
    let rt = runtime();
    rt.block_on(Box::pin(async {
        let mut d = common::live::cockpit(&lab, |_| {});
        let start = Instant::now();
        let until = start + Duration::from_secs(30);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            d.advance_to(start.elapsed().as_millis() as u64);
            let g = &d.state.gateways[0];
            if g.model.preflight.is_some() && g.model.weights.is_some() && g.model.host.is_some() {
                break;
            }
            assert!(Instant::now() < until, "no preflight round in 30 s");
        }
        let screen = common::render(&d.state, 120, 40);
        assert!(
            screen.contains("PREFLIGHT") && screen.contains("preflight FAIL"),
            "{screen}"
        );
        d.key(KeyEvent::from(KeyCode::Char(']')));
        let Some(Popup::Refused { reasons, .. }) = d.state.popup.clone() else {
            panic!("] was not refused: {:?}", d.state.popup)
        };
        let all = reasons.join("\n");
        assert!(
            all.contains("preflight fails: nginx buffering")
                && all.contains(&format!("{conf}:{line}")),
            "{all}"
        );
        d.key(KeyEvent::from(KeyCode::Char('n')));
    }));

    // Fixed on disk, the next headless judgement passes it.
    std::fs::write(conf, &text_conf).unwrap();
    let o = lab.run(&["step", "--by", "10", "--gateway", "gw-a1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    lab.down();
}

#[test]
fn a_certificate_valid_for_two_days_fails_the_tls_row() {
    let lab = Lab::up("pf-tls", 1, &["--tls", "--tls-days", "2"]);
    assert!(lab.config.gateway[0].health_url.starts_with("https://"));
    let (code, v) = check_json(&lab);
    assert_eq!(code, Some(1), "{v}");
    let t = row(&v, "gw-a1", "tls");
    assert_eq!(t["result"], "fail", "{t}");
    // Two days from the moment openssl signed it: 1 or 2 whole days left, depending on the
    // seconds between signing and checking and how the dates round.
    let reason = t["reason"].as_str().unwrap();
    assert!(
        reason.contains("expires in 1 day") || reason.contains("expires in 2 days"),
        "{t}"
    );
    // The private CA (probes.ca_file) is trusted: health is read over https.
    assert_eq!(row(&v, "gw-a1", "health")["result"], "ok", "{v}");
    lab.down();

    let lab = Lab::up("pf-tls-ok", 1, &["--tls"]);
    let (code, v) = check_json(&lab);
    assert_eq!(code, Some(0), "{v}");
    let t = row(&v, "gw-a1", "tls");
    assert!(
        t["reason"]
            .as_str()
            .unwrap()
            .starts_with("certificate valid 36"),
        "{t}"
    );
    lab.down();
}

#[test]
fn unix_socket_colors_ramp_and_drain_under_load_without_losing_a_request() {
    let lab = Lab::up("pf-unix", 2, &["--unix-sockets"]);
    for g in &lab.config.gateway {
        assert!(g.green.addr.starts_with("unix:/"), "{}", g.green.addr);
    }
    for c in ["blue", "green"] {
        lab.fault(&["--color", c, "ttft_ms=50", "tokens=10", "tokens_per_sec=20"]);
    }
    let (code, v) = check_json(&lab);
    assert_eq!(code, Some(0), "{v}");
    let l = row(&v, "gw-a1", "listeners")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(l.contains("unix:/"), "{l}");
    // TTFT probes reach each color through its socket over SSH: they answer.
    let o = lab.run(&["status", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for g in s["gateways"].as_array().unwrap() {
        let ttft = g["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["guardrail"] == "ttft")
            .unwrap_or_else(|| panic!("no ttft verdict: {g}"));
        let sentence = ttft["sentence"].as_str().unwrap();
        assert!(
            ttft["verdict"] != "fail" && !sentence.contains("not answering"),
            "{ttft}"
        );
    }

    let loader = common::load::Load::new(3, 10).start(lab.chat_urls());
    std::thread::sleep(Duration::from_millis(1000));
    for step in 1..=10u64 {
        let o = lab.run(&[
            "step",
            "--by",
            "10",
            "--all",
            "--override",
            "lab ramp: load below the 5xx window minimum",
        ]);
        assert_eq!(o.status.code(), Some(0), "step {step}: {}", text(&o));
        // Read back from the hosts, and from the files nginx loads.
        let o = lab.run(&["status", "--json"]);
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        for g in s["gateways"].as_array().unwrap() {
            assert_eq!(g["weights"]["green"], step * 10, "{g}");
        }
        for g in &lab.config.gateway {
            let conf = std::fs::read_to_string(&g.nginx_conf).unwrap();
            let green_line = conf.lines().find(|l| l.contains(&g.green.addr)).unwrap();
            let want = if step == 10 {
                "weight=100".to_string()
            } else {
                format!("weight={}", step * 10)
            };
            assert!(green_line.contains(&want), "{green_line}");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let started = Instant::now();
    let o = lab.run(&["drain", "blue", "--all"]);
    assert_eq!(o.status.code(), Some(0), "drain: {}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .matches("blue drained and stopped")
            .count(),
        2,
        "{}",
        text(&o)
    );
    // Connections on the socket were counted (ss -x): the drain did not wait out its window.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(1000));
    let done = loader.stop();
    common::load::assert_none_failed(&done);
    assert!(done.len() > 50, "too little load: {}", done.len());
    assert!(done.iter().any(|d| d.color == "blue") && done.iter().any(|d| d.color == "green"));
    for g in &lab.config.gateway {
        let sock = g.blue.addr.strip_prefix("unix:").unwrap();
        assert!(
            std::os::unix::net::UnixStream::connect(sock).is_err(),
            "{} blue still up",
            g.name
        );
    }
    lab.down();
}

/// `check` on 16 lab gateways, one at a time and 16 at once. Run by hand for the figures in
/// docs/performance.md: `cargo test --release --test preflight -- --ignored --nocapture`.
#[test]
#[ignore = "a figure, not a check: brings up 16 gateways"]
fn check_wall_time_on_16_gateways_sequential_and_parallel() {
    let lab = Lab::up("pf-16", 16, &[]);
    let fleet = std::fs::read_to_string(lab.dir.join("fleet.toml")).unwrap();
    for (name, parallel) in [("seq.toml", 1), ("par.toml", 16)] {
        std::fs::write(
            lab.dir.join(name),
            fleet.replace("[ssh]\n", &format!("[ssh]\nmax_parallel = {parallel}\n")),
        )
        .unwrap();
    }
    // A first run opens nothing that the timed runs reuse (every run is its own process).
    let o = lab.run_with("par.toml", &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for name in ["seq.toml", "par.toml", "seq.toml", "par.toml"] {
        let t = Instant::now();
        let o = lab.run_with(name, &["check"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        println!("check, 16 gateways, {name}: {:?}", t.elapsed());
    }
    lab.down();
}
