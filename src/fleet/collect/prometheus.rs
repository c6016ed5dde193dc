//! The Prometheus telemetry source (`[telemetry] source = "prometheus"`): one instant query
//! per signal for the whole fleet (requests, 5xx, TTFT buckets, streams in flight, health),
//! POSTed form-encoded to `/api/v1/query`, split by the `gateway` and `color` labels into one
//! [`MetricsSample`] per gateway. Whatever does not answer (an error, a timeout, no series,
//! not a number) is absent from the sample and named in its problems: never a zero.
//! Control (weights, reloads, locks, listeners) stays over SSH.
//!
//! Requests and 5xx are counter totals; the counts are the differences between two polls
//! ([`CounterDeltas`]), so every request is counted once whatever the poll timing, and a
//! counter that went down (a restarted process) starts again from zero.

use super::{Outbox, send, ticker, wall_ms};
use crate::config::Config;
use crate::config::export::Secret;
use crate::config::telemetry::{QueryTemplates, Substitutions, TelemetrySource, render};
use crate::model::buckets::BucketHistogram;
use crate::model::window::Counts;
use crate::model::{Color, HealthStatus, MetricsSample, PerColor, Telemetry};
use crate::sanitize::sanitize;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Largest answer read from Prometheus: 500 gateways' TTFT buckets take about 5 MB.
const MAX_ANSWER: usize = 64 << 20;
/// Longest problem text kept per query: an error page must not fill the screen.
const MAX_PROBLEM: usize = 160;

/// One series of an instant vector: the labels cutover reads, and its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    /// `gateway` label.
    pub(crate) gateway: Option<String>,
    /// `color` label.
    pub(crate) color: Option<String>,
    /// `le` label (histogram buckets).
    pub(crate) le: Option<String>,
    /// The value (`NaN` and infinities included, as Prometheus sent them).
    pub(crate) value: f64,
}

/// What each of the five queries answered.
#[derive(Debug, Clone)]
pub(crate) struct Answers {
    /// Requests per gateway and color over the window.
    pub(crate) requests: Result<Vec<Series>, String>,
    /// 5xx per gateway and color over the window.
    pub(crate) errors: Result<Vec<Series>, String>,
    /// TTFT bucket counts per gateway, color and `le` over the TTFT window.
    pub(crate) ttft: Result<Vec<Series>, String>,
    /// Streams in flight per gateway and color.
    pub(crate) streams: Result<Vec<Series>, String>,
    /// Health per gateway (2 ok, 1 degraded, 0 down).
    pub(crate) health: Result<Vec<Series>, String>,
}

/// The configured Prometheus and the fleet it answers for (`Debug` shows the token as `***`).
#[derive(Debug)]
pub(crate) struct PromSource {
    client: reqwest::Client,
    /// `{prometheus_url}/api/v1`.
    api: String,
    token: Option<Secret>,
    queries: QueryTemplates,
    /// The fleet's gateway names (configuration order) and AZs, and the TTFT window: what
    /// every template's placeholders stand for (only `ttft` takes `{window}`).
    subs: Substitutions,
}

impl PromSource {
    /// The source `cfg` asks for; `None` when telemetry comes over SSH.
    pub(crate) fn from_config(cfg: &Config) -> Result<Option<Arc<PromSource>>, String> {
        let t = &cfg.telemetry;
        if t.source != TelemetrySource::Prometheus {
            return Ok(None);
        }
        let base = t
            .prometheus_url
            .as_deref()
            .ok_or("telemetry.prometheus_url: required for source = \"prometheus\"")?;
        let client = crate::fleet::probe::tls::client(
            Duration::from_secs(t.timeout_secs.max(1)),
            t.ca_file.as_deref(),
            false,
        )
        .map_err(|e| format!("telemetry: {}", e.replace("probes.ca_file", "ca_file")))?;
        let mut azs: Vec<String> = Vec::new();
        for g in &cfg.gateway {
            if !azs.contains(&g.az) {
                azs.push(g.az.clone());
            }
        }
        Ok(Some(Arc::new(PromSource {
            client,
            api: format!("{}/api/v1", base.trim_end_matches('/')),
            token: t.bearer_token.clone(),
            queries: t.queries.clone(),
            subs: Substitutions {
                gateways: cfg.gateway.iter().map(|g| g.name.clone()).collect(),
                azs,
                window_ms: cfg.guardrails.ttft_window_secs * 1000,
            },
        })))
    }

    /// The gateways in configuration order.
    fn gateways(&self) -> &[String] {
        &self.subs.gateways
    }

    /// The five queries at `at_ms`, at once. Requests and 5xx are counter totals, or with
    /// `since_ms` their rises from then (range queries).
    async fn fetch(&self, at_ms: i64, since_ms: Option<i64>) -> Answers {
        let q = &self.queries;
        let counter = |template: &str| {
            let promql = render(template, &self.subs);
            async move {
                match since_ms {
                    Some(start) => self.query_range(promql, start, at_ms).await,
                    None => self.query(promql, at_ms).await,
                }
            }
        };
        let instant = |template: &str| self.query(render(template, &self.subs), at_ms);
        let (requests, errors, ttft, streams, health) = tokio::join!(
            counter(&q.requests),
            counter(&q.errors),
            instant(&q.ttft),
            instant(&q.streams),
            instant(&q.health),
        );
        Answers {
            requests,
            errors,
            ttft,
            streams,
            health,
        }
    }

    /// One poll at wall-clock `at_ms`; per gateway in configuration order, its sample (counts
    /// not yet known: [`CounterDeltas`] takes them) and its counter totals.
    pub(crate) async fn poll(&self, at_ms: i64) -> Vec<Polled> {
        assemble(self.gateways(), &self.fetch(at_ms, None).await)
    }

    /// A headless command's one look at `at_ms`, with the counts of the `window_ms` before it
    /// from `/api/v1/query_range` (each series' rise over its points, so a series younger
    /// than the window counts from its first point, and a restarted counter from zero).
    pub(crate) async fn poll_window(&self, at_ms: i64, window_ms: u64) -> Vec<MetricsSample> {
        let since = at_ms - window_ms as i64;
        assemble(self.gateways(), &self.fetch(at_ms, Some(since)).await)
            .into_iter()
            .map(|p| {
                let mut sample = p.sample;
                sample.counts = PerColor::from_fn(|c| p.totals[c].map(Totals::counts));
                sample
            })
            .collect()
    }

    /// One instant query evaluated at `at_ms`.
    async fn query(&self, promql: String, at_ms: i64) -> Result<Vec<Series>, String> {
        let body = format!("query={}&time={}", form_encode(&promql), secs(at_ms));
        self.post("query", body).await
    }

    /// One range query from `start_ms` to `end_ms`, a point every 5 s (at least 12 points):
    /// each series' value is its counter's rise over the range.
    async fn query_range(
        &self,
        promql: String,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, String> {
        let step_ms = ((end_ms - start_ms) / 12).clamp(1, 5_000);
        let body = format!(
            "query={}&start={}&end={}&step={}",
            form_encode(&promql),
            secs(start_ms),
            secs(end_ms),
            secs(step_ms)
        );
        self.post("query_range", body).await
    }

    /// POST a form to `/api/v1/{what}` and read its answer.
    async fn post(&self, what: &str, body: String) -> Result<Vec<Series>, String> {
        let mut req = self
            .client
            .post(format!("{}/{what}", self.api))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t.expose());
        }
        // Prometheus compresses its JSON about tenfold when asked: most of what the cockpit
        // reads is the TTFT buckets' labels.
        req = req.header(reqwest::header::ACCEPT_ENCODING, "gzip");
        let mut resp = req.send().await.map_err(describe)?;
        let status = resp.status();
        let gzipped = resp
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(describe)? {
            if bytes.len() + chunk.len() > MAX_ANSWER {
                return Err(format!("answer larger than {} MB", MAX_ANSWER >> 20));
            }
            bytes.extend_from_slice(&chunk);
        }
        if gzipped {
            bytes = gunzip(&bytes)?;
        }
        parse_answer(status.as_u16(), &bytes)
    }
}

/// A gzip body, inflated to at most [`MAX_ANSWER`] bytes.
fn gunzip(body: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_ANSWER as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("a gzip answer that does not inflate: {e}"))?;
    if out.len() > MAX_ANSWER {
        return Err(format!("answer larger than {} MB", MAX_ANSWER >> 20));
    }
    Ok(out)
}

/// Milliseconds as Prometheus's decimal seconds.
fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// A counter's rise over its points: the sum of its increases, a drop being a restart from
/// zero (what Prometheus's `increase` does, without extrapolating).
fn rise(points: &[f64]) -> f64 {
    points
        .windows(2)
        .map(|w| if w[1] >= w[0] { w[1] - w[0] } else { w[1] })
        .sum()
}

/// A transport error in words, without the URL (it is in the configuration already).
fn describe(e: reqwest::Error) -> String {
    let (timeout, connect) = (e.is_timeout(), e.is_connect());
    let e = e.without_url();
    let what = if timeout {
        "timed out".to_string()
    } else if connect {
        "cannot connect".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(&e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() || timeout {
        what
    } else {
        format!("{what} ({detail})")
    }
}

/// `application/x-www-form-urlencoded` encoding of a value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<AnswerData>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct AnswerData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct VectorItem {
    #[serde(default)]
    metric: HashMap<String, String>,
    value: (serde_json::Value, String),
}

#[derive(Deserialize)]
struct MatrixItem {
    #[serde(default)]
    metric: HashMap<String, String>,
    values: Vec<(serde_json::Value, String)>,
}

/// Read an `/api/v1/query` answer (HTTP `status`, body): the instant vector, or what went
/// wrong in words (Prometheus's own error when it sent one).
pub(crate) fn parse_answer(status: u16, body: &[u8]) -> Result<Vec<Series>, String> {
    let short = |s: &str| {
        let s = sanitize(s);
        match s.char_indices().nth(MAX_PROBLEM) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s,
        }
    };
    let answer: Answer = match serde_json::from_slice(body) {
        Ok(a) => a,
        Err(_) if status != 200 => {
            return Err(format!(
                "HTTP {status}: {}",
                short(&String::from_utf8_lossy(body))
            ));
        }
        Err(e) => {
            return Err(format!(
                "not a Prometheus answer: {}",
                short(&e.to_string())
            ));
        }
    };
    if answer.status != "success" {
        return Err(format!(
            "{}{}",
            answer
                .error_type
                .map(|t| format!("{} error: ", short(&t)))
                .unwrap_or_default(),
            short(answer.error.as_deref().unwrap_or("failed"))
        ));
    }
    let data = answer.data.ok_or("the answer has no data")?;
    if data.result_type == "matrix" {
        let items: Vec<MatrixItem> = serde_json::from_value(data.result)
            .map_err(|e| format!("not a range vector: {}", short(&e.to_string())))?;
        return Ok(items
            .into_iter()
            .map(|mut it| {
                let points: Vec<f64> = it
                    .values
                    .iter()
                    .map(|(_, v)| v.parse().unwrap_or(f64::NAN))
                    .collect();
                Series {
                    gateway: it.metric.remove("gateway"),
                    color: it.metric.remove("color"),
                    le: it.metric.remove("le"),
                    value: rise(&points),
                }
            })
            .collect());
    }
    if data.result_type != "vector" {
        return Err(format!(
            "the query gives a {}, not an instant vector by (gateway, color)",
            short(&data.result_type)
        ));
    }
    let items: Vec<VectorItem> = serde_json::from_value(data.result)
        .map_err(|e| format!("not an instant vector: {}", short(&e.to_string())))?;
    Ok(items
        .into_iter()
        .map(|mut it| Series {
            gateway: it.metric.remove("gateway"),
            color: it.metric.remove("color"),
            le: it.metric.remove("le"),
            // Prometheus writes NaN, +Inf and -Inf as those words; Rust reads them all.
            value: it.value.1.parse().unwrap_or(f64::NAN),
        })
        .collect())
}

/// Problems collected per gateway while splitting the answers.
struct Problems(Vec<Vec<String>>);

impl Problems {
    fn add(&mut self, i: usize, text: String) {
        if !self.0[i].contains(&text) {
            self.0[i].push(text);
        }
    }
}

/// The series of a query that answered; a failed one is every gateway's problem.
fn answered<'a>(
    signal: &str,
    answer: &'a Result<Vec<Series>, String>,
    problems: &mut Problems,
) -> Option<&'a [Series]> {
    match answer {
        Ok(s) => Some(s),
        Err(e) => {
            for i in 0..problems.0.len() {
                problems.add(i, format!("{signal}: {e}"));
            }
            None
        }
    }
}

/// One value per (gateway, color) of a signal; series naming other gateways are ignored,
/// duplicates and non-numbers are problems.
fn per_color(
    signal: &str,
    answer: &Result<Vec<Series>, String>,
    index: &HashMap<&str, usize>,
    problems: &mut Problems,
) -> Vec<PerColor<Option<f64>>> {
    let n = problems.0.len();
    let mut out = vec![PerColor::<Option<f64>>::default(); n];
    let Some(series) = answered(signal, answer, problems) else {
        return out;
    };
    let mut seen = vec![PerColor::<u32>::default(); n];
    for s in series {
        let Some((i, c)) = locate(signal, s, index, problems) else {
            continue;
        };
        seen[i][c] += 1;
        if !s.value.is_finite() {
            problems.add(i, format!("{signal}: {c} is not a number ({})", s.value));
            continue;
        }
        out[i][c] = Some(s.value.max(0.0));
    }
    for i in 0..n {
        for c in Color::BOTH {
            match seen[i][c] {
                0 => problems.add(i, format!("{signal}: no series for {c}")),
                1 => {}
                k => {
                    problems.add(
                        i,
                        format!("{signal}: {k} series for {c} (aggregate by gateway, color)"),
                    );
                    out[i][c] = None;
                }
            }
        }
    }
    out
}

/// The gateway (its index) and color a series is about; `None` for another fleet's
/// gateway, and a problem for a series without a color.
fn locate(
    signal: &str,
    s: &Series,
    index: &HashMap<&str, usize>,
    problems: &mut Problems,
) -> Option<(usize, Color)> {
    let &i = s.gateway.as_deref().and_then(|g| index.get(g))?;
    let color = s.color.as_deref();
    match Color::BOTH.into_iter().find(|c| Some(c.name()) == color) {
        Some(c) => Some((i, c)),
        None => {
            problems.add(
                i,
                format!("{signal}: a series without color=\"blue\" or \"green\""),
            );
            None
        }
    }
}

/// Requests and 5xx a color has served since its counters started (or, from a range
/// query, over the range).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Totals {
    /// Requests.
    pub(crate) requests: f64,
    /// Of those, 5xx.
    pub(crate) errors: f64,
}

impl Totals {
    /// As whole counts (`increase` and extrapolated values are not whole), never more 5xx
    /// than requests.
    fn counts(self) -> Counts {
        let requests = self.requests.round() as u64;
        Counts {
            requests,
            errors: (self.errors.round() as u64).min(requests),
        }
    }
}

/// One gateway's part of a poll: its sample, without counts yet, and its counter totals.
#[derive(Debug, Clone)]
pub(crate) struct Polled {
    /// What the poll said; `counts` are filled in by [`CounterDeltas`].
    pub(crate) sample: MetricsSample,
    /// Each color's totals, when both of its queries answered with a number.
    pub(crate) totals: PerColor<Option<Totals>>,
}

/// The last totals per gateway and color, turning each poll's totals into counts.
pub(crate) struct CounterDeltas {
    last: Vec<PerColor<Option<(i64, Totals)>>>,
    max_gap_ms: u64,
}

impl CounterDeltas {
    /// For `n` gateways; totals older than `max_gap_ms` are not differenced (a long outage
    /// is not poured into one instant), they only start counting again.
    pub(crate) fn new(n: usize, max_gap_ms: u64) -> CounterDeltas {
        CounterDeltas {
            last: vec![PerColor::default(); n],
            max_gap_ms,
        }
    }

    /// The samples of the poll at `at_ms`, with the counts since each color's last totals.
    /// A color without totals now, or without earlier ones, has no counts (unknown).
    pub(crate) fn apply(&mut self, at_ms: i64, polled: Vec<Polled>) -> Vec<MetricsSample> {
        let mut out: Vec<MetricsSample> = Vec::with_capacity(polled.len());
        for (i, p) in polled.into_iter().enumerate() {
            let mut sample = p.sample;
            for c in Color::BOTH {
                let Some(now) = p.totals[c] else { continue };
                let before = self.last[i][c].replace((at_ms, now));
                let Some((then, old)) = before else { continue };
                if at_ms.saturating_sub(then).max(0) as u64 > self.max_gap_ms {
                    continue;
                }
                let since = Totals {
                    requests: rise(&[old.requests, now.requests]),
                    errors: rise(&[old.errors, now.errors]),
                };
                sample.counts[c] = Some(since.counts());
            }
            out.push(sample);
        }
        out
    }
}

/// Split the five answers into one sample per gateway of `names` (configuration order).
pub(crate) fn assemble(names: &[String], a: &Answers) -> Vec<Polled> {
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut problems = Problems(vec![Vec::new(); names.len()]);
    let requests = per_color("requests", &a.requests, &index, &mut problems);
    let errors = per_color("errors", &a.errors, &index, &mut problems);
    let streams = per_color("streams", &a.streams, &index, &mut problems);
    let ttft = histograms(&a.ttft, &index, &mut problems);
    let health = health(&a.health, &index, &mut problems);
    (0..names.len())
        .map(|i| Polled {
            sample: MetricsSample {
                counts: PerColor::default(),
                ttft: ttft[i].clone(),
                streams: PerColor::from_fn(|c| streams[i][c].map(|v| v.round() as u64)),
                health: health[i],
                problems: std::mem::take(&mut problems.0[i]),
            },
            totals: PerColor::from_fn(|c| match (requests[i][c], errors[i][c]) {
                (Some(requests), Some(errors)) => Some(Totals { requests, errors }),
                _ => None,
            }),
        })
        .collect()
}

/// Each gateway's TTFT histogram per color from the bucket series.
fn histograms(
    answer: &Result<Vec<Series>, String>,
    index: &HashMap<&str, usize>,
    problems: &mut Problems,
) -> Vec<PerColor<Option<BucketHistogram>>> {
    let n = problems.0.len();
    let mut out = vec![PerColor::<Option<BucketHistogram>>::default(); n];
    let Some(series) = answered("ttft", answer, problems) else {
        return out;
    };
    let mut buckets: Vec<PerColor<Vec<(f64, f64)>>> = vec![PerColor::default(); n];
    for s in series {
        let Some((i, c)) = locate("ttft", s, index, problems) else {
            continue;
        };
        let Some(le) = s.le.as_deref().and_then(|le| le.parse::<f64>().ok()) else {
            problems.add(
                i,
                "ttft: a series without a numeric le label (keep le in `by (...)`)".into(),
            );
            continue;
        };
        buckets[i][c].push((le, s.value));
    }
    for i in 0..n {
        for c in Color::BOTH {
            let b = std::mem::take(&mut buckets[i][c]);
            if b.is_empty() {
                problems.add(i, format!("ttft: no series for {c}"));
                continue;
            }
            match BucketHistogram::from_le_seconds(b) {
                Ok(h) => out[i][c] = Some(h),
                Err(e) => problems.add(i, format!("ttft: {c}: {e}")),
            }
        }
    }
    out
}

/// Each gateway's health: 2 ok, 1 degraded, 0 down (`cutover_health`'s values).
fn health(
    answer: &Result<Vec<Series>, String>,
    index: &HashMap<&str, usize>,
    problems: &mut Problems,
) -> Vec<Option<HealthStatus>> {
    let n = problems.0.len();
    let mut out = vec![None; n];
    let Some(series) = answered("health", answer, problems) else {
        return out;
    };
    let mut seen = vec![0u32; n];
    for s in series {
        let Some(&i) = s.gateway.as_deref().and_then(|g| index.get(g)) else {
            continue;
        };
        seen[i] += 1;
        out[i] = match s.value {
            2.0 => Some(HealthStatus::Ok),
            1.0 => Some(HealthStatus::Degraded),
            0.0 => Some(HealthStatus::Down),
            v => {
                problems.add(i, format!("health: {v} is not 0, 1 or 2"));
                None
            }
        };
    }
    for i in 0..n {
        match seen[i] {
            0 => problems.add(i, "health: no series".into()),
            1 => {}
            k => {
                problems.add(i, format!("health: {k} series (aggregate by gateway)"));
                out[i] = None;
            }
        }
    }
    out
}

/// Poll every `every` until the cockpit goes. Each poll's counts are the requests since the
/// last totals of each color (a gap up to `max_gap_ms` included, so a short outage loses no
/// request and none is counted twice).
pub(crate) async fn poll_loop(
    source: Arc<PromSource>,
    every: Duration,
    max_gap_ms: u64,
    tx: Outbox,
) {
    let mut tick = ticker(every);
    let mut deltas = CounterDeltas::new(source.gateways().len(), max_gap_ms);
    loop {
        tick.tick().await;
        let at = wall_ms();
        let samples = deltas.apply(at, source.poll(at).await);
        for (i, s) in samples.into_iter().enumerate() {
            if !send(&tx, i, Telemetry::Metrics(Box::new(s))) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(gateway: &str, color: &str, le: Option<&str>, value: f64) -> Series {
        Series {
            gateway: Some(gateway.into()),
            color: Some(color.into()),
            le: le.map(str::to_string),
            value,
        }
    }

    #[test]
    fn answers_are_read_and_errors_named() {
        let ok = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"gateway":"gw-a1","color":"blue"},"value":[1700000000.5,"12"]},
            {"metric":{"gateway":"gw-a1","color":"green"},"value":[1700000000.5,"NaN"]},
            {"metric":{"gateway":"gw-a1","color":"green","le":"+Inf"},"value":[1,"+Inf"]}]}}"#;
        let s = parse_answer(200, ok).unwrap();
        assert_eq!(s[0], series("gw-a1", "blue", None, 12.0));
        assert!(s[1].value.is_nan());
        assert_eq!(s[2].le.as_deref(), Some("+Inf"));
        assert_eq!(s[2].value, f64::INFINITY);
        let bad = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#;
        assert_eq!(
            parse_answer(400, bad).unwrap_err(),
            "bad_data error: parse error at char 5"
        );
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}"#;
        assert!(parse_answer(200, scalar).unwrap_err().contains("scalar"));
        let page = b"<html>\x1b[31mproxy error</html>";
        let e = parse_answer(502, page).unwrap_err();
        assert!(e.starts_with("HTTP 502") && !e.contains('\x1b'), "{e:?}");
    }

    #[test]
    fn a_range_answer_is_each_counters_rise_over_its_points() {
        let m = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"gateway":"gw-a1","color":"blue"},"values":[[1,"10"],[6,"15"],[11,"3"],[16,"7"]]},
            {"metric":{"gateway":"gw-a1","color":"green"},"values":[[11,"4"]]}]}}"#;
        let s = parse_answer(200, m).unwrap();
        assert_eq!(s[0].value, 5.0 + 3.0 + 4.0, "a drop is a restart from zero");
        assert_eq!(s[1].value, 0.0, "one point: no rise seen");
    }

    #[test]
    fn gzip_answers_inflate_and_bad_ones_are_named() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"status\":\"success\"}").unwrap();
        assert_eq!(
            gunzip(&gz.finish().unwrap()).unwrap(),
            b"{\"status\":\"success\"}"
        );
        assert!(
            gunzip(b"not gzip")
                .unwrap_err()
                .contains("does not inflate")
        );
    }

    #[test]
    fn form_encoding_escapes_promql() {
        assert_eq!(
            form_encode("sum by (gateway) (x{a=~\"b|c\"}[5s])"),
            "sum+by+%28gateway%29+%28x%7Ba%3D~%22b%7Cc%22%7D%5B5s%5D%29"
        );
    }

    fn answers() -> Answers {
        let mut ttft = Vec::new();
        for (c, mid) in [("blue", 10.0), ("green", 4.0)] {
            ttft.push(series("gw-a1", c, Some("0.1"), 0.0));
            ttft.push(series("gw-a1", c, Some("0.2"), mid));
            ttft.push(series("gw-a1", c, Some("+Inf"), 10.0));
        }
        Answers {
            requests: Ok(vec![
                series("gw-a1", "blue", None, 99.6),
                series("gw-a1", "green", None, 10.0),
                series("gw-b1", "blue", None, 5.0),
                series("gw-b1", "green", None, f64::NAN),
                series("gw-zz", "blue", None, 1.0),
            ]),
            errors: Ok(vec![
                series("gw-a1", "blue", None, 0.0),
                series("gw-a1", "green", None, 2.2),
                series("gw-b1", "blue", None, 0.0),
            ]),
            ttft: Ok(ttft),
            streams: Err("timed out".into()),
            health: Ok(vec![Series {
                gateway: Some("gw-a1".into()),
                color: None,
                le: None,
                value: 2.0,
            }]),
        }
    }

    #[test]
    fn answers_split_by_gateway_and_color_and_missing_is_never_zero() {
        let names = vec!["gw-a1".to_string(), "gw-b1".to_string()];
        let polled = assemble(&names, &answers());
        assert_eq!(
            polled[0].totals.green,
            Some(Totals {
                requests: 10.0,
                errors: 2.2
            })
        );
        let mut deltas = CounterDeltas::new(2, 60_000);
        let first = deltas.apply(1_000, polled.clone());
        assert_eq!(
            first[0].counts,
            PerColor::default(),
            "one total is no count yet"
        );
        let mut later = answers();
        later.requests = Ok(vec![
            series("gw-a1", "blue", None, 199.6),
            series("gw-a1", "green", None, 30.0),
            series("gw-b1", "blue", None, 2.0),
        ]);
        later.errors = Ok(vec![
            series("gw-a1", "blue", None, 0.0),
            series("gw-a1", "green", None, 5.0),
            series("gw-b1", "blue", None, 0.0),
        ]);
        let out = deltas.apply(6_000, assemble(&names, &later));
        let a1 = &out[0];
        assert_eq!(
            a1.counts.blue,
            Some(Counts {
                requests: 100,
                errors: 0
            })
        );
        assert_eq!(
            a1.counts.green,
            Some(Counts {
                requests: 20,
                errors: 3
            })
        );
        assert_eq!(
            out[1].counts.blue,
            Some(Counts {
                requests: 2,
                errors: 0
            }),
            "a total that went down is a restarted counter"
        );
        let out = polled.iter().map(|p| p.sample.clone()).collect::<Vec<_>>();
        let a1 = &out[0];
        let h = a1.ttft.green.as_ref().unwrap();
        assert_eq!((h.count, h.buckets.len()), (10, 2));
        assert_eq!(a1.health, Some(HealthStatus::Ok));
        assert_eq!(a1.streams, PerColor::default(), "a failed query is unknown");
        assert!(a1.problems.contains(&"streams: timed out".to_string()));
        let b1 = &out[1];
        assert_eq!(polled[1].totals.blue.map(|t| t.requests), Some(5.0));
        assert_eq!(
            polled[1].totals.green, None,
            "NaN and a missing 5xx series are unknown"
        );
        assert!(
            b1.problems
                .iter()
                .any(|p| p.contains("green is not a number"))
        );
        assert!(
            b1.problems
                .contains(&"errors: no series for green".to_string())
        );
        assert_eq!(b1.health, None);
        assert!(b1.problems.contains(&"health: no series".to_string()));
        assert!(b1.ttft.blue.is_none());
    }

    #[test]
    fn duplicate_series_are_not_summed_by_guess() {
        let names = vec!["gw-a1".to_string()];
        let mut a = answers();
        a.requests = Ok(vec![
            series("gw-a1", "blue", None, 1.0),
            series("gw-a1", "blue", None, 2.0),
            series("gw-a1", "green", None, 2.0),
        ]);
        let out = assemble(&names, &a);
        assert_eq!(out[0].totals.blue, None);
        assert!(
            out[0]
                .sample
                .problems
                .contains(&"requests: 2 series for blue (aggregate by gateway, color)".into())
        );
        // A series that lost its color (aggregated away) is named, not guessed.
        a.ttft = Ok(vec![series("gw-a1", "teal", Some("+Inf"), 3.0)]);
        let out = assemble(&names, &a);
        let p = &out[0].sample.problems;
        assert!(
            p.contains(&"ttft: a series without color=\"blue\" or \"green\"".to_string()),
            "{p:?}"
        );
        assert!(out[0].sample.ttft.blue.is_none() && out[0].sample.ttft.green.is_none());
    }
}
