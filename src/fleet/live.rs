//! The real fleet as the cockpit's `World`: the collectors report every host's weights,
//! lock, host sample, health, requests and TTFT; operations run on the same executor as the
//! headless commands.

use crate::app::driver::Driver;
use crate::app::keymap::KeyMap;
use crate::app::msg::Msg;
use crate::app::plan::Op;
use crate::app::state::{Gateway, Mode, State};
use crate::app::world::World;
use crate::fleet::collect::{self, Settings};
use crate::fleet::control::exec::Executor;
use crate::fleet::service::Fleet;
use crate::guard::GuardConfig;
use crate::model::Ms;
use tokio::sync::mpsc;

/// How often the cockpit re-evaluates guardrails and staleness.
const TICK_MS: Ms = 1000;

/// A live fleet: messages arrive from background tasks; `advance` hands them to the cockpit.
pub struct LiveFleet {
    exec: Executor,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    next_tick: Ms,
}

impl LiveFleet {
    /// Start every collector of every host; needs a tokio runtime. They stop with the fleet.
    pub(crate) fn start(exec: Executor, settings: &Settings) -> LiveFleet {
        let (tx, rx) = mpsc::unbounded_channel();
        collect::spawn_all(&exec.hosts, settings, &tx);
        LiveFleet {
            exec,
            tx,
            rx,
            next_tick: TICK_MS,
        }
    }
}

/// The live cockpit without its terminal: state and world of a real fleet, collectors
/// started (the terminal loop and the tests share it). Gateways keep the configuration's order.
pub fn driver(
    fleet: Fleet,
    guard: GuardConfig,
    keymap: KeyMap,
    themes: Vec<String>,
) -> Driver<LiveFleet> {
    let config = &fleet.config;
    let metrics = fleet.metrics.clone();
    let collect = Settings {
        interval: std::time::Duration::from_secs(guard.interval_secs.max(1)),
        probes: config.probes.clone(),
        parallel: config.ssh.max_parallel,
        expected_revision: config.preflight.expected_revision.clone(),
        check: std::sync::Arc::new(crate::fleet::preflight::remote::CheckSettings::for_config(
            config,
        )),
        metrics,
        metrics_max_window_ms: guard.fivexx_window_secs * 1000,
    };
    let windows = crate::sim::windows_for(&guard);
    let gateways = config
        .gateway
        .iter()
        .map(|g| Gateway::new(g.name.clone(), g.az.clone(), windows))
        .collect();
    let world = LiveFleet::start(fleet.exec, &collect);
    Driver::new(
        State::new(Mode::Live, gateways, guard, keymap, themes),
        world,
    )
}

impl World for LiveFleet {
    fn advance(&mut self, until: Ms, out: &mut Vec<(Ms, Msg)>) {
        while let Ok(msg) = self.rx.try_recv() {
            out.push((until, msg));
        }
        while self.next_tick <= until {
            out.push((self.next_tick, Msg::Tick));
            self.next_tick += TICK_MS;
        }
    }

    fn audit(&mut self, _now: Ms, note: crate::app::msg::AuditNote) {
        // One small fsynced append; the cockpit must not lose a veto or an abandon record.
        if let Err(e) = self.exec.note(&note) {
            tracing::error!(target: "cutover::ops", "audit log: {e}");
        }
    }

    fn color_log(&mut self, _now: Ms, ask: crate::app::msg::ColorLogAsk) -> Option<Msg> {
        let Some(host) = self.exec.hosts.get(ask.gateway).cloned() else {
            return Some(Msg::ColorLog(crate::app::msg::ColorLogAnswer {
                ask,
                result: Err("no such gateway".into()),
            }));
        };
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let result = collect::colorlog::read(&host, ask.color, &ask.request_id).await;
            let _ = tx.send(Msg::ColorLog(crate::app::msg::ColorLogAnswer {
                ask,
                result,
            }));
        });
        None
    }

    fn execute(&mut self, _now: Ms, op: Op) {
        let (exec, tx) = (self.exec.clone(), self.tx.clone());
        tokio::spawn(async move {
            let done = exec.execute(&op).await;
            let _ = tx.send(Msg::OpDone(done.outcome));
        });
    }
}
