//! Error-budget burn rate: error ratio divided by the budget (1 - SLO).

use super::GuardConfig;
use crate::model::window::Counts;

/// Burn over the short and long windows for one color.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burn {
    /// Burn rate over the short (5 min) window, `None` without requests.
    pub short: Option<f64>,
    /// Burn rate over the long (1 h) window, `None` without requests.
    pub long: Option<f64>,
    /// Both windows at or above the page-level rate, each with enough requests.
    pub page: bool,
    /// A window holds fewer than `burn_min_requests` requests, so the burn cannot page.
    pub too_few: bool,
}

/// Burn rate of `c` against an SLO given in percent.
pub fn rate(c: Counts, slo_pct: f64) -> Option<f64> {
    let budget = 1.0 - slo_pct / 100.0;
    c.ratio().map(|r| r / budget)
}

/// Burn over both windows, and whether it is page-level (both at or above `page_burn`, each
/// window holding at least `burn_min_requests` requests).
pub fn evaluate(short: Counts, long: Counts, cfg: &GuardConfig) -> Burn {
    let s = rate(short, cfg.slo_pct);
    let l = rate(long, cfg.slo_pct);
    let too_few = short.requests.min(long.requests) < cfg.burn_min_requests;
    let hot = matches!((s, l), (Some(s), Some(l)) if s >= cfg.page_burn - 1e-9 && l >= cfg.page_burn - 1e-9);
    Burn {
        short: s,
        long: l,
        page: hot && !too_few,
        too_few,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(requests: u64, errors: u64) -> Counts {
        Counts { requests, errors }
    }

    #[test]
    fn burn_is_ratio_over_budget() {
        let r = rate(c(1000, 1), 99.9).unwrap();
        assert!((r - 1.0).abs() < 1e-9, "{r}");
        assert_eq!(rate(c(0, 0), 99.9), None);
    }

    #[test]
    fn page_needs_both_windows() {
        let cfg = GuardConfig::default();
        // 1.44 % errors = 14.4x of a 0.1 % budget.
        assert!(evaluate(c(10_000, 144), c(10_000, 144), &cfg).page);
        assert!(!evaluate(c(10_000, 144), c(10_000, 143), &cfg).page);
        assert!(!evaluate(c(10_000, 500), c(0, 0), &cfg).page);
    }

    #[test]
    fn page_needs_enough_requests_in_each_window() {
        let cfg = GuardConfig::default();
        assert_eq!(cfg.burn_min_requests, 500);
        // 499 requests, every one an error: 1000x, but too few to page.
        let b = evaluate(c(499, 499), c(499, 499), &cfg);
        assert!(!b.page && b.too_few, "{b:?}");
        assert!(b.short.unwrap() > cfg.page_burn);
        // Enough in the short window is not enough: the long one needs them too.
        let b = evaluate(c(10_000, 10_000), c(499, 499), &cfg);
        assert!(!b.page && b.too_few, "{b:?}");
        let b = evaluate(c(499, 499), c(10_000, 10_000), &cfg);
        assert!(!b.page && b.too_few, "{b:?}");
        // Exactly 500 requests at page level pages: 1.44 % is 14.4x of a 0.1 % budget (500
        // requests cannot hold exactly 1.44 %, so the short window has 1.6 % and the long
        // one exactly 1.44 % of 2500).
        let b = evaluate(c(500, 8), c(2_500, 36), &cfg);
        assert!(b.page && !b.too_few, "{b:?}");
        let b = evaluate(c(2_500, 36), c(500, 8), &cfg);
        assert!(b.page && !b.too_few, "{b:?}");
        // The minimum is configurable: at 1, a single failed request pages.
        let cfg = GuardConfig {
            burn_min_requests: 1,
            ..GuardConfig::default()
        };
        assert!(evaluate(c(1, 1), c(1, 1), &cfg).page);
    }
}
