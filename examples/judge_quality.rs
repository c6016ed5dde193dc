//! How often the TTFT judge says pass, inconclusive and fail, against the fixed rule it
//! replaces, over simulated comparisons with heavy-tailed (lognormal) TTFT.
//!
//!     cargo run --release --example judge_quality [TRIALS]
//!
//! A/A: both colors from the same distribution (a fail is a false halt). +12 %: green's
//! median 12 % above blue's (a pass lets a regression through). The fixed rule: green's
//! median more than 8 % above blue's halts, with at least 20 samples per color (fewer:
//! too few); it has no "pass" short of certainty, so its "ok" is counted as pass.

use cutover::guard::judge::ttft_shift;
use cutover::guard::verdict::Judgement;
use cutover::sim::rng::Rng;

fn median(v: &mut [u64]) -> f64 {
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
    }
}

/// Today's rule on the same samples.
fn fixed_rule(green: &mut [u64], blue: &mut [u64]) -> Judgement {
    if green.len() < 20 || blue.len() < 20 {
        return Judgement::Inconclusive;
    }
    if median(green) > median(blue) * 1.08 {
        Judgement::Fail
    } else {
        Judgement::Pass
    }
}

fn main() {
    let trials: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    println!("{trials} comparisons each; shares pass / inconclusive / fail (limit +8 %)\n");
    println!(
        "{:<6} {:>5} {:>4}  {:^23}  {:^23}",
        "case", "sigma", "n", "judge (HL + MW 95 %)", "fixed rule (median +8 %)"
    );
    let mut rng = Rng::new(20261201);
    for (case, shift) in [("A/A", 1.0), ("+12 %", 1.12)] {
        for sigma in [0.15, 0.3] {
            for n in [20usize, 50, 200] {
                let mut judge = [0usize; 3];
                let mut fixed = [0usize; 3];
                for _ in 0..trials {
                    let mut blue: Vec<u64> = (0..n)
                        .map(|_| rng.lognormal(250.0, sigma).round() as u64)
                        .collect();
                    let mut green: Vec<u64> = (0..n)
                        .map(|_| rng.lognormal(250.0 * shift, sigma).round() as u64)
                        .collect();
                    let j =
                        ttft_shift(&green, &blue).map_or(Judgement::Inconclusive, |s| s.judge(8.0));
                    let f = fixed_rule(&mut green, &mut blue);
                    for (tally, v) in [(&mut judge, j), (&mut fixed, f)] {
                        tally[match v {
                            Judgement::Pass => 0,
                            Judgement::Inconclusive => 1,
                            Judgement::Fail => 2,
                        }] += 1;
                    }
                }
                let pct = |t: [usize; 3]| {
                    let p = |x: usize| 100.0 * x as f64 / trials as f64;
                    format!("{:5.1} {:5.1} {:5.1}", p(t[0]), p(t[1]), p(t[2]))
                };
                println!(
                    "{case:<6} {sigma:>5} {n:>4}  {:^23}  {:^23}",
                    pct(judge),
                    pct(fixed)
                );
            }
        }
    }
}
