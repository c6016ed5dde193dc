//! The fleet service: the configured gateways reached over SSH, read in bulk and snapshot
//! into the same telemetry the cockpit folds. The live cockpit, `watch` and the headless
//! commands all stand on it.

use crate::app::msg::Msg;
use crate::app::plan::Scope;
use crate::app::state::{Gateway, Mode, State};
use crate::app::update::update;
use crate::config::Config;
use crate::fleet::audit::AuditLog;
use crate::fleet::collect::burst::{self, Snapshot};
use crate::fleet::collect::prometheus::PromSource;
use crate::fleet::control::{Actor, Executor, Host, HostRead};
use crate::fleet::remote::{Ssh, SshOptions};
use crate::guard::GuardConfig;
use crate::model::Ms;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Which gateways a command acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// One gateway by name.
    Gateway(String),
    /// Every gateway of an AZ.
    Az(String),
    /// The whole fleet.
    All,
}

/// Why the fleet service cannot be set up, or cannot judge what it was asked. Its own type:
/// the fleet sits below the commands, which turn it into their exit codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetError {
    /// The configuration or the request names what is not there (no gateway, an unknown name).
    Invalid(String),
    /// Setting up failed: the SSH options, the audit log.
    Setup(String),
}

impl std::fmt::Display for FleetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FleetError::Invalid(m) | FleetError::Setup(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for FleetError {}

/// The fleet reached over SSH.
pub struct Fleet {
    /// The configuration.
    pub(crate) config: Config,
    /// The executor (hosts, audit, actor).
    pub exec: Executor,
    /// Most gateways worked on at once (`[ssh] max_parallel`).
    pub(crate) max_parallel: usize,
    /// Set by SIGINT, SIGTERM or SIGHUP: operations already sent finish and are audited, no
    /// new one starts, waits end.
    pub(crate) interrupted: Arc<AtomicBool>,
    /// The Prometheus telemetry source, when `[telemetry] source = "prometheus"`.
    pub(crate) metrics: Option<Arc<PromSource>>,
}

impl Fleet {
    /// Connect-free set-up: SSH options, hosts, audit log.
    pub fn new(config: Config, actor: Actor) -> Result<Fleet, FleetError> {
        if config.gateway.is_empty() {
            return Err(FleetError::Invalid(
                "the configuration has no [[gateway]]: a real fleet needs at least one".into(),
            ));
        }
        let s = &config.ssh;
        let opts = SshOptions::new(
            s.config.clone(),
            Duration::from_secs(s.connect_timeout_secs),
            Duration::from_secs(s.command_timeout_secs),
        )
        .map_err(FleetError::Setup)?;
        let ssh = Ssh::new(opts);
        let hosts = config
            .gateway
            .iter()
            .map(|g| Host::new(g.clone(), ssh.clone()))
            .collect();
        let audit = AuditLog::open(&config.audit_log_path()).map_err(FleetError::Setup)?;
        let metrics = PromSource::from_config(&config).map_err(FleetError::Setup)?;
        Ok(Fleet {
            metrics,
            max_parallel: s.max_parallel,
            exec: Executor::new(hosts, audit, actor),
            config,
            interrupted: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Read every gateway at once (bounded), in configuration order.
    pub async fn read_all(&self) -> Vec<Result<HostRead, String>> {
        let sem = Arc::new(Semaphore::new(self.max_parallel));
        let mut tasks = Vec::new();
        for h in self.exec.hosts.iter() {
            let h = h.clone();
            let sem = sem.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = sem.acquire().await;
                h.read(&mut Vec::new()).await
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(
                t.await
                    .unwrap_or_else(|e| Err(format!("internal error: {e}"))),
            );
        }
        out
    }

    /// Fresh data on every gateway: weights, host sample, health, a burst of TTFT probes per
    /// color and the access log of the 5xx window; the same telemetry the cockpit folds.
    /// With Prometheus as the source, one poll of it over the 5xx window replaces the access
    /// logs and the health probes.
    pub(crate) async fn snapshot_all(&self) -> Vec<Snapshot> {
        let g = &self.config.guardrails;
        let client = crate::fleet::probe::tls::client(
            Duration::from_secs(3),
            self.config.probes.ca_file.as_deref(),
            false,
        )
        .ok();
        // With Prometheus as the source, it counts the requests and tells the health.
        let (log_window, health_client) = match self.metrics {
            Some(_) => (None, None),
            None => (
                Some(Duration::from_secs(g.fivexx_window_secs)),
                client.as_ref(),
            ),
        };
        let mut snaps = burst::burst_all(
            &self.exec.hosts,
            &self.config.probes,
            // At least 20 a color: a burst's medians are taken at one moment, and a handful
            // of samples makes the comparison a coin toss.
            g.ttft_min_samples.max(BURST_TTFT_SAMPLES),
            log_window,
            health_client,
            self.max_parallel,
        )
        .await;
        self.add_revisions(&mut snaps).await;
        if let Some(source) = &self.metrics {
            let at = crate::fleet::collect::wall_ms();
            let polled = source.poll_window(at, g.fivexx_window_secs * 1000).await;
            for (snap, m) in snaps.iter_mut().zip(polled) {
                snap.telemetry
                    .push(crate::model::Telemetry::Metrics(Box::new(m)));
            }
        }
        snaps
    }

    /// Each reached gateway's revisions, into its host sample, and its preflight round:
    /// revision parity and the preflight are step rules. Asked after the burst, so that their
    /// requests to the colors are not counted as their connections by the burst's sampler.
    async fn add_revisions(&self, snaps: &mut [Snapshot]) {
        use crate::fleet::preflight::remote::{CheckSettings, gate_rows};
        let expected = self.config.preflight.expected_revision.clone();
        let check = Arc::new(CheckSettings::for_config(&self.config));
        let sem = Arc::new(Semaphore::new(self.max_parallel));
        let mut tasks = Vec::new();
        for (h, snap) in self.exec.hosts.iter().zip(snaps.iter()) {
            let sampled = snap
                .telemetry
                .iter()
                .any(|t| matches!(t, crate::model::Telemetry::Host(_)));
            let (h, sem, expected, check) =
                (h.clone(), sem.clone(), expected.clone(), check.clone());
            tasks.push(tokio::spawn(async move {
                if !sampled {
                    return None;
                }
                let _permit = sem.acquire().await;
                let r = crate::fleet::collect::revisions::revisions(&h, expected.as_deref()).await;
                let rows = gate_rows(&h, &check, &mut Vec::new()).await;
                Some((r, crate::fleet::preflight::findings(&rows)))
            }));
        }
        for (snap, t) in snaps.iter_mut().zip(tasks) {
            let Ok(Some((r, findings))) = t.await else {
                continue;
            };
            for data in &mut snap.telemetry {
                if let crate::model::Telemetry::Host(h) = data {
                    h.revisions = Some(Box::new(r.clone()));
                }
            }
            snap.telemetry
                .push(crate::model::Telemetry::Preflight { findings });
        }
    }

    /// A cockpit state that folded the snapshots through `update`, so the planner and the
    /// safety rules judge exactly as in the cockpit.
    /// A cockpit state judged from `snaps` at `SNAPSHOT_AT`, with `target` in scope.
    pub(crate) fn state(&self, snaps: &[Snapshot], target: &Target) -> Result<State, FleetError> {
        let guard: GuardConfig = self.config.guardrails;
        let windows = crate::sim::windows_for(&guard);
        let gateways: Vec<Gateway> = self
            .config
            .gateway
            .iter()
            .map(|g| Gateway::new(g.name.clone(), g.az.clone(), windows))
            .collect();
        let mut state = State::new(Mode::Live, gateways, guard, Default::default(), Vec::new());
        for (i, snap) in snaps.iter().enumerate() {
            if let Ok(read) = &snap.read {
                update(
                    &mut state,
                    Msg::Lock {
                        gateway: i,
                        holder: read.lock.clone(),
                    },
                    SNAPSHOT_AT,
                );
            }
            for data in &snap.telemetry {
                let msg = Msg::Telemetry {
                    gateway: i,
                    data: data.clone(),
                };
                update(&mut state, msg, SNAPSHOT_AT);
            }
        }
        update(&mut state, Msg::Tick, SNAPSHOT_AT);
        let names = |pred: &dyn Fn(&Gateway) -> bool| state.gateways.iter().position(pred);
        let (selected, scope) = match target {
            Target::Gateway(n) => (
                names(&|g: &Gateway| g.name == *n).ok_or_else(|| {
                    FleetError::Invalid(format!(
                        "--gateway {n}: no such gateway in the configuration (have {})",
                        self.config
                            .gateway
                            .iter()
                            .map(|g| g.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
                Scope::Gateway,
            ),
            Target::Az(az) => (
                names(&|g: &Gateway| g.az == *az).ok_or_else(|| {
                    FleetError::Invalid(format!("--az {az}: no gateway in that AZ"))
                })?,
                Scope::Az,
            ),
            Target::All => (0, Scope::Fleet),
        };
        state.selected = selected;
        state.scope = scope;
        Ok(state)
    }
}

/// Fewest TTFT probes per color a headless burst sends.
pub(crate) const BURST_TTFT_SAMPLES: u64 = 20;

/// The instant a headless state is judged at: the snapshots all arrive then, so they are
/// fresh, and a gateway never heard from is stale.
pub(crate) const SNAPSHOT_AT: Ms = 3_600_000;
