//! The exports against real parts: `watch` scraped by a real Prometheus (Debian package
//! `prometheus`, installed by `scripts/test`) during a step under load on the lab, and
//! Grafana annotations posted to a local receiver that checks Grafana's API contract, across
//! an outage of it. Needs nginx, sshd and prometheus; without them these fail.

mod common;

use common::{Lab, client, cutover, runtime, text};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A token shaped like a Grafana service-account token; it must never be written anywhere.
const TOKEN: &str = "glsa_Xq7VtR2mP9sLk4Wn8Bc3Hd6Jf1Gz5Ya0_5e2f9c1d";

fn fleet(lab: &Lab) -> String {
    lab.dir.join("fleet.toml").to_str().unwrap().to_string()
}

/// `cutover -c DIR/fleet.toml ARGS...` and how long it took.
fn run(lab: &Lab, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let o = lab.run(args);
    (o, started.elapsed())
}

fn append_config(lab: &Lab, text: &str) {
    let path = lab.dir.join("fleet.toml");
    let mut s = std::fs::read_to_string(&path).unwrap();
    s.push_str(text);
    std::fs::write(&path, s).unwrap();
}

// ---------------------------------------------------------------------------------------
// A stand-in for Grafana's annotation API.

/// What the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// 200 and an id, for a request that keeps to the contract.
    Accept,
    /// 503 with a body that echoes the Authorization header (a misbehaving proxy).
    Unavailable,
}

/// `POST /api/annotations` on loopback, checking method, path, Bearer token, content type and
/// the JSON fields; it keeps what it accepted and every breach of the contract.
struct Receiver {
    addr: SocketAddr,
    accepted: Arc<Mutex<Vec<serde_json::Value>>>,
    breaches: Arc<Mutex<Vec<String>>>,
    mode: Arc<Mutex<Mode>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Listen on `addr` (port 0: any).
    fn start(addr: SocketAddr) -> Receiver {
        let listener = TcpListener::bind(addr).expect("receiver bind");
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let breaches = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(Mode::Accept));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, b, m, s) = (
            accepted.clone(),
            breaches.clone(),
            mode.clone(),
            stop.clone(),
        );
        let thread = common::http::serve(listener, s, move |head, body| {
            let mode = *m.lock().unwrap();
            judge(head, body, mode, &a, &b)
        });
        Receiver {
            addr,
            accepted,
            breaches,
            mode,
            stop,
            thread: Some(thread),
        }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn accepted(&self) -> Vec<serde_json::Value> {
        self.accepted.lock().unwrap().clone()
    }

    fn texts(&self) -> Vec<String> {
        self.accepted()
            .iter()
            .map(|a| a["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Close the port: connections are refused until a new receiver listens.
    fn stop(mut self) -> (Vec<serde_json::Value>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        (self.accepted(), self.breaches.lock().unwrap().clone())
    }
}

/// Check one request against Grafana's contract; the status line and body to answer.
fn judge(
    head: &[String],
    body: &[u8],
    mode: Mode,
    accepted: &Mutex<Vec<serde_json::Value>>,
    breaches: &Mutex<Vec<String>>,
) -> (&'static str, String) {
    let header = |name: &str| {
        head.iter().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let mut wrong = Vec::new();
    if head.first().map(String::as_str) != Some("POST /api/annotations HTTP/1.1") {
        wrong.push(format!("request line {:?}", head.first()));
    }
    let auth = header("authorization").unwrap_or_default();
    if auth != format!("Bearer {TOKEN}") {
        wrong.push(format!("authorization header of {} bytes", auth.len()));
    }
    if !header("content-type").is_some_and(|c| c.starts_with("application/json")) {
        wrong.push(format!("content-type {:?}", header("content-type")));
    }
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    match json.as_object() {
        None => wrong.push("body is not a JSON object".into()),
        Some(o) => {
            for k in o.keys() {
                if !["dashboardUID", "time", "tags", "text"].contains(&k.as_str()) {
                    wrong.push(format!("unexpected field {k}"));
                }
            }
            if o["time"]
                .as_i64()
                .is_none_or(|t| (now_ms - t).abs() >= 600_000)
            {
                wrong.push(format!("time {} is not ms near now", o["time"]));
            }
            let tags: Vec<&str> = o["tags"]
                .as_array()
                .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
                .unwrap_or_default();
            if tags.first() != Some(&"cutover") {
                wrong.push(format!("tags {tags:?}"));
            }
            if o["text"].as_str().is_none_or(str::is_empty) {
                wrong.push("no text".into());
            }
            if o.get("dashboardUID").and_then(|d| d.as_str()) != Some("cutover-lab") {
                wrong.push(format!("dashboardUID {:?}", o.get("dashboardUID")));
            }
        }
    }
    if !wrong.is_empty() {
        breaches.lock().unwrap().push(wrong.join("; "));
        return ("400 Bad Request", r#"{"message":"bad request"}"#.into());
    }
    match mode {
        Mode::Unavailable => (
            "503 Service Unavailable",
            format!(r#"{{"message":"upstream down; you sent {auth}"}}"#),
        ),
        Mode::Accept => {
            let mut a = accepted.lock().unwrap();
            a.push(json);
            (
                "200 OK",
                format!(r#"{{"id":{},"message":"Annotation added"}}"#, a.len()),
            )
        }
    }
}

/// Every file under `dir` (recursively) whose bytes contain `needle`, except `skip`.
fn files_containing(dir: &std::path::Path, needle: &str, skip: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p == skip {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            out.extend(files_containing(&p, needle, skip));
        } else if meta.is_file() {
            if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    out.push(p.display().to_string());
                }
            }
        }
    }
    out
}

#[test]
fn annotations_reach_grafana_once_each_across_an_outage_and_the_token_stays_secret() {
    let lab = Lab::up("annot", 2, &[]);
    let token_file = lab.dir.join("grafana.token");
    // Bad configurations name the field and the file, and exit 2 before anything runs.
    append_config(
        &lab,
        "\n[export]\ngrafana_url = \"http://127.0.0.1:9\"\ngrafana_token_file = \"grafana.token\"\n",
    );
    let (o, _) = run(&lab, &["status"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("export.grafana_token_file:")
            && text(&o).contains(token_file.to_str().unwrap()),
        "{}",
        text(&o)
    );
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();

    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap());
    let at = receiver.addr;
    let path = lab.dir.join("fleet.toml");
    let s = std::fs::read_to_string(&path).unwrap().replace(
        "grafana_url = \"http://127.0.0.1:9\"",
        &format!("grafana_url = \"http://{at}\"\ngrafana_dashboard_uid = \"cutover-lab\""),
    );
    std::fs::write(&path, s).unwrap();
    let mut outputs = Vec::new();
    let step = |outputs: &mut Vec<Output>, gw: &str, to: &str| {
        let (o, took) = run(
            &lab,
            &[
                "--actor",
                "alice",
                "--ticket",
                "CHG-7",
                "step",
                "--gateway",
                gw,
                "--to",
                to,
                "--override",
                "export test: too little load to judge",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "step {gw} to {to}: {}", text(&o));
        outputs.push(o);
        took
    };

    // Grafana answers: one annotation per reload, with the contract's fields.
    let up = step(&mut outputs, "gw-a1", "10");
    let got = receiver.accepted();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0]["text"],
        "gw-a1 100/0 -> 90/10 by alice (CHG-7); green 8d41e07"
    );
    assert_eq!(
        got[0]["tags"],
        serde_json::json!(["cutover", "gw-a1", "az-a", "step", "CHG-7"])
    );

    // Grafana fails (503 echoing the token, then nothing listens): steps take no longer,
    // and their annotations are spooled.
    receiver.set(Mode::Unavailable);
    let slow = step(&mut outputs, "gw-a1", "20");
    let stderr = String::from_utf8_lossy(&outputs.last().unwrap().stderr).into_owned();
    assert!(stderr.contains("spooled"), "{stderr}");
    let (before, breaches) = receiver.stop();
    assert!(breaches.is_empty(), "contract breaches: {breaches:?}");
    assert_eq!(before.len(), 1);
    let refused = step(&mut outputs, "gw-a1", "30");
    for (what, took) in [("503", slow), ("refused", refused)] {
        assert!(
            took < up + Duration::from_secs(3),
            "a step with Grafana {what} took {took:?}, one with Grafana up {up:?}"
        );
    }
    eprintln!(
        "step wall time with Grafana up {up:?}, answering 503 {slow:?}, refusing {refused:?}"
    );
    let spool = lab.dir.join("cutover-annotations.spool.jsonl");
    let spooled = std::fs::read_to_string(&spool).expect("the spool beside the audit log");
    assert_eq!(spooled.lines().count(), 2, "{spooled}");
    assert!(!spooled.contains(TOKEN));

    // Grafana is back: the next start delivers the spool, then its own annotation.
    let receiver = Receiver::start(at);
    step(&mut outputs, "gw-a1", "20");
    step(&mut outputs, "gw-b1", "10");
    let texts = receiver.texts();
    let want = [
        "gw-a1 90/10 -> 80/20 by alice (CHG-7); green 8d41e07",
        "gw-a1 80/20 -> 70/30 by alice (CHG-7); green 8d41e07",
        "gw-a1 70/30 -> 80/20 by alice (CHG-7); green 8d41e07",
        "gw-b1 100/0 -> 90/10 by alice (CHG-7); green 8d41e07",
    ];
    for w in want {
        assert_eq!(
            texts.iter().filter(|t| *t == w).count(),
            1,
            "{w:?} exactly once in {texts:#?}"
        );
    }
    assert_eq!(texts.len(), want.len(), "{texts:#?}");
    // The spooled ones keep the time of their reload, before the step that delivered them.
    let times: Vec<i64> = receiver
        .accepted()
        .iter()
        .map(|a| a["time"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(!spool.exists(), "the spool is empty once delivered");
    let claims: Vec<String> = std::fs::read_dir(&lab.dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".claimed"))
        .collect();
    assert!(claims.is_empty(), "claims left behind: {claims:?}");
    let (_, breaches) = receiver.stop();
    assert!(breaches.is_empty(), "contract breaches: {breaches:?}");

    // The token is nowhere: not on stdout or stderr, not in the audit log, not in any file
    // of the lab but its own.
    for o in &outputs {
        assert!(!text(o).contains(TOKEN), "{}", text(o));
    }
    let leaks = files_containing(&lab.dir, TOKEN, &token_file);
    assert!(leaks.is_empty(), "the token leaked into {leaks:?}");
    let audit = std::fs::read_to_string(lab.dir.join("cutover-audit.jsonl")).unwrap();
    assert!(audit.contains("\"CHG-7\"") && !audit.contains(TOKEN));
    lab.down();
}

// ---------------------------------------------------------------------------------------
// `watch` and a real Prometheus.

/// A Prometheus instant query: each result's labels and value.
fn query(prom: &str, q: &str) -> Vec<(serde_json::Value, f64)> {
    let encoded: String = q
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let url = format!("{prom}/api/v1/query?query={encoded}");
    let body: serde_json::Value = runtime().block_on(async {
        let r = client().get(&url).send().await.expect("prometheus answers");
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    });
    assert_eq!(body["status"], "success", "{q}: {body}");
    body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let v = r["value"][1].as_str().unwrap_or("NaN");
            (r["metric"].clone(), v.parse().unwrap_or(f64::NAN))
        })
        .collect()
}

/// Poll `q` until `done` holds for its results; panics with the last answer otherwise.
fn wait_query(
    prom: &str,
    q: &str,
    within: Duration,
    done: impl Fn(&[(serde_json::Value, f64)]) -> bool,
) -> Vec<(serde_json::Value, f64)> {
    let deadline = Instant::now() + within;
    loop {
        let r = query(prom, q);
        if done(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "{q}: still {r:?} after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn by_color(r: &[(serde_json::Value, f64)]) -> HashMap<String, f64> {
    r.iter()
        .map(|(m, v)| (m["color"].as_str().unwrap_or("").to_string(), *v))
        .collect()
}

/// GET a URL's body as text (loopback, no proxy).
fn get(url: &str) -> Option<String> {
    runtime().block_on(async {
        let r = client().get(url).send().await.ok()?;
        r.status().is_success().then_some(())?;
        String::from_utf8(r.bytes().await.ok()?.to_vec()).ok()
    })
}

/// `watch` as a child process, stderr into a file; SIGTERM on drop if still running.
struct Watch {
    child: Child,
    stderr: std::path::PathBuf,
}

impl Watch {
    fn start(lab: &Lab) -> Watch {
        let stderr = lab.dir.join("watch.stderr");
        let child = Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["-c", &fleet(lab), "watch"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start watch");
        Watch { child, stderr }
    }

    /// SIGTERM, then the exit code and stderr.
    fn stop(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        let code = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s.code();
            }
            assert!(Instant::now() < deadline, "watch did not exit on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        (
            code,
            std::fs::read_to_string(&self.stderr).unwrap_or_default(),
        )
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_watch_through_a_step_under_load() {
    let lab = Lab::up("prom", 2, &["--prometheus"]);
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lab.dir.join("lab.json")).unwrap()).unwrap();
    let prom = raw["prometheus"]["url"]
        .as_str()
        .expect("lab.json names prometheus's URL")
        .to_string();
    let metrics = lab
        .config
        .export
        .metrics_addr()
        .expect("the lab's fleet.toml sets [export] metrics_listen");
    assert_eq!(
        raw["prometheus"]["metrics_listen"].as_str(),
        Some(metrics.to_string().as_str())
    );
    // Short answers, so the load makes many requests; TTFT stays the lab's 150 ms.
    for color in ["blue", "green"] {
        lab.fault(&["--color", color, "tokens=1", "tokens_per_sec=1000"]);
    }
    let lab_ttft = 0.150;

    let watch = Watch::start(&lab);
    let page = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(p) = get(&format!("http://{metrics}/metrics"))
                .filter(|p| p.contains("cutover_upstream_weight{gateway=\"gw-a1\""))
            {
                break p;
            }
            assert!(Instant::now() < deadline, "watch never served weights");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    assert!(
        page.contains("cutover_upstream_weight{gateway=\"gw-a1\",az=\"az-a\",color=\"blue\"} 100"),
        "{page}"
    );
    // Prometheus parses what watch serves (it asks for OpenMetrics).
    wait_query(&prom, "up{job=\"cutover\"}", Duration::from_secs(20), |r| {
        r.len() == 1 && r[0].1 == 1.0
    });

    let loader = common::load::Load::new(3, 1).start(lab.chat_urls());
    std::thread::sleep(Duration::from_secs(2));
    let (o, _) = run(
        &lab,
        &[
            "step",
            "--gateway",
            "gw-a1",
            "--to",
            "10",
            "--override",
            "prometheus test",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "step: {}", text(&o));
    let stepped = Instant::now();
    wait_query(
        &prom,
        "cutover_upstream_weight{gateway=\"gw-a1\",color=\"green\"}",
        Duration::from_secs(20),
        |r| r.len() == 1 && r[0].1 == 10.0,
    );
    let seen_after = stepped.elapsed();

    // Requests grow for both colors once green carries a share.
    // job="cutover": the lab's colors export the same names themselves (job "gateways").
    let q = "sum by (color) (cutover_requests_total{job=\"cutover\",gateway=\"gw-a1\"})";
    let first = by_color(&wait_query(&prom, q, Duration::from_secs(20), |r| {
        by_color(r).get("green").is_some_and(|&g| g > 0.0)
    }));
    std::thread::sleep(Duration::from_secs(4));
    wait_query(&prom, q, Duration::from_secs(20), |r| {
        let now = by_color(r);
        ["blue", "green"]
            .iter()
            .all(|c| now.get(*c).copied().unwrap_or(0.0) > first.get(*c).copied().unwrap_or(0.0))
    });

    // The p95 of the synthetic probes, per color, as the runbook's query computes it.
    let p95 = "histogram_quantile(0.95, sum by (le, color) (rate(cutover_ttft_seconds_bucket{job=\"cutover\"}[5m])))";
    let r = wait_query(&prom, p95, Duration::from_secs(30), |r| {
        let m = by_color(r);
        ["blue", "green"]
            .iter()
            .all(|c| m.get(*c).is_some_and(|v| v.is_finite()))
    });
    for (c, v) in by_color(&r) {
        assert!(
            (v - lab_ttft).abs() <= 0.2 * lab_ttft,
            "{c}: p95 {v} s is not within 20 % of the lab's {lab_ttft} s"
        );
    }
    // nginx's own figures come through the exporter when it is installed.
    if !raw["prometheus"]["nginx_exporters"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        wait_query(&prom, "nginx_up", Duration::from_secs(20), |r| {
            r.len() == 2 && r.iter().all(|(_, v)| *v == 1.0)
        });
    }
    // Every query of the documented dashboard runs, and the runbook panel has data.
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/grafana-dashboard.json"
        ))
        .unwrap(),
    )
    .unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$gateway", ".+")
                .replace("$job", "cutover");
            let r = query(&prom, &expr);
            if panel["id"] == 1 && target["refId"] != "B" {
                assert!(!r.is_empty(), "{expr}: no data");
            }
        }
    }
    let served = loader.stop().iter().filter(|d| d.problem.is_none()).count() as u64;
    assert!(served > 50, "too little load: {served} requests");

    let (code, stderr) = watch.stop();
    assert_eq!(code, Some(0), "watch exits 0 on SIGTERM: {stderr}");
    assert!(
        stderr.contains("watch: 2 gateways, read-only; metrics on http://"),
        "{stderr}"
    );
    assert!(stderr.contains("SIGTERM: stopping"), "{stderr}");
    eprintln!("green weight in Prometheus {seen_after:?} after the step returned");

    let pid = raw["prometheus"]["pid"].as_u64().unwrap();
    lab.down();
    assert!(
        !cutover::lab::process::alive(pid as u32),
        "lab down stops prometheus"
    );
    assert!(get(&format!("{prom}/-/ready")).is_none());
}

// ---------------------------------------------------------------------------------------
// The live cockpit: it serves the same metrics and annotates its own steps.

/// A loopback port free right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_cockpit_serves_metrics_and_annotates_its_steps_with_the_token_kept_out_of_its_records() {
    use common::tmux::{Tmux, row};
    let lab = Lab::up("annot-cockpit", 1, &[]);
    let token_file = lab.dir.join("grafana.token");
    std::fs::write(&token_file, TOKEN).unwrap();
    // Grafana fails first, echoing the token: the cockpit's log says so, masked.
    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap());
    receiver.set(Mode::Unavailable);
    let metrics = format!("127.0.0.1:{}", free_port());
    append_config(
        &lab,
        &format!(
            "\n[export]\nmetrics_listen = \"{metrics}\"\ngrafana_url = \"http://{}\"\n\
             grafana_token_file = \"grafana.token\"\ngrafana_dashboard_uid = \"cutover-lab\"\n",
            receiver.addr
        ),
    );
    let cast = lab.dir.join("cockpit.cast");
    let cmd = lab.cockpit_cmd(&format!(
        "--actor bob --ticket CHG-9 --record {} 2>{}",
        cast.display(),
        lab.dir.join("cockpit.stderr").display()
    ));
    let t = Tmux::start(120, 40, &cmd);
    t.wait_for("the TTFT verdict", |s| s.contains("% ok"));
    t.keys("]");
    t.wait_for("gw-a1 at 90/10", |s| row(s, "gw-a1").contains("90/10"));
    // Four failures in a row (1 + 2 + 4 s of backoff), then the spool.
    let s = {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = t.screen();
            if s.contains("spooled to") {
                break s;
            }
            assert!(Instant::now() < deadline, "no spool notice:\n{s}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    assert!(!s.contains(TOKEN), "{s}");
    // The figures follow at the next tick.
    let deadline = Instant::now() + Duration::from_secs(5);
    let page = loop {
        let page = get(&format!("http://{metrics}/metrics")).expect("the cockpit serves /metrics");
        if page.contains("cutover_annotations_failed_total 1") || Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        page.contains("cutover_upstream_weight{gateway=\"gw-a1\",az=\"az-a\",color=\"green\"} 10"),
        "{page}"
    );
    assert!(
        page.contains("cutover_annotations_failed_total 1"),
        "{page}"
    );

    // Grafana is back: the next step's annotation goes through, the spooled one follows.
    receiver.set(Mode::Accept);
    t.keys("[");
    t.wait_for("gw-a1 back at 100/0", |s| row(s, "gw-a1").contains("100/0"));
    let deadline = Instant::now() + Duration::from_secs(15);
    while receiver.accepted().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "delivered: {:?}",
            receiver.texts()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t.keys("q");
    t.wait_for("the cockpit to exit", |s| s.contains("exit="));
    let (got, breaches) = receiver.stop();
    assert!(breaches.is_empty(), "{breaches:?}");
    let texts: Vec<&str> = got.iter().filter_map(|a| a["text"].as_str()).collect();
    assert_eq!(
        texts,
        [
            "gw-a1 90/10 -> 100/0 by bob (CHG-9); green 8d41e07",
            "gw-a1 100/0 -> 90/10 by bob (CHG-9); green 8d41e07",
        ],
        "each once, the spooled one after the one that found Grafana back"
    );

    // The token is in no record: cast, session log, audit log, stderr, spool, any file.
    let cast_text = std::fs::read_to_string(&cast).unwrap();
    assert!(cast_text.contains("spooled to"), "the cast has the notice");
    let session = std::fs::read_dir(&lab.dir)
        .unwrap()
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("cutover-session-")
        })
        .expect("the live session log");
    assert!(std::fs::metadata(session.path()).unwrap().len() > 0);
    let leaks = files_containing(&lab.dir, TOKEN, &token_file);
    assert!(leaks.is_empty(), "the token leaked into {leaks:?}");
    lab.down();
}

/// The documentation names exactly the metric families `/metrics` serves.
#[test]
fn the_docs_and_the_dashboard_name_only_metrics_that_exist() {
    use cutover::export::metrics::{Format, Snapshot, render};
    let mut served = String::new();
    render(
        &Snapshot::empty(),
        Duration::ZERO,
        Format::Text,
        &mut served,
    );
    let families: Vec<&str> = served
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let names = |text: &str| -> Vec<String> {
        let mut out: Vec<String> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("cutover_") && w.len() > "cutover_".len())
            .map(|w| {
                ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|s| w.strip_suffix(s))
                    .unwrap_or(w)
                    .to_string()
            })
            .collect();
        out.sort();
        out.dedup();
        out
    };
    let root = env!("CARGO_MANIFEST_DIR");
    let doc = std::fs::read_to_string(format!("{root}/docs/observability.md")).unwrap();
    let dash = std::fs::read_to_string(format!("{root}/docs/grafana-dashboard.json")).unwrap();
    for name in names(&doc).iter().chain(&names(&dash)) {
        assert!(
            families.contains(&name.as_str()),
            "{name} is documented but not served ({families:?})"
        );
    }
    for f in &families {
        assert!(
            doc.contains(&format!("| `{f}` |")),
            "{f} is served but not in the table"
        );
    }
}

#[test]
fn watch_needs_the_fleet_and_a_public_listener_needs_consent() {
    let o = cutover(&["watch"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("cutover -c fleet.toml watch"),
        "{}",
        text(&o)
    );
    let dir = common::test_dir("export-config");
    let path = dir.join("fleet.toml");
    std::fs::write(&path, "[export]\nmetrics_listen = \"0.0.0.0:9464\"\n").unwrap();
    let o = cutover(&["-c", path.to_str().unwrap(), "watch"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let want = format!("{}:2:1: export.metrics_listen:", path.display());
    assert!(text(&o).contains(&want), "{}", text(&o));
    assert!(text(&o).contains("metrics_allow_remote"), "{}", text(&o));
    let o = cutover(&["-c", path.to_str().unwrap(), "--record", "x.cast", "watch"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "only the cockpit records: {}",
        text(&o)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
