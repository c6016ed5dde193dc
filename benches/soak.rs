//! Memory after an hour: a demo cockpit of 256 simulated gateways driven through one hour of
//! simulated time (every window full: the 1 h burn counters, histograms, histories), drawn
//! once a simulated second at 200x60 as the terminal would; resident memory read from
//! /proc/self/status. Budget: under 64 MB.
//!
//! Run: `cargo bench --bench soak` (GATEWAYS=N, MINUTES=N, SCENARIO=name; `host-dark` keeps
//! the fleet at 50/50, so both colors fill their histograms).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::Instant;

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let themes = cutover::front::ui::theme::ThemeSet::builtin();
    if !std::env::args().any(|a| a == "--bench") {
        println!("soak: a benchmark; run it with `cargo bench --bench soak`");
        return;
    }
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (n, minutes) = (env("GATEWAYS", 256) as usize, env("MINUTES", 60));
    let name = std::env::var("SCENARIO").unwrap_or_else(|_| "happy-path".into());
    let mut d = cutover::sim::sized_demo(&name, n, 1).expect("scenario");
    let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let before = status_kb("VmRSS:");
    let t = Instant::now();
    for s in 1..=minutes * 60 {
        d.advance_to(s * 1000);
        term.draw(|f| cutover::front::ui::view(f, &d.state, &themes))
            .expect("draw");
    }
    let took = t.elapsed();
    println!(
        "soak/{n} gateways, {name}, {minutes} simulated min in {:.1} s: VmRSS {} MB (start {} MB), VmHWM {} MB",
        took.as_secs_f64(),
        status_kb("VmRSS:") / 1024,
        before / 1024,
        status_kb("VmHWM:") / 1024
    );
}
