//! The two telemetry sources side by side on one lab (32 gateways by default), at the same
//! traffic: `cutover watch` (the cockpit's collectors without a terminal) with
//! `[telemetry] source = "ssh"` (access-log tails, health probes) and then with
//! `source = "prometheus"` (the lab's real Prometheus scraping every color's `/metrics`).
//! For each: bytes per second read by the cutover process's own threads (its sockets and
//! the pipes of its ssh clients), CPU of the cutover process, of its ssh clients and of
//! Prometheus, and the queries per second Prometheus answered. Needs nginx, sshd, prometheus.
//!
//! Run: `cargo bench --bench sources` (GATEWAYS=N, RPS=requests a second per gateway,
//! SECS=seconds measured per source).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Clock ticks a second (`getconf CLK_TCK`; 100 on Linux).
const TICKS: f64 = 100.0;

/// utime + stime of `pid`, in ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // state is field 3 of stat; utime and stime are 14 and 15, so 11 and 12 here.
    n(11) + n(12)
}

/// Bytes the process's own threads read through read(2)-like calls (`rchar` of each live
/// thread): its sockets and the pipes of its ssh clients. The process-wide figure would
/// also count what every reaped child read (an ssh client loading its libraries).
fn rchar(pid: u32) -> u64 {
    let mut total = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        total += std::fs::read_to_string(t.path().join("io"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("rchar: "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

/// CPU ticks of every `ssh` client process whose command line names `dir` (the lab's
/// ssh_config): the control masters and sessions cutover started.
fn ssh_ticks(dir: &str) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if comm.trim() == "ssh" && String::from_utf8_lossy(&cmd).contains(dir) {
            total += cpu_ticks(pid);
        }
    }
    total
}

/// Queries Prometheus has answered (`/api/v1/query` and `/api/v1/query_range`).
fn prom_queries(url: &str) -> f64 {
    let page = Command::new("curl")
        .args(["-s", "--noproxy", "*", &format!("{url}/metrics")])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    page.lines()
        .filter(|l| {
            l.starts_with("prometheus_http_requests_total{")
                && (l.contains("handler=\"/api/v1/query\"")
                    || l.contains("handler=\"/api/v1/query_range\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

struct Figures {
    bytes_per_sec: f64,
    cutover_cpu: f64,
    ssh_cpu: f64,
    prom_cpu: f64,
    queries_per_sec: f64,
}

fn measure(bin: &str, fleet: &str, dir: &str, prom: &str, prom_pid: u32, secs: u64) -> Figures {
    let mut watch: Child = Command::new(bin)
        .args(["-c", fleet, "watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch");
    let pid = watch.id();
    // Warm-up: masters up, tails started, the first polls done.
    std::thread::sleep(Duration::from_secs(15));
    let (b0, c0, s0, p0, q0) = (
        rchar(pid),
        cpu_ticks(pid),
        ssh_ticks(dir),
        cpu_ticks(prom_pid),
        prom_queries(prom),
    );
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let el = t.elapsed().as_secs_f64();
    let f = Figures {
        bytes_per_sec: (rchar(pid) - b0) as f64 / el,
        cutover_cpu: (cpu_ticks(pid) - c0) as f64 / TICKS / el * 100.0,
        ssh_cpu: ssh_ticks(dir).saturating_sub(s0) as f64 / TICKS / el * 100.0,
        prom_cpu: (cpu_ticks(prom_pid) - p0) as f64 / TICKS / el * 100.0,
        queries_per_sec: (prom_queries(prom) - q0) / el,
    };
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = watch.wait();
    // Let its ssh masters go before the next run counts ssh CPU.
    std::thread::sleep(Duration::from_secs(3));
    f
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("sources: a benchmark; run it with `cargo bench --bench sources`");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_cutover");
    let n = env("GATEWAYS", 32);
    let rps = env("RPS", 10);
    let secs = env("SECS", 30);
    let dir = std::env::temp_dir().join(format!("cutover-bench-sources-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap().to_string();
    let up = Command::new(bin)
        .args([
            "lab",
            "up",
            "--gateways",
            &n.to_string(),
            "--dir",
            &d,
            "--prometheus",
            "--weights",
            "90/10",
        ])
        .output()
        .expect("lab up");
    assert!(
        up.status.success(),
        "lab up: {}",
        String::from_utf8_lossy(&up.stderr)
    );
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("lab.json")).unwrap()).unwrap();
    let prom = raw["prometheus"]["url"].as_str().unwrap().to_string();
    let prom_pid = raw["prometheus"]["pid"].as_u64().unwrap() as u32;
    let base = std::fs::read_to_string(dir.join("fleet.toml")).unwrap();
    let ssh_fleet = dir.join("fleet-ssh.toml");
    std::fs::write(&ssh_fleet, &base).unwrap();
    let prom_fleet = dir.join("fleet-prom.toml");
    std::fs::write(
        &prom_fleet,
        cutover::lab::prometheus::with_prometheus_telemetry(&base),
    )
    .unwrap();
    let cfg = cutover::config::Config::load(&ssh_fleet).expect("fleet.toml");
    // One-token answers: the traffic is requests, not waiting.
    for color in ["blue", "green"] {
        let o = Command::new(bin)
            .args([
                "lab",
                "fault",
                "--dir",
                &d,
                "--color",
                color,
                "tokens=1",
                "tokens_per_sec=1000",
            ])
            .output()
            .unwrap();
        assert!(o.status.success());
    }

    // The same steady traffic through every gateway's nginx for both runs.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for g in &cfg.gateway {
        let ip = g
            .health_url
            .split("//")
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap();
        let url = format!("http://{ip}:8080/v1/chat/completions");
        let (client, sent, failed) = (client.clone(), sent.clone(), failed.clone());
        rt.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1000 / rps.max(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let (client, url, sent, failed) =
                    (client.clone(), url.clone(), sent.clone(), failed.clone());
                tokio::spawn(async move {
                    let body = r#"{"model":"lab","stream":false,"messages":[{"role":"user","content":"hi"}]}"#;
                    let ok = match client.post(&url).body(body).send().await {
                        Ok(r) => r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    sent.fetch_add(1, Ordering::Relaxed);
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
    }
    // The load runs on a thread of its own, driving the runtime.
    let handle = rt.handle().clone();
    std::thread::spawn(move || rt.block_on(std::future::pending::<()>()));
    drop(handle);
    std::thread::sleep(Duration::from_secs(5));
    let t0 = Instant::now();
    let s0 = sent.load(Ordering::Relaxed);
    let ssh = measure(bin, ssh_fleet.to_str().unwrap(), &d, &prom, prom_pid, secs);
    let prometheus = measure(bin, prom_fleet.to_str().unwrap(), &d, &prom, prom_pid, secs);
    let total_rps = (sent.load(Ordering::Relaxed) - s0) as f64 / t0.elapsed().as_secs_f64();
    println!(
        "{n} gateways, {total_rps:.0} requests/s through nginx in all ({} not completed), {secs} s measured per source",
        failed.load(Ordering::Relaxed)
    );
    println!(
        "{:<11} {:>14} {:>12} {:>12} {:>14} {:>13}",
        "source", "bytes/s in", "cutover CPU", "ssh CPU", "prometheus CPU", "queries/s"
    );
    for (name, f) in [("ssh", &ssh), ("prometheus", &prometheus)] {
        println!(
            "{name:<11} {:>14.0} {:>11.1}% {:>11.1}% {:>13.1}% {:>13.2}",
            f.bytes_per_sec, f.cutover_cpu, f.ssh_cpu, f.prom_cpu, f.queries_per_sec
        );
    }
    let _ = Command::new(bin)
        .args(["lab", "down", "--dir", &d])
        .output();
    let _ = std::fs::remove_dir_all(&dir);
}
