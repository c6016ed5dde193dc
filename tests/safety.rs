//! The safety rules on every path that changes traffic (issue 12), end to end through keys,
//! `update`, the planner and the simulated fleet, on the virtual clock.

use cutover::app::driver::Driver;
use cutover::app::keymap::KeyMap;
use cutover::app::keys::{KeyCode, KeyEvent, KeyModifiers};
use cutover::app::plan::OpKind;
use cutover::app::state::{Input, Popup};
use cutover::front::ui::theme::ThemeSet;
use cutover::guard::GuardConfig;
use cutover::guard::ttft::TtftVerdict;
use cutover::model::{Color, Weights};
use cutover::sim::{self, Scenario, SimFleet};

fn demo_at(scenario: Scenario, seed: u64, at_ms: u64) -> Driver<SimFleet> {
    let mut d = sim::demo(
        scenario,
        seed,
        GuardConfig::default(),
        KeyMap::default(),
        ThemeSet::builtin().owned_names(),
    );
    d.advance_to(at_ms);
    d
}

/// A built-in scenario after 25 s: enough TTFT probes (five a second) for a verdict.
fn demo(name: &str) -> Driver<SimFleet> {
    demo_at(Scenario::find(name).unwrap(), 1, 25_000)
}

/// slow-drain after 25 s, judged with a wide TTFT limit: its colors are identical, and these
/// tests are about drains and quitting, not about the TTFT judge's margin.
fn slow_drain() -> Driver<SimFleet> {
    let cfg = GuardConfig {
        ttft_halt_pct: 25.0,
        ..GuardConfig::default()
    };
    let mut d = sim::demo(
        Scenario::find("slow-drain").unwrap(),
        1,
        cfg,
        KeyMap::default(),
        ThemeSet::builtin().owned_names(),
    );
    d.advance_to(25_000);
    d
}

fn press(d: &mut Driver<SimFleet>, keys: &str) {
    for c in keys.chars() {
        d.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

fn key(d: &mut Driver<SimFleet>, code: KeyCode) {
    d.key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn later(d: &mut Driver<SimFleet>, secs: u64) {
    let t = d.state.now + secs * 1000;
    d.advance_to(t);
}

fn w(green: u8) -> Weights {
    Weights::with_green(green).unwrap()
}

fn notice(d: &Driver<SimFleet>) -> String {
    d.state
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

fn running(d: &Driver<SimFleet>, i: usize, c: Color) -> bool {
    d.state.gateways[i].model.host.as_ref().unwrap().running[c]
}

#[test]
fn a_stopped_green_is_refused_by_name_on_keys_and_the_command_line() {
    let mut d = demo("happy-path");
    press(&mut d, "]");
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), w(10));
    press(&mut d, "Ry");
    later(&mut d, 40);
    assert_eq!(d.world.true_weights(0), Weights::STEADY);
    assert!(!running(&d, 0, Color::Green), "the rollback stopped green");
    press(&mut d, "]");
    assert!(d.state.popup.is_none());
    assert!(
        notice(&d).contains("green is stopped"),
        "the refusal names the color: {}",
        notice(&d)
    );
    press(&mut d, ":step to 100");
    key(&mut d, KeyCode::Enter);
    assert!(d.state.popup.is_none(), "{:?}", d.state.popup);
    assert!(notice(&d).contains("green is stopped"), "{}", notice(&d));
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), Weights::STEADY, "nothing moved");
    assert!(
        d.world.executed.iter().all(|(_, op)| !matches!(
            op.kind,
            OpKind::SetWeights { to } if to.green > 0 && op.gateway == 0 && to != w(10)
        )),
        "no weight change onto the stopped green was sent"
    );
}

#[test]
fn a_rollback_onto_a_stopped_blue_is_refused() {
    let mut d = slow_drain(); // starts at 10/90
    press(&mut d, "]");
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), w(100));
    press(&mut d, "Dy");
    later(&mut d, 130);
    assert!(!running(&d, 0, Color::Blue), "drained and stopped");
    // Green carries everything and blue is stopped: blue is where the next release goes, so
    // a rollback (back to the stable color, green) has nothing to do.
    assert_eq!(d.state.gateways[0].candidate, Color::Blue);
    press(&mut d, "R");
    assert!(d.state.popup.is_none(), "{:?}", d.state.popup);
    assert!(
        notice(&d).contains("already 0/100 with blue stopped"),
        "{}",
        notice(&d)
    );
    // Taking green back as the candidate makes R a rollback onto blue, which is stopped.
    press(&mut d, ":candidate green");
    key(&mut d, KeyCode::Enter);
    assert_eq!(d.state.gateways[0].candidate, Color::Green);
    press(&mut d, "R");
    assert!(d.state.popup.is_none(), "{:?}", d.state.popup);
    assert!(notice(&d).contains("blue is stopped"), "{}", notice(&d));
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), w(100));
}

fn hang_scenario() -> Scenario {
    Scenario::parse(
        "green-hang.toml",
        r#"
name = "green-hang"
description = "green on gw-a1 stops answering at 30 s"
speed = 1.0
[fleet]
azs = ["eu-west-1a"]
gateways_per_az = 2
rps = 40.0
initial_green = 10
[[event]]
at_secs = 30.0
gateways = ["gw-a1"]
green_hang = true
"#,
    )
    .unwrap()
}

#[test]
fn a_hung_green_is_failing_not_short_of_samples_and_is_refused() {
    let mut d = demo_at(hang_scenario(), 1, 45_000);
    let v = d.state.gateways[0].verdicts.ttft;
    assert!(
        matches!(
            v,
            TtftVerdict::ProbeFailing {
                color: Color::Green,
                failures
            } if failures >= 10
        ),
        "{v:?}"
    );
    press(&mut d, "]");
    let Some(Popup::Refused { reasons, .. }) = d.state.popup.clone() else {
        panic!("not refused: {:?}", d.state.popup)
    };
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("gw-a1") && r.contains("green is not answering")),
        "{reasons:?}"
    );
    key(&mut d, KeyCode::Esc);
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), w(10));
    // The other gateway answers: its step goes through.
    press(&mut d, "j]");
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(1), w(20));
}

#[test]
fn inconclusive_refuses_a_step_up_and_an_override_needs_a_reason_that_is_audited() {
    let mut d = demo_at(Scenario::find("happy-path").unwrap(), 1, 3_000);
    press(&mut d, "]");
    let Some(Popup::Refused { reasons, .. }) = d.state.popup.clone() else {
        panic!("not refused: {:?}", d.state.popup)
    };
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("inconclusive") && r.contains("too few TTFT samples")),
        "{reasons:?}"
    );
    press(&mut d, "O");
    assert!(
        matches!(d.state.input, Input::Reason { .. }),
        "the override asks for a reason"
    );
    key(&mut d, KeyCode::Enter);
    assert!(
        matches!(d.state.input, Input::Reason { .. }),
        "an empty reason is not a reason"
    );
    later(&mut d, 2);
    assert_eq!(d.world.true_weights(0), Weights::STEADY);
    press(&mut d, "canary by hand, probes warming");
    key(&mut d, KeyCode::Enter);
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), w(10));
    let (_, op) = d.world.executed.last().unwrap();
    assert_eq!(op.reason.as_deref(), Some("canary by hand, probes warming"));
}

#[test]
fn a_step_across_several_steps_asks_for_confirmation_and_a_reason() {
    let mut d = demo("happy-path");
    press(&mut d, ":step to 50");
    key(&mut d, KeyCode::Enter);
    let Some(Popup::Confirm(plan)) = d.state.popup.clone() else {
        panic!("no confirmation: {:?}", d.state.popup)
    };
    assert!(plan.jumps[0].1.contains("50 points"), "{:?}", plan.jumps);
    press(&mut d, "y");
    assert!(matches!(d.state.input, Input::Reason { .. }));
    key(&mut d, KeyCode::Esc);
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), Weights::STEADY, "Esc cancels");
    press(&mut d, ":step to 50");
    key(&mut d, KeyCode::Enter);
    press(&mut d, "y");
    press(&mut d, "INC-1 load test");
    key(&mut d, KeyCode::Enter);
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), w(50));
    // One step needs neither.
    press(&mut d, "[");
    assert!(d.state.popup.is_none());
}

#[test]
fn the_veto_asks_for_confirmation_and_a_reason_and_is_audited() {
    let mut d = demo("green-5xx");
    later(&mut d, 60);
    press(&mut d, "jj");
    press(&mut d, "x");
    assert!(
        matches!(d.state.popup, Some(Popup::Veto(ref g)) if g == &vec![2]),
        "{:?}",
        d.state.popup
    );
    press(&mut d, "y");
    press(&mut d, "known flaky upstream, fix deploying");
    key(&mut d, KeyCode::Enter);
    assert!(d.state.gateways[2].breach.vetoed);
    let (_, note) = d.world.notes.last().unwrap();
    assert_eq!(note.action, "veto");
    assert_eq!(note.gateway, 2);
    assert_eq!(
        note.reason.as_deref(),
        Some("known flaky upstream, fix deploying")
    );
}

#[test]
fn quitting_with_a_pending_drain_asks_and_a_forced_quit_is_audited() {
    let mut d = slow_drain();
    press(&mut d, "]");
    later(&mut d, 3);
    press(&mut d, "Dy");
    later(&mut d, 2);
    press(&mut d, "q");
    let Some(Popup::Quit(abandoned)) = d.state.popup.clone() else {
        panic!("no question: {:?}", d.state.popup)
    };
    assert!(!d.state.quit);
    assert!(
        abandoned[0].contains("gw-a1") && abandoned[0].contains("drain of blue"),
        "{abandoned:?}"
    );
    press(&mut d, "n");
    assert!(!d.state.quit && d.state.popup.is_none());
    press(&mut d, ":q");
    key(&mut d, KeyCode::Enter);
    assert!(matches!(d.state.popup, Some(Popup::Quit(_))), ":q asks too");
    press(&mut d, "y");
    assert!(d.state.quit);
    let (_, note) = d.world.notes.last().unwrap();
    assert_eq!(note.action, "abandon");
    assert!(note.detail.contains("drain of blue"), "{}", note.detail);
}

#[test]
fn quit_when_done_waits_for_the_drain_to_finish() {
    let mut d = slow_drain();
    press(&mut d, "]");
    later(&mut d, 3);
    press(&mut d, "Dy");
    later(&mut d, 2);
    press(&mut d, "qq");
    assert!(!d.state.quit, "the drain is still running");
    later(&mut d, 60);
    assert!(!d.state.quit);
    later(&mut d, 80);
    assert!(d.state.quit, "quit once blue was stopped");
    assert!(!running(&d, 0, Color::Blue));
    assert!(d.world.notes.is_empty(), "nothing was abandoned");
}

#[test]
fn a_rollback_waits_for_greens_streams_then_stops_it_and_a_second_one_stops_it_now() {
    let s = Scenario::parse(
        "long-green.toml",
        r#"
name = "long-green"
description = "green serves minute-long streams at 50/50"
speed = 1.0
[fleet]
azs = ["eu-west-1a"]
gateways_per_az = 2
rps = 40.0
initial_green = 50
[green]
stream_secs = 8.0
"#,
    )
    .unwrap();
    let mut d = demo_at(s, 1, 25_000);
    press(&mut d, "R");
    let Some(Popup::Confirm(plan)) = d.state.popup.clone() else {
        panic!("{:?}", d.state.popup)
    };
    let notes = cutover::app::planner::notes(&plan, &d.state);
    assert!(
        notes[0].contains("open connections") && notes[0].contains("30 s"),
        "the dialog shows green's connections and the grace: {notes:?}"
    );
    press(&mut d, "y");
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(0), Weights::STEADY);
    assert!(
        running(&d, 0, Color::Green),
        "green keeps running while its streams finish"
    );
    assert!(d.state.gateways[0].drain.is_some_and(|x| x.rollback));
    // Streams are about 8 s: green stops once they end, well inside the 30 s grace.
    later(&mut d, 25);
    assert!(!running(&d, 0, Color::Green));
    assert!(d.state.gateways[0].drain.is_none());

    // A second rollback during the grace window stops green at once.
    press(&mut d, "j");
    press(&mut d, "Ry");
    later(&mut d, 3);
    assert!(running(&d, 1, Color::Green), "in its grace window");
    press(&mut d, "R");
    let Some(Popup::Confirm(plan)) = d.state.popup.clone() else {
        panic!("{:?}", d.state.popup)
    };
    let notes = cutover::app::planner::notes(&plan, &d.state);
    assert!(notes[0].contains("stopped NOW"), "{notes:?}");
    press(&mut d, "y");
    later(&mut d, 2);
    assert!(!running(&d, 1, Color::Green));
}

#[test]
fn no_burn_page_in_the_first_seconds_of_a_healthy_fleet() {
    for seed in 1..=6 {
        let mut d = demo_at(Scenario::find("happy-path").unwrap(), seed, 0);
        later(&mut d, 10);
        let pages: Vec<String> = d
            .take_markers()
            .into_iter()
            .map(|(_, m)| m)
            .filter(|m| m.contains("page level"))
            .collect();
        assert!(pages.is_empty(), "seed {seed}: {pages:?}");
    }
}

#[test]
fn filtered_out_rows_are_not_acted_on_and_alarmed_rows_stay_pinned() {
    let mut d = demo("green-5xx");
    later(&mut d, 60);
    // gw-b1 (index 2) is breaching; filter on AZ a.
    press(&mut d, "/1a");
    key(&mut d, KeyCode::Enter);
    assert!(d.state.visible(0) && d.state.visible(1));
    assert!(d.state.visible(2), "the alarmed gw-b1 stays pinned");
    assert!(!d.state.visible(3));
}

#[test]
fn with_a_filter_that_hides_the_selection_keys_act_on_nothing() {
    let mut d = demo("happy-path");
    press(&mut d, "jjj]"); // gw-b2
    later(&mut d, 3);
    assert_eq!(d.world.true_weights(3), w(10));
    press(&mut d, "/zz");
    key(&mut d, KeyCode::Enter);
    assert!(
        (0..6).all(|i| !d.state.visible(i)),
        "no row matches, none alarmed"
    );
    press(&mut d, "[");
    later(&mut d, 3);
    assert_eq!(
        d.world.true_weights(3),
        w(10),
        "the hidden row was not stepped"
    );
    assert!(
        notice(&d).contains("filtered out of view"),
        "{}",
        notice(&d)
    );
}
