//! Verdicts of guardrails and plan gates: `pass`, `fail` or `inconclusive`, each with the
//! sentence that says why. Missing data is inconclusive, never pass.

use serde::Serialize;

/// How a guardrail judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Judgement {
    /// The data is there and within the limit.
    Pass,
    /// The data is there and outside the limit.
    Fail,
    /// Not enough data to judge: never a pass.
    Inconclusive,
}

impl Judgement {
    /// Name used in `status --json` and on screen.
    pub fn name(self) -> &'static str {
        match self {
            Judgement::Pass => "pass",
            Judgement::Fail => "fail",
            Judgement::Inconclusive => "inconclusive",
        }
    }
}

/// Which guardrail judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Guardrail {
    /// Green's median TTFT against blue's.
    Ttft,
    /// Green's 5xx ratio against blue's.
    #[serde(rename = "5xx")]
    Fivexx,
    /// Green's error-budget burn.
    Burn,
    /// Both colors bound to loopback only.
    Listeners,
    /// The composite health endpoint.
    Health,
    /// The host answered recently.
    Freshness,
    /// Both colors run the same configuration/secret revision (preflight parity).
    Revision,
    /// The gateway's latest preflight round: nginx lint, limits, certificate.
    Preflight,
}

impl Guardrail {
    /// Name used in `status --json`, refusals and the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Guardrail::Ttft => "ttft",
            Guardrail::Fivexx => "5xx",
            Guardrail::Burn => "burn",
            Guardrail::Listeners => "listeners",
            Guardrail::Health => "health",
            Guardrail::Freshness => "freshness",
            Guardrail::Revision => "revision",
            Guardrail::Preflight => "preflight",
        }
    }
}

/// One guardrail's verdict with its sentence (figures, limit, sample sizes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuardVerdict {
    /// The guardrail.
    pub guardrail: Guardrail,
    /// Its judgement.
    pub verdict: Judgement,
    /// What it saw, in words.
    pub sentence: String,
}

impl GuardVerdict {
    /// A verdict.
    pub fn new(guardrail: Guardrail, verdict: Judgement, sentence: impl Into<String>) -> Self {
        GuardVerdict {
            guardrail,
            verdict,
            sentence: sentence.into(),
        }
    }
}

impl std::fmt::Display for GuardVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.guardrail.name(),
            self.verdict.name(),
            self.sentence
        )
    }
}
