//! Bucketed histograms as Prometheus keeps them (cumulative counts under upper bounds): the
//! TTFT bucket bounds cutover exports, and the quantiles and counts the guardrails read from
//! a histogram when the telemetry source is Prometheus. Pure.

use super::window::Percentiles;
use serde::{Deserialize, Serialize};

/// Upper bounds of the TTFT histogram buckets, in milliseconds, with their `le` label.
/// From 50 ms to 30 s; 20 ms apart from 100 to 200 ms and never more than 25 % apart up to
/// 2 s, so `histogram_quantile` lands within a bucket's width of the truth where TTFT lives.
pub const TTFT_BUCKETS: [(u32, &str); 31] = [
    (50, "0.05"),
    (75, "0.075"),
    (100, "0.1"),
    (120, "0.12"),
    (140, "0.14"),
    (160, "0.16"),
    (180, "0.18"),
    (200, "0.2"),
    (250, "0.25"),
    (300, "0.3"),
    (350, "0.35"),
    (400, "0.4"),
    (450, "0.45"),
    (500, "0.5"),
    (600, "0.6"),
    (700, "0.7"),
    (800, "0.8"),
    (900, "0.9"),
    (1000, "1.0"),
    (1250, "1.25"),
    (1500, "1.5"),
    (2000, "2.0"),
    (2500, "2.5"),
    (3000, "3.0"),
    (4000, "4.0"),
    (5000, "5.0"),
    (7500, "7.5"),
    (10000, "10.0"),
    (15000, "15.0"),
    (20000, "20.0"),
    (30000, "30.0"),
];

/// A histogram over a window: cumulative counts under finite upper bounds, and the total
/// (the `+Inf` bucket).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BucketHistogram {
    /// Finite upper bounds in ms with the observations at or below each, ascending.
    pub buckets: Vec<(f64, u64)>,
    /// Every observation (the `+Inf` bucket).
    pub count: u64,
}

impl BucketHistogram {
    /// Build from `(le in seconds, cumulative count)` pairs as a query returns them, `+Inf`
    /// included. Counts are rounded (`increase()` extrapolates); a count below the bucket
    /// before it is raised to it, as `histogram_quantile` does. The error says what is wrong.
    pub fn from_le_seconds(mut pairs: Vec<(f64, f64)>) -> Result<BucketHistogram, String> {
        if pairs.iter().any(|(le, v)| le.is_nan() || !v.is_finite()) {
            return Err("a bucket is not a number".into());
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let Some(&(last_le, _)) = pairs.last() else {
            return Err("no buckets".into());
        };
        if last_le != f64::INFINITY {
            return Err("no le=\"+Inf\" bucket".into());
        }
        let mut out = BucketHistogram::default();
        let mut running = 0u64;
        for (le, v) in pairs {
            let n = (v.max(0.0).round() as u64).max(running);
            running = n;
            if le == f64::INFINITY {
                out.count = n;
            } else if out
                .buckets
                .last()
                .is_none_or(|&(prev, _)| le * 1000.0 > prev)
            {
                out.buckets.push((le * 1000.0, n));
            }
        }
        out.trim();
        Ok(out)
    }

    /// Drop the buckets no quantile reads: the empty ones below the last empty bucket (it
    /// stays, as the lower bound of the first observations) and those above the first that
    /// holds every observation. TTFT sits in a few buckets, so a poll's histogram is kept
    /// (and journaled) as a handful of pairs, not 31.
    fn trim(&mut self) {
        if self.count == 0 {
            self.buckets.clear();
            return;
        }
        let first_seen = self.buckets.iter().position(|&(_, n)| n > 0);
        let start = first_seen.map_or(0, |i| i.saturating_sub(1));
        let end = self
            .buckets
            .iter()
            .position(|&(_, n)| n >= self.count)
            .map_or(self.buckets.len(), |i| i + 1);
        self.buckets.truncate(end);
        self.buckets.drain(..start.min(self.buckets.len()));
    }

    /// The `q` quantile in ms, interpolated linearly inside its bucket from the bucket below
    /// (0 for the first); in the `+Inf` bucket, the highest finite bound. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * self.count as f64;
        let (mut lower, mut below) = (0.0, 0u64);
        for &(le, n) in &self.buckets {
            if n as f64 >= rank && n > below {
                let within = (rank - below as f64) / (n - below) as f64;
                return Some(lower + (le - lower) * within.clamp(0.0, 1.0));
            }
            (lower, below) = (le, n);
        }
        Some(lower)
    }

    /// `min(count, most)` values spread evenly over the quantiles (the `(i + ½) / n`
    /// quantiles), in ms, at least 1: what the judge compares when it has a histogram and
    /// not the observations themselves.
    pub fn spread(&self, most: usize) -> Vec<u64> {
        let n = (self.count as usize).min(most);
        (0..n)
            .filter_map(|i| self.quantile((i as f64 + 0.5) / n as f64))
            .map(|ms| (ms.round() as u64).max(1))
            .collect()
    }

    /// Count and the 50th, 95th and 99th percentiles (ms).
    pub fn percentiles(&self) -> Percentiles {
        let q = |q: f64| self.quantile(q).map_or(0, |ms| ms.round() as u64);
        Percentiles {
            count: self.count,
            p50: q(0.5),
            p95: q(0.95),
            p99: q(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(pairs: &[(f64, f64)]) -> BucketHistogram {
        BucketHistogram::from_le_seconds(pairs.to_vec()).unwrap()
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket_like_histogram_quantile() {
        // 100 observations: 20 up to 100 ms, 60 in (100, 200], 20 in (200, 300].
        let h = hist(&[
            (0.3, 100.0),
            (0.1, 20.0),
            (f64::INFINITY, 100.0),
            (0.2, 80.0),
        ]);
        assert_eq!(h.count, 100);
        assert_eq!(h.quantile(0.5), Some(150.0));
        assert_eq!(h.quantile(0.2), Some(100.0));
        assert!((h.quantile(0.95).unwrap() - 275.0).abs() < 1e-9);
        assert_eq!(h.percentiles().p50, 150);
    }

    #[test]
    fn the_inf_bucket_answers_the_highest_finite_bound_and_empty_answers_nothing() {
        let h = hist(&[(0.1, 1.0), (f64::INFINITY, 10.0)]);
        assert_eq!(h.quantile(0.99), Some(100.0));
        let empty = hist(&[(0.1, 0.0), (f64::INFINITY, 0.0)]);
        assert_eq!(empty.quantile(0.5), None);
        assert!(empty.spread(128).is_empty());
        assert_eq!(empty.percentiles().count, 0);
    }

    #[test]
    fn bad_buckets_are_named_and_counts_are_made_monotonic() {
        let e = |p: &[(f64, f64)]| BucketHistogram::from_le_seconds(p.to_vec()).unwrap_err();
        assert!(e(&[(0.1, 1.0)]).contains("+Inf"));
        assert!(e(&[(0.1, f64::NAN), (f64::INFINITY, 1.0)]).contains("not a number"));
        assert!(e(&[]).contains("no buckets"));
        // increase() can dip a lower bucket above a higher one by extrapolation.
        let h = hist(&[(0.1, 5.2), (0.2, 4.9), (f64::INFINITY, 6.0)]);
        assert_eq!(h.buckets, vec![(100.0, 5), (200.0, 5)]);
        assert_eq!(h.count, 6);
    }

    #[test]
    fn trimming_keeps_every_quantile() {
        // The export's 31 bounds, observations in (250, 300] and (300, 350] only.
        let mut pairs: Vec<(f64, f64)> = TTFT_BUCKETS
            .iter()
            .map(|&(ms, _)| {
                let n = match ms {
                    ..=250 => 0.0,
                    251..=300 => 30.0,
                    _ => 50.0,
                };
                (f64::from(ms) / 1000.0, n)
            })
            .collect();
        pairs.push((f64::INFINITY, 50.0));
        let h = hist(&pairs);
        assert_eq!(h.buckets, vec![(250.0, 0), (300.0, 30), (350.0, 50)]);
        // The same quantiles as the whole histogram, computed by hand.
        assert_eq!(h.quantile(0.3), Some(275.0));
        assert_eq!(h.quantile(0.8), Some(325.0));
        assert_eq!(h.quantile(1.0), Some(350.0));
        // Observations beyond the last finite bound keep every bucket up to it.
        let over = hist(&[(0.1, 0.0), (0.2, 1.0), (0.3, 1.0), (f64::INFINITY, 3.0)]);
        assert_eq!(over.buckets.len(), 3);
        assert_eq!(over.quantile(0.99), Some(300.0));
        // All empty: nothing kept.
        assert!(hist(&[(0.1, 0.0), (f64::INFINITY, 0.0)]).buckets.is_empty());
    }

    #[test]
    fn the_spread_follows_the_distribution_and_is_capped() {
        let slow = hist(&[(0.4, 0.0), (0.45, 1000.0), (f64::INFINITY, 1000.0)]);
        let s = slow.spread(128);
        assert_eq!(s.len(), 128);
        assert!(s.iter().all(|&v| (400..=450).contains(&v)), "{s:?}");
        assert!(s.windows(2).all(|w| w[0] <= w[1]));
        let few = hist(&[(0.1, 3.0), (f64::INFINITY, 3.0)]);
        assert_eq!(few.spread(128).len(), 3);
    }

    #[test]
    fn bounds_ascend() {
        assert!(TTFT_BUCKETS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
