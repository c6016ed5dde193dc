//! Plans (what an action will do on which gateways) and the operations sent to an executor.

use super::rules::Refusal;
use crate::guard::verdict::GuardVerdict;
use crate::model::{Color, Weights};
use serde::{Deserialize, Serialize, Serializer};

/// The scope an action applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The selected gateway.
    Gateway,
    /// Every gateway in the selected gateway's AZ.
    Az,
    /// Every gateway.
    Fleet,
}

impl Scope {
    /// The next scope in the cycle.
    pub fn next(self) -> Scope {
        match self {
            Scope::Gateway => Scope::Az,
            Scope::Az => Scope::Fleet,
            Scope::Fleet => Scope::Gateway,
        }
    }

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Gateway => "gateway",
            Scope::Az => "az",
            Scope::Fleet => "fleet",
        }
    }
}

/// What a plan does to each gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PlanKind {
    /// Move the candidate `toward` by `delta` points (a whole number of steps).
    Step {
        /// Signed change of the candidate's weight.
        delta: i16,
        /// The candidate: the color whose weight moves by `delta`.
        toward: Color,
    },
    /// Set the candidate `toward` to an absolute weight.
    StepTo {
        /// The candidate's target weight.
        weight: u8,
        /// The candidate.
        toward: Color,
    },
    /// All traffic back on the stable color, then stop the candidate.
    Rollback,
    /// Wait for the color at 0 to lose its connections, then stop it.
    Drain {
        /// The color being drained.
        color: Color,
    },
    /// Start a stopped color and wait until it answers (it takes traffic only by a step).
    Start {
        /// The color to start.
        color: Color,
    },
    /// Stop and start a color that carries no traffic, and wait until it answers.
    Restart {
        /// The color to restart.
        color: Color,
    },
}

impl PlanKind {
    /// Short description for dialogs and logs.
    pub fn label(&self) -> String {
        match self {
            PlanKind::Step { delta, toward } => format!("step {toward} {delta:+}"),
            PlanKind::StepTo { weight, toward } => format!("step {toward} to {weight}"),
            PlanKind::Rollback => "rollback".into(),
            PlanKind::Drain { color } => format!("drain {color}"),
            PlanKind::Start { color } => format!("start {color}"),
            PlanKind::Restart { color } => format!("restart {color}"),
        }
    }
}

/// One gateway's part of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    /// Index of the gateway.
    pub gateway: usize,
    /// Weights read back before.
    pub before: Weights,
    /// Weights after (unchanged for a drain).
    pub after: Weights,
}

/// What an action will do, computed before anything changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The action.
    pub kind: PlanKind,
    /// The scope it was made for.
    pub scope: Scope,
    /// Human name of the scope (gateway name, AZ or "fleet").
    pub scope_label: String,
    /// Gateways that will change.
    pub items: Vec<PlanItem>,
    /// Gateways in scope that will not, with the rule that keeps them out.
    #[serde(serialize_with = "refusals_as_text")]
    pub skipped: Vec<(usize, Refusal)>,
    /// Guardrails that do not pass for a gateway of `items`: running the plan needs an
    /// override with a reason.
    pub holds: Vec<(usize, GuardVerdict)>,
    /// Gateways of `items` whose weights move by more than one step, with the consequence.
    pub jumps: Vec<(usize, String)>,
    /// The operator overrode a guardrail to make this plan.
    pub overridden: bool,
    /// Why the operator confirmed an override or a jump (audited).
    pub reason: Option<String>,
}

fn refusals_as_text<S: Serializer>(v: &[(usize, Refusal)], s: S) -> Result<S::Ok, S::Error> {
    let text: Vec<(usize, String)> = v.iter().map(|(i, r)| (*i, r.to_string())).collect();
    text.serialize(s)
}

impl Plan {
    /// A plan that asks for confirmation: anything but a one-gateway step of one step.
    pub fn needs_confirm(&self) -> bool {
        !self.jumps.is_empty()
            || match self.kind {
                PlanKind::Step { .. } | PlanKind::StepTo { .. } => self.scope != Scope::Gateway,
                PlanKind::Rollback
                | PlanKind::Drain { .. }
                | PlanKind::Start { .. }
                | PlanKind::Restart { .. } => true,
            }
    }

    /// A plan that needs a typed reason before it runs: an override or a jump.
    pub fn needs_reason(&self) -> bool {
        self.overridden || !self.jumps.is_empty()
    }
}

/// One operation on one gateway, carried out by an executor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum OpKind {
    /// Write these weights, test, reload, verify, read back.
    SetWeights {
        /// The weights to put in force.
        to: Weights,
    },
    /// All traffic on `to` (the stable color), then the other color's stop command.
    Rollback {
        /// The color that takes all traffic.
        to: Color,
    },
    /// Stop one color's service (the end of a drain).
    Stop {
        /// The color to stop.
        color: Color,
    },
    /// Run one color's start command, then wait until it answers a TTFT probe.
    Start {
        /// The color to start.
        color: Color,
    },
    /// Stop then start a color at weight 0, then wait until it answers a TTFT probe.
    Restart {
        /// The color to restart.
        color: Color,
    },
}

impl std::fmt::Display for OpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpKind::SetWeights { to } => write!(f, "setting weights {to}"),
            OpKind::Rollback { .. } => write!(f, "rollback"),
            OpKind::Stop { color } => write!(f, "stopping {}", color.name()),
            OpKind::Start { color } => write!(f, "starting {}", color.name()),
            OpKind::Restart { color } => write!(f, "restarting {}", color.name()),
        }
    }
}

/// Why an operation was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The operator asked for it.
    Operator,
    /// A guardrail fired it.
    Guardrail,
    /// A ramp plan made it (its name and step are in the operation's reason).
    Plan,
}

/// An operation request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Op {
    /// Unique per session.
    pub id: u64,
    /// Index of the gateway.
    pub gateway: usize,
    /// What to do.
    pub kind: OpKind,
    /// Weights before, as last read back.
    pub before: Option<Weights>,
    /// Who started it.
    pub origin: Origin,
    /// The operator's reason for an override or a jump, for the audit record.
    pub reason: Option<String>,
    /// The gateway's candidate when the operation was planned (the audit names roles).
    pub candidate: Color,
}

/// What an executor reports when an operation ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpOutcome {
    /// The operation's id.
    pub id: u64,
    /// Index of the gateway.
    pub gateway: usize,
    /// Weights read back from the host afterwards (None if it could not be read).
    pub weights: Option<Weights>,
    /// Why it failed; `None` on success.
    pub error: Option<String>,
}
