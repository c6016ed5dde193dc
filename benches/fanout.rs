//! One 10-point step across every gateway of a 16-gateway lab: `cutover step --all` against
//! the runbook's way (plain `ssh` host by host: edit, nginx -t, reload). Needs nginx and sshd.
//!
//! Three figures for the change: the CLI with no master connections yet (cold), the CLI with
//! masters up (warm), and a cockpit key press: sessions open, weights already read by the
//! sampler, one change per host run at once (in process, the executor LiveFleet uses).
//!
//! Run: `cargo bench --bench fanout` (GATEWAYS=N to change the size).

use std::process::Command;
use std::time::{Duration, Instant};

fn run(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let o = cmd.output().expect("run");
    assert!(
        o.status.success(),
        "{:?}: {}{}",
        cmd,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    t.elapsed()
}

fn main() {
    // `cargo test --all-targets` runs benches once without `--bench`: a 16-host lab is a
    // measurement, not a test, so it only runs under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("fanout: a benchmark; run it with `cargo bench --bench fanout`");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_cutover");
    let n: usize = std::env::var("GATEWAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let dir = std::env::temp_dir().join(format!("cutover-bench-fanout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    run(Command::new(bin).args(["lab", "up", "--gateways", &n.to_string(), "--dir", d]));
    let fleet = dir.join("fleet.toml");
    let f = fleet.to_str().unwrap();
    let cfg = cutover::config::Config::load(&fleet).expect("fleet.toml");

    // The cockpit's way: one command, every host in parallel, each step verified and audited.
    let cold = run(Command::new(bin).args(["-c", f, "step", "--by", "10", "--all"]));
    let mut warm = Vec::new();
    for _ in 0..3 {
        warm.push(run(
            Command::new(bin).args(["-c", f, "step", "--by", "10", "--all"])
        ));
    }

    // The cockpit's way: a key press with its sessions open and the weights already read by
    // the host sampler, so each host gets one change each (compare, write, nginx -t, reload,
    // new workers seen, read back), all at once, as LiveFleet runs them.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let actor = cutover::fleet::control::exec::Actor {
        name: "bench".into(),
        ticket: None,
        read_only: false,
    };
    let fleet = cutover::fleet::service::Fleet::new(cfg.clone(), actor).expect("fleet");
    let mut in_process = Vec::new();
    rt.block_on(async {
        for round in 0..3u64 {
            // What the sampler does every interval: read every host (and cache the file).
            let reads: Vec<_> = fleet
                .read_all()
                .await
                .into_iter()
                .map(|r| r.expect("read").weights)
                .collect();
            let t = Instant::now();
            let mut tasks = Vec::new();
            for (i, before) in reads.into_iter().enumerate() {
                let exec = fleet.exec.clone();
                let to = cutover::model::Weights::with_green(before.green + 10).expect("weights");
                let op = cutover::app::plan::Op {
                    id: round * 1000 + i as u64,
                    gateway: i,
                    kind: cutover::app::plan::OpKind::SetWeights { to },
                    before: Some(before),
                    origin: cutover::app::plan::Origin::Operator,
                    reason: None,
                    candidate: cutover::model::Color::Green,
                };
                tasks.push(tokio::spawn(async move { exec.execute(&op).await }));
            }
            for task in tasks {
                let done = task.await.expect("task");
                assert!(done.outcome.error.is_none(), "{:?}", done.outcome.error);
            }
            in_process.push(t.elapsed());
        }
    });

    // The runbook's way: a fresh ssh per host, one after the other, same edit + test + reload.
    let ssh_config = dir.join("ssh_config");
    let mut runbook = Vec::new();
    for (from, to) in [(70, 80), (80, 90)] {
        let t = Instant::now();
        for g in &cfg.gateway {
            let script = format!(
                "sed -i -e 's/weight={} /weight={} /' -e 's/weight={} /weight={} /' {conf} && {nginx} -t 2>/dev/null && {nginx} -s reload",
                100 - from,
                100 - to,
                from,
                to,
                conf = g.nginx_conf,
                nginx = g.nginx
            );
            run(Command::new("ssh").arg("-F").arg(&ssh_config).args([
                "-o",
                "ControlMaster=no",
                "-o",
                "ControlPath=none",
                &g.ssh,
                &script,
            ]));
        }
        runbook.push(t.elapsed());
    }
    run(Command::new(bin).args(["lab", "down", "--dir", d]));

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let best_warm = warm.iter().copied().min().unwrap();
    let best_runbook = runbook.iter().copied().min().unwrap();
    let best_in_process = in_process.iter().copied().min().unwrap();
    println!(
        "fanout/{n} gateways: cutover step --all   cold {:7.1} ms  warm {:7.1} ms (best of 3)",
        ms(cold),
        ms(best_warm)
    );
    println!(
        "fanout/{n} gateways: cockpit, sessions open {:7.1} ms (best of 3)",
        ms(best_in_process)
    );
    println!(
        "fanout/{n} gateways: ssh host by host     {:7.1} ms (best of 2)",
        ms(best_runbook)
    );
    println!(
        "fanout/{n} gateways: speed-up {:.1}x CLI cold, {:.1}x CLI warm, {:.1}x cockpit",
        ms(best_runbook) / ms(cold),
        ms(best_runbook) / ms(best_warm),
        ms(best_runbook) / ms(best_in_process)
    );
}
