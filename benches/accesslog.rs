//! The access-log path of the live tail and the offline report, on one thread: ~1,000,000
//! nginx-shaped lines of ~300 bytes fed in 64 KiB chunks (as `tail -F` over SSH delivers
//! them) through `LogReader::feed`, each record counted by `Aggregate::add`.
//!
//! Run: `cargo bench --bench accesslog` (LINES=N to change the size). Target: at least
//! 1,000,000 lines/s in release on one core.

use std::time::{Duration, Instant};

use cutover::nginx::accesslog::{Aggregate, Colors, LogReader};

const BLUE: &str = "127.0.0.1:8787";
const GREEN: &str = "127.0.0.1:8788";
const CHUNK: usize = 64 * 1024;

/// xorshift64*: reproducible lines without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// One line as nginx writes it with the documented `log_format cutover`.
fn line(rng: &mut Rng, n: u64, out: &mut Vec<u8>) {
    let roll = rng.below(1000);
    let (color, other) = if rng.below(10) < 7 {
        (BLUE, GREEN)
    } else {
        (GREEN, BLUE)
    };
    let header = 20 + rng.below(400);
    let total = header + rng.below(8000);
    // Mostly 200s; some retries, some upstream failures, a few with no upstream at all.
    let (status, addr, ustatus, htime) = match roll {
        0..=939 => (
            "200".to_string(),
            color.to_string(),
            "200".to_string(),
            secs(header),
        ),
        940..=969 => (
            "200".to_string(),
            format!("{other}, {color}"),
            "502, 200".to_string(),
            format!("0.001, {}", secs(header)),
        ),
        970..=989 => (
            ["500", "502", "503", "504"][rng.below(4) as usize].to_string(),
            color.to_string(),
            "502".to_string(),
            "-".to_string(),
        ),
        990..=994 => (
            "502".to_string(),
            "gateway".to_string(),
            String::new(),
            String::new(),
        ),
        _ => (
            "499".to_string(),
            "-".to_string(),
            "-".to_string(),
            "-".to_string(),
        ),
    };
    let path = if rng.below(20) == 0 {
        "/v1/embeddings"
    } else {
        "/v1/chat/completions"
    };
    let line = format!(
        r#"{{"time":"{}","status":"{status}","request_time":"{}","upstream_addr":"{addr}","upstream_status":"{ustatus}","upstream_response_time":"{}","upstream_header_time":"{htime}","request_id":"{:016x}{:016x}","request":"POST {path} HTTP/1.1","bytes_sent":"{}"}}"#,
        secs(1_763_683_200_000 + n),
        secs(total),
        secs(total),
        rng.next(),
        rng.next(),
        200 + rng.below(20_000),
    );
    out.extend_from_slice(line.as_bytes());
    out.push(b'\n');
}

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
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut input = Vec::with_capacity(n as usize * 320);
    for i in 0..n {
        line(&mut rng, i, &mut input);
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
