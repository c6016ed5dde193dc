//! What collectors report about one gateway. The simulator and the real
//! collectors produce exactly these values, so the model cannot tell them apart.

use super::buckets::BucketHistogram;
use super::window::Counts;
use super::{Color, PerColor, Weights};
use serde::{Deserialize, Serialize};

/// One request taken from the access log (or simulated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The color that served it; `None` when no upstream could be chosen.
    pub color: Option<Color>,
    /// HTTP status nginx returned.
    pub status: u16,
    /// Whole request time in ms.
    pub request_ms: u32,
    /// Upstream header time in ms, when known.
    pub header_ms: Option<u32>,
}

impl RequestRecord {
    /// A server error counts against the error budget.
    pub fn is_error(&self) -> bool {
        self.status >= 500
    }
}

/// Result of the composite health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// `"status":"ok"` with every sub-check true.
    Ok,
    /// `"status":"degraded"` with HTTP 200: yellow, not red.
    Degraded,
    /// Failed, non-200, or unreachable.
    Down,
    /// Nothing heard yet.
    Unknown,
}

impl HealthStatus {
    /// Name used in `status --json` and on screen.
    pub fn name(self) -> &'static str {
        match self {
            HealthStatus::Ok => "ok",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Down => "down",
            HealthStatus::Unknown => "unknown",
        }
    }
}

/// One health probe's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// Overall verdict.
    pub status: HealthStatus,
    /// Sub-checks that failed (names as the endpoint reported them, sanitized).
    pub failing: Vec<String>,
    /// Probe round-trip time in ms.
    pub latency_ms: u32,
}

/// One answer of the host sampler.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSample {
    /// Established connections to each color's port.
    pub conns: PerColor<u32>,
    /// Addresses each color listens on (e.g. `127.0.0.1:8787`).
    pub listeners: PerColor<Vec<String>>,
    /// Whether each color's service is running.
    pub running: PerColor<bool>,
    /// Each color's version (e.g. a git SHA), when it answered.
    pub versions: PerColor<Option<String>>,
    /// Host clock minus ours, in ms.
    pub clock_skew_ms: i64,
    /// nginx worker processes under the master (`None`: not sampled).
    #[serde(default)]
    pub nginx_workers: Option<u32>,
    /// nginx's stub_status, when it answered.
    #[serde(default)]
    pub nginx: Option<NginxStatus>,
    /// The configuration/secret revision of each color (preflight parity); `None`: not collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Boxed: rarely present and larger than the rest, it must not grow every telemetry message.
    pub revisions: Option<Box<Revisions>>,
}

/// What each color says about the configuration/secret revision it runs, and the revision the
/// fleet expects (`[preflight] expected_revision`), carried together so that a replay judges
/// as the session did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revisions {
    /// Each color's revision; `None`: it did not say (sanitized before it reaches the model).
    pub of: PerColor<Option<String>>,
    /// The revision both colors must run, when configured; otherwise green must equal blue.
    #[serde(default)]
    pub expected: Option<String>,
}

/// How one preflight check came out, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Holds.
    Ok,
    /// Known, and may be fine: advice (a certificate that expires within weeks, nginx's
    /// default `max_fails`). Does not hold a step.
    Warn,
    /// Could not be told (a limit not readable, an idle ceiling not configured): shown as a
    /// warning by `check`, and never a pass for a step.
    Unknown,
    /// Does not hold.
    Fail,
}

impl CheckStatus {
    /// The word in `check`'s table: `ok`, `warn` (unknown included) or `FAIL`.
    pub fn word(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Warn | CheckStatus::Unknown => "warn",
            CheckStatus::Fail => "FAIL",
        }
    }
}

/// One preflight check's outcome on one gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The check (`nginx buffering`, `nofile`, `tls`, ...).
    pub check: String,
    /// How it came out.
    pub status: CheckStatus,
    /// Why, in words (file and line for nginx findings).
    pub reason: String,
}

/// nginx's stub_status figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NginxStatus {
    /// Open client connections.
    pub active: u64,
    /// Requests served since the master started.
    pub requests: u64,
    /// Connections reading a request.
    pub reading: u64,
    /// Connections writing a response (streams in flight).
    pub writing: u64,
    /// Idle keep-alive connections.
    pub waiting: u64,
}

/// What one poll of the metrics source (Prometheus) said about one gateway. A part that did
/// not answer (a query error or timeout, no series, not a number) is `None`: unknown, never
/// zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSample {
    /// Requests and 5xx per color since the previous poll (a headless command's window).
    pub counts: PerColor<Option<Counts>>,
    /// Each color's TTFT histogram over the TTFT window.
    pub ttft: PerColor<Option<BucketHistogram>>,
    /// Streams in flight per color.
    pub streams: PerColor<Option<u64>>,
    /// The gateway's health as its exporters report it.
    pub health: Option<HealthStatus>,
    /// What did not answer, and why (sanitized): shown on screen, never a pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// A telemetry event for one gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Telemetry {
    /// A batch of requests from the access log.
    Requests {
        /// The requests, in log order.
        records: Vec<RequestRecord>,
    },
    /// A health probe result.
    Health(HealthReport),
    /// A synthetic TTFT probe result for one color.
    Ttft {
        /// The color probed directly.
        color: Color,
        /// Time to first content token in ms, or `None` when the probe failed.
        ms: Option<u32>,
    },
    /// A host sampler answer.
    Host(HostSample),
    /// Weights read back from the host's nginx configuration.
    Weights(Weights),
    /// The preflight checks that gate a step onto the candidate (nginx lint of what nginx
    /// loads, open-files limits, the certificate), as one round found them.
    Preflight {
        /// One finding per check.
        findings: Vec<Finding>,
    },
    /// One poll of the metrics source (`[telemetry] source = "prometheus"`): counts, TTFT
    /// histograms, streams and health from the fleet-wide queries. Not from the host: it
    /// says nothing of whether the host answers over SSH.
    Metrics(Box<MetricsSample>),
    /// The host could not be reached by a collector.
    Unreachable {
        /// What failed (sanitized).
        reason: String,
    },
}
