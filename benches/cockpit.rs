//! The cockpit's hot paths under criterion: access-log parse + aggregate, the model's update
//! for 256 gateways, one frame of a 64- and a 256-gateway fleet at 200x60, and the diff of a
//! frame in which one number changed (what reaches the SSH link in steady state).
//!
//! Run: `cargo bench --bench cockpit` (budgets and figures: docs/performance.md).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use cutover::app::driver::Driver;
use cutover::nginx::accesslog::{Aggregate, Colors, LogReader};
use cutover::nginx::synth::{BLUE, GREEN, Synth};
use cutover::sim::SimFleet;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use std::hint::black_box;

/// A demo cockpit of `n` gateways (4 AZs) after `secs` of simulated time.
fn fleet(n: usize, secs: u64) -> Driver<SimFleet> {
    let (n, secs) = cutover::sim::bench_scale(n, secs);
    let mut d = cutover::sim::sized_demo("happy-path", n, 1).expect("scenario");
    d.advance_to(secs * 1000);
    d
}

fn frame(d: &Driver<SimFleet>, term: &mut Terminal<TestBackend>) -> Buffer {
    let themes = cutover::front::ui::theme::ThemeSet::builtin();
    term.draw(|f| cutover::front::ui::view(f, &d.state, &themes))
        .expect("draw");
    term.backend().buffer().clone()
}

fn parse(c: &mut Criterion) {
    let mut synth = Synth::new(0);
    let mut input = Vec::new();
    for _ in 0..10_000 {
        synth.json_line(&mut input);
    }
    let mut g = c.benchmark_group("accesslog");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("parse_aggregate_10k_lines", |b| {
        b.iter(|| {
            let mut reader = LogReader::new(Colors::new(BLUE, GREEN));
            let mut agg = Aggregate::new();
            let mut out = Vec::with_capacity(512);
            for chunk in input.chunks(64 * 1024) {
                out.clear();
                reader.feed(chunk, &mut out);
                for r in &out {
                    agg.add(r);
                }
            }
            black_box(agg.requests())
        })
    });
    g.finish();
}

fn model(c: &mut Criterion) {
    let mut d = fleet(256, 60);
    let mut now = 60_000;
    c.bench_function("model/256_gateways_one_second", |b| {
        b.iter(|| {
            // One second of telemetry for every gateway, and the tick that summarizes it.
            now += 1000;
            d.advance_to(now);
        })
    });
}

fn render(c: &mut Criterion) {
    let themes = cutover::front::ui::theme::ThemeSet::builtin();
    let mut g = c.benchmark_group("render_200x60");
    for n in [64, 256] {
        let d = fleet(n, 60);
        let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
        g.bench_function(format!("{n}_gateways"), |b| {
            b.iter(|| {
                term.draw(|f| cutover::front::ui::view(f, &d.state, &themes))
                    .map(|_| ())
            })
        });
    }
    g.finish();
}

fn diff(c: &mut Criterion) {
    let mut d = fleet(256, 60);
    let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let before = frame(&d, &mut term);
    // One number changes: the selected gateway's blue request rate.
    let rps = &mut d.state.gateways[0].model.summary.blue.rps;
    *rps = Some(rps.unwrap_or(0.0) + 7.0);
    let after = frame(&d, &mut term);
    let cells = before.diff(&after).len();
    assert!(cells > 0 && cells < 20, "{cells} cells changed");
    c.bench_function("frame_diff/one_number_200x60", |b| {
        b.iter_batched(
            || (before.clone(), after.clone()),
            |(a, z)| black_box(a.diff(&z).len()),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, parse, model, render, diff);
criterion_main!(benches);
