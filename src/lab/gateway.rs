//! The lab's gateway process: OpenAI-style streaming chat, composite health, version, fault injection.
//!
//! One color of an AI gateway build on a loopback address. nginx proxies to two of these in the
//! lab, and the integration tests talk to them directly. Everything the cockpit measures (TTFT,
//! 5xx ratio, health status) can be bent at run time through `PUT /_lab/behaviour`.
//!
//! `GET /metrics` exports the color's own view in the Prometheus text format (requests by
//! status class, a TTFT histogram, chat requests in flight, health), for `lab up --prometheus`.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::model::Color;
use crate::model::buckets::TTFT_BUCKETS;
use crate::sim::rng::Rng;

/// Largest request body accepted (chat and behaviour patches); larger gets 413.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;

/// Largest `tokens` value accepted: a non-streaming answer is built in memory.
pub(crate) const MAX_TOKENS: u32 = 100_000;

/// Queue depth from which health reports `degraded`.
pub(crate) const DEGRADED_QUEUE_DEPTH: u32 = 100;

/// The fields of [`Behaviour`], in declaration order (for error messages and the CLI).
pub(crate) const BEHAVIOUR_FIELDS: [&str; 10] = [
    "ttft_ms",
    "tokens_per_sec",
    "tokens",
    "error_rate",
    "hang",
    "disk",
    "webhook",
    "queue_depth",
    "revision",
    "nofile",
];

/// The configuration/secret revision every lab color reports until `lab fault ... revision=R`.
pub(crate) const DEFAULT_REVISION: &str = "r42";

const COLOR_HEADER: HeaderName = HeaderName::from_static("x-gateway-color");
/// The request ID nginx sets (`proxy_set_header X-Request-Id $request_id`).
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
const VERSION_HEADER: HeaderName = HeaderName::from_static("x-gateway-version");
/// The content type of the Prometheus text exposition format.
const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a lab gateway does; adjustable at run time for fault injection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Behaviour {
    /// Delay before the first content token, in milliseconds.
    pub ttft_ms: u64,
    /// Token rate after the first one; finite and above 0.
    pub(crate) tokens_per_sec: f64,
    /// Content tokens per response; at least 1.
    pub(crate) tokens: u32,
    /// Probability in [0, 1] that a chat request gets HTTP 500.
    pub(crate) error_rate: f64,
    /// Accept chat and health requests but never answer them.
    pub(crate) hang: bool,
    /// Disk check of the composite health; false means `down`.
    pub(crate) disk: bool,
    /// Webhook check of the composite health; false means `degraded`.
    pub(crate) webhook: bool,
    /// Reported queue depth; from [`DEGRADED_QUEUE_DEPTH`] on, health is `degraded`.
    pub(crate) queue_depth: u32,
    /// The configuration/secret revision the health answer reports (`revision`).
    pub(crate) revision: String,
    /// The process's open-files limit (soft `RLIMIT_NOFILE`), set when it changes and at
    /// start; 0 leaves the inherited limit.
    pub(crate) nofile: u64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            ttft_ms: 150,
            tokens_per_sec: 50.0,
            tokens: 20,
            error_rate: 0.0,
            hang: false,
            disk: true,
            webhook: true,
            queue_depth: 0,
            revision: DEFAULT_REVISION.into(),
            nofile: 0,
        }
    }
}

impl Behaviour {
    /// Check the values serde cannot; the error names the field.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(self.tokens_per_sec.is_finite() && self.tokens_per_sec > 0.0) {
            return Err(format!(
                "tokens_per_sec must be a finite number above 0, got {}",
                self.tokens_per_sec
            ));
        }
        if !(1..=MAX_TOKENS).contains(&self.tokens) {
            return Err(format!(
                "tokens must be between 1 and {MAX_TOKENS}, got {}",
                self.tokens
            ));
        }
        if !(self.error_rate.is_finite() && (0.0..=1.0).contains(&self.error_rate)) {
            return Err(format!(
                "error_rate must be between 0 and 1, got {}",
                self.error_rate
            ));
        }
        if self.revision.is_empty()
            || self.revision.len() > 64
            || !self
                .revision
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(format!(
                "revision must be 1 to 64 letters, digits, '-', '_' or '.', got {:?}",
                self.revision
            ));
        }
        if self.nofile != 0 && self.nofile < 16 {
            return Err(format!(
                "nofile must be 0 (inherited) or at least 16, got {}",
                self.nofile
            ));
        }
        Ok(())
    }

    /// Set this process's soft open-files limit to `nofile` (no-op at 0), as a service
    /// manager's `LimitNOFILE=` would; never above the hard limit.
    pub(crate) fn apply_nofile(&self) -> Result<(), String> {
        if self.nofile == 0 {
            return Ok(());
        }
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return Err(format!("getrlimit: {}", std::io::Error::last_os_error()));
        }
        lim.rlim_cur = (self.nofile as libc::rlim_t).min(lim.rlim_max);
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(format!("setrlimit: {}", std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// This behaviour with a partial JSON object merged onto it, validated; the error names the field.
    pub(crate) fn merged(&self, patch: &Value) -> Result<Behaviour, String> {
        let Value::Object(patch) = patch else {
            return Err(format!(
                "a behaviour patch must be a JSON object, got {}",
                json_kind(patch)
            ));
        };
        let mut current = match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            // Cannot happen for a plain struct; say so rather than panic.
            _ => return Err("cannot represent the current behaviour as JSON".to_string()),
        };
        for (key, value) in patch {
            if !BEHAVIOUR_FIELDS.contains(&key.as_str()) {
                return Err(unknown_field(key));
            }
            // Deserialize each field alone so a type error can name it (serde's own message does not).
            let single = Value::Object(Map::from_iter([(key.clone(), value.clone())]));
            if let Err(e) = serde_json::from_value::<Behaviour>(single) {
                return Err(format!("{key}: {e}"));
            }
            current.insert(key.clone(), value.clone());
        }
        let merged: Behaviour =
            serde_json::from_value(Value::Object(current)).map_err(|e| e.to_string())?;
        merged.validate()?;
        Ok(merged)
    }

    /// Health status and HTTP code implied by the flags.
    fn health(&self) -> (&'static str, StatusCode) {
        if !self.disk {
            ("down", StatusCode::SERVICE_UNAVAILABLE)
        } else if !self.webhook || self.queue_depth >= DEGRADED_QUEUE_DEPTH {
            ("degraded", StatusCode::OK)
        } else {
            ("ok", StatusCode::OK)
        }
    }

    /// Spacing between content tokens (a huge value for absurdly low rates, never a panic).
    fn token_interval(&self) -> Duration {
        Duration::try_from_secs_f64(1.0 / self.tokens_per_sec).unwrap_or(Duration::MAX)
    }
}

fn unknown_field(key: &str) -> String {
    format!(
        "unknown field `{key}`; valid fields: {}",
        BEHAVIOUR_FIELDS.join(", ")
    )
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Turn CLI words such as `ttft_ms=900 disk=false` into a behaviour patch, typed per field.
pub(crate) fn patch_from_assignments(words: &[String]) -> Result<Value, String> {
    let mut patch = Map::new();
    for word in words {
        let Some((key, raw)) = word.split_once('=') else {
            return Err(format!(
                "expected key=value, got `{word}`; valid keys: {}",
                BEHAVIOUR_FIELDS.join(", ")
            ));
        };
        let (key, raw) = (key.trim(), raw.trim());
        let bad = |what: &str| format!("{key}: `{raw}` is not {what}");
        let value = match key {
            "ttft_ms" | "nofile" => {
                Value::from(raw.parse::<u64>().map_err(|_| bad("a whole number"))?)
            }
            "revision" => Value::from(raw),
            "tokens" | "queue_depth" => {
                Value::from(raw.parse::<u32>().map_err(|_| bad("a whole number"))?)
            }
            "tokens_per_sec" | "error_rate" => {
                let x = raw.parse::<f64>().map_err(|_| bad("a number"))?;
                // JSON has no NaN or infinity.
                Value::Number(
                    serde_json::Number::from_f64(x).ok_or_else(|| bad("a finite number"))?,
                )
            }
            "hang" | "disk" | "webhook" => match raw {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(bad("true or false")),
            },
            _ => return Err(unknown_field(key)),
        };
        if patch.insert(key.to_string(), value).is_some() {
            return Err(format!("{key} is given more than once"));
        }
    }
    let patch = Value::Object(patch);
    // Range errors now, with the CLI's words, rather than as an HTTP 400 later.
    Behaviour::default().merged(&patch)?;
    Ok(patch)
}

/// A gateway to serve.
#[derive(Debug, Clone)]
pub(crate) struct GatewaySpec {
    /// Which color this process plays.
    pub(crate) color: Color,
    /// Build version reported by `/version`, health and headers (e.g. a git SHA).
    pub(crate) version: String,
    /// Behaviour at start.
    pub(crate) behaviour: Behaviour,
}

/// A color's own structured log: one JSON line per chat request, carrying nginx's request ID,
/// as a real gateway's logger would write (docs/configuration.md, "A color's own log").
pub(crate) struct RequestLog {
    /// Opened once with O_APPEND: each line is one `write`, so concurrent requests never
    /// interleave within a line and no lock is needed.
    file: std::fs::File,
    path: PathBuf,
    /// Lines that could not be written; only the first is reported on stderr.
    failures: AtomicU64,
}

/// One line of a [`RequestLog`].
#[derive(Serialize)]
struct LogLine<'a> {
    time: String,
    level: &'static str,
    request_id: &'a str,
    color: &'static str,
    version: &'a str,
    /// Absent when nothing was answered (a hang).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    msg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttft_ms: Option<u64>,
}

impl RequestLog {
    /// Open (create) `path` for appending.
    pub(crate) fn open(path: &Path) -> std::io::Result<RequestLog> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)?;
        Ok(RequestLog {
            file,
            path: path.to_path_buf(),
            failures: AtomicU64::new(0),
        })
    }

    /// Lines lost so far.
    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Append one line; a failure is counted (and reported once), never passed to the request.
    fn append(&self, line: &LogLine<'_>) {
        let mut buf = Vec::with_capacity(256);
        // Plain strings and numbers: serializing cannot fail.
        let _ = serde_json::to_writer(&mut buf, line);
        buf.push(b'\n');
        // One write(2): with O_APPEND the line lands whole at the end of the file. A short
        // write (full disk) leaves a torn line, counted like any other failure.
        let failed = match (&self.file).write(&buf) {
            Ok(n) if n == buf.len() => return,
            Ok(n) => format!("short write ({n} of {} bytes)", buf.len()),
            Err(e) => e.to_string(),
        };
        if self.failures.fetch_add(1, Ordering::Relaxed) == 0 {
            eprintln!(
                "{}: cannot append to the request log: {failed}; requests go on, further failures are only counted",
                self.path.display()
            );
        }
    }
}

/// What a chat request's log line needs from its start: its ID and when it arrived.
struct RequestInfo {
    id: String,
    started: Instant,
}

impl RequestInfo {
    fn of(req: &Request<Incoming>) -> RequestInfo {
        let id = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .unwrap_or("-");
        RequestInfo {
            id: id.to_string(),
            started: Instant::now(),
        }
    }
}

/// State shared by every connection of one gateway.
struct Shared {
    color: Color,
    version: String,
    color_value: HeaderValue,
    version_value: HeaderValue,
    behaviour: Mutex<Behaviour>,
    rng: Mutex<Rng>,
    requests: AtomicU64,
    /// This color's own structured log, when it keeps one.
    log: Option<RequestLog>,
    /// What `GET /metrics` exports.
    metrics: Arc<LabMetrics>,
}

/// A poisoned lock only means another request panicked; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The `code_class` values of `cutover_requests_total`, by slot of [`LabMetrics::requests`].
const CODE_CLASSES: [&str; 3] = ["2xx", "4xx", "5xx"];

/// The series one color exports on `GET /metrics`, counted lock-free as requests go.
struct LabMetrics {
    /// Chat answers by status class, one slot per [`CODE_CLASSES`] entry.
    requests: [AtomicU64; CODE_CLASSES.len()],
    /// TTFT observations per bucket of [`TTFT_BUCKETS`], not cumulative; the last slot is above 30 s.
    ttft_buckets: [AtomicU64; TTFT_BUCKETS.len() + 1],
    /// Sum of the TTFT observations, in microseconds.
    ttft_sum_us: AtomicU64,
    /// Chat requests in flight (see [`InFlight`]).
    active: AtomicU64,
}

impl LabMetrics {
    /// Every series at 0.
    fn new() -> LabMetrics {
        LabMetrics {
            requests: [const { AtomicU64::new(0) }; CODE_CLASSES.len()],
            ttft_buckets: [const { AtomicU64::new(0) }; TTFT_BUCKETS.len() + 1],
            ttft_sum_us: AtomicU64::new(0),
            active: AtomicU64::new(0),
        }
    }

    /// Count one chat answer by its status class (2xx, 4xx, 5xx; any other is not counted).
    fn count(&self, status: StatusCode) {
        let slot = match status.as_u16() / 100 {
            2 => 0,
            4 => 1,
            5 => 2,
            _ => return,
        };
        self.requests[slot].fetch_add(1, Ordering::Relaxed);
    }

    /// Record one time to first token in its bucket (`le` is inclusive) and in the sum.
    fn observe_ttft(&self, ttft: Duration) {
        let slot = TTFT_BUCKETS.partition_point(|&(ms, _)| Duration::from_millis(ms.into()) < ttft);
        self.ttft_buckets[slot].fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(ttft.as_micros()).unwrap_or(u64::MAX);
        self.ttft_sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every series, labelled with `color`; `health` is
    /// the `/health` status word (`down`, `degraded`, `ok`).
    fn render(&self, color: Color, health: &str) -> String {
        use std::fmt::Write as _;
        let c = color.name();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut s = String::with_capacity(4096);
        s.push_str(
            "# HELP cutover_requests_total Chat requests answered by this color, by status class.\n\
             # TYPE cutover_requests_total counter\n",
        );
        for (class, n) in CODE_CLASSES.iter().zip(&self.requests) {
            let _ = writeln!(
                s,
                "cutover_requests_total{{color=\"{c}\",code_class=\"{class}\"}} {}",
                load(n)
            );
        }
        s.push_str(
            "# HELP cutover_ttft_seconds Time to first content token of this color's successful chat answers.\n\
             # TYPE cutover_ttft_seconds histogram\n",
        );
        let mut cumulative = 0;
        for ((_, le), n) in TTFT_BUCKETS.iter().zip(&self.ttft_buckets) {
            cumulative += load(n);
            let _ = writeln!(
                s,
                "cutover_ttft_seconds_bucket{{color=\"{c}\",le=\"{le}\"}} {cumulative}"
            );
        }
        // +Inf and _count from the same reads, so they always agree.
        let count = cumulative + self.ttft_buckets.last().map_or(0, load);
        let sum = load(&self.ttft_sum_us) as f64 / 1e6;
        let _ = write!(
            s,
            "cutover_ttft_seconds_bucket{{color=\"{c}\",le=\"+Inf\"}} {count}\n\
             cutover_ttft_seconds_sum{{color=\"{c}\"}} {sum}\n\
             cutover_ttft_seconds_count{{color=\"{c}\"}} {count}\n"
        );
        let health = match health {
            "down" => 0,
            "degraded" => 1,
            _ => 2,
        };
        let _ = write!(
            s,
            "# HELP cutover_upstream_active_connections Chat requests this color has in flight.\n\
             # TYPE cutover_upstream_active_connections gauge\n\
             cutover_upstream_active_connections{{color=\"{c}\"}} {}\n\
             # HELP cutover_health This color's composite health: 0 down, 1 degraded, 2 ok.\n\
             # TYPE cutover_health gauge\n\
             cutover_health{{color=\"{c}\"}} {health}\n",
            load(&self.active)
        );
        s
    }
}

/// One chat request in flight: counted in [`LabMetrics::active`] from creation until dropped.
struct InFlight(Arc<LabMetrics>);

impl InFlight {
    /// Count a chat request in flight until the guard is dropped.
    fn start(metrics: &Arc<LabMetrics>) -> InFlight {
        metrics.active.fetch_add(1, Ordering::Relaxed);
        InFlight(metrics.clone())
    }
}

impl Drop for InFlight {
    /// The request is over (answered, or its client went away).
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Shared {
    fn behaviour(&self) -> Behaviour {
        lock(&self.behaviour).clone()
    }

    /// Log one chat request's outcome, if this color keeps a log: `error` for anything but a
    /// success, `status` None when nothing was answered.
    fn log(
        &self,
        info: &RequestInfo,
        status: Option<StatusCode>,
        failed: bool,
        msg: &str,
        ttft: Option<Duration>,
    ) {
        let Some(log) = &self.log else { return };
        log.append(&LogLine {
            time: crate::model::civil::now_rfc3339(),
            level: if failed { "error" } else { "info" },
            request_id: &info.id,
            color: self.color.name(),
            version: &self.version,
            status: status.map(|s| s.as_u16()),
            msg,
            ttft_ms: ttft.map(|d| d.as_millis() as u64),
        });
    }
}

type Body = BoxBody<Bytes, Infallible>;

/// Where a lab gateway listens: a TCP address, or a unix socket (`lab up --unix-sockets`).
pub(crate) enum Listener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A unix-socket listener.
    Unix(UnixListener),
}

/// One connection served with keep-alive until the client goes.
fn spawn_conn<S>(conns: &mut JoinSet<()>, shared: Arc<Shared>, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    conns.spawn(async move {
        let service = service_fn(move |req| {
            let shared = shared.clone();
            async move { Ok::<_, Infallible>(route(&shared, req).await) }
        });
        // An error here is a client that went away mid-exchange: nothing to report.
        let _ = http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
}

/// [`serve_logged`] without a request log: the in-process gateways of unit tests.
#[cfg(test)]
pub(crate) async fn serve_on(
    listener: Listener,
    spec: GatewaySpec,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_logged(listener, spec, None, shutdown).await
}

/// Serve until `shutdown` resolves (then stop accepting; in-flight streams may be dropped),
/// appending one line per chat request to `log` when given.
pub(crate) async fn serve_logged(
    listener: Listener,
    spec: GatewaySpec,
    log: Option<RequestLog>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    spec.behaviour
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let version_value = HeaderValue::from_str(&spec.version).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "version {:?} cannot be sent in an HTTP header",
                spec.version
            ),
        )
    })?;
    let seed = u64::from(std::process::id())
        ^ SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
    let shared = Arc::new(Shared {
        color: spec.color,
        color_value: HeaderValue::from_static(spec.color.name()),
        version: spec.version,
        version_value,
        behaviour: Mutex::new(spec.behaviour),
        rng: Mutex::new(Rng::new(seed)),
        requests: AtomicU64::new(0),
        log,
        metrics: Arc::new(LabMetrics::new()),
    });

    tokio::pin!(shutdown);
    // Dropping the set at return aborts every connection: that is the "in-flight may be dropped".
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = accept(&listener) => {
                match accepted {
                    Ok(Accepted::Tcp(stream)) => {
                        // SSE events are small; Nagle would hold them back and distort TTFT.
                        let _ = stream.set_nodelay(true);
                        spawn_conn(&mut conns, shared.clone(), stream);
                    }
                    Ok(Accepted::Unix(stream)) => spawn_conn(&mut conns, shared.clone(), stream),
                    Err(_) => {
                        // Per-connection failures (reset before accept, fd exhaustion): back off, go on.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }
    }
    if let Some(log) = &shared.log {
        let lost = log.failures();
        if lost > 0 {
            eprintln!("{}: {lost} request log lines lost", log.path.display());
        }
    }
    Ok(())
}

/// An accepted connection of either kind.
enum Accepted {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn accept(l: &Listener) -> std::io::Result<Accepted> {
    match l {
        Listener::Tcp(t) => t.accept().await.map(|(s, _)| Accepted::Tcp(s)),
        Listener::Unix(u) => u.accept().await.map(|(s, _)| Accepted::Unix(s)),
    }
}

async fn route(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    match req.uri().path() {
        "/v1/chat/completions" => match method {
            Method::POST => {
                // Counted when the answer starts: a stream's headers, a whole answer, an error.
                let resp = chat(shared, req).await;
                shared.metrics.count(resp.status());
                resp
            }
            _ => method_not_allowed(shared, "POST"),
        },
        "/metrics" => match method {
            Method::GET => metrics(shared).await,
            _ => method_not_allowed(shared, "GET"),
        },
        "/health" => match method {
            Method::GET => health(shared).await,
            _ => method_not_allowed(shared, "GET"),
        },
        "/version" => match method {
            Method::GET => respond(
                shared,
                StatusCode::OK,
                "text/plain; charset=utf-8",
                Bytes::from(format!("{}\n", shared.version)),
            ),
            _ => method_not_allowed(shared, "GET"),
        },
        "/_lab/behaviour" => match method {
            Method::GET => json_response(shared, StatusCode::OK, &shared.behaviour()),
            Method::PUT | Method::POST => put_behaviour(shared, req).await,
            _ => method_not_allowed(shared, "GET, PUT, POST"),
        },
        path => error_response(
            shared,
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("no route for {path}"),
        ),
    }
}

/// Never answer; hyper drops this future when the client hangs up or the server shuts down.
async fn hang_forever() -> Response<Body> {
    std::future::pending().await
}

async fn health(shared: &Shared) -> Response<Body> {
    let b = shared.behaviour();
    if b.hang {
        return hang_forever().await;
    }
    #[derive(Serialize)]
    struct Health<'a> {
        disk: bool,
        webhook: bool,
        queue_depth: u32,
        status: &'static str,
        color: &'static str,
        version: &'a str,
        revision: &'a str,
    }
    let (status, code) = b.health();
    let body = Health {
        disk: b.disk,
        webhook: b.webhook,
        queue_depth: b.queue_depth,
        status,
        color: shared.color.name(),
        version: &shared.version,
        revision: &b.revision,
    };
    json_response(shared, code, &body)
}

/// `GET /metrics`: this color's series, Prometheus text format; hangs with the process.
async fn metrics(shared: &Shared) -> Response<Body> {
    let b = shared.behaviour();
    if b.hang {
        return hang_forever().await;
    }
    let text = shared.metrics.render(shared.color, b.health().0);
    respond(
        shared,
        StatusCode::OK,
        METRICS_CONTENT_TYPE,
        Bytes::from(text),
    )
}

async fn put_behaviour(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    let bytes = match read_body(shared, req).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let patch: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return bad_request(shared, &format!("invalid JSON body: {e}")),
    };
    // Merge under the lock so concurrent patches do not lose each other's fields.
    let result = {
        let mut current = lock(&shared.behaviour);
        current
            .merged(&patch)
            .inspect(|next| *current = next.clone())
    };
    match result.and_then(|next| next.apply_nofile().map(|()| next)) {
        Ok(next) => json_response(shared, StatusCode::OK, &next),
        Err(e) => bad_request(shared, &e),
    }
}

async fn chat(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let info = RequestInfo::of(&req);
    // In flight until this returns, or, for a stream, until its task ends.
    let in_flight = InFlight::start(&shared.metrics);
    // Read once: a patch applies to requests that start after it.
    let b = shared.behaviour();
    if b.hang {
        // Logged now: a hung request never ends on its own, and the process may be killed.
        shared.log(&info, None, true, "hang", None);
        // Consume the body first so hyper goes on reading the socket and sees the client hang up.
        let _ = Limited::new(req.into_body(), BODY_LIMIT).collect().await;
        return hang_forever().await;
    }
    let refuse = |message: String| {
        shared.log(
            &info,
            Some(StatusCode::BAD_REQUEST),
            true,
            &format!("bad request: {message}"),
            None,
        );
        bad_request(shared, &message)
    };
    let bytes = match read_body(shared, req).await {
        Ok(b) => b,
        Err(resp) => {
            shared.log(
                &info,
                Some(resp.status()),
                true,
                "unreadable request body",
                None,
            );
            return resp;
        }
    };
    let request: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return refuse(format!("invalid JSON body: {e}")),
    };
    let Value::Object(request) = request else {
        return refuse("the request body must be a JSON object".to_string());
    };
    let stream = match request.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(s)) => *s,
        Some(other) => {
            return refuse(format!(
                "`stream` must be a boolean, got {}",
                json_kind(other)
            ));
        }
    };
    let (fault, nonce) = {
        let mut rng = lock(&shared.rng);
        (rng.chance(b.error_rate), rng.next_u64())
    };
    if fault {
        if shared.log.is_some() {
            shared.log(
                &info,
                Some(StatusCode::INTERNAL_SERVER_ERROR),
                true,
                &format!("injected error (error_rate {})", b.error_rate),
                None,
            );
        }
        return error_response(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &format!("injected fault ({})", shared.color),
        );
    }
    let n = shared.requests.fetch_add(1, Ordering::Relaxed);
    let completion = Completion {
        id: format!("chatcmpl-{}-{n}-{:08x}", shared.color, nonce as u32),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        model: format!("lab-{}", shared.color),
        ttft: Duration::from_millis(b.ttft_ms),
        interval: b.token_interval(),
        tokens: b.tokens,
    };
    if stream {
        stream_response(shared, completion, info, in_flight)
    } else {
        let rest = completion
            .interval
            .saturating_mul(completion.tokens.saturating_sub(1));
        tokio::time::sleep(completion.ttft.saturating_add(rest)).await;
        // Without streaming, the first token reaches the client with the whole answer.
        let ttft = info.started.elapsed();
        shared.metrics.observe_ttft(ttft);
        shared.log(
            &info,
            Some(StatusCode::OK),
            false,
            "chat completion",
            Some(ttft),
        );
        json_response(shared, StatusCode::OK, &completion.whole())
    }
}

/// One chat answer being produced.
struct Completion {
    id: String,
    created: u64,
    model: String,
    ttft: Duration,
    interval: Duration,
    tokens: u32,
}

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [ChunkChoice<'a>; 1],
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
}

fn token(i: u32) -> String {
    format!("tok{i} ")
}

impl Completion {
    /// One SSE `data:` event for a chunk with this delta.
    fn event(&self, delta: Delta<'_>, finish_reason: Option<&'static str>) -> Bytes {
        let chunk = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: [ChunkChoice {
                index: 0,
                delta,
                finish_reason,
            }],
        };
        let json = serde_json::to_string(&chunk).unwrap_or_default();
        Bytes::from(format!("data: {json}\n\n"))
    }

    /// The non-streaming `chat.completion` object.
    fn whole(&self) -> Value {
        let content: String = (0..self.tokens).map(token).collect();
        serde_json::json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": 0, "completion_tokens": self.tokens, "total_tokens": self.tokens},
        })
    }
}

/// A response body fed event by event from a task, each event its own frame.
struct EventBody {
    rx: mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut()
            .rx
            .poll_recv(cx)
            .map(|event| event.map(|bytes| Ok(Frame::data(bytes))))
    }
}

fn stream_response(
    shared: &Arc<Shared>,
    completion: Completion,
    info: RequestInfo,
    in_flight: InFlight,
) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let log = shared.clone();
    tokio::spawn(async move {
        // In flight until this task ends, however it ends.
        let _in_flight = in_flight;
        // Each step returns None once the client is gone (the body, hence the receiver, dropped).
        async fn pause(tx: &mpsc::Sender<Bytes>, d: Duration) -> Option<()> {
            tokio::select! {
                () = tokio::time::sleep(d) => Some(()),
                () = tx.closed() => None,
            }
        }
        /// What the stream got to: when its first content token went out, how many did.
        #[derive(Default)]
        struct Progress {
            first_token: Option<Instant>,
            sent: u32,
        }
        async fn run(
            tx: mpsc::Sender<Bytes>,
            c: &Completion,
            p: &mut Progress,
            metrics: &LabMetrics,
            started: Instant,
        ) -> Option<()> {
            tx.send(Bytes::from_static(b": keep-alive\n\n"))
                .await
                .ok()?;
            let role = Delta {
                role: Some("assistant"),
                content: Some(""),
            };
            tx.send(c.event(role, None)).await.ok()?;
            pause(&tx, c.ttft).await?;
            for i in 0..c.tokens {
                if i > 0 {
                    pause(&tx, c.interval).await?;
                }
                let text = token(i);
                let delta = Delta {
                    role: None,
                    content: Some(&text),
                };
                tx.send(c.event(delta, None)).await.ok()?;
                if p.first_token.is_none() {
                    // Observed as it goes out, not when the stream ends.
                    let at = Instant::now();
                    p.first_token = Some(at);
                    metrics.observe_ttft(at - started);
                }
                p.sent += 1;
            }
            let end = Delta {
                role: None,
                content: None,
            };
            tx.send(c.event(end, Some("stop"))).await.ok()?;
            tx.send(Bytes::from_static(b"data: [DONE]\n\n")).await.ok()
        }
        let mut p = Progress::default();
        let done = run(tx, &completion, &mut p, &log.metrics, info.started)
            .await
            .is_some();
        // Logged at the end, as a gateway logs a request once it is over.
        let ttft = p.first_token.map(|t| t - info.started);
        if done {
            log.log(
                &info,
                Some(StatusCode::OK),
                false,
                "chat completion streamed",
                ttft,
            );
        } else if log.log.is_some() {
            let msg = format!(
                "stream cut after {} of {} tokens: the client went away",
                p.sent, completion.tokens
            );
            log.log(&info, Some(StatusCode::OK), true, &msg, ttft);
        }
    });
    let mut resp = Response::new(EventBody { rx }.boxed());
    decorate(shared, &mut resp, StatusCode::OK, "text/event-stream");
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx not to buffer the stream, whatever proxy_buffering says.
    h.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    resp
}

/// The request body, or the error response to send instead.
async fn read_body(shared: &Shared, req: Request<Incoming>) -> Result<Bytes, Response<Body>> {
    let too_large = || {
        error_response(
            shared,
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            &format!("request body larger than {BODY_LIMIT} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    match Limited::new(req.into_body(), BODY_LIMIT).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(bad_request(
            shared,
            &format!("cannot read the request body: {e}"),
        )),
    }
}

/// Status, content type and the two identity headers every response carries.
fn decorate(
    shared: &Shared,
    resp: &mut Response<Body>,
    status: StatusCode,
    content_type: &'static str,
) {
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(COLOR_HEADER, shared.color_value.clone());
    h.insert(VERSION_HEADER, shared.version_value.clone());
}

fn respond(
    shared: &Shared,
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<Body> {
    let mut resp = Response::new(Full::new(body).boxed());
    decorate(shared, &mut resp, status, content_type);
    resp
}

fn json_response(shared: &Shared, status: StatusCode, value: &impl Serialize) -> Response<Body> {
    // Our own plain types always serialize; an empty body would be the only fallout otherwise.
    let body = serde_json::to_vec(value).unwrap_or_default();
    respond(shared, status, "application/json", Bytes::from(body))
}

fn error_response(
    shared: &Shared,
    status: StatusCode,
    kind: &str,
    message: &str,
) -> Response<Body> {
    let body = serde_json::json!({"error": {"message": message, "type": kind}});
    json_response(shared, status, &body)
}

fn bad_request(shared: &Shared, message: &str) -> Response<Body> {
    error_response(
        shared,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        message,
    )
}

fn method_not_allowed(shared: &Shared, allow: &'static str) -> Response<Body> {
    let mut resp = error_response(
        shared,
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        &format!("method not allowed; use {allow}"),
    );
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

// ---------------------------------------------------------------------------------------------
// Client side: what `cutover lab fault` and the tests use.

/// Where a lab gateway is reached: its TCP address or its unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `ip:port`.
    Tcp(SocketAddr),
    /// A unix socket path.
    Unix(std::path::PathBuf),
}

impl From<SocketAddr> for Endpoint {
    fn from(a: SocketAddr) -> Endpoint {
        Endpoint::Tcp(a)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "{a}"),
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

impl Endpoint {
    /// The URL of `path` on this endpoint (a unix socket is dialled whatever the host says).
    fn url(&self, path: &str) -> String {
        match self {
            Endpoint::Tcp(a) => format!("http://{a}{path}"),
            Endpoint::Unix(_) => format!("http://localhost{path}"),
        }
    }
}

/// Apply a JSON patch (a partial Behaviour object) over HTTP (`PUT /_lab/behaviour`); returns the result.
pub(crate) async fn patch_behaviour(
    addr: impl Into<Endpoint>,
    patch: &Value,
    timeout: Duration,
) -> Result<Behaviour, String> {
    let addr = addr.into();
    let url = addr.url("/_lab/behaviour");
    let body = serde_json::to_vec(patch).map_err(|e| format!("cannot encode the patch: {e}"))?;
    let request = client(timeout, &addr)?
        .put(&url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body);
    let text = send(request, "PUT", &url, &addr, timeout).await?;
    parse_behaviour(&text, &url)
}

/// Fetch the gateway's live behaviour (`GET /_lab/behaviour`).
pub async fn get_behaviour(
    addr: impl Into<Endpoint>,
    timeout: Duration,
) -> Result<Behaviour, String> {
    let addr = addr.into();
    let (url, text) = get_text(&addr, "/_lab/behaviour", timeout).await?;
    parse_behaviour(&text, &url)
}

/// GET `path` on the gateway: its URL and the body.
async fn get_text(
    addr: &Endpoint,
    path: &str,
    timeout: Duration,
) -> Result<(String, String), String> {
    let url = addr.url(path);
    let text = send(client(timeout, addr)?.get(&url), "GET", &url, addr, timeout).await?;
    Ok((url, text))
}

/// Fetch the gateway's version (`GET /version`), trimmed.
pub(crate) async fn get_version(
    addr: impl Into<Endpoint>,
    timeout: Duration,
) -> Result<String, String> {
    let (_, text) = get_text(&addr.into(), "/version", timeout).await?;
    Ok(text.trim().to_string())
}

fn client(timeout: Duration, addr: &Endpoint) -> Result<reqwest::Client, String> {
    // No proxy: the lab's addresses are loopback and must be reached directly.
    match addr {
        Endpoint::Tcp(_) => crate::fleet::probe::http_client(timeout),
        Endpoint::Unix(path) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::builder()
                .no_proxy()
                .timeout(timeout)
                .unix_socket(path.as_path())
                .build()
                .map_err(|e| format!("cannot build an HTTP client: {e}"))
        }
    }
}

/// Send, require a 2xx, and return the body text; errors say what went wrong where.
async fn send(
    request: reqwest::RequestBuilder,
    method: &str,
    url: &str,
    addr: &Endpoint,
    timeout: Duration,
) -> Result<String, String> {
    let resp = request
        .send()
        .await
        .map_err(|e| describe(&e, method, url, addr, timeout))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| describe(&e, method, url, addr, timeout))?;
    if !status.is_success() {
        // Prefer the gateway's own error message over the raw JSON.
        let detail = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| text.trim().to_string());
        return Err(format!("{method} {url}: HTTP {status}: {detail}"));
    }
    Ok(text)
}

fn parse_behaviour(text: &str, url: &str) -> Result<Behaviour, String> {
    serde_json::from_str(text).map_err(|e| format!("{url}: unexpected answer ({e}): {text}"))
}

fn describe(
    e: &reqwest::Error,
    method: &str,
    url: &str,
    addr: &Endpoint,
    timeout: Duration,
) -> String {
    if e.is_timeout() {
        return format!("{method} {url}: no answer within {timeout:?}");
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return format!("connection refused to {addr} (is the gateway running?)");
            }
        }
        source = err.source();
    }
    if e.is_connect() {
        return format!(
            "cannot connect to {addr}: {}",
            crate::fleet::probe::dial::chain(e)
        );
    }
    format!("{method} {url}: {}", crate::fleet::probe::dial::chain(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tokio::sync::oneshot;

    const T: Duration = Duration::from_secs(5);

    /// A running gateway on an ephemeral loopback port.
    struct Running {
        addr: SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    impl Running {
        fn url(&self, path: &str) -> String {
            format!("http://{}{path}", self.addr)
        }

        async fn shutdown(mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            let result = tokio::time::timeout(T, &mut self.task)
                .await
                .expect("serve returns after shutdown")
                .expect("serve task did not panic");
            assert!(result.is_ok(), "{result:?}");
        }
    }

    async fn start(color: Color, behaviour: Behaviour) -> Running {
        start_logged(color, behaviour, None).await
    }

    async fn start_logged(color: Color, behaviour: Behaviour, log: Option<RequestLog>) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let spec = GatewaySpec {
            color,
            version: "v1.2.3-test".to_string(),
            behaviour,
        };
        let task = tokio::spawn(serve_logged(Listener::Tcp(listener), spec, log, async {
            let _ = stopped.await;
        }));
        Running {
            addr,
            stop: Some(stop),
            task,
        }
    }

    fn fast() -> Behaviour {
        Behaviour {
            ttft_ms: 20,
            tokens_per_sec: 200.0,
            tokens: 3,
            ..Behaviour::default()
        }
    }

    fn http() -> reqwest::Client {
        crate::fleet::probe::http_client(T).expect("client")
    }

    async fn chat(gw: &Running, stream: bool) -> reqwest::Response {
        let body = serde_json::json!({
            "model": "whatever",
            "stream": stream,
            "messages": [{"role": "user", "content": "hi"}],
        });
        http()
            .post(gw.url("/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("chat request")
    }

    async fn json_of(resp: reqwest::Response) -> Value {
        let text = resp.text().await.expect("body");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[test]
    fn defaults_and_validation_name_the_field() {
        let d = Behaviour::default();
        assert_eq!(
            (d.ttft_ms, d.tokens_per_sec, d.tokens, d.error_rate),
            (150, 50.0, 20, 0.0)
        );
        assert!(!d.hang && d.disk && d.webhook && d.queue_depth == 0);
        assert_eq!(d.validate(), Ok(()));
        let cases = [
            (
                Behaviour {
                    tokens_per_sec: 0.0,
                    ..d.clone()
                },
                "tokens_per_sec",
            ),
            (
                Behaviour {
                    tokens_per_sec: f64::NAN,
                    ..d.clone()
                },
                "tokens_per_sec",
            ),
            (
                Behaviour {
                    tokens: 0,
                    ..d.clone()
                },
                "tokens",
            ),
            (
                Behaviour {
                    error_rate: 1.5,
                    ..d.clone()
                },
                "error_rate",
            ),
            (
                Behaviour {
                    error_rate: -0.1,
                    ..d.clone()
                },
                "error_rate",
            ),
        ];
        for (b, field) in cases {
            let err = b.validate().expect_err(field);
            assert!(err.starts_with(field), "{err}");
        }
        // An empty object deserializes to the defaults.
        let empty: Behaviour = serde_json::from_str("{}").expect("defaults");
        assert_eq!(empty, d);
    }

    #[test]
    fn merged_applies_fields_and_names_bad_ones() {
        let d = Behaviour::default();
        let b = d
            .merged(&serde_json::json!({"ttft_ms": 900, "disk": false, "tokens_per_sec": 7}))
            .expect("valid patch");
        assert_eq!(
            b,
            Behaviour {
                ttft_ms: 900,
                disk: false,
                tokens_per_sec: 7.0,
                ..d.clone()
            }
        );
        let err = d
            .merged(&serde_json::json!({"ttft": 1}))
            .expect_err("unknown");
        assert!(
            err.contains("`ttft`") && err.contains("ttft_ms") && err.contains("queue_depth"),
            "{err}"
        );
        let err = d
            .merged(&serde_json::json!({"hang": "yes"}))
            .expect_err("type");
        assert!(err.starts_with("hang:"), "{err}");
        let err = d
            .merged(&serde_json::json!({"tokens": -1}))
            .expect_err("negative");
        assert!(err.starts_with("tokens:"), "{err}");
        let err = d
            .merged(&serde_json::json!({"error_rate": 2}))
            .expect_err("range");
        assert!(err.starts_with("error_rate"), "{err}");
        let err = d.merged(&serde_json::json!([1])).expect_err("not object");
        assert!(err.contains("JSON object"), "{err}");
    }

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn assignments_become_a_typed_patch() {
        let patch = patch_from_assignments(&words(
            "ttft_ms=900 error_rate=0.2 disk=false hang=true tokens=5 queue_depth=120 tokens_per_sec=12",
        ))
        .expect("valid");
        assert_eq!(
            patch,
            serde_json::json!({
                "ttft_ms": 900, "error_rate": 0.2, "disk": false, "hang": true,
                "tokens": 5, "queue_depth": 120, "tokens_per_sec": 12.0,
            })
        );
        assert_eq!(
            patch_from_assignments(&[]).expect("empty"),
            serde_json::json!({})
        );

        let err = patch_from_assignments(&words("ttfb=3")).expect_err("unknown");
        assert!(
            err.contains("`ttfb`") && err.contains("ttft_ms") && err.contains("webhook"),
            "{err}"
        );
        let err = patch_from_assignments(&words("ttft_ms=fast")).expect_err("bad u64");
        assert!(err.contains("ttft_ms") && err.contains("fast"), "{err}");
        let err = patch_from_assignments(&words("disk=nope")).expect_err("bad bool");
        assert!(err.contains("disk") && err.contains("nope"), "{err}");
        let err = patch_from_assignments(&words("error_rate=NaN")).expect_err("nan");
        assert!(err.contains("error_rate") && err.contains("NaN"), "{err}");
        let err = patch_from_assignments(&words("error_rate=3")).expect_err("range");
        assert!(err.contains("error_rate"), "{err}");
        let err = patch_from_assignments(&words("tokens=-2")).expect_err("negative");
        assert!(err.contains("tokens") && err.contains("-2"), "{err}");
        let err = patch_from_assignments(&words("hang")).expect_err("no =");
        assert!(err.contains("key=value") && err.contains("hang"), "{err}");
        let err = patch_from_assignments(&words("hang=true hang=false")).expect_err("twice");
        assert!(err.contains("hang"), "{err}");
    }

    #[tokio::test]
    async fn stream_events_come_in_order_and_content_waits_for_ttft() {
        let ttft = Duration::from_millis(200);
        let gw = start(
            Color::Green,
            Behaviour {
                ttft_ms: 200,
                tokens_per_sec: 50.0,
                tokens: 3,
                ..Behaviour::default()
            },
        )
        .await;
        let sent = Instant::now();
        let mut resp = chat(&gw, true).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(header(&resp, "content-type"), "text/event-stream");
        assert_eq!(header(&resp, "cache-control"), "no-cache");
        assert_eq!(header(&resp, "x-accel-buffering"), "no");
        assert_eq!(header(&resp, "x-gateway-color"), "green");
        assert_eq!(header(&resp, "x-gateway-version"), "v1.2.3-test");

        // Split on blank lines as they arrive, stamping each event with its arrival time.
        let mut events: Vec<(String, Duration)> = Vec::new();
        let mut buf = String::new();
        while let Some(chunk) = resp.chunk().await.expect("chunk") {
            let at = sent.elapsed();
            buf.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
            while let Some(end) = buf.find("\n\n") {
                events.push((buf[..end].to_string(), at));
                buf.drain(..end + 2);
            }
        }
        let ended = sent.elapsed();
        assert!(buf.is_empty(), "trailing bytes: {buf:?}");
        let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(names.len(), 1 + 1 + 3 + 1 + 1, "{names:#?}");
        assert_eq!(names[0], ": keep-alive");
        assert_eq!(*names.last().expect("events"), "data: [DONE]");

        let chunks: Vec<Value> = names[1..names.len() - 1]
            .iter()
            .map(|e| {
                let json = e.strip_prefix("data: ").expect("data event");
                serde_json::from_str(json).expect("chunk JSON")
            })
            .collect();
        for c in &chunks {
            assert_eq!(c["object"], "chat.completion.chunk");
            assert_eq!(c["model"], "lab-green");
            assert!(
                c["id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("chatcmpl-"))
            );
            assert_eq!(c["id"], chunks[0]["id"], "one id per completion");
        }
        let role = &chunks[0]["choices"][0];
        assert_eq!(role["delta"]["role"], "assistant");
        assert_eq!(role["delta"]["content"], "");
        assert!(role["finish_reason"].is_null());
        let contents: Vec<&str> = chunks[1..4]
            .iter()
            .map(|c| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .expect("content")
            })
            .collect();
        assert_eq!(contents, ["tok0 ", "tok1 ", "tok2 "]);
        let finish = &chunks[4]["choices"][0];
        assert_eq!(finish["finish_reason"], "stop");
        assert_eq!(finish["delta"], serde_json::json!({}));

        // TTFT: the first content event, not the first byte, and never earlier than ttft_ms.
        let first_content = events[2].1;
        assert!(events[0].1 <= first_content && events[1].1 <= first_content);
        assert!(
            first_content >= ttft,
            "first content after {first_content:?}"
        );
        assert!(first_content <= ended);
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn non_streaming_answer_is_one_completion() {
        let gw = start(Color::Blue, fast()).await;
        let sent = Instant::now();
        let resp = chat(&gw, false).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(header(&resp, "x-gateway-color"), "blue");
        let v = json_of(resp).await;
        assert!(sent.elapsed() >= Duration::from_millis(20));
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["model"], "lab-blue");
        assert_eq!(v["choices"][0]["message"]["content"], "tok0 tok1 tok2 ");
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn error_rate_one_injects_500() {
        let gw = start(
            Color::Green,
            Behaviour {
                error_rate: 1.0,
                ..fast()
            },
        )
        .await;
        for stream in [false, true] {
            let resp = chat(&gw, stream).await;
            assert_eq!(resp.status(), 500);
            assert_eq!(header(&resp, "x-gateway-color"), "green");
            let v = json_of(resp).await;
            assert_eq!(
                v,
                serde_json::json!({"error": {"message": "injected fault (green)", "type": "server_error"}})
            );
        }
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn bad_requests_get_4xx() {
        let gw = start(Color::Blue, fast()).await;
        let c = http();
        let resp = c
            .post(gw.url("/v1/chat/completions"))
            .body("{not json")
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 400);
        assert_eq!(header(&resp, "x-gateway-version"), "v1.2.3-test");
        let v = json_of(resp).await;
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("invalid JSON")),
            "{v}"
        );
        let resp = c
            .post(gw.url("/v1/chat/completions"))
            .body(r#"{"stream":"yes"}"#)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 400);
        let resp = c
            .post(gw.url("/v1/chat/completions"))
            .body(vec![b' '; BODY_LIMIT + 1])
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 413);
        let resp = c.get(gw.url("/nope")).send().await.expect("send");
        assert_eq!(resp.status(), 404);
        assert_eq!(header(&resp, "x-gateway-color"), "blue");
        let resp = c
            .get(gw.url("/v1/chat/completions"))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 405);
        assert_eq!(header(&resp, "allow"), "POST");
        let resp = c.delete(gw.url("/health")).send().await.expect("send");
        assert_eq!(resp.status(), 405);
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn health_follows_the_flags() {
        let gw = start(Color::Green, fast()).await;
        let c = http();
        let check = |expect_code: u16, expect_status: &'static str| {
            let c = c.clone();
            let url = gw.url("/health");
            async move {
                let resp = c.get(&url).send().await.expect("health");
                assert_eq!(resp.status(), expect_code);
                assert_eq!(header(&resp, "content-type"), "application/json");
                let v = json_of(resp).await;
                assert_eq!(v["status"], expect_status, "{v}");
                assert_eq!(v["color"], "green");
                assert_eq!(v["version"], "v1.2.3-test");
                v
            }
        };
        let v = check(200, "ok").await;
        assert_eq!(
            (&v["disk"], &v["webhook"], &v["queue_depth"]),
            (&Value::Bool(true), &Value::Bool(true), &Value::from(0))
        );

        patch_behaviour(gw.addr, &serde_json::json!({"disk": false}), T)
            .await
            .expect("patch");
        let v = check(503, "down").await;
        assert_eq!(v["disk"], false);

        patch_behaviour(
            gw.addr,
            &serde_json::json!({"disk": true, "webhook": false}),
            T,
        )
        .await
        .expect("patch");
        check(200, "degraded").await;

        patch_behaviour(
            gw.addr,
            &serde_json::json!({"webhook": true, "queue_depth": 100}),
            T,
        )
        .await
        .expect("patch");
        let v = check(200, "degraded").await;
        assert_eq!(v["queue_depth"], 100);

        patch_behaviour(gw.addr, &serde_json::json!({"queue_depth": 99}), T)
            .await
            .expect("patch");
        check(200, "ok").await;
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn bad_patch_is_rejected_and_changes_nothing() {
        let gw = start(Color::Blue, fast()).await;
        let before = get_behaviour(gw.addr, T).await.expect("get");
        assert_eq!(before, fast());

        let resp = http()
            .put(gw.url("/_lab/behaviour"))
            .body(r#"{"ttft_ms": 5, "colour": "red"}"#)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 400);
        let v = json_of(resp).await;
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("`colour`")),
            "{v}"
        );
        assert_eq!(get_behaviour(gw.addr, T).await.expect("get"), before);

        let err = patch_behaviour(gw.addr, &serde_json::json!({"tokens_per_sec": 0}), T)
            .await
            .expect_err("invalid value");
        assert!(
            err.contains("HTTP 400") && err.contains("tokens_per_sec"),
            "{err}"
        );
        let err = patch_behaviour(gw.addr, &serde_json::json!({"nope": 1}), T)
            .await
            .expect_err("unknown field");
        assert!(err.contains("`nope`"), "{err}");
        assert_eq!(get_behaviour(gw.addr, T).await.expect("get"), before);
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn a_patch_changes_later_responses() {
        let gw = start(Color::Green, fast()).await;
        assert_eq!(
            get_version(gw.addr, T).await.expect("version"),
            "v1.2.3-test"
        );
        assert_eq!(chat(&gw, false).await.status(), 200);

        let b = patch_behaviour(gw.addr, &serde_json::json!({"error_rate": 1}), T)
            .await
            .expect("patch");
        assert_eq!(b.error_rate, 1.0);
        assert_eq!(b.ttft_ms, fast().ttft_ms, "other fields kept");
        assert_eq!(chat(&gw, false).await.status(), 500);

        // POST is accepted as well as PUT.
        let resp = http()
            .post(gw.url("/_lab/behaviour"))
            .body(r#"{"error_rate": 0, "tokens": 1}"#)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 200);
        let v = json_of(chat(&gw, false).await).await;
        assert_eq!(v["choices"][0]["message"]["content"], "tok0 ");
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn hang_stalls_chat_and_health_but_not_the_lab_endpoint() {
        let gw = start(Color::Blue, fast()).await;
        patch_behaviour(gw.addr, &serde_json::json!({"hang": true}), T)
            .await
            .expect("patch");
        let short = crate::fleet::probe::http_client(Duration::from_millis(300)).expect("client");
        let err = short
            .get(gw.url("/health"))
            .send()
            .await
            .expect_err("health must hang");
        assert!(err.is_timeout(), "{err}");
        let err = short
            .post(gw.url("/v1/chat/completions"))
            .body(r#"{"stream":true}"#)
            .send()
            .await
            .expect_err("chat must hang");
        assert!(err.is_timeout(), "{err}");

        assert!(get_behaviour(gw.addr, T).await.expect("get").hang);
        patch_behaviour(gw.addr, &serde_json::json!({"hang": false}), T)
            .await
            .expect("un-hang");
        let resp = short.get(gw.url("/health")).send().await.expect("health");
        assert_eq!(resp.status(), 200);
        // Shutdown must not wait for the abandoned hung requests.
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn client_errors_name_the_problem() {
        // Bind then drop: nothing listens on that port any more.
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            l.local_addr().expect("addr")
        };
        let err = get_behaviour(addr, T).await.expect_err("refused");
        assert!(
            err.contains("connection refused") && err.contains(&addr.to_string()),
            "{err}"
        );
        let err = patch_behaviour(addr, &serde_json::json!({}), T)
            .await
            .expect_err("refused");
        assert!(err.contains("connection refused"), "{err}");
    }

    #[tokio::test]
    async fn shutdown_stops_accepting() {
        let gw = start(Color::Green, fast()).await;
        let addr = gw.addr;
        assert!(get_version(addr, T).await.is_ok());
        gw.shutdown().await;
        let err = get_version(addr, T).await.expect_err("closed");
        assert!(err.contains("connection refused"), "{err}");
    }

    /// The lines of a request log once it holds `n`, each parsed (a stream's line is written
    /// just after its last event, so it may trail the client by a moment).
    async fn log_lines(path: &Path, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + T;
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if text.lines().count() >= n || Instant::now() > deadline {
                assert!(text.ends_with('\n') || text.is_empty(), "{text}");
                return text
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn each_chat_request_appends_one_json_line_with_its_request_id() {
        let dir = std::env::temp_dir().join(format!("cutover-reqlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("green.requests.jsonl");
        // Appended to, never truncated: a restarted color keeps its history.
        std::fs::write(&path, "{\"msg\":\"before\"}\n").expect("seed");
        let log = RequestLog::open(&path).expect("open");
        let gw = start_logged(Color::Green, fast(), Some(log)).await;
        let c = http();
        let send = |id: Option<&str>, body: &str| {
            let mut r = c
                .post(gw.url("/v1/chat/completions"))
                .body(body.to_string());
            if let Some(id) = id {
                r = r.header("x-request-id", id);
            }
            async move { r.send().await.expect("send") }
        };
        let resp = send(Some("4f1c2a9b8d7e6f5a"), r#"{"stream":true}"#).await;
        assert_eq!(resp.status(), 200);
        resp.text().await.expect("stream");
        let resp = send(None, r#"{"stream":false}"#).await;
        assert_eq!(resp.status(), 200);
        let resp = send(Some("bad-1"), "{not json").await;
        assert_eq!(resp.status(), 400);
        patch_behaviour(gw.addr, &serde_json::json!({"error_rate": 1}), T)
            .await
            .expect("patch");
        assert_eq!(send(Some("err-1"), "{}").await.status(), 500);
        patch_behaviour(
            gw.addr,
            &serde_json::json!({"error_rate": 0, "hang": true}),
            T,
        )
        .await
        .expect("patch");
        let short = crate::fleet::probe::http_client(Duration::from_millis(200)).expect("client");
        let hung = short
            .post(gw.url("/v1/chat/completions"))
            .header("x-request-id", "hang-1")
            .body("{}")
            .send()
            .await;
        assert!(hung.is_err(), "a hung request gets no answer");

        let lines = log_lines(&path, 6).await;
        assert_eq!(lines.len(), 6, "{lines:#?}");
        assert_eq!(lines[0]["msg"], "before");
        for l in &lines[1..] {
            assert_eq!(
                (&l["color"], &l["version"]),
                (&"green".into(), &"v1.2.3-test".into())
            );
            let time = l["time"].as_str().expect("time");
            // RFC 3339 UTC with milliseconds: 2026-11-22T00:43:55.123Z.
            assert!(
                time.len() == 24 && time.ends_with('Z') && time.as_bytes()[19] == b'.',
                "{time}"
            );
        }
        // The stream's line comes at its end, after the non-streamed answer may have been
        // logged: find each by its request ID.
        let by_id = |id: &str| {
            lines[1..]
                .iter()
                .find(|l| l["request_id"] == id)
                .unwrap_or_else(|| panic!("no line for {id}: {lines:#?}"))
        };
        let streamed = by_id("4f1c2a9b8d7e6f5a");
        assert_eq!(
            (&streamed["level"], &streamed["status"], &streamed["msg"]),
            (
                &"info".into(),
                &200.into(),
                &"chat completion streamed".into()
            )
        );
        assert!(
            streamed["ttft_ms"]
                .as_u64()
                .is_some_and(|t| t >= fast().ttft_ms),
            "{streamed}"
        );
        let plain = by_id("-");
        assert_eq!(
            (&plain["level"], &plain["status"]),
            (&"info".into(), &200.into())
        );
        assert!(plain["ttft_ms"].is_u64(), "{plain}");
        let bad = by_id("bad-1");
        assert_eq!(
            (&bad["level"], &bad["status"]),
            (&"error".into(), &400.into())
        );
        let err = by_id("err-1");
        assert_eq!(
            (&err["level"], &err["status"], &err["msg"]),
            (
                &"error".into(),
                &500.into(),
                &"injected error (error_rate 1)".into()
            )
        );
        assert!(err.get("ttft_ms").is_none(), "{err}");
        let hang = by_id("hang-1");
        assert_eq!(
            (&hang["level"], &hang["msg"]),
            (&"error".into(), &"hang".into())
        );
        assert!(hang.get("status").is_none(), "nothing was answered: {hang}");
        gw.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_log_that_cannot_be_written_never_fails_a_request() {
        // /dev/full refuses every write with ENOSPC, as a full disk would.
        let Ok(log) = RequestLog::open(Path::new("/dev/full")) else {
            return;
        };
        let line = LogLine {
            time: String::new(),
            level: "info",
            request_id: "-",
            color: "blue",
            version: "v",
            status: Some(200),
            msg: "m",
            ttft_ms: None,
        };
        log.append(&line);
        log.append(&line);
        assert_eq!(log.failures(), 2);
        let gw = start_logged(Color::Blue, fast(), Some(log)).await;
        for stream in [false, true] {
            let resp = chat(&gw, stream).await;
            assert_eq!(resp.status(), 200);
            resp.text().await.expect("body");
        }
        gw.shutdown().await;
    }

    /// `GET /metrics`, which must answer 200 in the exposition format: the body.
    async fn scrape(gw: &Running) -> String {
        let resp = http().get(gw.url("/metrics")).send().await.expect("scrape");
        assert_eq!(resp.status(), 200);
        assert_eq!(header(&resp, "content-type"), METRICS_CONTENT_TYPE);
        resp.text().await.expect("body")
    }

    /// The value of `series` (name and labels exactly as written) in a scrape.
    fn sample(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    }

    /// The `le` label and value of each `cutover_ttft_seconds_bucket` line of `color`.
    fn buckets(text: &str, color: &str) -> Vec<(String, f64)> {
        let prefix = format!("cutover_ttft_seconds_bucket{{color=\"{color}\",le=\"");
        text.lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(|rest| {
                let (le, v) = rest.split_once("\"} ").expect("le=\"…\"} value");
                (le.to_string(), v.parse().expect("a number"))
            })
            .collect()
    }

    /// The in-flight gauge of a blue gateway once it reads `want` (streams end just after
    /// their last event), or its last reading after a few seconds.
    async fn in_flight(gw: &Running, want: f64) -> f64 {
        let deadline = Instant::now() + T;
        loop {
            let n = sample(
                &scrape(gw).await,
                "cutover_upstream_active_connections{color=\"blue\"}",
            );
            if n == want || Instant::now() > deadline {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[test]
    fn lab_metrics_render_every_series_with_cumulative_buckets() {
        let m = Arc::new(LabMetrics::new());
        let empty = m.render(Color::Green, "ok");
        for class in CODE_CLASSES {
            let line =
                format!("cutover_requests_total{{color=\"green\",code_class=\"{class}\"}} 0\n");
            assert!(empty.contains(&line), "{line} in:\n{empty}");
        }
        assert!(empty.contains("cutover_ttft_seconds_bucket{color=\"green\",le=\"+Inf\"} 0\n"));
        assert!(empty.contains("cutover_ttft_seconds_count{color=\"green\"} 0\n"));
        assert!(empty.contains("cutover_ttft_seconds_sum{color=\"green\"} 0\n"));
        assert!(empty.contains("cutover_upstream_active_connections{color=\"green\"} 0\n"));
        assert!(empty.contains("cutover_health{color=\"green\"} 2\n"));

        for code in [200, 200, 413, 400, 500, 101, 302] {
            m.count(StatusCode::from_u16(code).expect("status"));
        }
        // `le` is inclusive: 50 ms lands in le="0.05"; 31 s only in +Inf.
        for ms in [30, 50, 130, 31_000] {
            m.observe_ttft(Duration::from_millis(ms));
        }
        let guard = InFlight::start(&m);
        let text = m.render(Color::Green, "degraded");
        let expect = [
            "# TYPE cutover_requests_total counter",
            "cutover_requests_total{color=\"green\",code_class=\"2xx\"} 2",
            "cutover_requests_total{color=\"green\",code_class=\"4xx\"} 2",
            "cutover_requests_total{color=\"green\",code_class=\"5xx\"} 1",
            "# TYPE cutover_ttft_seconds histogram",
            "cutover_ttft_seconds_bucket{color=\"green\",le=\"0.05\"} 2",
            "cutover_ttft_seconds_bucket{color=\"green\",le=\"0.12\"} 2",
            "cutover_ttft_seconds_bucket{color=\"green\",le=\"0.14\"} 3",
            "cutover_ttft_seconds_bucket{color=\"green\",le=\"30.0\"} 3",
            "cutover_ttft_seconds_bucket{color=\"green\",le=\"+Inf\"} 4",
            "cutover_ttft_seconds_sum{color=\"green\"} 31.21",
            "cutover_ttft_seconds_count{color=\"green\"} 4",
            "# TYPE cutover_upstream_active_connections gauge",
            "cutover_upstream_active_connections{color=\"green\"} 1",
            "# TYPE cutover_health gauge",
            "cutover_health{color=\"green\"} 1",
        ];
        for line in expect {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        let b = buckets(&text, "green");
        let les: Vec<&str> = b.iter().map(|(le, _)| le.as_str()).collect();
        let want: Vec<&str> = TTFT_BUCKETS
            .iter()
            .map(|&(_, le)| le)
            .chain(["+Inf"])
            .collect();
        assert_eq!(les, want);
        assert!(b.windows(2).all(|w| w[0].1 <= w[1].1), "{b:?}");
        // Every line is a HELP, a TYPE, or a sample of this color; each family once.
        for l in text.lines() {
            assert!(
                l.starts_with("# HELP cutover_")
                    || l.starts_with("# TYPE cutover_")
                    || l.contains("{color=\"green\""),
                "{l}"
            );
        }
        assert_eq!(text.matches("# TYPE ").count(), 4, "{text}");
        assert_eq!(text.matches("# HELP ").count(), 4, "{text}");
        drop(guard);
        let down = m.render(Color::Green, "down");
        assert!(down.contains("cutover_upstream_active_connections{color=\"green\"} 0\n"));
        assert!(down.contains("cutover_health{color=\"green\"} 0\n"));
    }

    #[tokio::test]
    async fn metrics_count_chat_answers_ttft_and_requests_in_flight() {
        let gw = start(Color::Blue, fast()).await;
        let before = scrape(&gw).await;
        for class in CODE_CLASSES {
            let series = format!("cutover_requests_total{{color=\"blue\",code_class=\"{class}\"}}");
            assert_eq!(
                sample(&before, &series),
                0.0,
                "{series} exists from the start"
            );
        }
        assert_eq!(
            sample(&before, "cutover_ttft_seconds_count{color=\"blue\"}"),
            0.0
        );
        assert_eq!(sample(&before, "cutover_health{color=\"blue\"}"), 2.0);
        assert_eq!(in_flight(&gw, 0.0).await, 0.0);

        // A whole answer (its first token comes with it, after about 30 ms) and a stream
        // whose first token waits 250 ms.
        let resp = chat(&gw, false).await;
        assert_eq!(resp.status(), 200);
        resp.text().await.expect("answer");
        patch_behaviour(gw.addr, &serde_json::json!({"ttft_ms": 250}), T)
            .await
            .expect("patch");
        let resp = chat(&gw, true).await;
        assert_eq!(resp.status(), 200);
        resp.text().await.expect("stream");
        // A refused request and an injected fault.
        let resp = http()
            .post(gw.url("/v1/chat/completions"))
            .body("{not json")
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 400);
        patch_behaviour(gw.addr, &serde_json::json!({"error_rate": 1}), T)
            .await
            .expect("patch");
        assert_eq!(chat(&gw, true).await.status(), 500);
        // A stream in flight whose client goes away before its first token.
        patch_behaviour(
            gw.addr,
            &serde_json::json!({"error_rate": 0, "ttft_ms": 10_000}),
            T,
        )
        .await
        .expect("patch");
        let open = chat(&gw, true).await;
        assert_eq!(open.status(), 200);
        assert_eq!(
            in_flight(&gw, 1.0).await,
            1.0,
            "the open stream is in flight"
        );
        drop(open);
        assert_eq!(in_flight(&gw, 0.0).await, 0.0, "every stream has ended");

        let text = scrape(&gw).await;
        for line in [
            "cutover_requests_total{color=\"blue\",code_class=\"2xx\"} 3",
            "cutover_requests_total{color=\"blue\",code_class=\"4xx\"} 1",
            "cutover_requests_total{color=\"blue\",code_class=\"5xx\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        // The abandoned stream sent no token: two observations.
        let count = sample(&text, "cutover_ttft_seconds_count{color=\"blue\"}");
        assert_eq!(count, 2.0, "{text}");
        let b = buckets(&text, "blue");
        assert_eq!(b.len(), TTFT_BUCKETS.len() + 1, "{text}");
        assert_eq!(b.last(), Some(&("+Inf".to_string(), count)));
        assert!(b.windows(2).all(|w| w[0].1 <= w[1].1), "cumulative: {b:?}");
        for (le, n) in &b[..TTFT_BUCKETS.len()] {
            if le.parse::<f64>().expect("le") < 0.25 {
                assert!(*n <= 1.0, "the stream's TTFT is at least 250 ms: {b:?}");
            }
        }
        let sum = sample(&text, "cutover_ttft_seconds_sum{color=\"blue\"}");
        assert!(sum >= 0.28, "{sum}");

        patch_behaviour(gw.addr, &serde_json::json!({"webhook": false}), T)
            .await
            .expect("patch");
        assert_eq!(
            sample(&scrape(&gw).await, "cutover_health{color=\"blue\"}"),
            1.0
        );
        patch_behaviour(gw.addr, &serde_json::json!({"disk": false}), T)
            .await
            .expect("patch");
        assert_eq!(
            sample(&scrape(&gw).await, "cutover_health{color=\"blue\"}"),
            0.0
        );
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn metrics_hang_with_the_process() {
        let gw = start(Color::Green, fast()).await;
        patch_behaviour(gw.addr, &serde_json::json!({"hang": true}), T)
            .await
            .expect("patch");
        let short = crate::fleet::probe::http_client(Duration::from_millis(300)).expect("client");
        let err = short
            .get(gw.url("/metrics"))
            .send()
            .await
            .expect_err("a hung process answers no scrape");
        assert!(err.is_timeout(), "{err}");
        patch_behaviour(gw.addr, &serde_json::json!({"hang": false}), T)
            .await
            .expect("un-hang");
        let resp = short.get(gw.url("/metrics")).send().await.expect("scrape");
        assert_eq!(resp.status(), 200);
        let resp = short.post(gw.url("/metrics")).send().await.expect("send");
        assert_eq!(resp.status(), 405);
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn serve_rejects_a_bad_spec() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let spec = GatewaySpec {
            color: Color::Blue,
            version: "bad\nversion".to_string(),
            behaviour: Behaviour::default(),
        };
        let err = serve_on(Listener::Tcp(listener), spec, async {})
            .await
            .expect_err("bad version");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}
