//! The simulated fleet: gateways whose blue and green builds answer the weights
//! you set, on a virtual clock, deterministic for a seed. It speaks the same
//! messages as the real collectors and executor.

pub mod fleet;
pub mod rng;
pub mod scenario;

pub use fleet::SimFleet;
pub use scenario::Scenario;

use crate::app::driver::Driver;
use crate::app::keymap::KeyMap;
use crate::app::state::{Gateway, Mode, State};
use crate::guard::GuardConfig;
use crate::model::gateway::Windows;

/// Model windows that follow the guardrail settings.
pub fn windows_for(cfg: &GuardConfig) -> Windows {
    Windows {
        ttft_window_ms: cfg.ttft_window_secs * 1000,
        ratio_window_ms: cfg.fivexx_window_secs * 1000,
        metrics_fresh_ms: cfg.stale_after_ms(),
        ..Windows::default()
    }
}

/// A demo cockpit: the scenario's simulated fleet and a state watching it.
pub fn demo(
    scenario: Scenario,
    seed: u64,
    cfg: GuardConfig,
    keymap: KeyMap,
    themes: Vec<String>,
) -> Driver<SimFleet> {
    let fleet = SimFleet::new(scenario, seed);
    let windows = windows_for(&cfg);
    let gateways = fleet
        .gateways()
        .into_iter()
        .map(|(name, az)| Gateway::new(name, az, windows))
        .collect();
    let state = State::new(Mode::Demo, gateways, cfg, keymap, themes);
    Driver::new(state, fleet)
}

/// The fleet size and simulated seconds a bench measures with: as asked under `cargo bench`
/// (which passes `--bench`), and small when `cargo test` only runs the benches once to see
/// that they work, so the test suite stays quick.
pub fn bench_scale(gateways: usize, secs: u64) -> (usize, u64) {
    if std::env::args().any(|a| a == "--bench") {
        (gateways, secs)
    } else {
        (gateways.min(8), secs.min(5))
    }
}

/// A demo of scenario `name` resized to `gateways` gateways over four AZs, with the default
/// guardrails, keys and themes: the benches' fleet of any size.
pub fn sized_demo(name: &str, gateways: usize, seed: u64) -> Result<Driver<SimFleet>, String> {
    let mut scenario = Scenario::find(name)?;
    scenario.fleet.azs = ["az-a", "az-b", "az-c", "az-d"].map(String::from).to_vec();
    scenario.fleet.gateways_per_az = (gateways / 4).max(1);
    Ok(demo(
        scenario,
        seed,
        GuardConfig::default(),
        KeyMap::default(),
        vec!["default".to_string()],
    ))
}
