//! End-to-end flows through keys, `update`, the planner and the simulated fleet,
//! on the virtual clock (no sleeping).

use cutover::app::driver::Driver;
use cutover::app::keymap::KeyMap;
use cutover::app::keys::{KeyCode, KeyEvent, KeyModifiers};
use cutover::app::msg::Msg;
use cutover::app::plan::{OpKind, Origin};
use cutover::app::state::Popup;
use cutover::front::session::{Event, GatewayInfo, Header, Session, SessionLog, parse_session};
use cutover::front::ui::theme::ThemeSet;
use cutover::guard::GuardConfig;
use cutover::guard::fivexx::FivexxState;
use cutover::model::{Color, Ms, Weights};
use cutover::sim::{self, Scenario, SimFleet};

fn demo(name: &str) -> Driver<SimFleet> {
    demo_with(name, GuardConfig::default())
}

fn demo_with(name: &str, cfg: GuardConfig) -> Driver<SimFleet> {
    let s = Scenario::find(name).unwrap();
    let mut d = sim::demo(
        s,
        1,
        cfg,
        KeyMap::default(),
        ThemeSet::builtin().owned_names(),
    );
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
fn failed_nginx_test_is_held_by_the_preflight_and_overridden_fails_with_weights_kept() {
    let mut d = demo("nginx-test-fails");
    press(&mut d, "j]"); // gw-a2
    let Some(Popup::Refused { reasons, .. }) = d.state.popup.clone() else {
        panic!("the preflight did not hold the step: {:?}", d.state.popup)
    };
    assert!(
        reasons
            .iter()
            .any(|r| r
                .starts_with("gw-a2: preflight fail: preflight fails: nginx -t: nginx: [emerg]")),
        "{reasons:?}"
    );
    // Overridden, the executor's own nginx -t still refuses the file.
    press(&mut d, "O");
    press(&mut d, "drill");
    d.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
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

/// A session log kept in memory.
#[derive(Clone, Default)]
struct Memory(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Memory {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The reason typed for the override in `logged_green_5xx`.
const REASON: &str = "canary under watch";

/// green-5xx with `seed` and a 30 s rollback countdown, its session logged from the start:
/// at 25 s the operator steps the whole fleet up (`ss]`), which gw-b1's inconclusive
/// guardrails hold, overrides with a reason (`O`, REASON, Enter), then watches for
/// `watch_secs`. The driver (its simulator keeps every operation asked of it) and the session
/// log, read back as `cutover replay` reads it.
fn logged_green_5xx(seed: u64, watch_secs: u64) -> (Driver<SimFleet>, Session) {
    let s = Scenario::find("green-5xx").unwrap();
    let cfg = GuardConfig {
        fivexx_hold_secs: 30,
        ..GuardConfig::default()
    };
    let mut d = sim::demo(
        s,
        seed,
        cfg,
        KeyMap::default(),
        ThemeSet::builtin().owned_names(),
    );
    let gateways = d
        .world
        .gateways()
        .into_iter()
        .map(|(name, az)| GatewayInfo { name, az })
        .collect();
    let memory = Memory::default();
    let mut log = SessionLog::to_writer(Box::new(memory.clone()));
    let header = Header {
        guardrails: cfg,
        ..Header::new("demo", "tester", false, gateways)
    };
    log.header(&header).unwrap();
    d.log_session(log);
    d.advance_to(25_000);
    press(&mut d, "ss]O");
    press(&mut d, REASON);
    enter(&mut d);
    later(&mut d, watch_secs);
    let text = String::from_utf8(memory.0.lock().unwrap().clone()).unwrap();
    let session = parse_session(&text).unwrap_or_else(|e| panic!("session log: {e}"));
    (d, session)
}

/// The telemetry of a session, in order.
fn telemetry(s: &Session) -> Vec<(Ms, &Msg)> {
    s.events
        .iter()
        .filter_map(|(t, e)| match e {
            Event::Msg(m @ Msg::Telemetry { .. }) => Some((*t, m)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_seed_fixes_the_session_and_the_session_holds_what_the_keys_did() {
    let (a, session) = logged_green_5xx(1, 75);
    let b1 = 2;

    // The keys, all at 25 s: `ss]O`, the reason, Enter.
    let keys: Vec<Ms> = session
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Msg(Msg::Key(_))))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(keys, vec![25_000; 4 + REASON.len() + 1]);

    // What they asked of the fleet: one step to 80/20 on each of the six gateways, the
    // override's reason on every one; then the guardrail's rollback of gw-b1 (100/0, then
    // green stopped), and nothing else.
    let asked: Vec<(usize, OpKind, Origin, Option<&str>)> = a
        .world
        .executed
        .iter()
        .map(|(_, op)| (op.gateway, op.kind.clone(), op.origin, op.reason.as_deref()))
        .collect();
    let mut want: Vec<(usize, OpKind, Origin, Option<&str>)> = (0..6)
        .map(|i| {
            let step = OpKind::SetWeights { to: w(20) };
            (i, step, Origin::Operator, Some(REASON))
        })
        .collect();
    want.push((
        b1,
        OpKind::SetWeights {
            to: Weights::STEADY,
        },
        Origin::Guardrail,
        None,
    ));
    want.push((
        b1,
        OpKind::Stop {
            color: Color::Green,
        },
        Origin::Guardrail,
        None,
    ));
    assert_eq!(asked, want, "operations asked of the fleet");

    // Their outcomes are in the session, read back from the hosts, and the hosts agree.
    let read_back: Vec<(usize, Option<Weights>)> = session
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Msg(Msg::OpDone(o)) if o.error.is_none() => Some((o.gateway, o.weights)),
            _ => None,
        })
        .collect();
    for i in 0..6 {
        assert!(
            read_back.contains(&(i, Some(w(20)))),
            "gateway {i} not read back at 80/20: {read_back:?}"
        );
        let now = if i == b1 { Weights::STEADY } else { w(20) };
        assert_eq!(a.world.true_weights(i), now, "gateway {i}");
        assert_eq!(weights(&a, i), now, "gateway {i} on screen");
    }
    assert!(
        read_back.contains(&(b1, Some(Weights::STEADY))),
        "{read_back:?}"
    );
    let markers = session.markers();
    for (what, label) in [
        ("the override", "(guardrail overridden)"),
        ("the rollback", "gw-b1: AUTO-ROLLBACK"),
    ] {
        assert!(
            markers.iter().any(|(_, m)| m.contains(label)),
            "{what} is not marked: {markers:?}"
        );
    }
    // 100 s of six gateways' telemetry: TTFT probes alone come ten a second on each.
    let events = telemetry(&session).len();
    assert!(events > 6 * 10 * 90, "only {events} telemetry events");
    assert!(session.end() >= 99_900, "session ends at {}", session.end());

    // The same seed: the same session, event for event, and the same operations.
    let (again, same) = logged_green_5xx(1, 75);
    assert_eq!(same.events.len(), session.events.len());
    assert!(same.events == session.events, "same seed, another session");
    assert_eq!(again.world.executed, a.world.executed);

    // Another seed: other requests and probes, so another telemetry trace. A shorter run is
    // enough: with the same seed its trace would be the start of the first one.
    let (_, other) = logged_green_5xx(2, 5);
    let (first, other) = (telemetry(&session), telemetry(&other));
    assert!(
        other.len() > 6 * 10 * 25,
        "only {} telemetry events",
        other.len()
    );
    assert!(
        other != first[..other.len()],
        "seed 2 gave seed 1's {} telemetry events",
        other.len()
    );
}

#[test]
fn remapped_keys_act_and_old_keys_do_not() {
    use cutover::app::action::Action;
    use cutover::app::keymap::{KeyList, KeysConfig};
    let keys: KeysConfig = [(Action::StepUp, KeyList(vec!["+".into()]))]
        .into_iter()
        .collect();
    let keymap = KeyMap::from_config(&keys).unwrap();
    let s = Scenario::find("happy-path").unwrap();
    let mut d = sim::demo(
        s,
        1,
        GuardConfig::default(),
        keymap,
        ThemeSet::builtin().owned_names(),
    );
    d.advance_to(25_000);
    press(&mut d, "]");
    later(&mut d, 3);
    assert_eq!(weights(&d, 0), Weights::STEADY, "] is no longer bound");
    press(&mut d, "+");
    later(&mut d, 3);
    assert_eq!(weights(&d, 0), w(10));
}

#[test]
fn a_full_cycle_ramps_green_in_then_the_next_release_on_blue() {
    let mut d = demo("happy-path"); // 100/0
    assert_eq!(d.state.gateways[0].candidate, Color::Green);
    for k in 1..=10u8 {
        press(&mut d, "]");
        // Long enough for green's new share to bring 5xx and TTFT samples to judge by.
        later(&mut d, 20);
        assert_eq!(weights(&d, 0), w(10 * k), "step {k}: {:?}", d.state.notice);
    }
    // Green carries everything: it is the stable build now, and blue takes the next release.
    later(&mut d, 1);
    let g = &d.state.gateways[0];
    assert_eq!((g.candidate, g.stable()), (Color::Blue, Color::Green));
    assert!(
        d.recent_logs()
            .any(|(_, l)| l.text == "gw-a1: candidate is now blue (green carries all traffic)"),
        "the flip is logged"
    );
    // `]` now moves toward blue, judged blue against green.
    later(&mut d, 25);
    press(&mut d, "]");
    later(&mut d, 3);
    assert_eq!(
        weights(&d, 0),
        Weights {
            blue: 10,
            green: 90
        },
        "{:?}",
        d.state.notice
    );
    let step = d.world.executed.last().unwrap().1.clone();
    assert_eq!(
        step.candidate,
        Color::Blue,
        "the operation names its candidate"
    );
    // A rollback returns to the stable color, green, and stops the candidate, blue.
    press(&mut d, "R");
    assert!(matches!(d.state.popup, Some(Popup::Confirm(_))));
    press(&mut d, "y");
    later(&mut d, 4);
    assert_eq!(d.world.true_weights(0), w(100));
    later(&mut d, 32);
    let host = d.state.gateways[0].model.host.clone().unwrap();
    assert!(!host.running.blue && host.running.green, "{host:?}");
    assert!(d.world.executed.iter().any(|(_, op)| op.gateway == 0
        && op.kind == OpKind::Stop { color: Color::Blue }
        && op.origin == Origin::Operator));
    // The other gateways never left 100/0 and keep green as their candidate.
    assert_eq!(weights(&d, 1), Weights::STEADY);
    assert_eq!(d.state.gateways[1].candidate, Color::Green);
}

#[test]
fn the_candidate_can_be_chosen_and_steps_skip_gateways_with_the_other() {
    let mut d = demo("happy-path"); // 100/0 everywhere: green is every gateway's candidate
    press(&mut d, ":candidate blue");
    enter(&mut d);
    assert_eq!(d.state.gateways[0].candidate, Color::Blue);
    assert!(d.state.gateways[0].candidate_chosen);
    // Blue carries everything already: a step toward it has nothing to do.
    press(&mut d, "]");
    later(&mut d, 3);
    assert_eq!(weights(&d, 0), Weights::STEADY);
    assert!(
        d.state
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("already at 100/0")),
        "{:?}",
        d.state.notice
    );
    // In the AZ, gw-a2 still has green: an AZ step toward blue leaves it out, by name.
    press(&mut d, "s");
    press(&mut d, "[");
    match &d.state.popup {
        Some(Popup::Confirm(plan)) => {
            assert_eq!(plan.items.len(), 1, "{plan:?}");
            assert_eq!(plan.items[0].gateway, 0);
            let (i, why) = &plan.skipped[0];
            assert_eq!(*i, 1);
            assert!(why.to_string().contains("its candidate is green"), "{why}");
        }
        other => panic!("expected a confirmation, got {other:?}"),
    }
    press(&mut d, "n");
    // auto follows the weights again.
    press(&mut d, "s");
    press(&mut d, "s");
    press(&mut d, ":candidate auto");
    enter(&mut d);
    assert_eq!(d.state.gateways[0].candidate, Color::Green);
    assert!(!d.state.gateways[0].candidate_chosen);
}

#[test]
fn a_stopped_color_starts_after_a_confirmation_and_a_running_one_is_not_started_again() {
    let running = |d: &Driver<SimFleet>| d.state.gateways[0].model.host.as_ref().unwrap().running;
    let mut d = demo("happy-path");
    press(&mut d, "Ry"); // roll gw-a1 back: 100/0, green stopped after its grace
    later(&mut d, 40);
    assert!(!running(&d).green, "rolled back and stopped");
    press(&mut d, ":start green");
    enter(&mut d);
    let Some(Popup::Confirm(plan)) = d.state.popup.clone() else {
        panic!("a start asks first: {:?}", d.state.popup)
    };
    let notes = cutover::app::planner::notes(&plan, &d.state).join("\n");
    assert!(
        notes.contains("must answer a TTFT probe") && notes.contains("only by a step"),
        "{notes}"
    );
    press(&mut d, "y");
    assert_eq!(
        d.state.gateways[0]
            .op
            .as_ref()
            .map(|o| o.kind.to_string())
            .as_deref(),
        Some("starting green")
    );
    later(&mut d, 6);
    assert!(running(&d).green, "started");
    assert!(d.world.executed.iter().any(|(_, op)| op.kind
        == OpKind::Start {
            color: Color::Green
        }
        && op.origin == Origin::Operator));
    // Running already: nothing to do, said plainly.
    press(&mut d, ":start green");
    enter(&mut d);
    assert!(d.state.popup.is_none());
    let said = d.state.notice.as_ref().unwrap().text.clone();
    assert!(said.contains("green runs already"), "{said}");
    // Blue carries everything: no restart.
    press(&mut d, ":restart blue");
    enter(&mut d);
    let said = d.state.notice.as_ref().unwrap().text.clone();
    assert!(said.contains("blue still carries traffic"), "{said}");
    // Green at 0 restarts.
    press(&mut d, ":restart green");
    enter(&mut d);
    press(&mut d, "y");
    later(&mut d, 6);
    assert!(d.world.executed.iter().any(|(_, op)| op.kind
        == OpKind::Restart {
            color: Color::Green
        }));
    assert!(running(&d).green);
}
