//! Rolling time windows: a ring of counters and a ring of interval histograms.
//!
//! Both rings are divided into fixed slices; the slice holding `now` is the
//! "current" one and older slices fall off as time moves on. Time is passed in.

use super::Ms;
use hdrhistogram::Histogram;

/// Highest value a latency histogram tracks, in milliseconds; larger values saturate.
pub const HIST_MAX_MS: u64 = 600_000;
/// Significant digits kept by latency histograms: 1 % resolution, about 7 KiB each with u32 counts.
pub const HIST_SIGFIG: u8 = 2;

/// Requests and errors per slice, for ratios, rates and burn over long windows.
#[derive(Debug, Clone)]
pub struct CountRing {
    slice_ms: Ms,
    slices: Vec<Counts>,
    /// Index of the slice that starts at `head_start`.
    head: usize,
    head_start: Ms,
    /// When recording began, so windows longer than the history are not over-counted.
    origin: Option<Ms>,
}

/// Requests and errors counted together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Requests seen.
    pub requests: u64,
    /// Of those, server errors (5xx).
    pub errors: u64,
}

impl Counts {
    /// Error ratio in 0..=1, or `None` with no requests.
    pub fn ratio(self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.requests += o.requests;
        self.errors += o.errors;
    }
}

impl CountRing {
    /// A ring of `n` slices of `slice_ms` each.
    pub fn new(slice_ms: Ms, n: usize) -> Self {
        assert!(slice_ms > 0 && n > 0, "a ring needs slices");
        CountRing {
            slice_ms,
            slices: vec![Counts::default(); n],
            head: 0,
            head_start: 0,
            origin: None,
        }
    }

    /// Length of one slice.
    pub fn slice_ms(&self) -> Ms {
        self.slice_ms
    }

    fn advance(&mut self, now: Ms) {
        if self.origin.is_none() {
            self.origin = Some(now);
            self.head_start = now - now % self.slice_ms;
            return;
        }
        if now < self.head_start + self.slice_ms {
            return;
        }
        let steps = (now - self.head_start) / self.slice_ms;
        let n = self.slices.len();
        for _ in 0..steps.min(n as u64) {
            self.head = (self.head + 1) % n;
            self.slices[self.head] = Counts::default();
        }
        self.head_start += steps * self.slice_ms;
    }

    /// Count `c` at time `now`.
    pub fn record(&mut self, now: Ms, c: Counts) {
        self.advance(now);
        self.slices[self.head] += c;
    }

    /// Move the ring to `now` without recording, so old slices expire.
    pub fn tick(&mut self, now: Ms) {
        self.advance(now);
    }

    /// Sum over the last `window_ms` including the current, partial slice.
    pub fn sum(&self, window_ms: Ms) -> Counts {
        let k = self.slices_for(window_ms);
        self.sum_slices(0, k)
    }

    /// Requests per second over the last `window_ms` of completed slices.
    pub fn rate(&self, window_ms: Ms) -> Option<f64> {
        let k = self.slices_for(window_ms);
        let complete = self.completed_slices().min(k);
        if complete == 0 {
            return None;
        }
        let c = self.sum_slices(1, complete);
        Some(c.requests as f64 * 1000.0 / (complete as u64 * self.slice_ms) as f64)
    }

    fn slices_for(&self, window_ms: Ms) -> usize {
        (window_ms.div_ceil(self.slice_ms) as usize).clamp(1, self.slices.len())
    }

    fn completed_slices(&self) -> usize {
        match self.origin {
            None => 0,
            Some(o) => {
                let first_full = o.div_ceil(self.slice_ms) * self.slice_ms;
                (self.head_start.saturating_sub(first_full) / self.slice_ms) as usize
            }
        }
        .min(self.slices.len() - 1)
    }

    /// Sum `count` slices starting `skip` slices back from the head.
    fn sum_slices(&self, skip: usize, count: usize) -> Counts {
        let n = self.slices.len();
        let mut total = Counts::default();
        for i in skip..(skip + count).min(n) {
            total += self.slices[(self.head + n - i) % n];
        }
        total
    }
}

/// A ring of interval histograms of milliseconds, for percentiles over a window.
#[derive(Debug, Clone)]
pub struct HistRing {
    slice_ms: Ms,
    /// Allocated on first use: a color that gets no traffic (green before the first step)
    /// costs no histogram memory.
    slices: Vec<Option<Histogram<u32>>>,
    head: usize,
    head_start: Option<Ms>,
}

fn new_hist() -> Histogram<u32> {
    Histogram::new_with_bounds(1, HIST_MAX_MS, HIST_SIGFIG)
        .expect("static histogram bounds are valid")
}

impl HistRing {
    /// A ring of `n` histograms of `slice_ms` each: the window is `n * slice_ms`.
    pub fn new(slice_ms: Ms, n: usize) -> Self {
        assert!(slice_ms > 0 && n > 0, "a ring needs slices");
        HistRing {
            slice_ms,
            slices: (0..n).map(|_| None).collect(),
            head: 0,
            head_start: None,
        }
    }

    /// The whole window covered by the ring.
    pub fn window_ms(&self) -> Ms {
        self.slice_ms * self.slices.len() as Ms
    }

    /// Move to `now`, clearing slices that fell out of the window.
    pub fn tick(&mut self, now: Ms) {
        let Some(start) = self.head_start else {
            self.head_start = Some(now - now % self.slice_ms);
            return;
        };
        if now < start + self.slice_ms {
            return;
        }
        let steps = (now - start) / self.slice_ms;
        let n = self.slices.len();
        for _ in 0..steps.min(n as u64) {
            self.head = (self.head + 1) % n;
            if let Some(h) = self.slices[self.head].as_mut() {
                h.reset();
            }
        }
        self.head_start = Some(start + steps * self.slice_ms);
    }

    /// Record one value (milliseconds) at `now`; values of 0 count as 1, huge ones saturate.
    pub fn record(&mut self, now: Ms, value_ms: u64) {
        self.tick(now);
        self.slices[self.head]
            .get_or_insert_with(new_hist)
            .saturating_record(value_ms.clamp(1, HIST_MAX_MS));
    }

    /// Merge the whole window into `into` (which is reset first).
    pub fn merge_into(&self, into: &mut Histogram<u32>) {
        into.reset();
        for h in self.slices.iter().flatten() {
            // Same bounds everywhere, so adding cannot fail.
            let _ = into.add(h);
        }
    }

    /// A fresh histogram with the ring's bounds, for use with `merge_into`.
    pub fn scratch() -> Histogram<u32> {
        new_hist()
    }
}

/// The samples of a low-rate series (TTFT and health probes) over a time window, for exact
/// percentiles: a probe every second or two is a few hundred numbers, far smaller than a ring
/// of histograms. Past `cap` samples the oldest go first (the window gets shorter).
#[derive(Debug, Clone)]
pub struct SampleWindow {
    window_ms: Ms,
    cap: usize,
    samples: std::collections::VecDeque<(Ms, u32)>,
}

impl SampleWindow {
    /// A window of `window_ms` holding at most `cap` samples.
    pub fn new(window_ms: Ms, cap: usize) -> Self {
        SampleWindow {
            window_ms,
            cap: cap.max(1),
            samples: std::collections::VecDeque::new(),
        }
    }

    /// Record `value_ms` at `now`.
    pub fn record(&mut self, now: Ms, value_ms: u64) {
        self.tick(now);
        self.samples
            .push_back((now, u32::try_from(value_ms).unwrap_or(u32::MAX)));
        while self.samples.len() > self.cap {
            self.samples.pop_front();
        }
    }

    /// Drop samples older than the window.
    pub fn tick(&mut self, now: Ms) {
        let since = now.saturating_sub(self.window_ms);
        while self.samples.front().is_some_and(|(t, _)| *t < since) {
            self.samples.pop_front();
        }
    }

    /// Samples in the window now.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when the window holds no sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The samples in the window, oldest first.
    pub fn values(&self) -> impl Iterator<Item = u64> + '_ {
        self.samples.iter().map(|(_, v)| u64::from(*v))
    }

    /// Nearest-rank percentiles of the window; `scratch` is reused to sort.
    pub fn percentiles(&self, scratch: &mut Vec<u32>) -> Percentiles {
        scratch.clear();
        scratch.extend(self.samples.iter().map(|(_, v)| *v));
        if scratch.is_empty() {
            return Percentiles::default();
        }
        scratch.sort_unstable();
        let n = scratch.len();
        let at = |p: usize| u64::from(scratch[(n * p).div_ceil(100).clamp(1, n) - 1]);
        Percentiles {
            count: n as u64,
            p50: at(50),
            p95: at(95),
            p99: at(99),
        }
    }
}

/// Percentiles read from a histogram window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// Number of samples.
    pub count: u64,
    /// Median in ms (0 when empty).
    pub p50: u64,
    /// 95th percentile in ms (0 when empty).
    pub p95: u64,
    /// 99th percentile in ms (0 when empty).
    pub p99: u64,
}

impl Percentiles {
    /// Read percentiles from `h`.
    pub fn of(h: &Histogram<u32>) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        // The bucket's lowest value, so a recorded value reads back as itself.
        let q = |p| h.lowest_equivalent(h.value_at_quantile(p));
        Percentiles {
            count: h.len(),
            p50: q(0.50),
            p95: q(0.95),
            p99: q(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_windows_give_nearest_rank_percentiles_and_expire() {
        let mut w = SampleWindow::new(10_000, 1_000);
        let mut scratch = Vec::new();
        assert_eq!(w.percentiles(&mut scratch), Percentiles::default());
        for (i, v) in (1..=100u64).enumerate() {
            w.record(i as Ms * 10, v);
        }
        let p = w.percentiles(&mut scratch);
        assert_eq!((p.count, p.p50, p.p95, p.p99), (100, 50, 95, 99));
        w.tick(10_500);
        // Samples before 500 ms (the first 50) left the window.
        assert_eq!(w.percentiles(&mut scratch).count, 50);
        let mut capped = SampleWindow::new(10_000, 3);
        for v in [5, 6, 7, 8] {
            capped.record(0, v);
        }
        assert_eq!(capped.percentiles(&mut scratch).p50, 7);
    }

    fn c(requests: u64, errors: u64) -> Counts {
        Counts { requests, errors }
    }

    #[test]
    fn counts_expire_after_the_ring() {
        let mut r = CountRing::new(1_000, 10);
        r.record(0, c(10, 1));
        r.record(5_000, c(10, 0));
        assert_eq!(r.sum(10_000), c(20, 1));
        r.tick(10_000);
        // The slice from t=0 is out of a 10 s ring now.
        assert_eq!(r.sum(10_000), c(10, 0));
        r.tick(100_000);
        assert_eq!(r.sum(10_000), c(0, 0));
    }

    #[test]
    fn sum_honours_the_window() {
        let mut r = CountRing::new(1_000, 60);
        for t in 0..30 {
            r.record(t * 1_000, c(1, 0));
        }
        assert_eq!(r.sum(5_000).requests, 5);
        assert_eq!(r.sum(60_000).requests, 30);
    }

    #[test]
    fn rate_uses_completed_slices_only() {
        let mut r = CountRing::new(1_000, 60);
        assert_eq!(r.rate(10_000), None);
        for t in 0..20_000u64 {
            if t % 100 == 0 {
                r.record(t, c(1, 0)); // 10 per second
            }
        }
        let rate = r.rate(10_000).unwrap();
        assert!((rate - 10.0).abs() < 1e-9, "{rate}");
    }

    #[test]
    fn ratio_of_counts() {
        assert_eq!(c(0, 0).ratio(), None);
        assert_eq!(c(200, 1).ratio(), Some(0.005));
    }

    #[test]
    fn hist_ring_percentiles_and_expiry() {
        let mut h = HistRing::new(10_000, 6);
        for v in 1..=100 {
            h.record(1_000, v);
        }
        let mut s = HistRing::scratch();
        h.merge_into(&mut s);
        let p = Percentiles::of(&s);
        assert_eq!(p.count, 100);
        assert_eq!(p.p50, 50);
        assert_eq!(p.p95, 95);
        h.tick(61_000);
        h.merge_into(&mut s);
        assert_eq!(Percentiles::of(&s).count, 0);
    }

    #[test]
    fn hist_saturates_instead_of_failing() {
        let mut h = HistRing::new(1_000, 2);
        h.record(0, 0);
        h.record(0, u64::MAX);
        let mut s = HistRing::scratch();
        h.merge_into(&mut s);
        assert_eq!(s.len(), 2);
    }
}
