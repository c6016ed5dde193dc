//! Exports for teams who watch a cutover from their own boards: Prometheus metrics on
//! `GET /metrics` and Grafana annotations at every reload and stop (`[export]` in
//! fleet.toml; docs/observability.md).
//!
//! - `metrics.rs`: the [`Collector`] watches the driver (an
//!   [`Observer`](crate::app::driver::Observer)): it counts requests and TTFT probes as
//!   messages pass and, after every tick, publishes a [`Snapshot`](metrics::Snapshot) of
//!   the state; `render` writes it in the Prometheus text format or OpenMetrics.
//! - `server.rs`: the HTTP endpoint, on a thread of its own.
//! - `digest_spool.rs`: the failure digests' spool directory (`cutover digest`).
//! - `annotate.rs` and `spool.rs`: the annotation queue behind the executor's hook, its
//!   retries and its spool beside the audit log.
//! - `watch.rs`: `cutover -c fleet.toml watch`, the collectors, guardrails and exports with
//!   no terminal.

pub(crate) mod annotate;
pub(crate) mod digest_spool;
pub mod metrics;
pub mod server;
pub(crate) mod spool;

use crate::app::driver::Driver;
use crate::app::world::World;
use crate::config::Config;
use annotate::{Annotator, Reporter, Target};
use metrics::{Collector, Published};
use server::MetricsServer;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a process may spend at exit delivering (or spooling) its last annotations.
pub(crate) const EXIT_BUDGET: Duration = Duration::from_secs(5);

/// State shared by the collector (driver thread), the annotation worker and the server.
#[derive(Debug, Default)]
pub struct Shared {
    /// Annotations delivered.
    pub(crate) annotations_sent: AtomicU64,
    /// Annotations that failed and were spooled.
    pub(crate) annotations_failed: AtomicU64,
    /// Green's version per gateway, as last heard (host sampler or version command).
    versions: Mutex<HashMap<String, String>>,
}

impl Shared {
    /// Remember green's version on `gateway`.
    pub(crate) fn set_version(&self, gateway: &str, version: &str) {
        let mut v = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        if v.get(gateway).map(String::as_str) != Some(version) {
            v.insert(gateway.to_string(), version.to_string());
        }
    }

    /// Green's version on `gateway`, if known.
    pub(crate) fn version(&self, gateway: &str) -> Option<String> {
        self.versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(gateway)
            .cloned()
    }
}

/// What one process exports, as `[export]` asks.
pub(crate) struct Exports {
    /// The latest snapshot, for the server.
    pub(crate) published: Published,
    /// Counters and versions.
    pub(crate) shared: Arc<Shared>,
    metrics_addr: Option<SocketAddr>,
    server: Option<MetricsServer>,
    annotator: Option<Annotator>,
}

impl Exports {
    /// Start the annotation worker when Grafana is configured (on the current tokio
    /// runtime); the metrics server starts with [`Exports::serve`].
    pub(crate) fn start(config: &Config, report: Reporter) -> Exports {
        let shared = Arc::new(Shared::default());
        let annotator =
            Target::from_config(config).map(|t| Annotator::start(t, shared.clone(), report));
        Exports {
            published: Published::default(),
            shared,
            metrics_addr: config.export.metrics_addr(),
            server: None,
            annotator,
        }
    }

    /// The executor hook that queues annotations, when Grafana is configured.
    pub(crate) fn hook(&self) -> Option<Arc<dyn crate::fleet::control::ExecHook>> {
        self.annotator.as_ref().map(Annotator::hook)
    }

    /// Watch `driver`: count as messages pass, publish a snapshot at every tick.
    pub(crate) fn observe<W: World>(&self, driver: &mut Driver<W>) {
        let c = Collector::new(&driver.state, self.published.clone(), self.shared.clone());
        driver.observe(Box::new(c));
    }

    /// Listen on `[export] metrics_listen`, if set; the address served, or why not.
    pub(crate) fn serve(&mut self) -> Result<Option<SocketAddr>, String> {
        let Some(addr) = self.metrics_addr else {
            return Ok(None);
        };
        let s = server::start(addr, self.published.clone())?;
        let at = s.local_addr();
        self.server = Some(s);
        Ok(Some(at))
    }

    /// The server's counters, when serving.
    pub(crate) fn server_stats(&self) -> Option<Arc<server::ServerStats>> {
        self.server.as_ref().map(|s| s.stats.clone())
    }

    /// Stop serving, and deliver or spool the last annotations within `within`.
    pub(crate) async fn finish(mut self, within: Duration) -> Option<annotate::Outcome> {
        drop(self.server.take());
        match self.annotator.take() {
            Some(a) => Some(a.finish(within).await),
            None => None,
        }
    }
}
