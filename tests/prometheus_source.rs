//! Prometheus as the telemetry source, on the lab: the colors export `/metrics`, the lab's
//! real Prometheus scrapes them with `gateway` and `az` labels, and the cockpit (in process)
//! and the headless commands judge from its answers with the same guardrails: a slow green
//! halts its step with the TTFT sentence, a green serving 5xx raises the 5xx alarm, parity
//! gateways step, and a Prometheus that stops answering makes the figures stale and every
//! step inconclusive until it answers again.
//! Needs nginx, sshd and prometheus (`scripts/test` installs them); without them this fails.

mod common;

use common::live::{cockpit, run_until};
use common::load::{Conn, Load};
use common::{Lab, runtime, text};
use cutover::app::rules;
use cutover::app::state::State;
use cutover::guard::fivexx::FivexxState;
use cutover::guard::ttft::TtftVerdict;
use cutover::guard::verdict::{Guardrail, Judgement};
use cutover::model::Weights;
use std::time::{Duration, Instant};

/// The gateways of a 4-host lab, in configuration order.
const SLOW: usize = 0; // gw-a1: green's TTFT 40 % over blue's
const ERRORS: usize = 1; // gw-b1: green answers 5 % of requests with a 500
const PARITY: [usize; 2] = [2, 3]; // gw-c1, gw-a2

/// Signal Prometheus's process (STOP: it hangs, every query times out; CONT: it goes on).
fn signal(pid: u64, sig: &str) {
    let o = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .output()
        .expect("kill");
    assert!(o.status.success(), "kill -{sig} {pid}: {}", text(&o));
}

/// `check --json`'s `prometheus` row of `gateway`.
fn prometheus_row(lab: &Lab, gateway: &str) -> serde_json::Value {
    let o = lab.run(&["check", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("check --json: {e}: {}", text(&o)));
    let rows = rows
        .as_array()
        .cloned()
        .or_else(|| rows["rows"].as_array().cloned());
    rows.unwrap_or_default()
        .into_iter()
        .find(|r| r["gateway"] == gateway && r["check"] == "prometheus")
        .unwrap_or_else(|| panic!("no prometheus row for {gateway}: {}", text(&o)))
}

/// The weights one step up from where gateway `i` stands.
fn next_step(s: &State, i: usize) -> (Weights, Weights) {
    let now = s.gateways[i].model.weights.expect("weights read");
    let after = Weights::with_green(now.green + 10).unwrap();
    (now, after)
}

#[test]
fn prometheus_feeds_the_same_guardrails_and_its_outage_is_inconclusive() {
    let lab = Lab::up("promsrc", 4, &["--prometheus", "--weights", "70/30"]);
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lab.dir.join("lab.json")).unwrap()).unwrap();
    let pid = raw["prometheus"]["pid"].as_u64().expect("prometheus's pid");
    // Switch the lab's fleet.toml to the Prometheus source by uncommenting the block the lab
    // wrote for it, as an operator would.
    let fleet = lab.dir.join("fleet.toml");
    let conf = std::fs::read_to_string(&fleet).unwrap();
    assert!(conf.contains("# [telemetry]"), "{conf}");
    let switched = cutover::lab::prometheus::with_prometheus_telemetry(&conf);
    std::fs::write(&fleet, switched).unwrap();

    // One-token answers after the lab's 150 ms TTFT; gw-a1's green 40 % slower (210 ms).
    for color in ["blue", "green"] {
        lab.fault(&["--color", color, "tokens=1", "tokens_per_sec=1000"]);
    }
    lab.fault(&["--gateway", "gw-a1", "--color", "green", "ttft_ms=210"]);
    lab.fault(&["--gateway", "gw-b1", "--color", "green", "error_rate=0.05"]);
    let load = Load::new(6, 1).conn(Conn::Pooled).start(lab.chat_urls());

    let rt = runtime();
    // Boxed: the test's future is large in debug builds and test threads have small stacks.
    rt.block_on(Box::pin(async {
        let mut d = cockpit(&lab, |c| {
            assert_eq!(
                c.telemetry.source.name(),
                "prometheus",
                "the uncommented block selects the source"
            );
            c.telemetry.timeout_secs = 2;
            c.guardrails.fivexx_window_secs = 30;
            c.guardrails.fivexx_min_requests = 40;
            c.guardrails.auto_rollback = false;
        });
        let start = Instant::now();
        let judged = run_until(&mut d, start, Duration::from_secs(150), |s| {
            let g = &s.gateways;
            matches!(g[SLOW].verdicts.ttft, TtftVerdict::Halt { .. })
                && matches!(
                    g[ERRORS].verdicts.fivexx,
                    FivexxState::Breaching {
                        alarm_only: true,
                        ..
                    }
                )
                && PARITY.iter().all(|&i| {
                    g[i].model.weights.is_some_and(|before| {
                        let after = Weights::with_green(before.green + 10).unwrap();
                        rules::judge_change(&g[i], &s.cfg, s.now, before, after)
                            .is_ok_and(|holds| holds.is_empty())
                    })
                })
        })
        .await;
        let verdicts: Vec<_> = d
            .state
            .gateways
            .iter()
            .map(|g| {
                (
                    g.name.clone(),
                    g.verdicts.ttft,
                    g.verdicts.fivexx,
                    g.model.metrics.as_ref().map(|m| m.problems.clone()),
                )
            })
            .collect();
        assert!(judged, "{verdicts:#?}");
        // The slow green's next step is held by the TTFT rule, from histograms; no access
        // log was read and no health probe sent (the exporters' health is the health).
        let s = &d.state;
        let (before, after) = next_step(s, SLOW);
        let holds = rules::judge_change(&s.gateways[SLOW], &s.cfg, s.now, before, after)
            .expect("no refusal");
        let ttft = holds
            .iter()
            .find(|v| v.guardrail == Guardrail::Ttft)
            .unwrap_or_else(|| panic!("{holds:?}"));
        assert_eq!(ttft.verdict, Judgement::Fail, "{ttft:?}");
        assert!(
            ttft.sentence
                .contains("quantiles from prometheus histograms"),
            "{ttft:?}"
        );
        assert_eq!(s.gateways[PARITY[0]].model.health_status().name(), "ok");
        for &i in &PARITY {
            assert!(matches!(
                s.gateways[i].verdicts.ttft,
                TtftVerdict::Ok { .. }
            ));
        }

        // The headless commands judge from Prometheus too: the slow green is refused with the
        // TTFT sentence, a parity gateway steps.
        let o = lab.run(&["step", "--gateway", "gw-a1", "--by", "10"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(
            out.contains("TTFT") && out.contains("prometheus histograms"),
            "{out}"
        );
        let o = lab.run(&["step", "--gateway", "gw-c1", "--by", "10"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));

        // `check` asks Prometheus for every signal of every gateway.
        let row = prometheus_row(&lab, "gw-a2");
        assert_eq!(row["result"], "ok", "{row}");
        assert!(
            row["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("every signal answers")),
            "{row}"
        );

        // Prometheus hangs: its figures go stale and nothing is judged on them.
        signal(pid, "STOP");
        let stopped = Instant::now();
        let stopped_at = d.state.now;
        // Stale once the figures are older than the limit, and the timed-out polls say why.
        let stale = run_until(&mut d, start, Duration::from_secs(30), |s| {
            PARITY.iter().all(|&i| {
                rules::metrics_unjudged(&s.gateways[i], &s.cfg, s.now)
                    .is_some_and(|w| w.contains("timed out"))
            })
        })
        .await;
        let s = &d.state;
        let why = rules::metrics_unjudged(&s.gateways[PARITY[1]], &s.cfg, s.now);
        assert!(
            stale,
            "{why:?} {:?} after the stop; problems {:?}",
            stopped.elapsed(),
            s.gateways[PARITY[1]]
                .model
                .metrics
                .as_ref()
                .map(|m| &m.problems)
        );
        assert!(
            why.as_deref()
                .is_some_and(|w| w.contains("prometheus data is") && w.contains("timed out")),
            "{why:?}"
        );
        // One line for the fleet says so, not one per gateway.
        let said: Vec<&str> = d
            .recent_logs()
            .filter(|(at, _)| *at >= stopped_at)
            .map(|(_, l)| l.text.as_str())
            .filter(|t| t.starts_with("prometheus: the figures of"))
            .collect();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("steps onto the candidate are held"),
            "{said:?}"
        );
        let s = &d.state;
        let (before, after) = next_step(s, PARITY[1]);
        let holds = rules::judge_change(&s.gateways[PARITY[1]], &s.cfg, s.now, before, after)
            .expect("no refusal: control still works over SSH");
        for g in [Guardrail::Ttft, Guardrail::Fivexx, Guardrail::Health] {
            let v = holds
                .iter()
                .find(|v| v.guardrail == g)
                .unwrap_or_else(|| panic!("{g:?} not held: {holds:?}"));
            assert_eq!(v.verdict, Judgement::Inconclusive, "{v:?}");
        }
        // A rollback is never held by it.
        let back = Weights::all_on(s.gateways[PARITY[1]].stable());
        assert_eq!(
            rules::judge_change(&s.gateways[PARITY[1]], &s.cfg, s.now, before, back),
            Ok(vec![])
        );
        let o = lab.run(&["step", "--gateway", "gw-a2", "--by", "10"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "no step on missing data: {out}");
        assert!(out.contains("prometheus"), "{out}");

        let row = prometheus_row(&lab, "gw-a2");
        assert_eq!(row["result"], "fail", "{row}");
        assert!(
            row["reason"]
                .as_str()
                .is_some_and(|r| r.contains("timed out")),
            "{row}"
        );

        // It answers again: judged again.
        signal(pid, "CONT");
        let back = run_until(&mut d, start, Duration::from_secs(60), |s| {
            PARITY.iter().all(|&i| {
                rules::metrics_unjudged(&s.gateways[i], &s.cfg, s.now).is_none()
                    && matches!(s.gateways[i].verdicts.ttft, TtftVerdict::Ok { .. })
            })
        })
        .await;
        assert!(back, "not judged again after Prometheus came back");
        run_until(&mut d, start, Duration::from_secs(2), |_| false).await;
        assert!(
            d.recent_logs()
                .any(|(_, l)| l.text == "prometheus: every gateway's figures are judged again")
        );
    }));
    drop(load);
    lab.down();
}
