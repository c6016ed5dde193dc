//! Failure digests on the lab (real nginx, real sshd): green failing 5 % of its requests on
//! one gateway under load, the digest posted to a local webhook receiver (Slack is not
//! packaged here), the receiver down for two windows, a digest process killed with SIGKILL,
//! the cockpit's failures view with the color's own log line, and `report --request-id`.
//! Needs nginx and sshd; without them these fail.

mod common;

use common::http::{Webhook, free_addr};
use common::load::{Load, chat_url};
use common::{Lab, runtime, text};
use cutover::app::keys::{KeyCode, KeyEvent};
use cutover::app::state::Popup;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Two gateways at 50/50; green on gw-a1 answers 20 % of its requests with a 500.
fn failing_lab(name: &str) -> Lab {
    let lab = Lab::up(name, 2, &["--weights", "50/50"]);
    lab.fault(&["--gateway", "gw-a1", "--color", "green", "error_rate=0.2"]);
    lab
}

/// Steady load through every gateway's nginx.
fn load(lab: &Lab) -> common::load::Loader {
    let urls = lab.state.hosts.iter().map(|h| chat_url(h.ip)).collect();
    Load::new(4, 4).start(urls)
}

/// `cutover -c fleet.toml digest ARGS` started in the background, stderr to a file.
fn digest(lab: &Lab, args: &[&str], log: &Path) -> Child {
    let fleet = lab.dir.join("fleet.toml");
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("-c")
        .arg(&fleet)
        .arg("digest")
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start digest")
}

/// `digest --window WINDOW --once` posting to `url`, spooling in `spool`.
fn digest_once(lab: &Lab, window: &str, url: &str, spool: &Path, log: &Path) -> Child {
    digest(
        lab,
        &[
            "--window",
            window,
            "--once",
            "--webhook",
            url,
            "--spool",
            spool.to_str().unwrap(),
        ],
        log,
    )
}

/// Wait for `child` to exit within `limit`; its status code.
fn wait(child: &mut Child, limit: Duration) -> Option<i32> {
    let until = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("digest did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Poll `f` every 200 ms until it is true or `limit` passes.
fn eventually(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < until, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The `.json` files in `dir`.
fn spooled(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn a_digest_names_green_the_status_the_gateway_and_ids_both_logs_hold() {
    let lab = failing_lab("dg-once");
    let hook = Webhook::start("127.0.0.1:0".parse().unwrap());
    let url = format!("http://{}/hooks/cutover", hook.addr);
    let spool = lab.dir.join("spool");
    let traffic = load(&lab);
    let log = lab.dir.join("digest.err");
    let mut d = digest_once(&lab, "10s", &url, &spool, &log);
    let code = wait(&mut d, Duration::from_secs(60));
    let done = traffic.stop();
    let err = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("after its window ended"),
        "the delivery latency is said: {err}"
    );
    let got = hook.received();
    assert_eq!(got.len(), 1, "one window, one digest: {got:?}");
    let dg = &got[0];
    assert!(dg["id"].as_str().unwrap().contains('/'), "{dg}");
    let groups = dg["groups"].as_array().unwrap();
    assert!(
        !groups.is_empty(),
        "green failed 20 % of its requests: {dg}"
    );
    for g in groups {
        assert_eq!(g["color"], "green", "blue's successes are absent: {g}");
        assert_eq!(g["status"], 500, "{g}");
        assert_eq!(g["gateway"], "gw-a1", "{g}");
        assert_eq!(g["az"], lab.config.gateway[0].az.as_str(), "{g}");
    }
    let said = dg["text"].as_str().unwrap();
    assert!(
        said.contains("green 500 x") && said.contains("on gw-a1"),
        "{said}"
    );
    // Every example ID is in gw-a1's access log and in green's own log there.
    let access = std::fs::read_to_string(&lab.config.gateway[0].access_log).unwrap();
    let green_log = lab.config.gateway[0]
        .green
        .log
        .clone()
        .expect("the lab sets green's log");
    let green_log = std::fs::read_to_string(green_log).unwrap();
    let ids: Vec<&str> = groups
        .iter()
        .flat_map(|g| g["request_ids"].as_array().unwrap())
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!ids.is_empty());
    for id in &ids {
        assert!(access.contains(id), "{id} not in the access log");
        assert!(
            green_log
                .lines()
                .any(|l| l.contains(id) && l.contains("injected error")),
            "{id} not in green's log as an injected error"
        );
    }
    assert!(spooled(&spool).is_empty(), "delivered, so not spooled");
    // The load's own count: every failure it saw was a 500 from gw-a1's green.
    let failed = done.iter().filter(|x| x.problem.is_some()).count();
    assert!(failed > 0, "the load saw the failures too");

    // What the logs know about one of those requests.
    let o = common::cutover(&[
        "report",
        lab.config.gateway[0].access_log.as_str(),
        "--request-id",
        ids[0],
        "-c",
        lab.dir.join("fleet.toml").to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        out.contains(ids[0]) && out.contains("500") && out.contains("green"),
        "{out}"
    );
    lab.down();
}

#[test]
fn with_the_receiver_down_digests_wait_in_the_spool_and_arrive_in_order_once() {
    let lab = failing_lab("dg-spool");
    let addr = free_addr();
    let url = format!("http://{addr}/hook");
    let spool = lab.dir.join("spool");
    let traffic = load(&lab);
    let log = lab.dir.join("digest.err");
    let args = [
        "--window",
        "5s",
        "--webhook",
        &url,
        "--spool",
        spool.to_str().unwrap(),
    ];
    let mut d = digest(&lab, &args, &log);
    // Two windows end with nobody listening: both wait in the spool, and the failed posts
    // are counted on disk.
    eventually(Duration::from_secs(30), "two digests spooled", || {
        spooled(&spool).len() >= 2
    });
    let counter: u64 = std::fs::read_to_string(spool.join("failed_posts"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(counter >= 2, "{counter}");
    // SIGKILL between spool and send: nothing is lost.
    d.kill().unwrap();
    let _ = d.wait();
    let waiting = spooled(&spool);
    assert!(waiting.len() >= 2, "{waiting:?}");
    let hook = Webhook::start(addr);
    let mut d = digest(&lab, &args, &log);
    eventually(
        Duration::from_secs(30),
        "the spool sent and one more",
        || hook.received().len() > waiting.len(),
    );
    // Stopped as a service manager would: it finishes what it is doing.
    let stopped = Command::new("kill")
        .args(["-INT", &d.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert_eq!(wait(&mut d, Duration::from_secs(15)), Some(0));
    traffic.stop();
    let got = hook.stop();
    let ids: Vec<String> = got
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    // In window order, each once.
    let starts: Vec<u64> = ids
        .iter()
        .map(|id| id.rsplit('/').next().unwrap().parse().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(starts, sorted, "in order, each once: {ids:?}");
    // The ones the killed process spooled came first.
    assert!(
        waiting
            .iter()
            .zip(&starts)
            .all(|(file, start)| file.starts_with(&format!("{start:016}"))),
        "{waiting:?} vs {ids:?}"
    );
    assert!(spooled(&spool).is_empty(), "everything delivered");
    eprintln!("{}", std::fs::read_to_string(&log).unwrap());
    lab.down();
}

#[test]
fn the_failures_view_shows_the_groups_and_greens_own_line_for_an_id() {
    let lab = failing_lab("dg-view");
    let traffic = load(&lab);
    let rt = runtime();
    rt.block_on(Box::pin(async {
        let mut d = common::live::cockpit(&lab, |_| {});
        let start = Instant::now();
        let until = start + Duration::from_secs(40);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            d.advance_to(start.elapsed().as_millis() as u64);
            let n = d
                .state
                .failures
                .windows()
                .last()
                .map_or(0, |&w| d.state.failures.total(w).0);
            if n >= 3 {
                break;
            }
            assert!(Instant::now() < until, "no failures seen in 40 s");
        }
        d.key(KeyEvent::from(KeyCode::Char('f')));
        let screen = common::render(&d.state, 120, 40);
        assert!(
            screen.contains("green 500 x") && screen.contains("on gw-a1"),
            "{screen}"
        );
        assert!(!screen.contains("blue 500"), "{screen}");
        d.key(KeyEvent::from(KeyCode::Enter));
        let Some(Popup::Failures(v)) = d.state.popup.clone() else {
            panic!("the view closed: {:?}", d.state.popup)
        };
        let id = v
            .open
            .as_ref()
            .expect("a request opened")
            .request
            .request_id
            .clone();
        // The color's log arrives from the host.
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            d.advance_to(start.elapsed().as_millis() as u64);
            let Some(Popup::Failures(v)) = &d.state.popup else {
                panic!("closed")
            };
            let fetching = matches!(
                v.open.as_ref().unwrap().log,
                cutover::app::failures_view::ColorLogState::Fetching
            );
            if !fetching {
                break;
            }
            assert!(Instant::now() < until, "green's log not read in 10 s");
        }
        let screen = common::render(&d.state, 120, 40);
        assert!(screen.contains(&id), "{screen}");
        assert!(screen.contains("injected error"), "{screen}");
    }));
    traffic.stop();
    lab.down();
}

#[test]
fn hostile_log_lines_never_reach_the_webhook_raw_nor_stop_the_digest() {
    let lab = Lab::up("dg-hostile", 1, &["--weights", "50/50"]);
    let hook = Webhook::start("127.0.0.1:0".parse().unwrap());
    let url = format!("http://{}/hook", hook.addr);
    let spool = lab.dir.join("spool");
    let log = lab.dir.join("digest.err");
    let mut d = digest_once(&lab, "5s", &url, &spool, &log);
    let green = lab.config.gateway[0].green.addr.clone();
    let access = lab.config.gateway[0].access_log.clone();
    // Lines appended as nginx would (one write each) for the whole of the digest's window:
    // escape sequences in the ID and the request, invalid UTF-8, and a 1 MB line.
    let until = Instant::now() + Duration::from_secs(14);
    let mut n = 0;
    while Instant::now() < until && d.try_wait().unwrap().is_none() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let secs = format!("{}.{:03}", now / 1000, now % 1000);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(format!(
            "{{\"time\":\"{secs}\",\"status\":\"502\",\"request_time\":\"0.010\",\"upstream_addr\":\"{green}\",\"upstream_status\":\"502\",\"upstream_response_time\":\"0.009\",\"upstream_header_time\":\"-\",\"request_id\":\"evil\\u001b]0;pwned\\u0007{n}\\u001b[2J\",\"request\":\"POST /v1/chat/completions\\u001b[31m HTTP/1.1\",\"bytes_sent\":\"0\"}}\n"
        ).as_bytes());
        bytes.extend_from_slice(b"{\"time\":\"");
        bytes.extend_from_slice(secs.as_bytes());
        bytes.extend_from_slice(
            b"\",\"status\":\"500\",\"request_time\":\"0.001\",\"upstream_addr\":\"",
        );
        bytes.extend_from_slice(green.as_bytes());
        bytes.extend_from_slice(b"\",\"upstream_status\":\"500\",\"upstream_header_time\":\"0.001\",\"request_id\":\"\xff\xfe\x1b[1mbad\"}\n");
        let mut big = b"{\"time\":\"".to_vec();
        big.extend_from_slice(secs.as_bytes());
        big.extend_from_slice(b"\",\"status\":\"500\",\"request_id\":\"");
        big.extend(std::iter::repeat_n(b'A', 1 << 20));
        big.extend_from_slice(b"\"}\n");
        bytes.extend_from_slice(&big);
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&access)
            .unwrap();
        f.write_all(&bytes).unwrap();
        n += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let code = wait(&mut d, Duration::from_secs(30));
    let err = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains('\u{1b}'), "stderr is sanitized: {err:?}");
    let got = hook.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let raw = serde_json::to_string(&got[0]).unwrap();
    for bad in [
        "\\u001b",
        "\u{1b}",
        "\\u0007",
        "pwned\u{7}",
        "\u{fffd}\u{fffd}\u{1b}",
    ] {
        assert!(!raw.contains(bad), "{bad:?} reached the webhook: {raw}");
    }
    assert!(raw.len() < 16 * 1024, "bounded: {} bytes", raw.len());
    let groups = got[0]["groups"].as_array().unwrap();
    assert!(
        groups
            .iter()
            .any(|g| g["status"] == 502 && g["color"] == "green"),
        "the hostile lines are still counted: {raw}"
    );
    lab.down();
}
