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
    /// Both windows at or above the page-level rate.
    pub page: bool,
}

/// Burn rate of `c` against an SLO given in percent.
pub fn rate(c: Counts, slo_pct: f64) -> Option<f64> {
    let budget = 1.0 - slo_pct / 100.0;
    c.ratio().map(|r| r / budget)
}

/// Burn over both windows, and whether it is page-level (both at or above `page_burn`).
pub fn evaluate(short: Counts, long: Counts, cfg: &GuardConfig) -> Burn {
    let s = rate(short, cfg.slo_pct);
    let l = rate(long, cfg.slo_pct);
    let page = matches!((s, l), (Some(s), Some(l)) if s >= cfg.page_burn - 1e-9 && l >= cfg.page_burn - 1e-9);
    Burn {
        short: s,
        long: l,
        page,
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
}
