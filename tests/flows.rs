//! End-to-end flows through keys, `update`, the planner and the simulated fleet,
//! on the virtual clock (no sleeping).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use cutover::app::driver::Driver;
use cutover::app::keymap::KeyMap;
use cutover::app::state::Popup;
use cutover::guard::GuardConfig;
use cutover::guard::fivexx::FivexxState;
use cutover::model::{Color, Weights};
use cutover::sim::{self, Scenario, SimFleet};
use cutover::ui::theme::ThemeSet;

fn demo(name: &str) -> Driver<SimFleet> {
    demo_with(name, GuardConfig::default())
}

fn demo_with(name: &str, cfg: GuardConfig) -> Driver<SimFleet> {
    let s = Scenario::find(name).unwrap();
    let mut d = sim::demo(s, 1, cfg, KeyMap::default(), ThemeSet::builtin());
    // 25 s: enough TTFT probes (one a second) for the guardrails to judge a step up.
    d.advance_to(25_000);
    d
}

fn enter(d: &mut Driver<SimFleet>) {
    d.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

fn press(d: &mut Driver<SimFleet>, keys: &str) {
    for c in keys.chars() {
        d.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

fn later(d: &mut Driver<SimFleet>, secs: u64) {
    let t = d.state.now + secs * 1000;
    d.advance_to(t);
}

fn weights(d: &Driver<SimFleet>, i: usize) -> Weights {
    d.state.gateways[i].model.weights.unwrap()
}

fn w(green: u8) -> Weights {
    Weights::with_green(green).unwrap()
}

#[test]
fn step_on_one_gateway_needs_no_confirmation_and_reads_back() {
    let mut d = demo("happy-path");
    assert_eq!(weights(&d, 0), Weights::STEADY);
    press(&mut d, "]");
    assert!(d.state.popup.is_none());
    assert!(d.state.gateways[0].op.is_some(), "operation under way");
    later(&mut d, 3);
    assert_eq!(weights(&d, 0), w(10));
    assert_eq!(d.world.true_weights(0), w(10));
    assert_eq!(weights(&d, 1), Weights::STEADY, "other gateways untouched");
    press(&mut d, "[");
    later(&mut d, 3);
    assert_eq!(weights(&d, 0), Weights::STEADY);
}

#[test]
fn az_step_asks_for_confirmation_naming_every_gateway() {
    let mut d = demo("happy-path");
    press(&mut d, "s]");
    let Some(Popup::Confirm(plan)) = d.state.popup.clone() else {
        panic!("no confirm: {:?}", d.state.popup)
    };
    let names: Vec<&str> = plan
        .items
        .iter()
        .map(|i| d.state.gateways[i.gateway].name.as_str())
        .collect();
    assert_eq!(names, ["gw-a1", "gw-a2"]);
    press(&mut d, "n");
    later(&mut d, 3);
    assert_eq!(weights(&d, 0), Weights::STEADY, "cancel changes nothing");
    press(&mut d, "s]"); // scope fleet
    let Some(Popup::Confirm(plan)) = d.state.popup.clone() else {
        panic!()
    };
    assert_eq!(plan.items.len(), 6);
    press(&mut d, "jjj"); // stray keys do nothing under a dialog
    assert!(matches!(d.state.popup, Some(Popup::Confirm(_))));
    press(&mut d, "y");
    later(&mut d, 3);
    for i in 0..6 {
        assert_eq!(d.world.true_weights(i), w(10), "gateway {i}");
        assert_eq!(weights(&d, i), w(10));
    }
}

#[test]
fn rollback_after_confirmation_stops_green() {
    let mut d = demo("green-ttft-regression"); // starts at 90/10
    press(&mut d, "R");
    assert!(matches!(d.state.popup, Some(Popup::Confirm(_))));
    press(&mut d, "y");
    later(&mut d, 4);
    assert_eq!(d.world.true_weights(0), Weights::STEADY);
    // Green is stopped once its streams end, inside the 30 s grace window.
    later(&mut d, 32);
    let host = d.state.gateways[0].model.host.clone().unwrap();
    assert!(!host.running.green && host.running.blue);
}

#[test]
fn green_5xx_counts_down_then_rolls_back() {
    let mut d = demo("green-5xx");
    let b1 = 2;
    later(&mut d, 80);
    let FivexxState::Breaching {
        fires_at,
        vetoed: false,
        ..
    } = d.state.gateways[b1].verdicts.fivexx
    else {
        panic!("no breach: {:?}", d.state.gateways[b1].verdicts.fivexx)
    };
    assert_eq!(d.world.true_weights(b1), w(10));
    assert!(d.state.gateways[0].verdicts.fivexx == FivexxState::Clear);
    let wait = (fires_at - d.state.now) / 1000 + 5;
    later(&mut d, wait);
    assert_eq!(
        d.world.true_weights(b1),
        Weights::STEADY,
        "auto-rollback happened"
    );
    assert_eq!(d.world.true_weights(0), w(10), "only the failing gateway");
    let markers: Vec<String> = d.take_markers().into_iter().map(|(_, m)| m).collect();
    assert!(
        markers.iter().any(|m| m.contains("AUTO-ROLLBACK")),
        "{markers:?}"
    );
}

#[test]
fn veto_prevents_the_auto_rollback() {
    let mut d = demo("green-5xx");
    later(&mut d, 80);
    press(&mut d, "jj"); // select gw-b1
    assert_eq!(d.state.selected_gateway().unwrap().name, "gw-b1");
    press(&mut d, "xy");
    press(&mut d, "watching it");
    enter(&mut d);
    later(&mut d, 300);
    assert_eq!(d.world.true_weights(2), w(10));
    assert!(matches!(
        d.state.gateways[2].verdicts.fivexx,
        FivexxState::Breaching { vetoed: true, .. }
    ));
}

#[test]
fn alarm_only_when_auto_rollback_is_off() {
    let cfg = GuardConfig {
        auto_rollback: false,
        ..GuardConfig::default()
    };
    let mut d = demo_with("green-5xx", cfg);
    later(&mut d, 400);
    assert_eq!(d.world.true_weights(2), w(10));
    assert!(matches!(
        d.state.gateways[2].verdicts.fivexx,
        FivexxState::Breaching {
            alarm_only: true,
            ..
        }
    ));
}

#[test]
fn ttft_regression_refuses_step_up_until_override() {
    let mut d = demo("green-ttft-regression");
    later(&mut d, 40);
    press(&mut d, "]");
    let Some(Popup::Refused { reasons, .. }) = d.state.popup.clone() else {
        panic!("{:?}", d.state.popup)
    };
    assert!(
        reasons[0].contains("gw-a1") && reasons[0].contains("TTFT"),
        "{reasons:?}"
    );
    press(&mut d, "y"); // y is not the override
    assert!(d.state.popup.is_some());
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), w(10));
    press(&mut d, "O");
    press(&mut d, "accepted by the model team");
    enter(&mut d);
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), w(20));
    // Stepping down is always allowed.
    press(&mut d, "[");
    assert!(d.state.popup.is_none());
}

#[test]
fn parity_allows_step_up() {
    let mut d = demo("happy-path");
    later(&mut d, 40);
    assert!(!d.state.gateways[0].verdicts.ttft.halts());
}

#[test]
fn drain_waits_for_connections_then_stops_blue() {
    // Identical colors: a wide TTFT limit keeps 25-sample noise from holding the ramp.
    let cfg = GuardConfig {
        ttft_halt_pct: 25.0,
        ..GuardConfig::default()
    };
    let mut d = demo_with("slow-drain", cfg);
    press(&mut d, "ss]y"); // fleet to 0/100
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), w(100));
    press(&mut d, "D");
    let Some(Popup::Confirm(plan)) = d.state.popup.clone() else {
        panic!("{:?}", d.state.popup)
    };
    assert_eq!(
        plan.kind,
        cutover::app::plan::PlanKind::Drain { color: Color::Blue }
    );
    press(&mut d, "y");
    later(&mut d, 20);
    let g = &d.state.gateways[0];
    assert!(g.drain.is_some(), "long streams keep the drain waiting");
    assert!(g.model.host.as_ref().unwrap().running.blue);
    later(&mut d, 130);
    for g in &d.state.gateways {
        assert!(g.drain.is_none(), "{} still draining", g.name);
        assert!(
            !g.model.host.as_ref().unwrap().running.blue,
            "{} blue still running",
            g.name
        );
    }
}

#[test]
fn dark_host_goes_stale_and_is_skipped() {
    let mut d = demo("host-dark");
    later(&mut d, 40);
    let c2 = 5;
    assert!(d.state.gateways[c2].verdicts.stale);
    assert!(!d.state.gateways[0].verdicts.stale);
    press(&mut d, "ss]");
    let Some(Popup::Confirm(plan)) = d.state.popup.clone() else {
        panic!()
    };
    assert_eq!(plan.items.len(), 5);
    assert_eq!(plan.skipped.len(), 1);
    assert!(
        plan.skipped[0].1.to_string().contains("no fresh data"),
        "{:?}",
        plan.skipped
    );
    press(&mut d, "y");
    later(&mut d, 120);
    assert!(
        !d.state.gateways[c2].verdicts.stale,
        "recovers when the host answers"
    );
    assert_eq!(weights(&d, c2), w(50), "the skipped host was not changed");
}

#[test]
fn failed_nginx_test_is_reported_and_weights_stay() {
    let mut d = demo("nginx-test-fails");
    press(&mut d, "j]"); // gw-a2
    later(&mut d, 3);
    let g = &d.state.gateways[1];
    assert!(g.last_error.as_deref().unwrap().contains("nginx -t failed"));
    assert_eq!(weights(&d, 1), w(10));
}

#[test]
fn read_only_refuses_every_change() {
    let mut d = demo("happy-path");
    d.state.session.read_only = true;
    press(&mut d, "]");
    press(&mut d, "R");
    press(&mut d, ":");
    press(&mut d, "step to 50");
    d.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    later(&mut d, 3);
    assert!(d.state.popup.is_none());
    assert_eq!(d.world.true_weights(0), Weights::STEADY);
    assert!(d.state.notice.as_ref().unwrap().text.contains("read-only"));
}

#[test]
fn command_line_step_to_validates_whole_steps() {
    let mut d = demo("happy-path");
    press(&mut d, ":step to 55");
    d.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(
        d.state
            .notice
            .as_ref()
            .unwrap()
            .text
            .contains("not reachable")
    );
    press(&mut d, ":step to 30");
    enter(&mut d);
    press(&mut d, "y"); // three steps at once: confirm, then a reason
    press(&mut d, "ramp test");
    enter(&mut d);
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), w(30));
}

#[test]
fn same_seed_same_session() {
    let run = || {
        let mut d = demo("green-5xx");
        press(&mut d, "ss]y");
        later(&mut d, 300);
        (0..6)
            .map(|i| {
                (
                    weights(&d, i),
                    d.state.gateways[i].model.summary.green.ratio_window,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn remapped_keys_act_and_old_keys_do_not() {
    use cutover::app::keymap::{KeyList, KeysConfig};
    let keys = KeysConfig {
        step_up: Some(KeyList(vec!["+".into()])),
        ..KeysConfig::default()
    };
    let keymap = KeyMap::from_config(&keys).unwrap();
    let s = Scenario::find("happy-path").unwrap();
    let mut d = sim::demo(s, 1, GuardConfig::default(), keymap, ThemeSet::builtin());
    d.advance_to(25_000);
    press(&mut d, "]");
    later(&mut d, 3);
    assert_eq!(weights(&d, 0), Weights::STEADY, "] is no longer bound");
    press(&mut d, "+");
    later(&mut d, 3);
    assert_eq!(weights(&d, 0), w(10));
}
