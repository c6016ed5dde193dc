//! Real telemetry on the lab: the live cockpit's collectors (host sampler, access-log tail,
//! TTFT probes through SSH forwards, health probes) feeding its guardrails, which act on the
//! real hosts. The cockpit runs in process without its terminal (the same driver the
//! terminal loop uses); guardrail windows are shortened by configuration.
//! Needs nginx and sshd installed (`scripts/test` installs them); without them these fail.

mod common;

use common::live::{cockpit, run_until};
use common::load::{Conn, Load, Loader};
use common::{Lab, listens, runtime, text};
use cutover::app::driver::Driver;
use cutover::app::keys::{KeyCode, KeyEvent};
use cutover::app::state::{Popup, State};
use cutover::config::Config;
use cutover::fleet::live::LiveFleet;
use cutover::guard::fivexx::FivexxState;
use cutover::guard::ttft::TtftVerdict;
use std::time::{Duration, Instant};

fn key(d: &mut Driver<LiveFleet>, c: char) {
    d.key(KeyEvent::from(KeyCode::Char(c)));
}

/// Type a reason on the footer line and press Enter.
fn reason(d: &mut Driver<LiveFleet>, text: &str) {
    for c in text.chars() {
        key(d, c);
    }
    d.key(KeyEvent::from(KeyCode::Enter));
}

fn weights_of(lab: &Lab, i: usize) -> String {
    let conf = std::fs::read_to_string(&lab.config.gateway[i].nginx_conf).unwrap();
    let w: Vec<&str> = conf
        .lines()
        .filter(|l| l.trim_start().starts_with("server 127."))
        .map(str::trim)
        .collect();
    w.join(" | ")
}

fn green_listens(lab: &Lab, i: usize) -> bool {
    listens(&lab.config.gateway[i].green.addr)
}

#[test]
fn a_slower_green_halts_the_next_step_up_and_parity_allows_it() {
    let lab = Lab::up("ttft-halt", 2, &["--weights", "90/10"]);
    for g in ["gw-a1", "gw-b1"] {
        lab.fault(&[
            "--gateway",
            g,
            "--color",
            "blue",
            "ttft_ms=200",
            "tokens=2",
            "tokens_per_sec=200",
        ]);
    }
    // gw-a1's green is 20 % slower to its first token; gw-b1's is at parity.
    lab.fault(&[
        "--gateway",
        "gw-a1",
        "--color",
        "green",
        "ttft_ms=240",
        "tokens=2",
        "tokens_per_sec=200",
    ]);
    lab.fault(&[
        "--gateway",
        "gw-b1",
        "--color",
        "green",
        "ttft_ms=200",
        "tokens=2",
        "tokens_per_sec=200",
    ]);
    let rt = runtime();
    // Boxed: the test's future is large in debug builds and test threads have small stacks.
    rt.block_on(Box::pin(async {
        let mut d = cockpit(&lab, |c| {
            c.guardrails.ttft_min_samples = 6;
            c.guardrails.ttft_window_secs = 60;
            c.probes.ttft_every_secs = 1;
        });
        let start = Instant::now();
        // The judge decides once each interval clears the +8 % limit one way or the other.
        let judged = run_until(&mut d, start, Duration::from_secs(40), |s| {
            matches!(s.gateways[0].verdicts.ttft, TtftVerdict::Halt { .. })
                && matches!(s.gateways[1].verdicts.ttft, TtftVerdict::Ok { .. })
        })
        .await;
        let verdicts: Vec<_> = d.state.gateways.iter().map(|g| g.verdicts.ttft).collect();
        assert!(judged, "no TTFT verdict in 40 s: {verdicts:?}");
        match verdicts[0] {
            TtftVerdict::Halt {
                delta_pct,
                low_pct,
                stable_p50: blue_p50,
                candidate_p50: green_p50,
                ..
            } => {
                assert!((12.0..30.0).contains(&delta_pct), "{verdicts:?}");
                assert!(low_pct > 8.0, "a halt means the whole interval is over: {verdicts:?}");
                assert!((200..230).contains(&blue_p50), "{verdicts:?}");
                assert!((240..275).contains(&green_p50), "{verdicts:?}");
            }
            v => panic!("gw-a1 with a 20 % slower green: {v:?}"),
        }
        assert!(
            matches!(verdicts[1], TtftVerdict::Ok { delta_pct, high_pct, .. } if delta_pct.abs() < 8.0 && high_pct < 8.0),
            "{verdicts:?}"
        );

        // The TTFT panel of the selected gateway shows both medians and the halt.
        let screen = common::render(&d.state, 160, 48);
        if let TtftVerdict::Halt {
            stable_p50: blue_p50,
            candidate_p50: green_p50,
            ..
        } = verdicts[0]
        {
            for figure in [
                format!("blue  p50 {blue_p50}ms"),
                format!("green p50 {green_p50}ms"),
            ] {
                assert!(
                    screen.contains(&figure),
                    "{figure} not on screen:\n{screen}"
                );
            }
        }
        assert!(screen.contains("HALT +"), "{screen}");

        // gw-a1 (selected): the step up is refused with the figures; nothing changes on the host.
        let before = weights_of(&lab, 0);
        key(&mut d, ']');
        let popup = format!("{:?}", d.state.popup);
        assert!(popup.contains("ttft fail: green TTFT +"), "{popup}");
        assert!(popup.contains("vs blue (95 % CI"), "{popup}");
        key(&mut d, 'n');
        run_until(&mut d, start, Duration::from_secs(2), |_| false).await;
        assert_eq!(weights_of(&lab, 0), before);

        // gw-b1 at parity: TTFT passes. Nothing but probes reaches green at 10 %, so the 5xx
        // guardrail is inconclusive: the step is held until the operator overrides, with a
        // reason; then it goes through, for real.
        key(&mut d, 'j');
        key(&mut d, ']');
        let Some(Popup::Refused { reasons, .. }) = d.state.popup.clone() else {
            panic!("gw-b1: {:?}", d.state.popup)
        };
        assert!(
            reasons.iter().all(|r| r.contains("5xx inconclusive")),
            "only the 5xx guardrail holds it: {reasons:?}"
        );
        key(&mut d, 'O');
        reason(&mut d, "no user traffic on the canary yet");
        let stepped = run_until(&mut d, start, Duration::from_secs(15), |s| {
            s.gateways[1].model.weights.is_some_and(|w| w.green == 20) && s.gateways[1].op.is_none()
        })
        .await;
        assert!(stepped, "gw-b1 did not step: {:?}", d.state.notice);
        assert!(
            weights_of(&lab, 1).contains("weight=20"),
            "{}",
            weights_of(&lab, 1)
        );
    }));
    lab.down();
}

/// A light, steady load through every gateway's nginx (answers of one token, so about 40
/// requests a second each) until dropped; what the requests came to is not asserted.
fn light_load(lab: &Lab) -> Loader {
    Load::new(1, 1)
        .conn(Conn::Pooled)
        .pause(Duration::from_millis(25))
        .start(lab.chat_urls())
}

/// The 5xx guard on a 20 s window with a `hold`-second countdown; no TTFT probes.
fn short_fivexx(c: &mut Config, hold: u64) {
    c.guardrails.fivexx_window_secs = 20;
    c.guardrails.fivexx_hold_secs = hold;
    c.guardrails.fivexx_min_requests = 40;
    c.probes.ttft_every_secs = 0;
}

#[test]
fn green_5xx_rolls_back_for_real_unless_vetoed() {
    let lab = Lab::up("fivexx", 2, &["--weights", "70/30"]);
    lab.fast_answers();
    for g in ["gw-a1", "gw-b1"] {
        // 10 %: far enough over the 0.5 pp limit that the judge's interval clears it within
        // a few dozen requests, even on a loaded machine.
        lab.fault(&["--gateway", g, "--color", "green", "error_rate=0.1"]);
    }
    let rt = runtime();
    // Boxed: the test's future is large in debug builds and test threads have small stacks.
    rt.block_on(Box::pin(async {
        let _load = light_load(&lab);
        let mut d = cockpit(&lab, |c| short_fivexx(c, 8));
        let start = Instant::now();
        // Both breach: the countdown runs on both; the operator vetoes gw-b1's.
        let breaching = |s: &State, i: usize| {
            matches!(s.gateways[i].verdicts.fivexx, FivexxState::Breaching { .. })
        };
        let both = run_until(&mut d, start, Duration::from_secs(90), |s| {
            breaching(s, 0) && breaching(s, 1)
        })
        .await;
        let states: Vec<_> = d.state.gateways.iter().map(|g| g.verdicts.fivexx).collect();
        assert!(both, "no breach on both gateways: {states:?}");
        key(&mut d, 'j');
        key(&mut d, 'x');
        key(&mut d, 'y');
        reason(&mut d, "watching it");
        // gw-a1 is rolled back for real: 100/0 in nginx, then green stopped once its
        // streams ended.
        let rolled = run_until(&mut d, start, Duration::from_secs(40), |s| {
            s.gateways[0].model.weights.is_some_and(|w| w.green == 0)
                && s.gateways[0].op.is_none()
                && s.gateways[0].drain.is_none()
        })
        .await;
        assert!(
            rolled,
            "gw-a1 not rolled back: {:?}",
            d.state.gateways[0].verdicts.fivexx
        );
        assert!(
            weights_of(&lab, 0).contains("down"),
            "{}",
            weights_of(&lab, 0)
        );
        assert!(
            !green_listens(&lab, 0),
            "gw-a1 green still up after the rollback"
        );
        // gw-b1, vetoed: still breaching (the alarm stays), weights untouched, green up.
        run_until(&mut d, start, Duration::from_secs(3), |_| false).await;
        assert!(
            matches!(
                d.state.gateways[1].verdicts.fivexx,
                FivexxState::Breaching { vetoed: true, .. }
            ),
            "{:?}",
            d.state.gateways[1].verdicts.fivexx
        );
        assert!(
            weights_of(&lab, 1).contains("weight=30"),
            "{}",
            weights_of(&lab, 1)
        );
        assert!(green_listens(&lab, 1));
    }));
    let audit = std::fs::read_to_string(lab.dir.join("cutover-audit.jsonl")).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"origin\":\"guardrail\"") && l.contains("\"host\":\"gw-a1\"")),
        "{audit}"
    );
    lab.down();
}

#[test]
fn with_auto_rollback_off_the_5xx_alarm_never_acts() {
    let lab = Lab::up("fivexx-off", 1, &["--weights", "70/30"]);
    lab.fast_answers();
    lab.fault(&["--color", "green", "error_rate=0.1"]);
    let rt = runtime();
    // Boxed: the test's future is large in debug builds and test threads have small stacks.
    rt.block_on(Box::pin(async {
        let _load = light_load(&lab);
        let mut d = cockpit(&lab, |c| {
            short_fivexx(c, 4);
            c.guardrails.auto_rollback = false;
        });
        let start = Instant::now();
        let alarm = run_until(&mut d, start, Duration::from_secs(90), |s| {
            matches!(
                s.gateways[0].verdicts.fivexx,
                FivexxState::Breaching {
                    alarm_only: true,
                    ..
                }
            )
        })
        .await;
        assert!(alarm, "{:?}", d.state.gateways[0].verdicts.fivexx);
        // Well past the hold time: nothing was done to the host.
        run_until(&mut d, start, Duration::from_secs(8), |_| false).await;
        assert!(d.state.gateways[0].op.is_none());
        assert!(
            weights_of(&lab, 0).contains("weight=30"),
            "{}",
            weights_of(&lab, 0)
        );
        assert!(green_listens(&lab, 0));
    }));
    lab.down();
}

#[test]
fn a_dark_host_goes_stale_alone_and_recovers() {
    let lab = Lab::up("stale", 2, &[]);
    let rt = runtime();
    // Boxed: the test's future is large in debug builds and test threads have small stacks.
    rt.block_on(Box::pin(async {
        let mut d = cockpit(&lab, |c| c.probes.ttft_every_secs = 0);
        let start = Instant::now();
        let fresh = |s: &State, i: usize| {
            s.gateways[i].model.age(s.now).is_some_and(|a| a < 2_500)
                && !s.gateways[i].verdicts.stale
        };
        assert!(
            run_until(&mut d, start, Duration::from_secs(15), |s| fresh(s, 0)
                && fresh(s, 1))
            .await,
            "no data from both hosts"
        );
        let sshd = |verb: &str| lab.sshd(verb, "gw-b1");
        sshd("stop");
        let dark_at = Instant::now();
        // Stale within three intervals (plus one for the sampler round in flight), while the
        // other host keeps updating all along.
        let mut other_fresh = true;
        let went_stale = run_until(&mut d, start, Duration::from_secs(8), |s| {
            other_fresh &= fresh(s, 0);
            s.gateways[1].verdicts.stale
        })
        .await;
        assert!(went_stale, "gw-b1 not stale after {:?}", dark_at.elapsed());
        assert!(
            dark_at.elapsed() <= Duration::from_secs(5),
            "{:?}",
            dark_at.elapsed()
        );
        assert!(other_fresh, "gw-a1 stopped updating while gw-b1 was dark");
        assert!(d.state.gateways[1].model.unreachable.is_some());
        sshd("start");
        let back = run_until(&mut d, start, Duration::from_secs(20), |s| fresh(s, 1)).await;
        assert!(
            back,
            "gw-b1 did not recover: {:?}",
            d.state.gateways[1].model.unreachable
        );
    }));
    lab.down();
}

#[test]
fn the_tail_sampler_and_probes_fill_the_model() {
    let lab = Lab::up("collect", 1, &["--weights", "50/50"]);
    lab.fast_answers();
    let rt = runtime();
    // Boxed: the test's future is large in debug builds and test threads have small stacks.
    rt.block_on(Box::pin(async {
        let _load = light_load(&lab);
        let mut d = cockpit(&lab, |c| c.probes.ttft_every_secs = 1);
        let start = Instant::now();
        let filled = run_until(&mut d, start, Duration::from_secs(20), |s| {
            let m = &s.gateways[0].model;
            let sum = m.summary;
            sum.blue.rps.is_some_and(|r| r > 5.0)
                && sum.green.rps.is_some_and(|r| r > 5.0)
                && sum.blue.ttft.count > 0
                && sum.green.ttft.count > 0
                && m.host.as_ref().is_some_and(|h| h.nginx.is_some())
                && m.health.is_some()
        })
        .await;
        let m = &d.state.gateways[0].model;
        assert!(
            filled,
            "summary {:?} host {:?} health {:?}",
            m.summary, m.host, m.health
        );
        let total = |s: &State| {
            let sum = s.gateways[0].model.summary;
            sum.blue.burn_short.requests + sum.green.burn_short.requests
        };

        // Log rotation (rename, then nginx reopens its logs): the tail follows the new file.
        let g = &lab.config.gateway[0];
        std::fs::rename(&g.access_log, format!("{}.1", g.access_log)).unwrap();
        let master = std::fs::read_to_string(&g.nginx_pid).unwrap();
        let o = std::process::Command::new("kill")
            .args(["-USR1", master.trim()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        let before = total(&d.state);
        let counted = run_until(&mut d, start, Duration::from_secs(15), |s| {
            total(s) > before + 50
        })
        .await;
        assert!(
            counted,
            "no requests counted after rotation ({before} -> {})",
            total(&d.state)
        );
        assert!(
            std::fs::metadata(&g.access_log).is_ok(),
            "nginx did not reopen its log"
        );

        // A dropped connection: sshd stops (every session ends) and returns; the tail resumes.
        let sshd = |verb: &str| lab.sshd(verb, &g.name);
        sshd("stop");
        run_until(&mut d, start, Duration::from_secs(2), |_| false).await;
        sshd("start");
        let before = total(&d.state);
        let resumed = run_until(&mut d, start, Duration::from_secs(20), |s| {
            total(s) > before + 50
        })
        .await;
        assert!(
            resumed,
            "the tail did not resume ({before} -> {})",
            total(&d.state)
        );
        let m = &d.state.gateways[0].model;
        let h = m.host.as_ref().unwrap();
        assert_eq!(
            h.listeners.blue,
            vec![lab.config.gateway[0].blue.addr.clone()]
        );
        assert!(
            h.versions.blue.is_some() && h.versions.green.is_some(),
            "{h:?}"
        );
        assert!(h.nginx_workers.is_some_and(|n| n >= 1), "{h:?}");
        assert!(h.clock_skew_ms.abs() < 1_000, "{h:?}");
        assert!(d.state.gateways[0].verdicts.listeners.is_empty());
        // Both colors serve about half the requests at 50/50.
        let (b, g) = (m.summary.blue.rps.unwrap(), m.summary.green.rps.unwrap());
        assert!((b / (b + g) - 0.5).abs() < 0.15, "blue {b} green {g}");
    }));
    lab.down();
}
