//! TTFT halt: refuse stepping green up while its median TTFT is too far above blue's.

use super::{GuardConfig, basis_points};
use crate::model::gateway::Answering;
use crate::model::window::Percentiles;
use crate::model::{Color, PerColor};

/// The TTFT guard's verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TtftVerdict {
    /// Not enough samples in the window to judge.
    TooFewSamples {
        /// Samples per color.
        have: PerColor<u64>,
        /// Samples each color needs.
        need: u64,
    },
    /// Green is within the limit (the delta may be negative).
    Ok {
        /// Green's median over blue's, in percent.
        delta_pct: f64,
    },
    /// Green is too slow: stepping up is refused.
    Halt {
        /// Green's median over blue's, in percent.
        delta_pct: f64,
        /// Blue's median TTFT, ms.
        blue_p50: u64,
        /// Green's median TTFT, ms.
        green_p50: u64,
    },
    /// A color's probes fail or time out: that is the strongest signal there is, not a
    /// shortage of samples.
    ProbeFailing {
        /// The color whose probes fail.
        color: Color,
        /// Failures since its last answer.
        failures: u32,
    },
}

impl TtftVerdict {
    /// True when stepping green up must be refused.
    pub fn halts(&self) -> bool {
        matches!(
            self,
            TtftVerdict::Halt { .. }
                | TtftVerdict::ProbeFailing {
                    color: Color::Green,
                    ..
                }
        )
    }
}

/// Failing probes outrank the medians: a color that stops answering is judged by that.
pub fn with_probes(v: TtftVerdict, answering: PerColor<Answering>) -> TtftVerdict {
    // Green first: it is the color being judged.
    for color in [Color::Green, Color::Blue] {
        if let Answering::Failing { failures } = answering[color] {
            return TtftVerdict::ProbeFailing { color, failures };
        }
    }
    v
}

/// Compare green's median TTFT with blue's over the same window.
pub fn evaluate(ttft: PerColor<Percentiles>, cfg: &GuardConfig) -> TtftVerdict {
    let have = PerColor {
        blue: ttft.blue.count,
        green: ttft.green.count,
    };
    let need = cfg.ttft_min_samples.max(1);
    if have.blue < need || have.green < need || ttft.blue.p50 == 0 {
        return TtftVerdict::TooFewSamples { have, need };
    }
    let (b, g) = (ttft.blue.p50, ttft.green.p50);
    let delta_pct = (g as f64 - b as f64) * 100.0 / b as f64;
    // "More than N %": exactly N % is allowed. Integers keep the boundary exact.
    let limit = 10_000 + basis_points(cfg.ttft_halt_pct);
    if u128::from(g) * 10_000 > u128::from(b) * limit {
        TtftVerdict::Halt {
            delta_pct,
            blue_p50: b,
            green_p50: g,
        }
    } else {
        TtftVerdict::Ok { delta_pct }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(count: u64, p50: u64) -> Percentiles {
        Percentiles {
            count,
            p50,
            p95: p50 * 2,
            p99: p50 * 3,
        }
    }

    fn eval(blue: u64, green: u64) -> TtftVerdict {
        evaluate(
            PerColor {
                blue: p(100, blue),
                green: p(100, green),
            },
            &GuardConfig::default(),
        )
    }

    #[test]
    fn exactly_eight_percent_is_allowed() {
        assert!(!eval(250, 270).halts());
    }

    #[test]
    fn just_above_eight_percent_halts() {
        let v = eval(250, 271);
        assert!(v.halts());
        let TtftVerdict::Halt { delta_pct, .. } = v else {
            unreachable!()
        };
        assert!((delta_pct - 8.4).abs() < 1e-9);
    }

    #[test]
    fn faster_green_is_fine() {
        assert!(matches!(eval(250, 200), TtftVerdict::Ok { delta_pct } if delta_pct < 0.0));
    }

    #[test]
    fn failing_probes_outrank_the_medians_and_green_failing_halts() {
        let failing = |c: Color| {
            PerColor::from_fn(|x| {
                if x == c {
                    Answering::Failing { failures: 3 }
                } else {
                    Answering::Yes
                }
            })
        };
        let v = with_probes(eval(250, 250), failing(Color::Green));
        assert_eq!(
            v,
            TtftVerdict::ProbeFailing {
                color: Color::Green,
                failures: 3
            }
        );
        assert!(v.halts());
        let v = with_probes(eval(250, 250), failing(Color::Blue));
        assert!(!v.halts(), "a failing blue is no reason to hold green back");
        let ok = PerColor::from_fn(|_| Answering::Yes);
        assert_eq!(with_probes(eval(250, 250), ok), eval(250, 250));
    }

    #[test]
    fn too_few_samples_says_so() {
        let v = evaluate(
            PerColor {
                blue: p(100, 250),
                green: p(19, 400),
            },
            &GuardConfig::default(),
        );
        assert_eq!(
            v,
            TtftVerdict::TooFewSamples {
                have: PerColor {
                    blue: 100,
                    green: 19
                },
                need: 20
            }
        );
        assert!(!v.halts());
    }
}
