//! The access-log path of the live tail and the offline report, on one thread: ~1,000,000
//! nginx-shaped lines of ~300 bytes fed in 64 KiB chunks (as `tail -F` over SSH delivers
//! them) through `LogReader::feed`, each record counted by `Aggregate::add`.
//!
//! Run: `cargo bench --bench accesslog` (LINES=N to change the size). Target: at least
//! 1,000,000 lines/s in release on one core.

use std::time::{Duration, Instant};

use cutover::nginx::accesslog::{Aggregate, Colors, LogReader};
use cutover::nginx::synth::{BLUE, GREEN, Synth};

const CHUNK: usize = 64 * 1024;

fn main() {
    // `cargo test --all-targets` runs benches once without `--bench`: generating 300 MB of
    // lines is a measurement, not a test, so it only runs under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("accesslog: a benchmark; run it with `cargo bench --bench accesslog`");
        return;
    }
    let n: u64 = std::env::var("LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut synth = Synth::new(0);
    let mut input = Vec::with_capacity(n as usize * 320);
    for _ in 0..n {
        synth.json_line(&mut input);
    }

    let mut best = Duration::MAX;
    let mut agg = Aggregate::new();
    let mut counters = None;
    for _ in 0..3 {
        let t = Instant::now();
        let mut reader = LogReader::new(Colors::new(BLUE, GREEN));
        agg = Aggregate::new();
        let mut out = Vec::with_capacity(CHUNK / 200);
        for chunk in input.chunks(CHUNK) {
            out.clear();
            reader.feed(chunk, &mut out);
            for r in &out {
                agg.add(r);
            }
        }
        best = best.min(t.elapsed());
        counters = Some(reader.counters());
    }
    let c = counters.expect("three runs");
    assert_eq!(c.lines, n, "{c:?}");
    assert_eq!(c.malformed + c.oversized, 0, "{c:?}");
    assert_eq!(agg.requests(), n);

    let s = best.as_secs_f64();
    println!(
        "accesslog/{n} lines ({:.0} MB, {:.0} B/line): {:.0} lines/s, {:.0} MB/s, {:.1} ms (best of 3)",
        input.len() as f64 / 1e6,
        input.len() as f64 / n as f64,
        n as f64 / s,
        input.len() as f64 / 1e6 / s,
        s * 1000.0
    );
    for (name, st) in [
        ("blue", &agg.colors.blue),
        ("green", &agg.colors.green),
        ("unattributed", &agg.unattributed),
    ] {
        println!(
            "  {name:>12}: {:7} requests, {:5} 5xx, request p50 {} ms p99 {} ms, header p50 {} ms",
            st.requests,
            st.errors_5xx,
            st.request_ms.value_at_quantile(0.5),
            st.request_ms.value_at_quantile(0.99),
            st.header_ms.value_at_quantile(0.5),
        );
    }
}
