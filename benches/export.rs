//! The exporter's costs on a 256-gateway demo fleet, under criterion:
//! - `export/snapshot_256_gateways`: the work added to the cockpit's thread, once per tick
//!   (figures, guardrail verdicts and counters copied into a snapshot);
//! - `export/render_256_gateways/{text,openmetrics}`: one `/metrics` body, on the server's
//!   thread (its size is printed: plain and gzipped);
//! - `export/frame_200x60_256_gateways/{alone,scraped_10_per_s,scraped_back_to_back}`: one
//!   cockpit frame, without and with a scraper hitting `/metrics` (ten times a second, then
//!   back to back): the scrapes' cost on the frame budget.
//!
//! Run: `cargo bench --bench export` (figures: docs/observability.md).

use criterion::{Criterion, criterion_group, criterion_main};
use cutover::app::driver::Driver;
use cutover::export::Shared;
use cutover::export::metrics::{Collector, Format, Published, render};
use cutover::sim::SimFleet;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const GATEWAYS: usize = 256;

/// A demo cockpit of 256 gateways with the exporter attached, after a simulated minute.
fn fleet() -> (Driver<SimFleet>, Published) {
    let (gateways, secs) = cutover::sim::bench_scale(GATEWAYS, 60);
    let mut d = cutover::sim::sized_demo("host-dark", gateways, 1).expect("scenario");
    let published = Published::default();
    let c = Collector::new(&d.state, published.clone(), Arc::new(Shared::default()));
    d.observe(Box::new(c));
    d.advance_to(secs * 1000);
    (d, published)
}

fn snapshot(c: &mut Criterion) {
    let (d, _) = fleet();
    let collector = Collector::new(&d.state, Published::default(), Arc::new(Shared::default()));
    c.bench_function("export/snapshot_256_gateways", |b| {
        b.iter(|| black_box(collector.snapshot(&d.state).gateways.len()))
    });
}

fn render_body(c: &mut Criterion) {
    let (_, published) = fleet();
    let snap = published.get();
    let mut g = c.benchmark_group("export/render_256_gateways");
    for (name, format) in [("text", Format::Text), ("openmetrics", Format::OpenMetrics)] {
        let mut out = String::new();
        render(&snap, Duration::ZERO, format, &mut out);
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(out.as_bytes()).unwrap();
        let zipped = z.finish().unwrap().len();
        println!(
            "export/render_256_gateways/{name}: {} bytes, {} lines, {zipped} bytes gzipped",
            out.len(),
            out.lines().count()
        );
        g.bench_function(name, |b| {
            b.iter(|| {
                render(&snap, Duration::ZERO, format, &mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

/// GET /metrics over a fresh connection, as Prometheus does; the bytes received.
fn scrape(addr: std::net::SocketAddr) -> usize {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return 0;
    };
    let _ = write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
    );
    let mut body = Vec::new();
    let _ = s.read_to_end(&mut body);
    body.len()
}

fn frame_while_scraped(c: &mut Criterion) {
    let themes = cutover::front::ui::theme::ThemeSet::builtin();
    let (d, published) = fleet();
    let server =
        cutover::export::server::start("127.0.0.1:0".parse().unwrap(), published).expect("listen");
    let addr = server.local_addr();
    // About 7 KB a gateway (mostly histogram buckets): a whole body, whatever the fleet size.
    let n = d.state.gateways.len();
    assert!(scrape(addr) > n * 4_000, "a body for all {n} gateways");
    let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let mut g = c.benchmark_group("export/frame_200x60_256_gateways");
    g.bench_function("alone", |b| {
        b.iter(|| {
            term.draw(|f| cutover::front::ui::view(f, &d.state, &themes))
                .map(|_| ())
        })
    });
    // Ten scrapes a second (ten times the lab's Prometheus), then back to back: the worst case.
    for (name, pause) in [
        ("scraped_10_per_s", Some(Duration::from_millis(100))),
        ("scraped_back_to_back", None),
    ] {
        let stop = Arc::new(AtomicBool::new(false));
        let scrapes = Arc::new(AtomicU64::new(0));
        let scraper = {
            let (stop, scrapes) = (stop.clone(), scrapes.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if scrape(addr) > 0 {
                        scrapes.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Some(p) = pause {
                        std::thread::sleep(p);
                    }
                }
            })
        };
        let started = std::time::Instant::now();
        g.bench_function(name, |b| {
            b.iter(|| {
                term.draw(|f| cutover::front::ui::view(f, &d.state, &themes))
                    .map(|_| ())
            })
        });
        stop.store(true, Ordering::Relaxed);
        scraper.join().unwrap();
        let n = scrapes.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        println!(
            "export/frame_200x60_256_gateways/{name}: {n} scrapes in {secs:.1} s ({:.0}/s)",
            n as f64 / secs
        );
    }
    g.finish();
    drop(server);
}

criterion_group!(benches, snapshot, render_body, frame_while_scraped);
criterion_main!(benches);
