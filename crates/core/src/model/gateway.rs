//! Per-gateway model: rolling statistics per color, health, host state, history.

use super::buckets::BucketHistogram;
use super::window::{CountRing, Counts, HistRing, Percentiles, SampleWindow};
use super::{
    Color, Finding, HealthReport, HealthStatus, HostSample, MetricsSample, Ms, PerColor, Telemetry,
    Weights,
};
use hdrhistogram::Histogram;
use std::collections::VecDeque;

/// Window lengths used by the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Windows {
    /// Slice of the request counters.
    pub count_slice_ms: Ms,
    /// Window for the current 5xx ratio compared by the auto-rollback guard.
    pub ratio_window_ms: Ms,
    /// Window for requests per second.
    pub rate_window_ms: Ms,
    /// Window over which TTFT percentiles are compared.
    pub ttft_window_ms: Ms,
    /// Window for request latency percentiles.
    pub latency_window_ms: Ms,
    /// Short burn-rate window.
    pub burn_short_ms: Ms,
    /// Long burn-rate window.
    pub burn_long_ms: Ms,
    /// Age after which the metrics source's TTFT histograms and health are not used.
    pub metrics_fresh_ms: Ms,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            count_slice_ms: 5_000,
            ratio_window_ms: 60_000,
            rate_window_ms: 10_000,
            ttft_window_ms: 120_000,
            latency_window_ms: 60_000,
            burn_short_ms: 5 * 60_000,
            burn_long_ms: 60 * 60_000,
            metrics_fresh_ms: 15_000,
        }
    }
}

/// Probe samples kept per window: a probe a second over the default two minutes fits.
const MAX_PROBE_SAMPLES: usize = 1_024;

/// Histogram slices per window: six keeps memory small and expiry smooth.
const HIST_SLICES: usize = 6;
/// Points kept in the TTFT and weight history charts.
pub const HISTORY_POINTS: usize = 120;

/// Rolling statistics of one color on one gateway.
#[derive(Debug, Clone)]
pub struct ColorStats {
    counts: CountRing,
    latency: HistRing,
    header: HistRing,
    ttft: SampleWindow,
}

impl ColorStats {
    fn new(w: &Windows) -> Self {
        let count_slices = (w.burn_long_ms / w.count_slice_ms) as usize + 1;
        ColorStats {
            counts: CountRing::new(w.count_slice_ms, count_slices),
            latency: HistRing::new(
                (w.latency_window_ms / HIST_SLICES as Ms).max(1),
                HIST_SLICES,
            ),
            header: HistRing::new(
                (w.latency_window_ms / HIST_SLICES as Ms).max(1),
                HIST_SLICES,
            ),
            ttft: SampleWindow::new(w.ttft_window_ms, MAX_PROBE_SAMPLES),
        }
    }
}

/// Figures for one color, computed once per tick so drawing never touches histograms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ColorSummary {
    /// Requests per second (completed slices of the rate window).
    pub rps: Option<f64>,
    /// Requests and 5xx over the ratio window.
    pub ratio_window: Counts,
    /// Requests and 5xx over the short burn window.
    pub burn_short: Counts,
    /// Requests and 5xx over the long burn window.
    pub burn_long: Counts,
    /// Request latency over the latency window.
    pub latency: Percentiles,
    /// Upstream header time (the color's own time to answer) over the latency window.
    pub header: Percentiles,
    /// TTFT over the TTFT window.
    pub ttft: Percentiles,
}

/// Both colors' figures.
pub type Summary = PerColor<ColorSummary>;

/// One point of the TTFT chart: medians per color at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TtftPoint {
    /// When the point was taken.
    pub at: Ms,
    /// Median TTFT per color in ms (None without samples).
    pub p50: PerColor<Option<u64>>,
}

/// The latest synthetic probe outcomes of one color: a failed or timed-out probe is data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeTrack {
    /// When a probe last answered with a first token.
    pub last_ok: Option<Ms>,
    /// When a probe last failed (error, refused, timed out).
    pub last_failed: Option<Ms>,
    /// Failures since the last success.
    pub failures_in_row: u32,
}

/// Whether a color answers its probes, judged from its `ProbeTrack` at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answering {
    /// The newest fresh probe answered.
    Yes,
    /// The newest fresh probe failed; `failures` in a row.
    Failing {
        /// Failures since the last success.
        failures: u32,
    },
    /// No probe result newer than the freshness limit: not known.
    Unknown,
}

impl ProbeTrack {
    /// Fold one probe result at `now`.
    pub fn record(&mut self, now: Ms, ok: bool) {
        if ok {
            self.last_ok = Some(now);
            self.failures_in_row = 0;
        } else {
            self.last_failed = Some(now);
            self.failures_in_row = self.failures_in_row.saturating_add(1);
        }
    }

    /// The verdict at `now`, counting only results younger than `fresh_ms`.
    pub fn answering(&self, now: Ms, fresh_ms: Ms) -> Answering {
        let fresh = |t: Option<Ms>| t.filter(|t| now.saturating_sub(*t) <= fresh_ms);
        match (fresh(self.last_ok), fresh(self.last_failed)) {
            (_, Some(f)) if self.last_ok.is_none_or(|o| f >= o) => Answering::Failing {
                failures: self.failures_in_row.max(1),
            },
            (Some(_), _) => Answering::Yes,
            _ => Answering::Unknown,
        }
    }
}

/// What the metrics source (Prometheus) said about a gateway lately. Present once a poll of
/// it arrived: from then on the gateway's TTFT is judged from histograms, not probes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsTrack {
    /// When both colors' request counts last arrived (what the 5xx guard reads).
    pub counts_at: Option<Ms>,
    /// When each color's TTFT histogram last arrived.
    pub ttft_at: PerColor<Option<Ms>>,
    /// Each color's latest TTFT histogram while it is fresh.
    pub ttft: PerColor<Option<BucketHistogram>>,
    /// Streams in flight per color, from the latest poll.
    pub streams: PerColor<Option<u64>>,
    /// What the latest poll could not tell, and why.
    pub problems: Vec<String>,
}

impl MetricsTrack {
    /// Age of the request counts at `now` (`None`: never arrived).
    pub fn counts_age(&self, now: Ms) -> Option<Ms> {
        self.counts_at.map(|t| now.saturating_sub(t))
    }
}

/// Everything known about one gateway, as reported by its collectors.
#[derive(Debug, Clone)]
pub struct GatewayModel {
    windows: Windows,
    stats: PerColor<ColorStats>,
    /// Latest computed figures.
    pub summary: Summary,
    /// Weights last read back from the host.
    pub weights: Option<Weights>,
    /// Weight changes over time (time of read-back, weights), oldest first.
    pub weight_history: VecDeque<(Ms, Weights)>,
    /// Median TTFT over time, oldest first.
    pub ttft_history: VecDeque<TtftPoint>,
    /// Latest health probe.
    pub health: Option<HealthReport>,
    /// Latest host sample.
    pub host: Option<HostSample>,
    /// The latest preflight round's findings and when they arrived.
    pub preflight: Option<(Ms, Vec<Finding>)>,
    /// When the latest host sample arrived.
    pub host_at: Option<Ms>,
    /// When the latest health probe answered (or failed).
    pub health_at: Option<Ms>,
    /// When the access-log tail last delivered requests.
    pub requests_at: Option<Ms>,
    /// Last time any collector reported (None: never).
    pub last_seen: Option<Ms>,
    /// Why the host is unreachable, if the last attempt failed.
    pub unreachable: Option<String>,
    /// Requests whose color could not be told (no upstream chosen).
    pub unattributed: u64,
    /// p95 of the health probe's latency over the latency window, ms (None without probes).
    pub health_p95_ms: Option<u64>,
    /// Each color's synthetic probe outcomes (successes and failures).
    pub probes: PerColor<ProbeTrack>,
    /// The metrics source's latest figures; `None` while the source is SSH.
    pub metrics: Option<MetricsTrack>,
    /// TTFT samples ever recorded per color: with the window lengths, tells whether the
    /// windows changed since the judge last looked.
    ttft_recorded: PerColor<u64>,
    /// The health probes' latencies over the latency window.
    health_latency: SampleWindow,
    sorted: Vec<u32>,
    scratch: Histogram<u32>,
    last_history_at: Option<Ms>,
}

impl GatewayModel {
    /// An empty model using the given windows.
    pub fn new(windows: Windows) -> Self {
        GatewayModel {
            stats: PerColor::from_fn(|_| ColorStats::new(&windows)),
            windows,
            summary: Summary::default(),
            weights: None,
            weight_history: VecDeque::new(),
            ttft_history: VecDeque::new(),
            health: None,
            host: None,
            preflight: None,
            host_at: None,
            health_at: None,
            requests_at: None,
            last_seen: None,
            unreachable: None,
            unattributed: 0,
            health_p95_ms: None,
            probes: PerColor::default(),
            metrics: None,
            ttft_recorded: PerColor::default(),
            health_latency: SampleWindow::new(windows.latency_window_ms, MAX_PROBE_SAMPLES),
            sorted: Vec::new(),
            scratch: HistRing::scratch(),
            last_history_at: None,
        }
    }

    /// The windows this model was built with.
    pub fn windows(&self) -> &Windows {
        &self.windows
    }

    /// Fold one telemetry event received at `now`.
    pub fn apply(&mut self, now: Ms, t: &Telemetry) {
        if let Telemetry::Unreachable { reason } = t {
            self.unreachable = Some(reason.clone());
            return;
        }
        // Freshness means the host answered over SSH: a health probe goes through the public
        // listener and keeps answering while the host is unreachable for control.
        let from_host = !matches!(
            t,
            Telemetry::Health(_) | Telemetry::Ttft { ms: None, .. } | Telemetry::Metrics(_)
        );
        if from_host {
            self.last_seen = Some(now);
            self.unreachable = None;
        }
        match t {
            Telemetry::Requests { records } => {
                self.requests_at = Some(now);
                for r in records {
                    let Some(c) = r.color else {
                        self.unattributed += 1;
                        continue;
                    };
                    let s = &mut self.stats[c];
                    s.counts.record(
                        now,
                        Counts {
                            requests: 1,
                            errors: u64::from(r.is_error()),
                        },
                    );
                    s.latency.record(now, u64::from(r.request_ms));
                    if let Some(h) = r.header_ms {
                        s.header.record(now, u64::from(h));
                    }
                }
            }
            Telemetry::Health(h) => {
                self.health_at = Some(now);
                self.health_latency.record(now, u64::from(h.latency_ms));
                self.health = Some(h.clone());
            }
            Telemetry::Ttft { color, ms } => {
                self.probes[*color].record(now, ms.is_some());
                if let Some(ms) = ms {
                    self.stats[*color].ttft.record(now, u64::from(*ms));
                    self.ttft_recorded[*color] += 1;
                }
            }
            Telemetry::Host(h) => {
                self.host = Some(h.clone());
                self.host_at = Some(now);
            }
            Telemetry::Weights(w) => self.set_weights(now, *w),
            Telemetry::Preflight { findings } => self.preflight = Some((now, findings.clone())),
            Telemetry::Metrics(m) => self.apply_metrics(now, m),
            Telemetry::Unreachable { .. } => unreachable!("handled above"),
        }
    }

    /// Fold one poll of the metrics source: counts into the same rings the access log feeds,
    /// histograms and health kept with their time. Missing parts leave the last ones to age.
    fn apply_metrics(&mut self, now: Ms, m: &MetricsSample) {
        let track = self.metrics.get_or_insert_with(MetricsTrack::default);
        track.problems.clone_from(&m.problems);
        track.streams = m.streams;
        for c in Color::BOTH {
            if let Some(counts) = m.counts[c] {
                self.stats[c].counts.record(now, counts);
            }
            if let Some(h) = &m.ttft[c] {
                track.ttft[c] = Some(h.clone());
                track.ttft_at[c] = Some(now);
                self.ttft_recorded[c] += 1;
            }
        }
        // A color the host sampler saw stopped has no series to give: its absence is news
        // the sampler already told, not missing figures.
        let expected = |c: Color| self.host.as_ref().is_none_or(|h| h.running[c]);
        let answered = Color::BOTH
            .iter()
            .all(|&c| m.counts[c].is_some() || !expected(c));
        if answered && (m.counts.blue.is_some() || m.counts.green.is_some()) {
            track.counts_at = Some(now);
            self.requests_at = Some(now);
        }
        if let Some(status) = m.health {
            let failing = match status {
                HealthStatus::Ok => Vec::new(),
                other => vec![format!("exporters report {}", other.name())],
            };
            self.health = Some(HealthReport {
                status,
                failing,
                latency_ms: 0,
            });
            self.health_at = Some(now);
        }
    }

    /// Record weights read back from the host (after a change or periodically).
    pub fn set_weights(&mut self, now: Ms, w: Weights) {
        if self.weights != Some(w) {
            self.weight_history.push_back((now, w));
            while self.weight_history.len() > HISTORY_POINTS {
                self.weight_history.pop_front();
            }
        }
        self.weights = Some(w);
    }

    /// Recompute the summary at `now`; appends a TTFT history point every `history_every` ms.
    pub fn refresh(&mut self, now: Ms, history_every: Ms) {
        let w = self.windows;
        // With the metrics source, a rate over counts that stopped arriving is not a rate of
        // zero: it is unknown.
        let counts_stale = self.metrics.as_ref().is_some_and(|m| {
            m.counts_at
                .is_none_or(|t| now.saturating_sub(t) > w.metrics_fresh_ms)
        });
        for c in Color::BOTH {
            let s = &mut self.stats[c];
            s.counts.tick(now);
            s.latency.tick(now);
            s.header.tick(now);
            s.ttft.tick(now);
            let mut out = ColorSummary {
                rps: s.counts.rate(w.rate_window_ms).filter(|_| !counts_stale),
                ratio_window: s.counts.sum(w.ratio_window_ms),
                burn_short: s.counts.sum(w.burn_short_ms),
                burn_long: s.counts.sum(w.burn_long_ms),
                ..ColorSummary::default()
            };
            s.latency.merge_into(&mut self.scratch);
            out.latency = Percentiles::of(&self.scratch);
            s.header.merge_into(&mut self.scratch);
            out.header = Percentiles::of(&self.scratch);
            out.ttft = match &mut self.metrics {
                // A histogram no newer than the freshness limit is dropped, not judged.
                Some(m) => {
                    let fresh =
                        m.ttft_at[c].is_some_and(|t| now.saturating_sub(t) <= w.metrics_fresh_ms);
                    if !fresh && m.ttft[c].take().is_some() {
                        self.ttft_recorded[c] += 1;
                    }
                    m.ttft[c]
                        .as_ref()
                        .map(BucketHistogram::percentiles)
                        .unwrap_or_default()
                }
                None => s.ttft.percentiles(&mut self.sorted),
            };
            self.summary[c] = out;
        }
        let health_stale = self
            .health_at
            .is_none_or(|t| now.saturating_sub(t) > w.metrics_fresh_ms);
        if self.metrics.is_some() && health_stale {
            // The exporters' health is only as good as the last poll that carried it.
            self.health = None;
        }
        self.health_latency.tick(now);
        let probes = self.health_latency.percentiles(&mut self.sorted);
        self.health_p95_ms = (probes.count > 0).then_some(probes.p95);
        let due = self
            .last_history_at
            .is_none_or(|t| now >= t + history_every);
        if due {
            self.last_history_at = Some(now);
            let p50 = PerColor::from_fn(|c| {
                let t = self.summary[c].ttft;
                (t.count > 0).then_some(t.p50)
            });
            self.ttft_history.push_back(TtftPoint { at: now, p50 });
            while self.ttft_history.len() > HISTORY_POINTS {
                self.ttft_history.pop_front();
            }
        }
    }

    /// Changes whenever either color's TTFT window gains or loses a sample.
    pub fn ttft_key(&self) -> [u64; 4] {
        [
            self.ttft_recorded.blue,
            self.ttft_recorded.green,
            self.stats.blue.ttft.len() as u64,
            self.stats.green.ttft.len() as u64,
        ]
    }

    /// What the TTFT judge compares for color `c` (ms): the probe results in the comparison
    /// window, oldest first; with the metrics source, values spread over the quantiles of
    /// the color's fresh histogram (none without one: never the probes instead).
    pub fn ttft_values(&self, c: Color) -> Vec<u64> {
        match &self.metrics {
            Some(m) => m.ttft[c]
                .as_ref()
                .map(|h| h.spread(crate::guard::judge::MAX_SAMPLES))
                .unwrap_or_default(),
            None => self.stats[c].ttft.values().collect(),
        }
    }

    /// Whether the TTFT figures come from the metrics source's histograms.
    pub fn ttft_from_histogram(&self) -> bool {
        self.metrics.is_some()
    }

    /// Age of the newest data, or `None` if nothing was ever heard.
    pub fn age(&self, now: Ms) -> Option<Ms> {
        self.last_seen.map(|t| now.saturating_sub(t))
    }

    /// Health verdict, `Unknown` before the first probe.
    pub fn health_status(&self) -> HealthStatus {
        self.health
            .as_ref()
            .map_or(HealthStatus::Unknown, |h| h.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RequestRecord;

    fn req(color: Color, status: u16, ms: u32) -> RequestRecord {
        RequestRecord {
            color: Some(color),
            status,
            request_ms: ms,
            header_ms: None,
        }
    }

    #[test]
    fn requests_are_attributed_per_color() {
        let mut g = GatewayModel::new(Windows::default());
        let mut records = vec![req(Color::Blue, 200, 100); 90];
        records.extend(vec![req(Color::Green, 502, 300); 10]);
        records.push(RequestRecord {
            color: None,
            status: 502,
            request_ms: 1,
            header_ms: None,
        });
        g.apply(1_000, &Telemetry::Requests { records });
        g.refresh(1_000, 10_000);
        assert_eq!(
            g.summary.blue.ratio_window,
            Counts {
                requests: 90,
                errors: 0
            }
        );
        assert_eq!(
            g.summary.green.ratio_window,
            Counts {
                requests: 10,
                errors: 10
            }
        );
        assert_eq!(g.summary.green.latency.p50, 300);
        assert_eq!(g.unattributed, 1);
        assert_eq!(g.last_seen, Some(1_000));
    }

    #[test]
    fn ttft_history_and_weights_history() {
        let mut g = GatewayModel::new(Windows::default());
        g.apply(0, &Telemetry::Weights(Weights::STEADY));
        g.apply(0, &Telemetry::Weights(Weights::STEADY));
        g.apply(5, &Telemetry::Weights(Weights::with_green(10).unwrap()));
        assert_eq!(
            g.weight_history.len(),
            2,
            "unchanged read-backs are not history"
        );
        g.apply(
            10,
            &Telemetry::Ttft {
                color: Color::Green,
                ms: Some(250),
            },
        );
        g.refresh(10, 1_000);
        g.refresh(500, 1_000);
        g.refresh(1_010, 1_000);
        assert_eq!(g.ttft_history.len(), 2);
        assert_eq!(g.ttft_history[0].p50.green, Some(250));
        assert_eq!(g.ttft_history[0].p50.blue, None);
    }

    #[test]
    fn unreachable_keeps_last_data_and_age_grows() {
        let mut g = GatewayModel::new(Windows::default());
        g.apply(1_000, &Telemetry::Weights(Weights::STEADY));
        g.apply(
            9_000,
            &Telemetry::Unreachable {
                reason: "ssh: connect timed out".into(),
            },
        );
        assert_eq!(g.age(9_000), Some(8_000));
        assert_eq!(g.weights, Some(Weights::STEADY));
        assert!(g.unreachable.is_some());
    }

    #[test]
    fn health_probes_do_not_make_a_dark_host_fresh_and_their_p95_is_kept() {
        let mut g = GatewayModel::new(Windows::default());
        g.apply(1_000, &Telemetry::Weights(Weights::STEADY));
        g.apply(
            2_000,
            &Telemetry::Unreachable {
                reason: "ssh: connection refused".into(),
            },
        );
        for (i, ms) in (0..20).zip([10u32, 12, 11, 9, 300, 10, 12, 11, 10, 9].iter().cycle()) {
            let report = HealthReport {
                status: HealthStatus::Ok,
                failing: vec![],
                latency_ms: *ms,
            };
            g.apply(3_000 + i * 100, &Telemetry::Health(report));
        }
        g.apply(
            5_000,
            &Telemetry::Ttft {
                color: Color::Green,
                ms: None,
            },
        );
        // Still dark: only SSH-borne data counts as fresh.
        assert_eq!(g.age(6_000), Some(5_000));
        assert!(g.unreachable.is_some());
        g.refresh(6_000, 10_000);
        let p95 = g.health_p95_ms.unwrap();
        assert!((290..=310).contains(&p95), "{p95}");
        g.apply(
            6_500,
            &Telemetry::Ttft {
                color: Color::Green,
                ms: Some(120),
            },
        );
        assert_eq!(g.age(6_500), Some(0));
        assert!(g.unreachable.is_none());
    }

    #[test]
    fn a_failed_probe_is_failing_until_a_newer_success_and_old_results_are_unknown() {
        let mut t = ProbeTrack::default();
        assert_eq!(t.answering(0, 10_000), Answering::Unknown);
        t.record(1_000, true);
        assert_eq!(t.answering(2_000, 10_000), Answering::Yes);
        t.record(3_000, false);
        t.record(5_000, false);
        assert_eq!(
            t.answering(6_000, 10_000),
            Answering::Failing { failures: 2 }
        );
        // Old news is not evidence either way.
        assert_eq!(t.answering(30_000, 10_000), Answering::Unknown);
        t.record(31_000, true);
        assert_eq!(t.answering(31_000, 10_000), Answering::Yes);
        let mut g = GatewayModel::new(Windows::default());
        g.apply(
            1_000,
            &Telemetry::Ttft {
                color: Color::Green,
                ms: None,
            },
        );
        assert_eq!(
            g.probes.green.answering(1_000, 10_000),
            Answering::Failing { failures: 1 }
        );
        assert_eq!(g.probes.blue.answering(1_000, 10_000), Answering::Unknown);
    }

    #[test]
    fn header_times_are_kept_per_color_from_the_log() {
        let mut g = GatewayModel::new(Windows::default());
        let rec = |color, header_ms| RequestRecord {
            color: Some(color),
            status: 200,
            request_ms: 900,
            header_ms,
        };
        let records = vec![
            rec(Color::Blue, Some(4)),
            rec(Color::Blue, Some(4)),
            rec(Color::Green, Some(40)),
            rec(Color::Green, None),
        ];
        g.apply(1_000, &Telemetry::Requests { records });
        g.refresh(2_000, 10_000);
        assert_eq!(g.summary.blue.header.count, 2);
        assert_eq!(g.summary.blue.header.p50, 4);
        assert_eq!(g.summary.green.header.count, 1);
        assert_eq!(g.summary.green.header.p95, 40);
        assert_eq!(g.summary.green.latency.count, 2);
    }

    fn metrics(counts: Option<(u64, u64)>, le_secs: f64) -> Telemetry {
        let hist = crate::model::buckets::BucketHistogram::from_le_seconds(vec![
            (le_secs - 0.05, 0.0),
            (le_secs, 100.0),
            (f64::INFINITY, 100.0),
        ])
        .unwrap();
        let c = counts.map(|(requests, errors)| Counts { requests, errors });
        Telemetry::Metrics(Box::new(MetricsSample {
            counts: PerColor { blue: c, green: c },
            ttft: PerColor {
                blue: Some(hist.clone()),
                green: Some(hist),
            },
            streams: PerColor {
                blue: Some(3),
                green: None,
            },
            health: Some(HealthStatus::Ok),
            problems: Vec::new(),
        }))
    }

    #[test]
    fn metrics_feed_the_counts_and_the_ttft_comes_from_histograms_only() {
        let mut g = GatewayModel::new(Windows::default());
        g.apply(
            1_000,
            &Telemetry::Ttft {
                color: Color::Blue,
                ms: Some(900),
            },
        );
        g.apply(2_000, &metrics(Some((200, 4)), 0.3));
        g.refresh(2_000, 1_000);
        assert_eq!(
            g.summary.blue.ratio_window,
            Counts {
                requests: 200,
                errors: 4
            }
        );
        assert_eq!(g.summary.blue.ttft.count, 100);
        assert!(
            (250..=300).contains(&g.summary.blue.ttft.p50),
            "{:?}",
            g.summary.blue.ttft
        );
        let values = g.ttft_values(Color::Blue);
        assert_eq!(values.len(), 100);
        assert!(
            values.iter().all(|&v| (250..=300).contains(&v)),
            "the probe's 900 ms is not judged"
        );
        assert!(g.ttft_from_histogram());
        assert_eq!(g.metrics.as_ref().unwrap().streams.blue, Some(3));
        assert_eq!(
            g.last_seen,
            Some(1_000),
            "prometheus says nothing of the host over SSH"
        );
        assert_eq!(g.health_status(), HealthStatus::Ok);
    }

    #[test]
    fn a_stopped_colors_missing_series_is_not_missing_figures() {
        let mut g = GatewayModel::new(Windows::default());
        let mut poll = MetricsSample {
            counts: PerColor {
                blue: Some(Counts {
                    requests: 10,
                    errors: 0,
                }),
                green: None,
            },
            ..MetricsSample::default()
        };
        g.apply(1_000, &Telemetry::Metrics(Box::new(poll.clone())));
        assert_eq!(
            g.metrics.as_ref().unwrap().counts_at,
            None,
            "green not known stopped: its counts are missing"
        );
        let host = HostSample {
            running: PerColor {
                blue: true,
                green: false,
            },
            ..HostSample::default()
        };
        g.apply(2_000, &Telemetry::Host(host));
        g.apply(3_000, &Telemetry::Metrics(Box::new(poll.clone())));
        assert_eq!(g.metrics.as_ref().unwrap().counts_at, Some(3_000));
        poll.counts.blue = None;
        g.apply(4_000, &Telemetry::Metrics(Box::new(poll)));
        assert_eq!(
            g.metrics.as_ref().unwrap().counts_at,
            Some(3_000),
            "nothing answered: not fresh"
        );
    }

    #[test]
    fn old_histograms_and_health_are_dropped_and_missing_counts_are_not_zero() {
        let mut g = GatewayModel::new(Windows::default());
        g.apply(1_000, &metrics(Some((50, 0)), 0.3));
        g.apply(6_000, &metrics(None, 0.3));
        g.refresh(6_000, 1_000);
        let m = g.metrics.as_ref().unwrap();
        assert_eq!(
            m.counts_at,
            Some(1_000),
            "a poll without counts does not refresh them"
        );
        assert_eq!(
            g.summary.blue.ratio_window.requests, 50,
            "nothing was added as zero"
        );
        let key = g.ttft_key();
        g.refresh(1_000 + 15_001 + 5_000, 1_000);
        assert!(
            g.ttft_values(Color::Green).is_empty(),
            "a stale histogram is not judged"
        );
        assert_eq!(g.summary.green.ttft.count, 0);
        assert_ne!(g.ttft_key(), key, "the judge sees the change");
        assert_eq!(g.health_status(), HealthStatus::Unknown);
        assert_eq!(
            g.summary.blue.rps, None,
            "counts that stopped arriving are no rate of zero"
        );
    }
}
