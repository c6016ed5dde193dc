//! The live collectors on the lab when a version command hangs: the weights, lock and host
//! sample keep arriving every interval (so the cockpit can still step and roll back), and the
//! hung command is ended on the host instead of piling up one process per round.
//! Needs nginx and sshd installed (`scripts/test` installs them); without them this fails.

mod common;

use common::live::{cockpit, run_until};
use common::{Lab, runtime};
use cutover::app::keys::{KeyCode, KeyEvent};
use cutover::app::state::Popup;
use std::time::{Duration, Instant};

/// Processes on this machine (the lab's hosts share it) whose command line is exactly `cmdline`.
fn processes(cmdline: &str) -> usize {
    let out = std::process::Command::new("pgrep")
        .args(["-fx", cmdline])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn a_hung_version_command_never_holds_up_the_weights_nor_piles_up_on_the_host() {
    let lab = Lab::up("integrity-version", 2, &["--weights", "90/10"]);
    lab.fault(&["--gateway", "gw-b1", "--color", "green", "hang=true"]);
    // A duration of its own names this test's version command among the machine's processes.
    let sleeper = format!("sleep 600.{}", std::process::id());
    let rt = runtime();
    // Boxed: the test's future is large in debug builds and test threads have small stacks.
    rt.block_on(Box::pin(async {
        let mut d = cockpit(&lab, |c| {
            c.probes.version_every_secs = 1;
            // Short, so that a sampler waiting on the version would fail every few seconds
            // and leave one more sleeper behind each time.
            c.ssh.command_timeout_secs = 3;
            let g = c.gateway.iter_mut().find(|g| g.name == "gw-b1").unwrap();
            g.green.version = sleeper.clone();
        });
        let i = d
            .state
            .gateways
            .iter()
            .position(|g| g.name == "gw-b1")
            .unwrap();
        let start = Instant::now();

        // Within a few intervals: weights and a host sample from gw-b1.
        let read = run_until(&mut d, start, Duration::from_secs(15), |s| {
            let m = &s.gateways[i].model;
            m.weights.is_some() && m.host_at.is_some()
        })
        .await;
        let m = &d.state.gateways[i].model;
        assert!(
            read,
            "gw-b1 not read in 15 s: weights {:?}, unreachable {:?}",
            m.weights, m.unreachable
        );

        // Then for three version rounds (each ended on the host after 2 s) and more: a host
        // sample every interval, and never more than the one version command in flight.
        let mut samples = std::collections::BTreeSet::new();
        let mut oldest = 0;
        let mut most = 0;
        let mut seen = 0;
        let mut counted = Instant::now() - Duration::from_secs(1);
        run_until(&mut d, start, Duration::from_secs(10), |s| {
            let m = &s.gateways[i].model;
            if let Some(at) = m.host_at {
                samples.insert(at);
                oldest = oldest.max(s.now.saturating_sub(at));
            }
            if counted.elapsed() >= Duration::from_millis(500) {
                counted = Instant::now();
                let n = processes(&sleeper);
                most = most.max(n);
                seen += usize::from(n > 0);
            }
            false
        })
        .await;
        let g = &d.state.gateways[i];
        assert!(
            samples.len() >= 5,
            "host samples in 10 s: {samples:?} (unreachable {:?})",
            g.model.unreachable
        );
        assert!(oldest <= 3_000, "host sample {oldest} ms old");
        assert!(
            g.model.weights.is_some() && g.model.unreachable.is_none(),
            "{:?} {:?}",
            g.model.weights,
            g.model.unreachable
        );
        assert!(seen > 0, "the version command never ran: {sleeper}");
        assert!(most <= 1, "{most} `{sleeper}` at once on the host");
        let version = g.model.host.as_ref().map(|h| h.versions.green.clone());
        assert_eq!(version, Some(None), "a hung version is unknown");

        // The cockpit can roll gw-b1 back: the plan is there to confirm.
        while d.state.selected != i {
            d.key(KeyEvent::from(KeyCode::Char('j')));
        }
        d.key(KeyEvent::from(KeyCode::Char('R')));
        assert!(
            matches!(&d.state.popup, Some(Popup::Confirm(p)) if p.items.iter().any(|it| it.gateway == i)),
            "rollback of gw-b1: popup {:?}, notice {:?}",
            d.state.popup,
            d.state.notice
        );
        d.key(KeyEvent::from(KeyCode::Esc));
    }));
    // Once the cockpit is gone, the host ends the last version command by itself.
    let gone = Instant::now() + Duration::from_secs(6);
    while processes(&sleeper) > 0 && Instant::now() < gone {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(processes(&sleeper), 0, "{sleeper} outlived the cockpit");
    lab.down();
}
