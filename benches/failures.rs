//! The failure digest's costs under criterion:
//! - `failures/group_100k_lines`: access-log lines through the splitter, `parse_line`,
//!   `failed_request` and `FailureBook::add` (16 gateways in 4 AZs, 2 % of the lines a
//!   failure, a third of those retried on the other color), beside `parse_only_100k_lines`,
//!   the same lines only parsed: the difference is what grouping adds to the tail;
//! - `failures/digest_10k_failures/{info,critical}`: `digest::build` for a window holding
//!   10,000 failures in 128 groups (its JSON size is printed);
//! - `failures/colorlog_8mb`: `colorlog::lines_for` finding one request in 8 MB of a color's
//!   JSON log.
//!
//! Run: `cargo bench --bench failures`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cutover_core::failures::book::FailureBook;
use cutover_core::failures::colorlog::lines_for;
use cutover_core::failures::digest::{self, Severity};
use cutover_core::failures::record::failed_request;
use cutover_core::nginx::accesslog::{Colors, LineSplitter, parse_line};
use cutover_core::nginx::synth::{self, BLUE, GREEN, Synth};
use std::hint::black_box;

const LINES: usize = 100_000;
const GATEWAYS: usize = 16;
const WINDOW_MS: u64 = 5 * 60_000;

/// `LINES` synthetic lines, one per ms, with failures cut down to 2 % of them.
fn input() -> Vec<u8> {
    let mut synth = Synth::new(7);
    let mut out = Vec::with_capacity(LINES * 320);
    let mut failures = 0;
    for i in 0..LINES {
        let mut r = synth.request();
        let failing = r.status != "200" || r.upstream_status.contains('5');
        if failing && failures * 50 >= i {
            // Past 2 %: the same request, answered by the color it ended on.
            r.status = "200";
            r.upstream_status = "200";
            r.upstream_addr = if r.upstream_addr.ends_with(GREEN) {
                GREEN
            } else {
                BLUE
            }
            .into();
            r.header_time = "0.120".into();
        } else if failing {
            failures += 1;
        }
        out.extend_from_slice(synth::json(&r).as_bytes());
        out.push(b'\n');
    }
    out
}

fn names() -> Vec<(String, String)> {
    (0..GATEWAYS)
        .map(|g| (format!("gw-{g}"), format!("az-{}", g % 4)))
        .collect()
}

fn group(c: &mut Criterion) {
    let input = input();
    let names = names();
    let colors = Colors::new(BLUE, GREEN);
    let run = |book: &mut FailureBook, grouped: &mut u64| {
        let mut s = LineSplitter::new();
        let mut n = 0usize;
        for chunk in input.chunks(64 * 1024) {
            s.push(chunk, |line| {
                n += 1;
                let Ok(l) = parse_line(line) else { return };
                if let Some(f) = failed_request(&l, &colors) {
                    let (gw, az) = &names[n % GATEWAYS];
                    book.add(gw, az, f);
                    *grouped += 1;
                }
            });
        }
    };
    let mut book = FailureBook::new(WINDOW_MS);
    let mut grouped = 0;
    run(&mut book, &mut grouped);
    let groups: usize = book.windows().iter().map(|&w| book.groups(w).len()).sum();
    println!(
        "failures/group_100k_lines: {} lines ({:.0} B/line), {grouped} failures ({:.1} %) in {} windows, {groups} groups",
        LINES,
        input.len() as f64 / LINES as f64,
        grouped as f64 * 100.0 / LINES as f64,
        book.windows().len(),
    );

    let mut g = c.benchmark_group("failures");
    g.throughput(Throughput::Elements(LINES as u64));
    g.sample_size(30);
    g.bench_function("group_100k_lines", |b| {
        b.iter(|| {
            let mut book = FailureBook::new(WINDOW_MS);
            let mut grouped = 0;
            run(&mut book, &mut grouped);
            black_box((book.windows().len(), grouped))
        })
    });
    g.bench_function("parse_only_100k_lines", |b| {
        b.iter(|| {
            let mut s = LineSplitter::new();
            let mut ok = 0u64;
            for chunk in input.chunks(64 * 1024) {
                s.push(chunk, |line| ok += u64::from(parse_line(line).is_ok()));
            }
            black_box(ok)
        })
    });
    g.finish();
}

/// A window of 10,000 failures: two colors, four statuses, 16 gateways in 4 AZs.
fn busy_book() -> (FailureBook, u64) {
    let colors = Colors::new(BLUE, GREEN);
    let names = names();
    let start = 1_763_730_000_000u64;
    let mut book = FailureBook::new(WINDOW_MS);
    for i in 0..10_000u64 {
        let addr = [BLUE, GREEN][(i % 2) as usize];
        let status = ["500", "502", "503", "504"][(i / 3 % 4) as usize];
        let t = start + i * 29;
        let line = format!(
            r#"{{"time":"{}.{:03}","status":"{status}","request_time":"0.250","upstream_addr":"{addr}","upstream_status":"{status}","upstream_response_time":"0.240","upstream_header_time":"-","request_id":"{:032x}"}}"#,
            t / 1000,
            t % 1000,
            i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let l = parse_line(line.as_bytes()).expect("parses");
        let f = failed_request(&l, &colors).expect("a failure");
        let (gw, az) = &names[(i / 7) as usize % GATEWAYS];
        book.add(gw, az, f);
    }
    (book, start)
}

fn build_digest(c: &mut Criterion) {
    let (book, start) = busy_book();
    let reasons = vec!["green 5xx ratio 2.1 pp above blue for 3m10s".to_string()];
    let mut g = c.benchmark_group("failures/digest_10k_failures");
    for (name, sev) in [("info", Severity::Info), ("critical", Severity::Critical)] {
        let d = digest::build("prod", &book, start, sev, &reasons);
        let json = serde_json::to_string(&d).expect("serializes");
        println!(
            "failures/digest_10k_failures/{name}: {} bytes of JSON, {} of {} groups, text {} bytes in {} lines",
            json.len(),
            d.groups.len(),
            d.groups.len() as u64 + d.omitted_groups,
            d.text.len(),
            d.text.lines().count()
        );
        g.bench_function(name, |b| {
            b.iter(|| {
                let d = digest::build("prod", &book, start, sev, &reasons);
                black_box(serde_json::to_vec(&d).map(|v| v.len()))
            })
        });
    }
    g.finish();
}

fn colorlog(c: &mut Criterion) {
    let mut log = Vec::with_capacity(8 << 20);
    let mut i = 0u64;
    while log.len() < 8 << 20 {
        let line = format!(
            r#"{{"time":"2025-11-21T13:02:{:02}.{:03}Z","level":"info","msg":"chat completion streamed","request_id":"{:032x}","model":"m-large","tokens":{}}}"#,
            i / 1000 % 60,
            i % 1000,
            i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            i % 4000
        );
        log.extend_from_slice(line.as_bytes());
        log.push(b'\n');
        i += 1;
    }
    let id = format!("{:032x}", (i / 2).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    assert_eq!(lines_for(&log, &id, 20).len(), 1);
    let mut g = c.benchmark_group("failures");
    g.throughput(Throughput::Bytes(log.len() as u64));
    g.sample_size(20);
    g.bench_function("colorlog_8mb", |b| {
        b.iter(|| black_box(lines_for(&log, &id, 20).len()))
    });
    g.finish();
}

criterion_group!(benches, group, build_digest, colorlog);
criterion_main!(benches);
