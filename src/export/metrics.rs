//! What `/metrics` says: a [`Snapshot`] of the cockpit taken on every tick by the
//! [`Collector`] (an [`Observer`] of the driver), and its rendering in the Prometheus text
//! format 0.0.4 or OpenMetrics 1.0.
//!
//! The text format is written by hand rather than with the `prometheus-client` crate: that
//! crate keeps its own registry of atomic metrics and label maps, which we would have to
//! mirror the state into on every tick, and it writes OpenMetrics only, while Prometheus's
//! plain 0.0.4 format is the one asked for by default. Our figures are already computed once
//! per tick; rendering them is a few loops over plain numbers (see `render`), with no
//! dependency to keep.

use super::Shared;
use crate::app::driver::Observer;
use crate::app::msg::Msg;
use crate::app::rules;
use crate::app::state::State;
use crate::guard::verdict::Judgement;
use crate::model::{Color, HealthStatus, Ms, PerColor, Telemetry, Weights};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) use crate::model::buckets::TTFT_BUCKETS;

/// `code_class` label values, by `status / 100 - 1`; `other` for anything outside 100-599.
pub(crate) const CODE_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];

/// Guardrails always exported, so a series exists (inconclusive) before there is data.
const GUARDRAILS: [&str; 6] = ["freshness", "ttft", "5xx", "burn", "listeners", "health"];

/// Snapshots older than this are not served as current: the gauges are dropped (the cockpit
/// stopped ticking; its figures would be frozen).
pub(crate) const SNAPSHOT_STALE: Duration = Duration::from_secs(10);

/// A cumulative histogram of TTFT probe results (counts per bucket, not yet cumulative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TtftHistogram {
    /// Observations per bucket of [`TTFT_BUCKETS`]; the last slot is above 30 s.
    pub(crate) buckets: [u64; TTFT_BUCKETS.len() + 1],
    /// Observations.
    pub(crate) count: u64,
    /// Sum of the observations, ms.
    pub(crate) sum_ms: u64,
}

impl Default for TtftHistogram {
    fn default() -> Self {
        TtftHistogram {
            buckets: [0; TTFT_BUCKETS.len() + 1],
            count: 0,
            sum_ms: 0,
        }
    }
}

impl TtftHistogram {
    /// Count one probe result of `ms`.
    pub(crate) fn observe(&mut self, ms: u32) {
        let i = TTFT_BUCKETS.partition_point(|&(le, _)| le < ms);
        self.buckets[i] += 1;
        self.count += 1;
        self.sum_ms += u64::from(ms);
    }
}

/// One gateway's figures at a tick.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewaySnap {
    /// `gateway="…",az="…"`, escaped once.
    pub(crate) labels: Arc<str>,
    /// Weights read back from the host.
    pub(crate) weights: Option<Weights>,
    /// Established connections per color, from a host sample that is not stale.
    pub(crate) conns: Option<PerColor<u32>>,
    /// 5xx ratio per color over the guardrail window (`None` without requests).
    pub(crate) ratio: PerColor<Option<f64>>,
    /// 0 down, 1 degraded, 2 ok; `None` before the first probe.
    pub(crate) health: Option<u8>,
    /// Per guardrail: 0 pass, 1 inconclusive, 2 fail.
    pub(crate) guardrails: Vec<(&'static str, u8)>,
    /// Seconds since the host last answered over SSH (`None`: never).
    pub(crate) age_secs: Option<f64>,
    /// The host's data is stale or it is unreachable: host-derived gauges are dropped.
    pub(crate) stale: bool,
    /// Requests per color and [`CODE_CLASSES`] since the exporter started.
    pub(crate) requests: PerColor<[u64; 6]>,
    /// TTFT probe results per color since the exporter started.
    pub(crate) ttft: PerColor<TtftHistogram>,
    /// Weight changes read back (each one an nginx reload) since the exporter started.
    pub(crate) reloads: u64,
}

/// Everything `/metrics` serves, taken at one tick.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When it was taken.
    pub(crate) taken: Instant,
    /// Gateways in the cockpit's order.
    pub gateways: Vec<GatewaySnap>,
    /// Annotations delivered to Grafana by this process.
    pub(crate) annotations_sent: u64,
    /// Annotations that failed after their retries and went to the spool.
    pub(crate) annotations_failed: u64,
}

impl Snapshot {
    /// A snapshot with no gateways (before the first tick).
    pub fn empty() -> Snapshot {
        Snapshot {
            taken: Instant::now(),
            gateways: Vec::new(),
            annotations_sent: 0,
            annotations_failed: 0,
        }
    }
}

/// The latest snapshot, shared between the driver's thread (writer, once per tick) and the
/// metrics server's thread (readers): a pointer swap under a lock held for nanoseconds.
#[derive(Debug, Clone)]
pub struct Published(Arc<Mutex<Arc<Snapshot>>>);

impl Default for Published {
    fn default() -> Self {
        Published(Arc::new(Mutex::new(Arc::new(Snapshot::empty()))))
    }
}

impl Published {
    /// The latest snapshot.
    pub fn get(&self) -> Arc<Snapshot> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Make `snap` the latest.
    pub(crate) fn set(&self, snap: Snapshot) {
        let snap = Arc::new(snap);
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = snap;
    }
}

/// Cumulative figures of one gateway, kept by the collector.
#[derive(Debug, Clone)]
struct Acc {
    name: String,
    labels: Arc<str>,
    requests: PerColor<[u64; 6]>,
    ttft: PerColor<TtftHistogram>,
    reloads: u64,
    weights: Option<Weights>,
    green_version: Option<String>,
}

/// Watches the driver: counts requests and TTFT probes as messages pass, and publishes a
/// [`Snapshot`] after every tick.
pub struct Collector {
    acc: Vec<Acc>,
    published: Published,
    shared: Arc<Shared>,
}

impl Collector {
    /// A collector for the gateways of `state`, publishing into `published`.
    pub fn new(state: &State, published: Published, shared: Arc<Shared>) -> Collector {
        let acc = state
            .gateways
            .iter()
            .map(|g| Acc {
                name: g.name.clone(),
                labels: format!("gateway=\"{}\",az=\"{}\"", escape(&g.name), escape(&g.az)).into(),
                requests: PerColor::default(),
                ttft: PerColor::default(),
                reloads: 0,
                weights: None,
                green_version: None,
            })
            .collect();
        Collector {
            acc,
            published,
            shared,
        }
    }

    /// The figures of `state` now, with the counts seen so far.
    pub fn snapshot(&self, state: &State) -> Snapshot {
        let now = state.now;
        let stale_after = state.cfg.stale_after_ms();
        let gateways = state
            .gateways
            .iter()
            .zip(&self.acc)
            .map(|(g, acc)| {
                let m = &g.model;
                let fresh_host = m
                    .host_at
                    .is_some_and(|t| now.saturating_sub(t) <= stale_after);
                let mut guardrails: Vec<(&'static str, u8)> =
                    GUARDRAILS.iter().map(|&n| (n, 1)).collect();
                let mut seen = [false; GUARDRAILS.len()];
                for v in rules::all_verdicts(g, &state.cfg, now) {
                    let level = match v.verdict {
                        Judgement::Pass => 0,
                        Judgement::Inconclusive => 1,
                        Judgement::Fail => 2,
                    };
                    let name = v.guardrail.name();
                    match GUARDRAILS.iter().position(|&n| n == name) {
                        // Several verdicts of one guardrail: the worst counts.
                        Some(k) if seen[k] => guardrails[k].1 = guardrails[k].1.max(level),
                        Some(k) => {
                            seen[k] = true;
                            guardrails[k].1 = level;
                        }
                        None => match guardrails.iter_mut().find(|(n, _)| *n == name) {
                            Some(slot) => slot.1 = slot.1.max(level),
                            None => guardrails.push((name, level)),
                        },
                    }
                }
                GatewaySnap {
                    labels: acc.labels.clone(),
                    weights: m.weights,
                    conns: m.host.as_ref().filter(|_| fresh_host).map(|h| h.conns),
                    ratio: PerColor::from_fn(|c| m.summary[c].ratio_window.ratio()),
                    health: m.health.as_ref().and_then(|h| match h.status {
                        HealthStatus::Down => Some(0),
                        HealthStatus::Degraded => Some(1),
                        HealthStatus::Ok => Some(2),
                        HealthStatus::Unknown => None,
                    }),
                    guardrails,
                    age_secs: m.age(now).map(|ms| ms as f64 / 1000.0),
                    stale: g.verdicts.stale || m.unreachable.is_some(),
                    requests: acc.requests,
                    ttft: acc.ttft,
                    reloads: acc.reloads,
                }
            })
            .collect();
        Snapshot {
            taken: Instant::now(),
            gateways,
            annotations_sent: self.shared.annotations_sent.load(Ordering::Relaxed),
            annotations_failed: self.shared.annotations_failed.load(Ordering::Relaxed),
        }
    }

    fn weights_read(&mut self, i: usize, w: Weights) {
        if let Some(acc) = self.acc.get_mut(i) {
            if acc.weights.is_some_and(|prev| prev != w) {
                acc.reloads += 1;
            }
            acc.weights = Some(w);
        }
    }
}

/// `status / 100 - 1`, or the `other` slot.
fn class(status: u16) -> usize {
    match status {
        100..=599 => usize::from(status / 100 - 1),
        _ => 5,
    }
}

impl Observer for Collector {
    fn message(&mut self, _at: Ms, msg: &Msg) {
        match msg {
            Msg::Telemetry { gateway, data } => {
                let i = *gateway;
                match data {
                    Telemetry::Requests { records } => {
                        if let Some(acc) = self.acc.get_mut(i) {
                            for r in records {
                                if let Some(c) = r.color {
                                    acc.requests[c][class(r.status)] += 1;
                                }
                            }
                        }
                    }
                    Telemetry::Ttft {
                        color,
                        ms: Some(ms),
                    } => {
                        if let Some(acc) = self.acc.get_mut(i) {
                            acc.ttft[*color].observe(*ms);
                        }
                    }
                    Telemetry::Weights(w) => self.weights_read(i, *w),
                    Telemetry::Host(h) => {
                        let Some(acc) = self.acc.get_mut(i) else {
                            return;
                        };
                        let v = h.versions.green.as_deref();
                        if v.is_some() && acc.green_version.as_deref() != v {
                            acc.green_version = v.map(str::to_string);
                            // The annotations name green's build: the sampler's answer saves
                            // them a remote command.
                            if let Some(v) = v {
                                self.shared.set_version(&acc.name, v);
                            }
                        }
                    }
                    _ => {}
                }
            }
            Msg::OpDone(o) => {
                if let Some(w) = o.weights {
                    self.weights_read(o.gateway, w);
                }
            }
            _ => {}
        }
    }

    fn ticked(&mut self, state: &State) {
        let snap = self.snapshot(state);
        self.published.set(snap);
    }
}

/// Which text format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// The format a scraper asks for in its `Accept` header: OpenMetrics when named,
    /// otherwise the 0.0.4 text format.
    pub(crate) fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    /// The response's `Content-Type`.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Label value escaping of the text formats: backslash, double quote and newline.
fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['\\', '"', '\n']) {
        return s.into();
    }
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .into()
}

/// Writes families one after the other, in either format.
struct Writer<'a> {
    out: &'a mut String,
    format: Format,
}

impl Writer<'_> {
    /// `# HELP` and `# TYPE` of a family. Counters are named without `_total` in
    /// OpenMetrics's metadata, with it in 0.0.4's.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let name = match (self.format, kind) {
            (Format::OpenMetrics, "counter") => name.strip_suffix("_total").unwrap_or(name),
            _ => name,
        };
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample: `name{labels,extra} value`.
    fn sample(&mut self, name: &str, labels: &str, extra: &str, value: Value) {
        self.out.push_str(name);
        if !labels.is_empty() || !extra.is_empty() {
            self.out.push('{');
            self.out.push_str(labels);
            if !labels.is_empty() && !extra.is_empty() {
                self.out.push(',');
            }
            self.out.push_str(extra);
            self.out.push('}');
        }
        self.out.push(' ');
        let _ = match value {
            Value::Int(n) => write!(self.out, "{n}"),
            Value::Float(f) if f.is_infinite() && f > 0.0 => write!(self.out, "+Inf"),
            Value::Float(f) if f.is_nan() => write!(self.out, "NaN"),
            Value::Float(f) => write!(self.out, "{f}"),
        };
        self.out.push('\n');
    }
}

/// A sample's value.
#[derive(Debug, Clone, Copy)]
enum Value {
    Int(u64),
    Float(f64),
}

const COLOR_LABEL: PerColor<&str> = PerColor {
    blue: "color=\"blue\"",
    green: "color=\"green\"",
};

/// Render `snap`, `age` old, in `format` into `out` (cleared first). Gauges of a stale
/// gateway, and every gauge of a snapshot older than `SNAPSHOT_STALE` (10 s), are left out:
/// `cutover_data_age_seconds` says why, and counters keep their last value.
pub fn render(snap: &Snapshot, age: Duration, format: Format, out: &mut String) {
    out.clear();
    let frozen = age > SNAPSHOT_STALE;
    let live = |g: &&GatewaySnap| !frozen && !g.stale;
    let mut w = Writer { out, format };
    let mut extra = String::with_capacity(48);

    w.family(
        "cutover_upstream_weight",
        "gauge",
        "Weight of each color in the gateway's nginx upstream, read back from the host (0-100).",
    );
    for g in snap.gateways.iter().filter(live) {
        if let Some(wt) = g.weights {
            for c in Color::BOTH {
                let v = Value::Int(u64::from(wt.of(c)));
                w.sample("cutover_upstream_weight", &g.labels, COLOR_LABEL[c], v);
            }
        }
    }

    w.family(
        "cutover_upstream_active_connections",
        "gauge",
        "Established connections to each color, from the host sampler.",
    );
    for g in snap.gateways.iter().filter(live) {
        if let Some(conns) = g.conns {
            for c in Color::BOTH {
                let v = Value::Int(u64::from(conns[c]));
                w.sample(
                    "cutover_upstream_active_connections",
                    &g.labels,
                    COLOR_LABEL[c],
                    v,
                );
            }
        }
    }

    w.family(
        "cutover_requests_total",
        "counter",
        "Requests in the access log by the color that served them and status class.",
    );
    for g in &snap.gateways {
        for c in Color::BOTH {
            for (k, class) in CODE_CLASSES.iter().enumerate() {
                let n = g.requests[c][k];
                // 2xx to 5xx always, so rate() has a series from the start.
                if n == 0 && (k == 0 || k == 5) {
                    continue;
                }
                extra.clear();
                let _ = write!(extra, "{},code_class=\"{class}\"", COLOR_LABEL[c]);
                w.sample("cutover_requests_total", &g.labels, &extra, Value::Int(n));
            }
        }
    }

    w.family(
        "cutover_5xx_ratio",
        "gauge",
        "Share of 5xx responses per color over the guardrail's window (0-1).",
    );
    for g in snap.gateways.iter().filter(live) {
        for c in Color::BOTH {
            if let Some(r) = g.ratio[c] {
                w.sample(
                    "cutover_5xx_ratio",
                    &g.labels,
                    COLOR_LABEL[c],
                    Value::Float(r),
                );
            }
        }
    }

    w.family(
        "cutover_ttft_seconds",
        "histogram",
        "Time to first token of the synthetic probes, per color.",
    );
    for g in &snap.gateways {
        for c in Color::BOTH {
            let h = &g.ttft[c];
            let mut cumulative = 0;
            for (k, (_, le)) in TTFT_BUCKETS.iter().enumerate() {
                cumulative += h.buckets[k];
                extra.clear();
                let _ = write!(extra, "{},le=\"{le}\"", COLOR_LABEL[c]);
                w.sample(
                    "cutover_ttft_seconds_bucket",
                    &g.labels,
                    &extra,
                    Value::Int(cumulative),
                );
            }
            extra.clear();
            let _ = write!(extra, "{},le=\"+Inf\"", COLOR_LABEL[c]);
            w.sample(
                "cutover_ttft_seconds_bucket",
                &g.labels,
                &extra,
                Value::Int(h.count),
            );
            w.sample(
                "cutover_ttft_seconds_count",
                &g.labels,
                COLOR_LABEL[c],
                Value::Int(h.count),
            );
            w.sample(
                "cutover_ttft_seconds_sum",
                &g.labels,
                COLOR_LABEL[c],
                Value::Float(h.sum_ms as f64 / 1000.0),
            );
        }
    }

    w.family(
        "cutover_health",
        "gauge",
        "Composite health endpoint: 0 down, 1 degraded, 2 ok.",
    );
    for g in snap.gateways.iter().filter(|_| !frozen) {
        if let Some(h) = g.health {
            w.sample("cutover_health", &g.labels, "", Value::Int(u64::from(h)));
        }
    }

    w.family(
        "cutover_guardrail_state",
        "gauge",
        "Each guardrail's verdict: 0 pass, 1 inconclusive or warning, 2 alarm.",
    );
    for g in snap.gateways.iter().filter(|_| !frozen) {
        for (name, level) in &g.guardrails {
            extra.clear();
            let _ = write!(extra, "guardrail=\"{name}\"");
            w.sample(
                "cutover_guardrail_state",
                &g.labels,
                &extra,
                Value::Int(u64::from(*level)),
            );
        }
    }

    w.family(
        "cutover_data_age_seconds",
        "gauge",
        "Seconds since the gateway's host last answered (+Inf: never).",
    );
    let snap_age = age.as_secs_f64();
    for g in &snap.gateways {
        let v = g.age_secs.map_or(f64::INFINITY, |a| a + snap_age);
        w.sample("cutover_data_age_seconds", &g.labels, "", Value::Float(v));
    }

    w.family(
        "cutover_reloads_total",
        "counter",
        "Weight changes read back from the gateway (each one an nginx reload), by anyone.",
    );
    for g in &snap.gateways {
        w.sample(
            "cutover_reloads_total",
            &g.labels,
            "",
            Value::Int(g.reloads),
        );
    }

    w.family(
        "cutover_annotations_sent_total",
        "counter",
        "Grafana annotations delivered by this process.",
    );
    w.sample(
        "cutover_annotations_sent_total",
        "",
        "",
        Value::Int(snap.annotations_sent),
    );
    w.family(
        "cutover_annotations_failed_total",
        "counter",
        "Grafana annotations that failed after their retries and were spooled for a later attempt.",
    );
    w.sample(
        "cutover_annotations_failed_total",
        "",
        "",
        Value::Int(snap.annotations_failed),
    );

    w.family(
        "cutover_export_snapshot_age_seconds",
        "gauge",
        "Age of the figures served; above 10 the cockpit stopped ticking and gauges are left out.",
    );
    w.sample(
        "cutover_export_snapshot_age_seconds",
        "",
        "",
        Value::Float(snap_age),
    );
    if format == Format::OpenMetrics {
        w.out.push_str("# EOF\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::KeyMap;
    use crate::app::state::{Gateway, Mode};
    use crate::front::ui::theme::ThemeSet;
    use crate::guard::GuardConfig;
    use crate::model::gateway::Windows;
    use crate::model::{HealthReport, HostSample, RequestRecord};

    fn state() -> State {
        let gateways = vec![
            Gateway::new("gw-a1", "az-a", Windows::default()),
            Gateway::new("gw-b1", "az-b", Windows::default()),
        ];
        State::new(
            Mode::Live,
            gateways,
            GuardConfig::default(),
            KeyMap::default(),
            ThemeSet::builtin().owned_names(),
        )
    }

    fn tele(gateway: usize, data: Telemetry) -> Msg {
        Msg::Telemetry { gateway, data }
    }

    fn req(color: Color, status: u16) -> RequestRecord {
        RequestRecord {
            color: Some(color),
            status,
            request_ms: 10,
            header_ms: None,
        }
    }

    /// A collector fed through a real driver-like sequence: messages into `update`, then a tick.
    fn fed() -> (State, Collector, Published) {
        let mut s = state();
        let published = Published::default();
        let mut c = Collector::new(&s, published.clone(), Arc::new(Shared::default()));
        let msgs = vec![
            tele(0, Telemetry::Weights(Weights::STEADY)),
            tele(
                0,
                Telemetry::Requests {
                    records: vec![
                        req(Color::Blue, 200),
                        req(Color::Blue, 200),
                        req(Color::Blue, 503),
                        req(Color::Green, 404),
                        req(Color::Green, 0),
                    ],
                },
            ),
            tele(
                0,
                Telemetry::Ttft {
                    color: Color::Green,
                    ms: Some(151),
                },
            ),
            tele(
                0,
                Telemetry::Ttft {
                    color: Color::Green,
                    ms: Some(40_000),
                },
            ),
            tele(
                0,
                Telemetry::Health(HealthReport {
                    status: HealthStatus::Degraded,
                    failing: vec!["webhook".into()],
                    latency_ms: 3,
                }),
            ),
            tele(
                0,
                Telemetry::Host(HostSample {
                    conns: PerColor { blue: 7, green: 2 },
                    ..HostSample::default()
                }),
            ),
            tele(0, Telemetry::Weights(Weights::with_green(10).unwrap())),
        ];
        for m in msgs {
            c.message(1_000, &m);
            crate::app::update::update(&mut s, m, 1_000);
        }
        crate::app::update::update(&mut s, Msg::Tick, 1_000);
        c.ticked(&s);
        (s, c, published)
    }

    fn text(format: Format) -> String {
        let (_, _, published) = fed();
        let mut out = String::new();
        render(&published.get(), Duration::ZERO, format, &mut out);
        out
    }

    #[test]
    fn buckets_take_their_upper_bound() {
        let mut h = TtftHistogram::default();
        for ms in [0, 50, 51, 30_000, 30_001] {
            h.observe(ms);
        }
        assert_eq!((h.buckets[0], h.buckets[1]), (2, 1));
        assert_eq!(h.buckets[TTFT_BUCKETS.len() - 1], 1);
        assert_eq!(h.buckets[TTFT_BUCKETS.len()], 1, "above 30 s: only +Inf");
        assert_eq!((h.count, h.sum_ms), (5, 60_102));
        assert!(TTFT_BUCKETS.windows(2).all(|w| w[0].0 < w[1].0));
        for (ms, le) in TTFT_BUCKETS {
            assert_eq!(le.parse::<f64>().unwrap() * 1000.0, f64::from(ms), "{le}");
        }
    }

    #[test]
    fn the_text_format_carries_every_figure() {
        let t = text(Format::Text);
        let g = "gateway=\"gw-a1\",az=\"az-a\"";
        for line in [
            format!("cutover_upstream_weight{{{g},color=\"blue\"}} 90"),
            format!("cutover_upstream_weight{{{g},color=\"green\"}} 10"),
            format!("cutover_upstream_active_connections{{{g},color=\"blue\"}} 7"),
            format!("cutover_requests_total{{{g},color=\"blue\",code_class=\"2xx\"}} 2"),
            format!("cutover_requests_total{{{g},color=\"blue\",code_class=\"5xx\"}} 1"),
            format!("cutover_requests_total{{{g},color=\"green\",code_class=\"4xx\"}} 1"),
            format!("cutover_requests_total{{{g},color=\"green\",code_class=\"other\"}} 1"),
            format!("cutover_5xx_ratio{{{g},color=\"blue\"}} 0.3333333333333333"),
            format!("cutover_ttft_seconds_bucket{{{g},color=\"green\",le=\"0.14\"}} 0"),
            format!("cutover_ttft_seconds_bucket{{{g},color=\"green\",le=\"0.16\"}} 1"),
            format!("cutover_ttft_seconds_bucket{{{g},color=\"green\",le=\"30.0\"}} 1"),
            format!("cutover_ttft_seconds_bucket{{{g},color=\"green\",le=\"+Inf\"}} 2"),
            format!("cutover_ttft_seconds_count{{{g},color=\"green\"}} 2"),
            format!("cutover_ttft_seconds_sum{{{g},color=\"green\"}} 40.151"),
            format!("cutover_health{{{g}}} 1"),
            format!("cutover_data_age_seconds{{{g}}} 0"),
            format!("cutover_reloads_total{{{g}}} 1"),
            "cutover_data_age_seconds{gateway=\"gw-b1\",az=\"az-b\"} +Inf".to_string(),
            "cutover_annotations_failed_total 0".to_string(),
            "# TYPE cutover_requests_total counter".to_string(),
            "# TYPE cutover_ttft_seconds histogram".to_string(),
        ] {
            assert!(t.lines().any(|l| l == line), "missing {line:?} in\n{t}");
        }
        assert!(
            t.contains(&format!(
                "cutover_guardrail_state{{{g},guardrail=\"freshness\"}} 0"
            )),
            "{t}"
        );
        assert!(
            t.contains(
                "cutover_guardrail_state{gateway=\"gw-b1\",az=\"az-b\",guardrail=\"ttft\"} 1"
            ),
            "no data is inconclusive: {t}"
        );
        assert!(
            !t.contains("cutover_upstream_weight{gateway=\"gw-b1\""),
            "no weights read, no gauge"
        );
        assert!(!t.contains("# EOF"));
    }

    #[test]
    fn openmetrics_names_counter_families_without_total_and_ends_with_eof() {
        let t = text(Format::OpenMetrics);
        assert!(t.contains("# TYPE cutover_requests counter\n"), "{t}");
        assert!(t.contains("# TYPE cutover_reloads counter\n"), "{t}");
        assert!(t.contains("cutover_requests_total{"), "{t}");
        assert!(t.ends_with("# EOF\n"));
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            )),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(Format::negotiate(None), Format::Text);
    }

    #[test]
    fn stale_figures_are_dropped_not_frozen() {
        let (_, _, published) = fed();
        let snap = published.get();
        let mut t = String::new();
        render(&snap, Duration::from_secs(30), Format::Text, &mut t);
        assert!(!t.contains("cutover_upstream_weight{"), "{t}");
        assert!(!t.contains("cutover_health{"), "{t}");
        assert!(
            t.contains("cutover_data_age_seconds{gateway=\"gw-a1\",az=\"az-a\"} 30"),
            "the age says how old: {t}"
        );
        assert!(t.contains("cutover_requests_total{"), "counters stay");
        let mut one = (*snap).clone();
        one.gateways[0].stale = true;
        render(&one, Duration::ZERO, Format::Text, &mut t);
        assert!(
            !t.contains("cutover_upstream_weight{gateway=\"gw-a1\""),
            "{t}"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert!(matches!(escape("gw-a1"), std::borrow::Cow::Borrowed(_)));
    }
}
