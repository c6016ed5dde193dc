//! The live cockpit on a lab, in process and without its terminal (the tests drive it).

use super::Lab;
use cutover::app::driver::Driver;
use cutover::app::state::State;
use cutover::config::Config;
use cutover::fleet::live::LiveFleet;
use std::time::{Duration, Instant};

/// The live cockpit on `lab` (sampler every second), with `tweak` applied to its configuration.
pub fn cockpit(lab: &Lab, tweak: impl FnOnce(&mut Config)) -> Driver<LiveFleet> {
    let mut config = Config::load(&lab.dir.join("fleet.toml")).expect("fleet.toml");
    config.guardrails.interval_secs = 1;
    tweak(&mut config);
    let guard = config.guardrails;
    let keymap = config.keymap.clone();
    let actor = cutover::fleet::control::Actor {
        name: "tester".into(),
        ticket: None,
        read_only: false,
    };
    let fleet = cutover::fleet::service::Fleet::new(config, actor).expect("fleet");
    let themes = cutover::front::ui::theme::ThemeSet::load(&[], true).expect("themes");
    cutover::fleet::live::driver(fleet, guard, keymap, themes.owned_names())
}

/// Run the cockpit in real time, looking at it every 100 ms, until `done` holds or `limit`
/// passes; true if it held.
pub async fn run_until(
    d: &mut Driver<LiveFleet>,
    start: Instant,
    limit: Duration,
    mut done: impl FnMut(&State) -> bool,
) -> bool {
    let until = Instant::now() + limit;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        d.advance_to(start.elapsed().as_millis() as u64);
        if done(&d.state) {
            return true;
        }
        if Instant::now() > until {
            return false;
        }
    }
}
