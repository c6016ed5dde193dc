//! The lab against its contract: real sshd, real nginx, real HTTP, real processes.
//! Needs nginx and sshd installed (`scripts/test` installs them); without them these fail.

mod common;

use common::load::{Conn, chat, chat_url, colors_through_nginx};
use common::{Lab, cutover, cutover_env, listens, runtime, test_dir, text};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Chat requests in an access log, counted by the color in `upstream_addr`; every line must be
/// the documented JSON.
fn chat_lines_by_color(
    path: &str,
    blue: &str,
    green: &str,
    host: &str,
) -> HashMap<&'static str, u32> {
    let log = std::fs::read_to_string(path).unwrap();
    let mut logged = HashMap::new();
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{host}: access log line is not JSON ({e}): {line}"));
        if v["request"].as_str() != Some("POST /v1/chat/completions HTTP/1.1") {
            continue;
        }
        assert!(
            v["time"].as_str().is_some_and(|t| t.contains('.')),
            "{line}"
        );
        assert_eq!(v["status"], "200", "{line}");
        let addr = v["upstream_addr"].as_str().unwrap();
        let color = if addr == blue {
            "blue"
        } else if addr == green {
            "green"
        } else {
            panic!("{host}: unexpected upstream_addr {addr}")
        };
        *logged.entry(color).or_default() += 1;
    }
    logged
}

#[test]
fn lab_serves_weighted_traffic_over_real_nginx_and_sshd_then_leaves_nothing() {
    let lab = Lab::up("weighted", 3, &["--weights", "70/30"]);
    assert_eq!(lab.config.gateway.len(), 3);

    // Each host: ssh in with the generated config (strict host keys) and test nginx there.
    for g in &lab.config.gateway {
        let o = lab.ssh(&g.ssh, &format!("{} -t", g.nginx));
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{}: {out}", g.name);
        assert!(out.contains("test is successful"), "{}: {out}", g.name);
    }

    // Fast answers, so 400 requests per host take no time; this also exercises `lab fault`.
    lab.fast_answers();
    for (g, host) in lab.config.gateway.iter().zip(&lab.state.hosts) {
        // One keep-alive connection: one nginx worker's round robin.
        let mut by_color: HashMap<String, u32> = HashMap::new();
        for color in colors_through_nginx(host.ip, 400, Conn::Pooled) {
            *by_color.entry(color).or_default() += 1;
        }
        // nginx's smooth weighted round robin splits 70/30 exactly with one worker; allow
        // 5 points either way (blue 260..=300 of 400) so a retry or a second worker passes.
        let blue = by_color.get("blue").copied().unwrap_or(0);
        let green = by_color.get("green").copied().unwrap_or(0);
        assert_eq!(blue + green, 400, "{}: {by_color:?}", g.name);
        assert!((260..=300).contains(&blue), "{}: {by_color:?}", g.name);

        // The access log says the same, in the documented JSON format. nginx logs a request
        // after its last byte is sent, so the newest line may trail the response by a moment.
        let deadline = Instant::now() + Duration::from_secs(5);
        let logged = loop {
            let logged = chat_lines_by_color(&g.access_log, &g.blue.addr, &g.green.addr, &g.name);
            if logged.values().sum::<u32>() >= 400 || Instant::now() > deadline {
                break logged;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(logged.get("blue").copied().unwrap_or(0), blue, "{}", g.name);
        assert_eq!(
            logged.get("green").copied().unwrap_or(0),
            green,
            "{}",
            g.name
        );
    }

    // A stream through nginx: first token at the configured TTFT, long before the end.
    let first = &lab.state.hosts[0];
    for color in ["blue", "green"] {
        lab.fault(&[
            "--gateway",
            &first.name,
            "--color",
            color,
            "ttft_ms=800",
            "tokens=8",
            "tokens_per_sec=5",
        ]);
    }
    let url = chat_url(first.ip);
    let d = runtime().block_on(chat(&Conn::Pooled.client(), &url, true, 8));
    assert!(d.problem.is_none(), "stream through nginx: {d:?}");
    let first_token = d.first_token.expect("a content token") - d.started;
    let end = d.ended - d.started;
    assert!(
        first_token >= Duration::from_millis(800),
        "first token after {first_token:?}, before the configured 800 ms TTFT"
    );
    // 7 more tokens at 5/s follow the first: a buffering proxy would deliver all at the end.
    assert!(
        end - first_token >= Duration::from_millis(1000),
        "first token at {first_token:?} but stream ended at {end:?}: nginx buffered the stream"
    );

    // Down: every recorded process gone, nothing listening on any lab address.
    let mut pids: Vec<u32> = Vec::new();
    for h in &lab.state.hosts {
        pids.extend(h.nginx_pid);
        pids.extend(h.sshd_pid);
        for color in ["blue", "green"] {
            let f = lab
                .dir
                .join("hosts")
                .join(&h.name)
                .join(format!("{color}.pid"));
            pids.push(std::fs::read_to_string(f).unwrap().trim().parse().unwrap());
        }
    }
    assert_eq!(pids.len(), 12);
    let ips: Vec<_> = lab.state.hosts.iter().map(|h| h.ip).collect();
    let o = lab.down();
    assert!(text(&o).contains("stopped 12 processes"), "{}", text(&o));
    for pid in pids {
        assert!(
            !cutover::lab::process::alive(pid),
            "pid {pid} still alive after lab down"
        );
    }
    for ip in ips {
        for port in [2222, 8080, 8081, 8787, 8788] {
            let addr = SocketAddr::from((ip, port));
            assert!(
                !listens(addr),
                "{addr} still accepts connections after lab down"
            );
        }
    }
}

#[test]
fn a_lab_that_is_up_is_not_started_twice_and_colors_restart_like_services() {
    let lab = Lab::up("twice", 1, &[]);
    let o = cutover(&["lab", "up", "--gateways", "1", "--dir", lab.dir_str()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("already up") && text(&o).contains("lab down --dir"),
        "{}",
        text(&o)
    );

    // The fleet.toml commands work over ssh, as the cockpit will run them.
    let g = &lab.config.gateway[0];
    let version = lab.ssh(&g.ssh, &g.green.version);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        "8d41e07",
        "{}",
        text(&version)
    );
    lab.fault(&["--color", "green", "ttft_ms=700"]);
    let stop = lab.ssh(&g.ssh, &g.green.stop);
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    let green: SocketAddr = g.green.addr.parse().unwrap();
    assert!(!listens(green));
    let dead = lab.ssh(&g.ssh, &g.green.version);
    assert_eq!(
        dead.status.code(),
        Some(1),
        "version of a stopped color fails: {}",
        text(&dead)
    );
    let start = lab.ssh(&g.ssh, &g.green.start);
    assert_eq!(start.status.code(), Some(0), "{}", text(&start));
    // A restarted color keeps the injected fault, as a redeployed bad build would.
    let rt = runtime();
    let b = rt
        .block_on(cutover::lab::gateway::get_behaviour(
            green,
            Duration::from_secs(3),
        ))
        .unwrap();
    assert_eq!(b.ttft_ms, 700);
    lab.down();
}

#[test]
fn bad_input_is_named() {
    let dir = test_dir("bad-input");
    let d = dir.join("lab");
    let d = d.to_str().unwrap();

    let o = cutover(&["lab", "up", "--gateways", "0", "--dir", d]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--gateways 0"), "{}", text(&o));

    // A directory that cannot be created: its parent is a regular file (root ignores modes).
    let file = dir.join("plain-file");
    std::fs::write(&file, "").unwrap();
    let under_file = file.join("lab");
    let o = cutover(&["lab", "up", "--dir", under_file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("cannot create the lab directory") && text(&o).contains("plain-file"),
        "{}",
        text(&o)
    );

    let o = cutover(&["lab", "up", "--dir", &format!("{d} with space")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("contains ' '"), "{}", text(&o));

    for (var, tool, package) in [
        ("CUTOVER_LAB_NGINX", "nginx", "nginx-light"),
        ("CUTOVER_LAB_SSHD", "sshd", "openssh-server"),
    ] {
        let missing = dir.join(format!("no-{tool}"));
        let o = cutover_env(
            &["lab", "up", "--dir", d],
            &[(var, missing.to_str().unwrap())],
        );
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let t = text(&o);
        assert!(
            t.contains(var) && t.contains(&format!("apt-get install {package}")),
            "{t}"
        );
        assert!(
            !dir.join("lab").join("lab.json").exists(),
            "nothing half-started"
        );
    }

    let o = cutover(&["lab", "down", "--dir", d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no lab in"), "{}", text(&o));

    let o = cutover(&["lab", "up", "--weights", "60/30", "--dir", d]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("add up to 100"), "{}", text(&o));
}
