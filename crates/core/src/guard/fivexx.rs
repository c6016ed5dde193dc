//! 5xx auto-rollback: the candidate's 5xx ratio above the stable color's by more than the
//! limit, for longer than the hold time, while the candidate carries traffic. Counts are in
//! role order (`PerColor::by_role`): "green" is the candidate, "blue" the stable color.

use super::{GuardConfig, basis_points};
use crate::model::window::Counts;
use crate::model::{Ms, PerColor};

/// Memory of one gateway's breach between evaluations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Breach {
    /// When the current breach began.
    pub since: Option<Ms>,
    /// The operator vetoed the rollback for this breach.
    pub vetoed: bool,
    /// The rollback already fired for this breach.
    pub fired: bool,
}

/// The guard's state after an evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FivexxState {
    /// No breach (or green carries no traffic).
    Clear,
    /// Not enough requests on one color to judge.
    TooFewRequests,
    /// Over the limit by the raw ratios, but the interval reaches below it: not proven, so no
    /// breach starts (a few errors in a few requests are not an incident).
    Unproven {
        /// Green's ratio minus blue's, percentage points.
        delta_pp: f64,
        /// Lower end of its 95 % interval, percentage points.
        low_pp: f64,
    },
    /// Delta over the limit; the rollback fires at `fires_at` unless vetoed.
    Breaching {
        /// Green's ratio minus blue's, in percentage points.
        delta_pp: f64,
        /// When the breach began.
        since: Ms,
        /// When the rollback fires.
        fires_at: Ms,
        /// The operator vetoed it (alarm stays).
        vetoed: bool,
        /// Auto-rollback is off: alarm only.
        alarm_only: bool,
    },
    /// Fire the rollback now (returned once per breach).
    Fire {
        /// Green's ratio minus blue's, in percentage points.
        delta_pp: f64,
    },
}

/// Green's ratio minus blue's in percentage points.
pub fn delta_pp(c: PerColor<Counts>) -> f64 {
    let r = |c: Counts| c.ratio().unwrap_or(0.0);
    (r(c.green) - r(c.blue)) * 100.0
}

/// True when green's 5xx ratio exceeds blue's by more than `limit_pp` (exact).
pub fn over_limit(c: PerColor<Counts>, limit_pp: f64) -> bool {
    let (gr, ge) = (u128::from(c.green.requests), u128::from(c.green.errors));
    let (br, be) = (u128::from(c.blue.requests), u128::from(c.blue.errors));
    if gr == 0 {
        return false;
    }
    let br = br.max(1); // blue idle: its ratio counts as 0
    // ge/gr - be/br > bp/10000  <=>  (ge*br - be*gr) * 10000 > bp * gr * br
    let lhs = (ge * br) as i128 - (be * gr) as i128;
    lhs * 10_000 > (basis_points(limit_pp) * gr * br) as i128
}

/// Evaluate at `now`; updates `breach` and tells what to show or do.
pub fn evaluate(
    breach: &mut Breach,
    now: Ms,
    counts: PerColor<Counts>,
    green_weight: u8,
    cfg: &GuardConfig,
) -> FivexxState {
    // Blue's count need not reach the minimum: the judge counts its uncertainty, and a blue
    // with no request at all is taken as error-free (stricter, never looser).
    let enough = counts.green.requests >= cfg.fivexx_min_requests;
    if green_weight == 0 {
        *breach = Breach::default();
        return FivexxState::Clear;
    }
    if !enough {
        // Not enough data neither starts nor ends a breach.
        return match breach.since {
            Some(_) => hold(breach, now, counts, cfg),
            None => FivexxState::TooFewRequests,
        };
    }
    if !over_limit(counts, cfg.fivexx_delta_pp) {
        *breach = Breach::default();
        return FivexxState::Clear;
    }
    // A breach starts only when the whole interval is above the limit; one in progress
    // holds while the raw ratios stay over it.
    let judged = super::judge::ratio_delta(
        (counts.green.errors, counts.green.requests),
        (counts.blue.errors, counts.blue.requests),
    );
    if breach.since.is_none() {
        if let Some(d) = judged.filter(|d| d.low_pp <= cfg.fivexx_delta_pp) {
            return FivexxState::Unproven {
                delta_pp: d.estimate_pp,
                low_pp: d.low_pp,
            };
        }
    }
    if breach.since.is_none() {
        breach.since = Some(now);
    }
    hold(breach, now, counts, cfg)
}

fn hold(breach: &mut Breach, now: Ms, counts: PerColor<Counts>, cfg: &GuardConfig) -> FivexxState {
    let since = breach.since.expect("breach in progress");
    let fires_at = since + cfg.fivexx_hold_secs * 1000;
    let delta_pp = delta_pp(counts);
    // "For longer than" the hold: exactly at the hold it has not fired yet.
    if now > fires_at && !breach.vetoed && !breach.fired && cfg.auto_rollback {
        breach.fired = true;
        return FivexxState::Fire { delta_pp };
    }
    FivexxState::Breaching {
        delta_pp,
        since,
        fires_at,
        vetoed: breach.vetoed,
        alarm_only: !cfg.auto_rollback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(b: (u64, u64), g: (u64, u64)) -> PerColor<Counts> {
        PerColor {
            blue: Counts {
                requests: b.0,
                errors: b.1,
            },
            green: Counts {
                requests: g.0,
                errors: g.1,
            },
        }
    }

    #[test]
    fn exactly_half_a_point_is_not_a_breach() {
        assert!(!over_limit(counts((1000, 10), (1000, 15)), 0.5));
        assert!(over_limit(counts((1000, 10), (1000, 16)), 0.5));
        // Different denominators: 1/300 - 0 = 0.333 pp; 2/300 = 0.667 pp.
        assert!(!over_limit(counts((700, 0), (300, 1)), 0.5));
        assert!(over_limit(counts((700, 0), (300, 2)), 0.5));
    }

    #[test]
    fn fires_only_after_longer_than_three_minutes() {
        let cfg = GuardConfig::default();
        let bad = counts((900, 0), (100, 5));
        let mut b = Breach::default();
        assert!(matches!(
            evaluate(&mut b, 1_000, bad, 10, &cfg),
            FivexxState::Breaching {
                since: 1_000,
                fires_at: 181_000,
                ..
            }
        ));
        assert!(
            matches!(
                evaluate(&mut b, 181_000, bad, 10, &cfg),
                FivexxState::Breaching { .. }
            ),
            "exactly 3 min does not fire"
        );
        assert!(matches!(
            evaluate(&mut b, 181_001, bad, 10, &cfg),
            FivexxState::Fire { .. }
        ));
        assert!(
            matches!(
                evaluate(&mut b, 182_000, bad, 10, &cfg),
                FivexxState::Breaching { .. }
            ),
            "fires once"
        );
    }

    #[test]
    fn recovery_resets_the_countdown() {
        let cfg = GuardConfig::default();
        let mut b = Breach::default();
        evaluate(&mut b, 0, counts((900, 0), (100, 5)), 10, &cfg);
        assert_eq!(
            evaluate(&mut b, 60_000, counts((900, 0), (100, 0)), 10, &cfg),
            FivexxState::Clear
        );
        assert!(matches!(
            evaluate(&mut b, 70_000, counts((900, 0), (100, 5)), 10, &cfg),
            FivexxState::Breaching { since: 70_000, .. }
        ));
    }

    #[test]
    fn veto_and_alarm_only_never_fire() {
        let bad = counts((900, 0), (100, 5));
        let mut b = Breach {
            vetoed: true,
            ..Breach::default()
        };
        let cfg = GuardConfig::default();
        evaluate(&mut b, 0, bad, 10, &cfg);
        assert!(matches!(
            evaluate(&mut b, 500_000, bad, 10, &cfg),
            FivexxState::Breaching { vetoed: true, .. }
        ));
        let cfg = GuardConfig {
            auto_rollback: false,
            ..GuardConfig::default()
        };
        let mut b = Breach::default();
        evaluate(&mut b, 0, bad, 10, &cfg);
        assert!(matches!(
            evaluate(&mut b, 500_000, bad, 10, &cfg),
            FivexxState::Breaching {
                alarm_only: true,
                ..
            }
        ));
    }

    #[test]
    fn no_traffic_on_green_or_too_few_requests() {
        let cfg = GuardConfig::default();
        let mut b = Breach::default();
        assert_eq!(
            evaluate(&mut b, 0, counts((900, 0), (100, 50)), 0, &cfg),
            FivexxState::Clear
        );
        assert_eq!(
            evaluate(&mut b, 0, counts((900, 0), (10, 5)), 10, &cfg),
            FivexxState::TooFewRequests
        );
    }
}
