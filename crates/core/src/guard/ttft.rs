//! TTFT halt: refuse stepping the candidate up unless its TTFT is shown to be within the
//! limit of the stable color's. Inputs are in role order (`PerColor::by_role`): "green" is
//! the candidate, "blue" the stable color, whichever colors they are. The comparison is the judge's (`judge.rs`): a Hodges-Lehmann shift with its 95 %
//! Mann-Whitney interval over both colors' probes in the same window. Fail (halt) when the
//! whole interval is above the limit, pass when it is below, inconclusive otherwise.

use super::GuardConfig;
use super::judge::{self, Shift};
use super::verdict::Judgement;
use crate::model::gateway::Answering;
use crate::model::window::Percentiles;
use crate::model::{Color, PerColor};

/// The TTFT guard's verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TtftVerdict {
    /// Fewer samples in the window than `ttft_min_samples`: no interval yet.
    TooFewSamples {
        /// Samples per role (`blue` the stable color's, `green` the candidate's).
        have: PerColor<u64>,
        /// Samples each color needs.
        need: u64,
    },
    /// Green is shown to be within the limit: the whole interval is below it.
    Ok {
        /// Green's shift against blue, percent (Hodges-Lehmann).
        delta_pct: f64,
        /// Lower end of its 95 % interval, percent.
        low_pct: f64,
        /// Upper end of its 95 % interval, percent.
        high_pct: f64,
    },
    /// The interval straddles the limit: not shown either way yet.
    Inconclusive {
        /// Green's shift against blue, percent.
        delta_pct: f64,
        /// Lower end of its 95 % interval, percent.
        low_pct: f64,
        /// Upper end of its 95 % interval, percent.
        high_pct: f64,
    },
    /// Green is shown to be too slow (the whole interval above the limit): stepping up is
    /// refused.
    Halt {
        /// Green's shift against blue, percent.
        delta_pct: f64,
        /// Lower end of its 95 % interval, percent.
        low_pct: f64,
        /// Upper end of its 95 % interval, percent.
        high_pct: f64,
        /// The stable color's median TTFT, ms.
        stable_p50: u64,
        /// The candidate's median TTFT, ms.
        candidate_p50: u64,
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

    /// Pass, fail or inconclusive.
    pub fn judgement(&self) -> Judgement {
        match self {
            TtftVerdict::Ok { .. } => Judgement::Pass,
            TtftVerdict::Halt { .. } => Judgement::Fail,
            TtftVerdict::ProbeFailing {
                color: Color::Green,
                ..
            } => Judgement::Fail,
            _ => Judgement::Inconclusive,
        }
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

/// Judge green's TTFT against blue's over the same window: `samples` are both colors'
/// probe results (ms, oldest first), `medians` their percentiles for the sentence.
pub fn evaluate(
    samples: PerColor<&[u64]>,
    medians: PerColor<Percentiles>,
    cfg: &GuardConfig,
) -> TtftVerdict {
    let have = PerColor {
        blue: samples.blue.len() as u64,
        green: samples.green.len() as u64,
    };
    let need = cfg.ttft_min_samples.max(judge::MIN_SAMPLES as u64);
    let shift = (have.blue >= need && have.green >= need)
        .then(|| judge::ttft_shift(samples.green, samples.blue))
        .flatten();
    let Some(Shift {
        estimate_pct: delta_pct,
        low_pct,
        high_pct,
        ..
    }) = shift
    else {
        return TtftVerdict::TooFewSamples { have, need };
    };
    match shift.map(|s| s.judge(cfg.ttft_halt_pct)) {
        Some(Judgement::Pass) => TtftVerdict::Ok {
            delta_pct,
            low_pct,
            high_pct,
        },
        Some(Judgement::Fail) => TtftVerdict::Halt {
            delta_pct,
            low_pct,
            high_pct,
            stable_p50: medians.blue.p50,
            candidate_p50: medians.green.p50,
        },
        _ => TtftVerdict::Inconclusive {
            delta_pct,
            low_pct,
            high_pct,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` samples spread evenly (in log terms) around `median`, a few percent each way.
    fn spread(median: u64, n: usize, jitter_pct: f64) -> Vec<u64> {
        (0..n)
            .map(|i| {
                let f = (i as f64 / (n - 1).max(1) as f64 - 0.5) * 2.0 * jitter_pct / 100.0;
                (median as f64 * (1.0 + f)).round() as u64
            })
            .collect()
    }

    fn eval(blue: &[u64], green: &[u64]) -> TtftVerdict {
        evaluate(
            PerColor { blue, green },
            PerColor::default(),
            &GuardConfig::default(),
        )
    }

    #[test]
    fn a_clear_regression_halts_and_parity_passes() {
        let blue = spread(250, 60, 10.0);
        assert!(eval(&blue, &spread(300, 60, 10.0)).halts());
        assert!(matches!(
            eval(&blue, &spread(250, 60, 10.0)),
            TtftVerdict::Ok { delta_pct, high_pct, .. } if delta_pct.abs() < 1.0 && high_pct < 8.0
        ));
        assert!(matches!(
            eval(&blue, &spread(200, 60, 10.0)),
            TtftVerdict::Ok { delta_pct, .. } if delta_pct < -15.0
        ));
    }

    #[test]
    fn near_the_limit_it_is_inconclusive_not_a_coin_toss() {
        // +8 % is the limit itself: neither shown above nor below.
        let v = eval(&spread(250, 40, 30.0), &spread(270, 40, 30.0));
        assert!(
            matches!(v, TtftVerdict::Inconclusive { low_pct, high_pct, .. } if low_pct < 8.0 && high_pct > 8.0),
            "{v:?}"
        );
        assert_eq!(v.judgement(), Judgement::Inconclusive);
        assert!(!v.halts());
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
        let blue = spread(250, 40, 10.0);
        let parity = eval(&blue, &blue);
        let v = with_probes(parity, failing(Color::Green));
        assert_eq!(
            v,
            TtftVerdict::ProbeFailing {
                color: Color::Green,
                failures: 3
            }
        );
        assert!(v.halts());
        let v = with_probes(parity, failing(Color::Blue));
        assert!(!v.halts(), "a failing blue is no reason to hold green back");
        let ok = PerColor::from_fn(|_| Answering::Yes);
        assert_eq!(with_probes(parity, ok), parity);
    }

    #[test]
    fn too_few_samples_says_so() {
        let v = eval(&spread(250, 100, 10.0), &spread(400, 19, 10.0));
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
