//! Real gateway control over SSH, against the lab: real sshd, real nginx, real reloads.
//! Needs nginx and sshd installed (`scripts/test` installs them); without them these fail.

mod common;

use common::load::{Load, assert_none_failed, chat, chat_url};
use common::{Lab, client, listens, runtime, text};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn full_ramp_and_drain_under_load_loses_no_request() {
    let lab = Lab::up("ramp", 3, &[]);
    // Each request streams for about a second, so reloads always find some in flight.
    for color in ["blue", "green"] {
        lab.fault(&[
            "--color",
            color,
            "ttft_ms=100",
            "tokens=20",
            "tokens_per_sec=20",
        ]);
    }
    let loader = Load::new(4, 20).start(lab.chat_urls());
    std::thread::sleep(Duration::from_millis(1500));

    let mut changes = Vec::new();
    for step in 1..=10u64 {
        // Green's share of this small load stays under the 5xx window's minimum: the
        // guardrail is inconclusive, so the ramp runs with an override, audited.
        let o = lab.run(&[
            "--actor",
            "ramp",
            "--ticket",
            "CHG-7",
            "step",
            "--by",
            "10",
            "--all",
            "--override",
            "lab ramp: load below the 5xx window minimum",
        ]);
        assert_eq!(o.status.code(), Some(0), "step {step}: {}", text(&o));
        changes.push(Instant::now());
        assert_eq!(lab.greens(), vec![Some(step * 10); 3], "after step {step}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let o = lab.run(&["--actor", "ramp", "drain", "blue", "--all"]);
    assert_eq!(o.status.code(), Some(0), "drain: {}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .matches("blue drained and stopped")
            .count()
            == 3,
        "{}",
        text(&o)
    );
    std::thread::sleep(Duration::from_millis(1500));
    let done = loader.stop();

    assert_none_failed(&done);
    assert!(
        done.len() > 100,
        "too little load to judge: {} requests",
        done.len()
    );
    let spanning = done
        .iter()
        .filter(|d| changes.iter().any(|&c| d.started < c && c < d.ended))
        .count();
    assert!(
        spanning > 10,
        "only {spanning} requests were in flight across a reload"
    );
    assert!(done.iter().any(|d| d.color == "green") && done.iter().any(|d| d.color == "blue"));

    // Blue is stopped on every host; the audit log has every step and stop, whole.
    for g in &lab.config.gateway {
        assert!(!listens(&g.blue.addr), "{} blue still up", g.name);
    }
    let audit = lab.audit_lines();
    let steps = audit
        .iter()
        .filter(|r| r["action"] == "step" && r["outcome"] == "ok")
        .count();
    let stops = audit
        .iter()
        .filter(|r| r["action"] == "stop" && r["outcome"] == "ok")
        .count();
    assert_eq!((steps, stops), (30, 3));
    let last = audit.iter().rfind(|r| r["action"] == "step").unwrap();
    assert_eq!(last["actor"], "ramp");
    assert_eq!(last["ticket"], "CHG-7");
    assert_eq!(last["after"]["green"], 100);
    assert_eq!(
        last["reason"],
        "lab ramp: load below the 5xx window minimum"
    );
    assert!(
        last["commands"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["exit"] == 0)
    );
    lab.down();
}

#[test]
fn a_broken_nginx_config_fails_the_step_and_changes_nothing() {
    let lab = Lab::up("broken", 1, &["--weights", "90/10"]);
    let g = &lab.config.gateway[0];
    let before = std::fs::read(&g.nginx_conf).unwrap();
    // Break the main file: `nginx -t` fails for any change, the running nginx is unaffected.
    let main = lab
        .dir
        .join("hosts")
        .join(&g.name)
        .join("nginx/conf/nginx.conf");
    let mut text_main = std::fs::read_to_string(&main).unwrap();
    text_main.push_str("this_is_not_a_directive on;\n");
    std::fs::write(&main, text_main).unwrap();

    // A step down: blue answers, so no guardrail holds it; nginx -t is what fails.
    let o = lab.run(&["step", "--by", "-10", "--gateway", &g.name]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("nginx -t failed"), "{}", text(&o));
    assert!(text(&o).contains("weights now 90/10"), "{}", text(&o));
    assert_eq!(
        std::fs::read(&g.nginx_conf).unwrap(),
        before,
        "upstream file must be byte-identical"
    );
    let conf_dir = std::path::Path::new(&g.nginx_conf).parent().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(conf_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("cutover"))
        .collect();
    assert!(leftovers.is_empty(), "left beside the file: {leftovers:?}");

    // nginx still serves the old weights: smooth round robin gives exactly 9 blue in 10.
    lab.fast_answers();
    let url = chat_url(lab.state.hosts[0].ip);
    let colors: Vec<String> = runtime().block_on(async {
        let c = client();
        let mut v = Vec::new();
        for _ in 0..20 {
            v.push(chat(&c, &url, false, 1).await.color);
        }
        v
    });
    let green = colors.iter().filter(|c| *c == "green").count();
    assert!((1..=3).contains(&green), "90/10 still in force: {colors:?}");
    let audit = lab.audit_lines();
    assert_eq!(audit.last().unwrap()["outcome"], "failed");
    assert_eq!(audit.last().unwrap()["after"]["green"], 10);
    lab.down();
}

#[test]
fn a_host_that_goes_dark_mid_fan_out_does_not_stop_the_others() {
    let lab = Lab::up("dark", 4, &[]);
    // One host at a time, so the dark host is reached while others are being changed.
    let fleet = lab.fleet();
    let cfg = std::fs::read_to_string(&fleet).unwrap().replace(
        "config = \"ssh_config\"\n",
        "config = \"ssh_config\"\nmax_parallel = 1\n",
    );
    std::fs::write(&fleet, cfg).unwrap();
    let dark = lab.state.hosts[3].name.clone();
    let step = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["-c", &fleet, "step", "--by", "10", "--all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    lab.sshd("stop", &dark);
    let o = step.wait_with_output().unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let dark_line = stdout
        .lines()
        .find(|l| l.starts_with(&dark))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        dark_line.contains("FAILED") || dark_line.contains("skipped"),
        "{out}"
    );
    for h in &lab.state.hosts[..3] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&h.name))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(line.contains("100/0 -> 90/10"), "{out}");
    }

    // status shows the truth: three moved, the dark one reported as an error, not guessed;
    // a gateway that cannot be read makes status exit 1.
    let o = lab.run(&["status", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let gws = s["gateways"].as_array().unwrap();
    for g in &gws[..3] {
        assert_eq!(g["weights"]["green"], 10, "{g}");
    }
    assert!(gws[3]["weights"].is_null(), "{}", gws[3]);
    assert!(
        gws[3]["error"].as_str().unwrap().contains("cannot connect"),
        "{}",
        gws[3]
    );

    // Back up, it holds whatever it really holds (the step may or may not have reached it).
    lab.sshd("start", &dark);
    let conf = std::fs::read_to_string(&lab.config.gateway[3].nginx_conf).unwrap();
    let real = if conf.contains("weight=90") { 10 } else { 0 };
    assert_eq!(lab.greens()[3], Some(real));
    lab.down();
}

#[test]
fn a_held_lock_refuses_with_the_holder_and_concurrent_steps_stay_consistent() {
    // From 0/100 and stepping green down: blue answers, so the guardrails never hold these
    // steps and the race is between the two operators alone.
    let lab = Lab::up("lock", 1, &["--weights", "0/100"]);
    let g = &lab.config.gateway[0];
    // Another operator's lock, as the apply script writes it.
    let lock = format!("{}.cutover.lock", g.nginx_conf);
    std::fs::create_dir(&lock).unwrap();
    std::fs::write(
        format!("{lock}/holder"),
        "carol (ticket CHG-9) since 2026-11-22T01:00:00.000Z\n",
    )
    .unwrap();
    assert_eq!(
        lab.status()["gateways"][0]["lock"],
        "carol (ticket CHG-9) since 2026-11-22T01:00:00.000Z"
    );
    let o = lab.run(&[
        "--actor",
        "alice",
        "step",
        "--by",
        "-10",
        "--gateway",
        &g.name,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("locked by carol (ticket CHG-9)"),
        "{}",
        text(&o)
    );
    std::fs::remove_dir_all(&lock).unwrap();

    // Two operators step the same gateway at once, several times over.
    for round in 0..3 {
        let before = lab.greens()[0].unwrap();
        let spawn = |who: &str| {
            Command::new(env!("CARGO_BIN_EXE_cutover"))
                .args([
                    "-c",
                    &lab.fleet(),
                    "--actor",
                    who,
                    "step",
                    "--by",
                    "-10",
                    // Green carries everything, so blue would be the candidate: these steps
                    // take green down, as the comment above says.
                    "--candidate",
                    "green",
                    "--gateway",
                    &g.name,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn("alice"), spawn("bob"));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let ok = [&a, &b]
            .iter()
            .filter(|o| o.status.code() == Some(0))
            .count() as u64;
        for o in [&a, &b] {
            if o.status.code() != Some(0) {
                let t = text(o);
                assert!(
                    t.contains("locked by alice")
                        || t.contains("locked by bob")
                        || t.contains("changed since it was read"),
                    "round {round}: the loser names the holder or the change: {t}"
                );
            }
        }
        assert!(ok >= 1, "round {round}: {} / {}", text(&a), text(&b));
        // Every success moved the weights exactly once: no lost or doubled update.
        assert_eq!(lab.greens()[0].unwrap(), before - 10 * ok, "round {round}");
    }
    lab.down();
}

#[test]
fn killing_the_cli_mid_step_leaves_true_weights_and_a_whole_audit_log() {
    let lab = Lab::up("sigkill", 3, &[]);
    lab.fast_answers();
    let step = || {
        Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["-c", &lab.fleet(), "step", "--by", "10", "--all"])
            .args(["--override", "crash test: no load on the lab"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // One whole step, to know how long the burst and the fan-out take on this machine.
    let begun = Instant::now();
    assert!(step().wait().unwrap().success());
    let whole = begun.elapsed();
    let greens = |s: &serde_json::Value| -> Vec<u64> {
        s["gateways"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["weights"]["green"].as_u64().unwrap())
            .collect()
    };
    let mut before = greens(&lab.status());
    // Killed early in the burst, late in it, and during the fan-out of the changes.
    for fraction in [0.3, 0.7, 0.85, 0.95] {
        let mut child = step();
        std::thread::sleep(whole.mul_f64(fraction));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        // The remote side finishes (or never started) on its own; wait for the locks to go.
        // Any cutover command first reconciles what the killed one left without an outcome.
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            let s = lab.status();
            if s["gateways"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["lock"].is_null())
                || Instant::now() > deadline
            {
                break s;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        // Reconciled before this run read the hosts, an intent whose lock was still held
        // is settled by the next run.
        let _ = status;
        let status = lab.status();
        let after = greens(&status);
        let rt = runtime();
        let audit = lab.audit_lines();
        for (i, (g, h)) in status["gateways"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&lab.state.hosts)
            .enumerate()
        {
            assert!(g["lock"].is_null(), "{g}");
            let green = after[i];
            // What the file says is what nginx serves: smooth round robin splits 50 requests by
            // weight to within a request or two (status's health probes also take turns).
            let url = chat_url(h.ip);
            let served: u64 = rt.block_on(async {
                let c = client();
                let mut n = 0;
                for _ in 0..50 {
                    if chat(&c, &url, false, 1).await.color == "green" {
                        n += 1;
                    }
                }
                n
            });
            let expected = 50 * green / 100;
            assert!(
                served.abs_diff(expected) <= 2,
                "{}: status says green {green}, nginx sent {served} of 50 to green",
                h.name
            );
            // Every host whose weights changed has a record that says so: the outcome, or
            // the reconciliation of an intent the killed run left behind.
            if green != before[i] {
                let said = audit.iter().any(|r| {
                    r["host"] == h.name.as_str()
                        && (r["stage"] == "outcome" || r["stage"] == "reconciled")
                        && r["after"]["green"] == green
                });
                assert!(
                    said,
                    "{} moved {} -> {green} with no record of it (killed at {fraction} of {whole:?}): {audit:#?}",
                    h.name, before[i]
                );
            }
        }
        // Every intent is settled once the killed process is gone.
        let settled: std::collections::HashSet<&str> = audit
            .iter()
            .filter(|r| r["stage"] == "outcome" || r["stage"] == "reconciled")
            .filter_map(|r| r["id"].as_str())
            .collect();
        for r in audit.iter().filter(|r| r["stage"] == "intent") {
            assert!(
                settled.contains(r["id"].as_str().unwrap()),
                "an intent was never settled: {r}"
            );
        }
        before = after;
    }
    lab.down();
}

#[test]
fn rollback_read_only_and_a_changed_host_key() {
    let lab = Lab::up("rollback", 2, &["--weights", "50/50"]);
    let confs: Vec<Vec<u8>> = lab
        .config
        .gateway
        .iter()
        .map(|g| std::fs::read(&g.nginx_conf).unwrap())
        .collect();

    // --read-only refuses every change and touches nothing.
    let o = lab.run(&["--read-only", "step", "--by", "10", "--all"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("read-only"), "{}", text(&o));
    let o = lab.run(&["--read-only", "rollback", "--all"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    for (g, before) in lab.config.gateway.iter().zip(&confs) {
        assert_eq!(&std::fs::read(&g.nginx_conf).unwrap(), before);
    }

    // Rollback: 100/0 and green stopped, on every gateway.
    let o = lab.run(&["rollback", "--all"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(lab.greens(), vec![Some(0), Some(0)]);
    for g in &lab.config.gateway {
        assert!(!listens(&g.green.addr), "{} green still up", g.name);
    }
    // 100/0 first, then green's stop once its connections are gone: two records a gateway.
    let audit = lab.audit_lines();
    for g in &lab.config.gateway {
        assert_eq!(last_record(&audit, &g.name, "step")["after"]["green"], 0);
        assert_eq!(last_record(&audit, &g.name, "stop")["outcome"], "ok");
    }

    // A host whose key no longer matches known_hosts is refused, never accepted.
    let kh = lab.dir.join("known_hosts");
    let text_kh = std::fs::read_to_string(&kh).unwrap();
    let first = text_kh.lines().next().unwrap();
    let other = text_kh.lines().nth(1).unwrap();
    let forged = format!(
        "{} {}\n{other}\n",
        first.split(' ').next().unwrap(),
        other.split_once(' ').unwrap().1
    );
    std::fs::write(&kh, forged).unwrap();
    // A fresh ssh_config path makes a fresh master connection, which must verify the key.
    let cfg2 = lab.dir.join("ssh_config2");
    std::fs::copy(lab.dir.join("ssh_config"), &cfg2).unwrap();
    let fleet = std::fs::read_to_string(lab.fleet())
        .unwrap()
        .replace("config = \"ssh_config\"", "config = \"ssh_config2\"");
    std::fs::write(lab.fleet(), fleet).unwrap();
    // A gateway that cannot be read makes status exit 1; the JSON still says why.
    let o = lab.run(&["status", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let err = s["gateways"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("host key verification failed"), "{s}");
    assert!(s["gateways"][0]["weights"].is_null(), "{s}");
    lab.down();
}

#[test]
fn a_gateway_behind_a_proxyjump_is_controlled_through_the_jump_host() {
    let lab = Lab::up("proxyjump", 2, &[]);
    let target = &lab.config.gateway[1];
    let ip = target.blue.addr.rsplit_once(':').unwrap().0.to_string();
    // gw-b1 reached only through gw-a1, the way a bastion-only network is configured.
    let mut cfg = std::fs::read_to_string(lab.dir.join("ssh_config")).unwrap();
    cfg.push_str(&format!(
        "\nHost via-a1\n    HostName {ip}\n    Port 2222\n    ProxyJump gw-a1\n"
    ));
    std::fs::write(lab.dir.join("ssh_config"), cfg).unwrap();
    let fleet = std::fs::read_to_string(lab.fleet())
        .unwrap()
        .replace(&format!("ssh = \"{}\"", target.name), "ssh = \"via-a1\"");
    std::fs::write(lab.fleet(), fleet).unwrap();

    let o = lab.run(&["step", "--by", "10", "--gateway", &target.name]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(lab.greens(), vec![Some(0), Some(10)]);
    assert!(
        std::fs::read_to_string(&target.nginx_conf)
            .unwrap()
            .contains("weight=10")
    );

    // With the jump host dark, the gateway behind it is unreachable too: the jump was used.
    let sshd = |verb: &str| lab.sshd(verb, &lab.config.gateway[0].name);
    sshd("stop");
    let o = lab.run(&["status", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(s["gateways"][1]["error"].is_string(), "{s}");
    sshd("start");
    assert_eq!(lab.greens(), vec![Some(0), Some(10)]);
    lab.down();
}

/// The last audit record of `action` on `host`.
fn last_record<'a>(
    audit: &'a [serde_json::Value],
    host: &str,
    action: &str,
) -> &'a serde_json::Value {
    audit
        .iter()
        .rfind(|r| r["host"] == host && r["action"] == action)
        .unwrap_or_else(|| panic!("no {action} record for {host}: {audit:#?}"))
}

#[test]
fn headless_step_is_refused_while_green_is_slower_and_an_override_reason_is_audited() {
    let lab = Lab::up("rules-ttft", 1, &["--weights", "90/10"]);
    let g = lab.config.gateway[0].name.clone();
    lab.fault(&["--color", "blue", "ttft_ms=150", "tokens=2"]);
    lab.fault(&["--color", "green", "ttft_ms=210", "tokens=2"]); // 40 % slower
    let before = std::fs::read(&lab.config.gateway[0].nginx_conf).unwrap();

    let o = lab.run(&["step", "--by", "10", "--gateway", &g]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("refused by a guardrail")
            && err.contains("ttft fail: green TTFT +")
            && err.contains("--override REASON"),
        "the refusal gives the TTFT sentence and the way past: {}",
        text(&o)
    );
    assert_eq!(
        std::fs::read(&lab.config.gateway[0].nginx_conf).unwrap(),
        before,
        "nothing written"
    );
    assert_eq!(lab.greens(), vec![Some(10)]);

    let o = lab.run(&[
        "--actor",
        "oncall",
        "step",
        "--by",
        "10",
        "--gateway",
        &g,
        "--override",
        "model team accepts +40% TTFT for the canary",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(lab.greens(), vec![Some(20)]);
    let audit = lab.audit_lines();
    let rec = last_record(&audit, &g, "step");
    assert_eq!(rec["outcome"], "ok");
    assert_eq!(rec["actor"], "oncall");
    assert_eq!(
        rec["reason"], "model team accepts +40% TTFT for the canary",
        "{rec}"
    );

    // A jump of several steps needs a reason too; an empty one is bad usage.
    // (Down to 0: blue answers, so only the jump itself asks.)
    let o = lab.run(&["step", "--to", "0", "--gateway", &g]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("20 points"), "{}", text(&o));
    let o = lab.run(&["step", "--to", "0", "--gateway", &g, "--override", " "]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(lab.greens(), vec![Some(20)]);
    lab.down();
}

#[test]
fn headless_rollback_under_streaming_load_cuts_no_stream() {
    let lab = Lab::up("rules-rollback", 1, &["--weights", "50/50"]);
    // Streams of about two seconds: a stop right after the reload would cut the green ones.
    for color in ["blue", "green"] {
        lab.fault(&[
            "--color",
            color,
            "ttft_ms=50",
            "tokens=20",
            "tokens_per_sec=10",
        ]);
    }
    let loader = Load::new(6, 20).start(lab.chat_urls());
    std::thread::sleep(Duration::from_millis(2500));
    let g = lab.config.gateway[0].name.clone();
    let o = lab.run(&["rollback", "--gateway", &g]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    std::thread::sleep(Duration::from_millis(1000));
    let done = loader.stop();
    assert_none_failed(&done);
    let green_done = done.iter().filter(|d| d.color == "green").count();
    assert!(green_done >= 3, "green carried streams: {green_done}");
    assert!(
        !listens(&lab.config.gateway[0].green.addr),
        "green stopped after its streams"
    );
    assert_eq!(lab.greens(), vec![Some(0)]);
    let audit = lab.audit_lines();
    assert_eq!(last_record(&audit, &g, "step")["after"]["green"], 0);
    assert_eq!(last_record(&audit, &g, "stop")["outcome"], "ok");
    lab.down();
}

#[test]
fn status_exits_1_with_a_dark_host_and_lists_the_live_verdicts() {
    let lab = Lab::up("rules-status", 2, &["--weights", "90/10"]);
    let v = lab.status();
    for g in v["gateways"].as_array().unwrap() {
        let verdicts = g["verdicts"].as_array().unwrap();
        let ttft = verdicts
            .iter()
            .find(|x| x["guardrail"] == "ttft")
            .unwrap_or_else(|| panic!("no ttft verdict: {g}"));
        assert!(
            ["pass", "fail", "inconclusive"].contains(&ttft["verdict"].as_str().unwrap()),
            "{ttft}"
        );
        assert!(
            ttft["sentence"].as_str().unwrap().contains(" n 20/20"),
            "a verdict says its sample sizes: {ttft}"
        );
        // Green carries 10 % and nothing else sends traffic: the 5xx guardrail cannot judge.
        let fivexx = verdicts.iter().find(|x| x["guardrail"] == "5xx").unwrap();
        assert_eq!(fivexx["verdict"], "inconclusive", "{fivexx}");
        assert!(
            g["guardrails"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s.as_str().unwrap().starts_with("5xx inconclusive")),
            "{g}"
        );
    }
    let dark = lab.state.hosts[1].name.clone();
    lab.sshd("stop", &dark);
    let o = lab.run(&["status", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("still one JSON object");
    let gws = v["gateways"].as_array().unwrap();
    assert!(
        gws[1]["error"].is_string() && gws[1]["weights"].is_null(),
        "{v}"
    );
    assert!(
        gws[0]["error"].is_null() && gws[0]["weights"]["green"] == 10,
        "{v}"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&dark),
        "{}",
        text(&o)
    );
    let o = lab.run(&["status"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    lab.sshd("start", &dark);
    lab.down();
}
