//! Ramp plans: a whole cutover as data (steps, scopes, bakes), validated before anything
//! changes, and where a run stands read back from the weights in force.

pub mod plan;

pub use plan::{
    OnFail, OnInconclusive, PlanStep, RampPlan, Resume, StepScope, format_duration, parse_duration,
};
