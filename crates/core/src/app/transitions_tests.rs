//! `log_transitions`: every raise and every clear is marked once, when it happens.

use super::log_transitions;
use crate::app::msg::{Effect, LogLevel};
use crate::app::state::Verdicts;
use crate::guard::burn::Burn;
use crate::guard::fivexx::FivexxState;
use crate::guard::listeners::ListenerAlarm;
use crate::guard::ttft::TtftVerdict;
use crate::model::{Color, PerColor};

/// Markers `log_transitions` returns going from `prev` to `now`.
fn markers(prev: &Verdicts, now: &Verdicts) -> Vec<String> {
    let mut fx = Vec::new();
    log_transitions("gw-a1", prev, now, &mut fx);
    fx.into_iter()
        .filter_map(|e| match e {
            Effect::Marker(m) => Some(m),
            Effect::Log(_) => None,
            other => panic!("log_transitions only marks and logs: {other:?}"),
        })
        .collect()
}

/// Log lines `log_transitions` returns going from `prev` to `now`.
fn logs(prev: &Verdicts, now: &Verdicts) -> Vec<(LogLevel, String)> {
    let mut fx = Vec::new();
    log_transitions("gw-a1", prev, now, &mut fx);
    fx.into_iter()
        .filter_map(|e| match e {
            Effect::Log(l) => Some((l.level, l.text)),
            _ => None,
        })
        .collect()
}

#[test]
fn raises_and_clears_are_logged_with_their_level() {
    let calm = Verdicts::default();
    let halted = Verdicts {
        ttft: halt(),
        ..Verdicts::default()
    };
    let raised = logs(&calm, &halted);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].0, LogLevel::Warn);
    assert!(raised[0].1.starts_with("gw-a1: "), "{raised:?}");
    assert_eq!(
        markers(&calm, &halted),
        vec![raised[0].1.clone()],
        "the log line and the marker say the same"
    );
    let cleared = logs(&halted, &calm);
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert_eq!(cleared[0].0, LogLevel::Info);
    assert!(
        logs(&calm, &calm).is_empty(),
        "nothing changed, nothing logged"
    );
}

fn breaching() -> FivexxState {
    FivexxState::Breaching {
        delta_pp: 4.9,
        since: 1_000,
        fires_at: 181_000,
        vetoed: false,
        alarm_only: false,
    }
}

fn halt() -> TtftVerdict {
    TtftVerdict::Halt {
        delta_pct: 24.0,
        low_pct: 24.0 - 4.0,
        high_pct: 24.0 + 4.0,
        stable_p50: 250,
        candidate_p50: 310,
    }
}

fn paging() -> Burn {
    Burn {
        short: Some(20.0),
        long: Some(16.0),
        page: true,
        too_few: false,
    }
}

/// Every alarm raised at once.
fn all_raised() -> Verdicts {
    Verdicts {
        fivexx: breaching(),
        ttft: halt(),
        burn: PerColor::from_fn(|_| paging()),
        listeners: vec![ListenerAlarm {
            color: Color::Green,
            addr: "0.0.0.0:8788".into(),
        }],
        stale: true,
        health_slow_ms: Some(450),
        ..Verdicts::default()
    }
}

#[test]
fn nothing_changes_nothing_is_marked() {
    let clear = Verdicts::default();
    assert!(markers(&clear, &clear).is_empty());
    let raised = all_raised();
    assert!(markers(&raised, &raised).is_empty());
}

#[test]
fn raises_are_marked() {
    let m = markers(&Verdicts::default(), &all_raised());
    assert_eq!(
        m,
        [
            "gw-a1: green 5xx +4.90 pp over blue: auto-rollback in 180 s unless vetoed",
            "gw-a1: TTFT halt: green p50 310 ms vs blue 250 ms (+24.0 %, 95 % CI +20.0..+28.0 %)",
            "gw-a1: blue error budget burning at page level",
            "gw-a1: green error budget burning at page level",
        ]
    );
}

#[test]
fn clears_of_marked_alarms_are_marked() {
    let m = markers(&all_raised(), &Verdicts::default());
    assert_eq!(
        m,
        [
            "gw-a1: 5xx delta cleared",
            "gw-a1: TTFT halt cleared",
            "gw-a1: blue error budget burn back below page level",
            "gw-a1: green error budget burn back below page level",
        ]
    );
}

#[test]
fn each_clear_is_marked_on_its_own() {
    let raised = all_raised();
    let mut now = raised.clone();
    now.burn.green.page = false;
    now.burn.green.too_few = true;
    assert_eq!(
        markers(&raised, &now),
        ["gw-a1: green error budget burn back below page level"]
    );
    let mut now = raised.clone();
    now.ttft = TtftVerdict::Ok {
        delta_pct: 2.0,
        low_pct: -1.0,
        high_pct: 5.0,
    };
    assert_eq!(markers(&raised, &now), ["gw-a1: TTFT halt cleared"]);
    // Listener, staleness and probe latency log their clears but mark neither raise nor clear.
    let mut now = raised.clone();
    now.listeners.clear();
    now.stale = false;
    now.health_slow_ms = None;
    assert!(markers(&raised, &now).is_empty());
}

#[test]
fn a_fired_rollback_that_clears_is_marked_cleared() {
    let prev = Verdicts {
        fivexx: FivexxState::Fire { delta_pp: 4.9 },
        ..Verdicts::default()
    };
    assert_eq!(
        markers(&prev, &Verdicts::default()),
        ["gw-a1: 5xx delta cleared"]
    );
    // Fire then breaching again (the rollback is under way) is neither a raise nor a clear.
    let now = Verdicts {
        fivexx: breaching(),
        ..Verdicts::default()
    };
    assert!(markers(&prev, &now).is_empty());
}

#[test]
fn failing_green_probes_raise_and_clear_the_ttft_halt() {
    let failing = Verdicts {
        ttft: TtftVerdict::ProbeFailing {
            color: Color::Green,
            failures: 3,
        },
        ..Verdicts::default()
    };
    assert_eq!(
        markers(&Verdicts::default(), &failing),
        ["gw-a1: TTFT halt: green TTFT probes failing (3 since the last answer)"]
    );
    assert_eq!(
        markers(&failing, &Verdicts::default()),
        ["gw-a1: TTFT halt cleared"]
    );
    // From one reason to halt to the other: still halted, nothing to mark.
    let halted = Verdicts {
        ttft: halt(),
        ..Verdicts::default()
    };
    assert!(markers(&failing, &halted).is_empty());
}
