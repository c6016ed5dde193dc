//! Guardrails as pure functions of the model and the time passed in.

pub mod burn;
pub mod drain;
pub mod fivexx;
pub mod judge;
pub mod listeners;
pub mod preflight;
pub mod revision;
pub mod ttft;
pub mod verdict;

use crate::model::Ms;
use serde::{Deserialize, Serialize};

/// Guardrail thresholds; every number of the product spec, configurable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardConfig {
    /// Weight points per step.
    pub step: u8,
    /// Green's median TTFT may exceed blue's by at most this many percent.
    pub ttft_halt_pct: f64,
    /// Samples each color needs in the TTFT window before a verdict.
    pub ttft_min_samples: u64,
    /// TTFT comparison window, seconds.
    pub ttft_window_secs: u64,
    /// Green's 5xx ratio may exceed blue's by at most this many percentage points.
    pub fivexx_delta_pp: f64,
    /// Window over which 5xx ratios are computed, seconds.
    pub fivexx_window_secs: u64,
    /// How long the delta must hold before the auto-rollback fires, seconds.
    pub fivexx_hold_secs: u64,
    /// Requests each color needs in the 5xx window before a verdict.
    pub fivexx_min_requests: u64,
    /// Roll back automatically when the 5xx delta holds (false: alarm only).
    pub auto_rollback: bool,
    /// SLO availability in percent.
    pub slo_pct: f64,
    /// Burn rate on both windows that is page-level.
    pub page_burn: f64,
    /// Requests each burn window needs before its burn rate may page.
    pub burn_min_requests: u64,
    /// Longest wait for a drained color's connections to close, seconds.
    pub drain_window_secs: u64,
    /// After a rollback's 100/0, how long green's open streams may finish before it is
    /// stopped, seconds (0: stop at once).
    pub rollback_grace_secs: u64,
    /// A color's last probe result counts for this long; older, its state is unknown, seconds.
    pub probe_fresh_secs: u64,
    /// Collector interval, seconds; data older than `stale_intervals` of these is stale.
    pub interval_secs: u64,
    /// Intervals after which data is shown as stale.
    pub stale_intervals: u64,
    /// Allowed host clock skew, ms.
    pub max_clock_skew_ms: u64,
    /// SLO of the health probe's latency: p95 under this many ms.
    pub health_p95_slo_ms: u64,
    /// A gateway's preflight (nginx lint, open-files limits, certificate) counts this long;
    /// older, a step onto the candidate is held as inconclusive, seconds.
    pub preflight_max_age_secs: u64,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            step: 10,
            ttft_halt_pct: 8.0,
            ttft_min_samples: 20,
            ttft_window_secs: 120,
            fivexx_delta_pp: 0.5,
            fivexx_window_secs: 60,
            fivexx_hold_secs: 180,
            fivexx_min_requests: 20,
            auto_rollback: true,
            slo_pct: 99.9,
            page_burn: 14.4,
            burn_min_requests: 500,
            drain_window_secs: 120,
            rollback_grace_secs: 30,
            probe_fresh_secs: 30,
            interval_secs: 2,
            stale_intervals: 3,
            max_clock_skew_ms: 2_000,
            health_p95_slo_ms: 200,
            preflight_max_age_secs: 600,
        }
    }
}

impl GuardConfig {
    /// Check ranges; the error names the field.
    pub fn validate(&self) -> Result<(), crate::field::FieldError> {
        let bad = |field: &str, why: &str| {
            Err(crate::field::FieldError::new(
                format!("guardrails.{field}"),
                why,
            ))
        };
        if self.step == 0 || self.step > 100 || 100 % self.step != 0 {
            return bad("step", "must divide 100 (e.g. 5, 10, 20, 25, 50)");
        }
        if !(0.0..=1000.0).contains(&self.ttft_halt_pct) {
            return bad("ttft_halt_pct", "must be between 0 and 1000");
        }
        if !(0.0..=100.0).contains(&self.fivexx_delta_pp) {
            return bad("fivexx_delta_pp", "must be between 0 and 100");
        }
        if !(self.slo_pct > 0.0 && self.slo_pct < 100.0) {
            return bad("slo_pct", "must be above 0 and below 100");
        }
        if self.page_burn <= 0.0 {
            return bad("page_burn", "must be positive");
        }
        for (field, v) in [
            ("ttft_window_secs", self.ttft_window_secs),
            ("fivexx_window_secs", self.fivexx_window_secs),
            ("interval_secs", self.interval_secs),
            ("stale_intervals", self.stale_intervals),
            ("probe_fresh_secs", self.probe_fresh_secs),
            ("health_p95_slo_ms", self.health_p95_slo_ms),
            ("burn_min_requests", self.burn_min_requests),
            ("preflight_max_age_secs", self.preflight_max_age_secs),
        ] {
            if v == 0 {
                return bad(field, "must be at least 1");
            }
        }
        Ok(())
    }

    /// Age after which a probe result no longer counts.
    pub fn probe_fresh_ms(&self) -> Ms {
        self.probe_fresh_secs * 1000
    }

    /// Age after which a gateway's data is stale.
    pub fn stale_after_ms(&self) -> Ms {
        self.interval_secs * self.stale_intervals * 1000
    }
}

/// Percent (or percentage points) to integer basis points, so boundaries compare exactly.
pub(crate) fn basis_points(pct: f64) -> u128 {
    (pct * 100.0).round().max(0.0) as u128
}
