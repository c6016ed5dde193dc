//! Ramp plan files: parsed, then validated against the fleet before anything changes.
//!
//! ```toml
//! name = "az-waves"
//! on_fail = "rollback"         # rollback | hold
//! on_inconclusive = "hold"     # hold | extend (bake longer, up to max_extend)
//! max_extend = "30m"
//! [[step]]
//! weight = 10                  # the candidate's weight after this step
//! scope = "az-a"               # an AZ, a gateway, or "all" (the default)
//! bake = "30m"                 # watch time before the next step; the gates judge this window
//! ```

use crate::config::ConfigError;
use crate::model::Ms;
use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// Longest bake or extension a plan may ask for: beyond a day is a typo, not a plan.
const MAX_DURATION_MS: Ms = 24 * 3_600_000;

/// What a failed gate does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFail {
    /// Return the plan's gateways to the stable color (the safe default).
    #[default]
    Rollback,
    /// Stop where it stands and wait for the operator.
    Hold,
}

/// What an inconclusive gate does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnInconclusive {
    /// Stop where it stands and wait for the operator (the default).
    #[default]
    Hold,
    /// Bake longer, up to `max_extend`, then hold.
    Extend,
}

/// Which gateways a step changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepScope {
    /// Every gateway of the run's scope.
    All,
    /// The gateways of one AZ.
    Az(String),
    /// One gateway.
    Gateway(String),
}

impl fmt::Display for StepScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepScope::All => f.write_str("all"),
            StepScope::Az(a) => write!(f, "AZ {a}"),
            StepScope::Gateway(g) => write!(f, "gateway {g}"),
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    /// The candidate's weight on the step's gateways after it.
    pub weight: u8,
    /// The gateways it changes.
    pub scope: StepScope,
    /// How long the gates watch before the next step, ms.
    pub bake_ms: Ms,
}

/// A validated ramp plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RampPlan {
    /// The plan's name (audited with every step it makes).
    pub name: String,
    /// What a failed gate does.
    pub on_fail: OnFail,
    /// What an inconclusive gate does.
    pub on_inconclusive: OnInconclusive,
    /// Longest extension of one bake when `on_inconclusive = "extend"`, ms.
    pub max_extend_ms: Ms,
    /// After the last step, with the candidate at 100, drain the stable color and stop it.
    pub drain: bool,
    /// The steps, in order.
    pub steps: Vec<PlanStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    name: Spanned<String>,
    #[serde(default)]
    on_fail: OnFail,
    on_inconclusive: Option<Spanned<OnInconclusive>>,
    max_extend: Option<Spanned<String>>,
    #[serde(default)]
    drain: Option<Spanned<bool>>,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    weight: Spanned<i64>,
    scope: Option<Spanned<String>>,
    bake: Spanned<String>,
}

/// A gateway as a plan sees it: its name and AZ.
pub type FleetEntry<'a> = (&'a str, &'a str);

/// Parse a duration written as `"30s"`, `"5m"`, `"1h"` or a sum of them (`"1h30m"`).
pub fn parse_duration(text: &str) -> Result<Ms, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration: write it like \"30s\", \"5m\" or \"1h\"".into());
    }
    let mut total: Ms = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: Ms = match c {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            _ => {
                return Err(format!(
                    "{text:?}: unknown unit {c:?}; write it like \"30s\", \"5m\" or \"1h\""
                ));
            }
        };
        let n: Ms = digits
            .parse()
            .map_err(|_| format!("{text:?}: a number must come before {c:?}"))?;
        digits.clear();
        total = total.saturating_add(n.saturating_mul(unit));
    }
    if !digits.is_empty() {
        return Err(format!(
            "{text:?}: a number needs its unit (s, m or h), e.g. \"{digits}s\""
        ));
    }
    if total > MAX_DURATION_MS {
        return Err(format!("{text:?}: at most 24h"));
    }
    Ok(total)
}

/// `Ms` as the shortest of `"90s"`, `"5m"`, `"1h30m"`.
pub fn format_duration(ms: Ms) -> String {
    let s = ms / 1000;
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}

impl RampPlan {
    /// Parse `src` (the file at `path`) and validate it against `fleet` and the weight `step`
    /// of the guardrails. Errors name the file, the line and the field.
    pub fn parse(
        src: &str,
        path: &Path,
        fleet: &[FleetEntry<'_>],
        step: u8,
    ) -> Result<RampPlan, ConfigError> {
        let raw: RawPlan =
            toml::from_str(src).map_err(|e| ConfigError::from_toml(path, src, &e))?;
        let err = |span: Range<usize>, field: String, message: String| {
            let mut e = ConfigError::at_span(path, src, Some(span), &message);
            e.field = Some(field);
            e
        };
        let name = raw.name.get_ref().trim();
        if name.is_empty() || name.chars().any(char::is_control) || name.chars().count() > 64 {
            return Err(err(
                raw.name.span(),
                "name".into(),
                "must be 1 to 64 printable characters".into(),
            ));
        }
        let max_extend_ms = match &raw.max_extend {
            Some(m) => {
                parse_duration(m.get_ref()).map_err(|e| err(m.span(), "max_extend".into(), e))?
            }
            None => 0,
        };
        let on_inconclusive = raw
            .on_inconclusive
            .as_ref()
            .map_or(OnInconclusive::Hold, |o| *o.get_ref());
        if let (Some(o), true) = (&raw.on_inconclusive, max_extend_ms == 0) {
            if on_inconclusive == OnInconclusive::Extend {
                return Err(err(
                    o.span(),
                    "on_inconclusive".into(),
                    "\"extend\" needs max_extend (e.g. max_extend = \"30m\")".into(),
                ));
            }
        }
        if raw.step.is_empty() {
            return Err(ConfigError {
                path: path.to_path_buf(),
                line: None,
                column: None,
                field: Some("step".into()),
                message: "a plan needs at least one [[step]]".into(),
            });
        }
        let mut steps = Vec::new();
        // The candidate weight each gateway has reached so far in the plan.
        let mut reached: Vec<Option<u8>> = vec![None; fleet.len()];
        for (i, s) in raw.step.iter().enumerate() {
            let s = s.get_ref();
            let field = |f: &str| format!("step[{}].{f}", i + 1);
            let w = *s.weight.get_ref();
            if !(0..=100).contains(&w) {
                return Err(err(
                    s.weight.span(),
                    field("weight"),
                    format!("{w} is not a weight: 0 to 100"),
                ));
            }
            let weight = w as u8;
            if step > 0 && weight % step != 0 {
                return Err(err(
                    s.weight.span(),
                    field("weight"),
                    format!("{weight} is not reachable in whole steps of guardrails.step = {step}"),
                ));
            }
            let scope = match &s.scope {
                None => StepScope::All,
                Some(sc) => resolve_scope(sc.get_ref(), fleet)
                    .map_err(|m| err(sc.span(), field("scope"), m))?,
            };
            let bake_ms = parse_duration(s.bake.get_ref())
                .map_err(|m| err(s.bake.span(), field("bake"), m))?;
            for (g, (name, az)) in fleet.iter().enumerate() {
                if !in_scope(&scope, name, az) {
                    continue;
                }
                if let Some(before) = reached[g] {
                    if weight < before {
                        return Err(err(
                            s.weight.span(),
                            field("weight"),
                            format!(
                                "{weight} would take {name} back from {before}: a plan only moves toward the candidate (on_fail rolls back)"
                            ),
                        ));
                    }
                }
                reached[g] = Some(weight);
            }
            steps.push(PlanStep {
                weight,
                scope,
                bake_ms,
            });
        }
        let drain = raw.drain.as_ref().is_some_and(|d| *d.get_ref());
        if let (Some(d), true) = (&raw.drain, drain) {
            if steps.last().is_some_and(|s: &PlanStep| s.weight != 100) {
                return Err(err(
                    d.span(),
                    "drain".into(),
                    "drains the stable color once the candidate carries everything: the last step must be weight = 100".into(),
                ));
            }
        }
        Ok(RampPlan {
            drain,
            name: name.to_string(),
            on_fail: raw.on_fail,
            on_inconclusive,
            max_extend_ms,
            steps,
        })
    }

    /// Read and parse the plan file at `path` (see [`RampPlan::parse`]).
    pub fn load(path: &Path, fleet: &[FleetEntry<'_>], step: u8) -> Result<RampPlan, ConfigError> {
        let src = ConfigError::read(path)?;
        RampPlan::parse(&src, path, fleet, step)
    }

    /// The time every bake takes, without extensions: the plan's shortest duration, ms.
    pub fn total_bake_ms(&self) -> Ms {
        self.steps.iter().map(|s| s.bake_ms).sum()
    }

    /// The candidate weight `fleet[g]` should have once steps `..=k` are done, or `None` if
    /// none of them touches it (it keeps the weight it had when the plan started).
    pub fn expected(&self, fleet: &[FleetEntry<'_>], g: usize, k: usize) -> Option<u8> {
        let (name, az) = fleet[g];
        self.steps[..=k.min(self.steps.len() - 1)]
            .iter()
            .rev()
            .find(|s| in_scope(&s.scope, name, az))
            .map(|s| s.weight)
    }

    /// Where a run stands from the candidate weights read back from the hosts, so a rerun
    /// after a crash continues and never makes a step twice. A gateway the plan has not
    /// reached yet may carry any weight up to its first target.
    pub fn resume_point(&self, fleet: &[FleetEntry<'_>], weights: &[u8]) -> Result<Resume, String> {
        // The weight gateway `g` may show once `done` steps are done.
        let after = |g: usize, done: usize| -> Option<u8> {
            if done == 0 {
                None
            } else {
                self.expected(fleet, g, done - 1)
            }
        };
        let first = |g: usize| {
            self.steps
                .iter()
                .find(|s| in_scope(&s.scope, fleet[g].0, fleet[g].1))
                .map(|s| s.weight)
        };
        let at = |g: usize, done: usize, w: u8| match (after(g, done), first(g)) {
            (Some(e), _) => w == e,
            (None, Some(f)) => w <= f,
            (None, None) => true,
        };
        let n = self.steps.len();
        // The most steps done that the read-back agrees with: a step that leaves every weight
        // as it was (a second bake at the same weight) counts as done only when a later one is.
        for done in (0..=n).rev() {
            if (0..fleet.len()).all(|g| at(g, done, weights[g])) {
                return Ok(Resume {
                    done,
                    partial: false,
                });
            }
            // Step `done` cut short: some of its gateways moved, the others not yet.
            if done < n
                && (0..fleet.len()).all(|g| at(g, done, weights[g]) || at(g, done + 1, weights[g]))
            {
                return Ok(Resume {
                    done,
                    partial: true,
                });
            }
        }
        let now: Vec<String> = fleet
            .iter()
            .zip(weights)
            .map(|((n, _), w)| format!("{n} {w}"))
            .collect();
        Err(format!(
            "the weights in force ({}) are not where plan {} leaves any of its steps; set them by hand or start a plan that fits",
            now.join(", "),
            self.name
        ))
    }
}

/// Where a plan run stands, read from the weights in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    /// Steps whose weights are all in force.
    pub done: usize,
    /// Step `done` is partly made (a run was cut short during it): it is completed first.
    pub partial: bool,
}

/// True if gateway `name` in `az` is in `scope`.
pub fn in_scope(scope: &StepScope, name: &str, az: &str) -> bool {
    match scope {
        StepScope::All => true,
        StepScope::Az(a) => a == az,
        StepScope::Gateway(g) => g == name,
    }
}

fn resolve_scope(text: &str, fleet: &[FleetEntry<'_>]) -> Result<StepScope, String> {
    if text == "all" {
        return Ok(StepScope::All);
    }
    let is_az = fleet.iter().any(|(_, az)| *az == text);
    let is_gw = fleet.iter().any(|(n, _)| *n == text);
    match (is_az, is_gw) {
        (true, true) => Err(format!(
            "{text:?} names both an AZ and a gateway; rename one in fleet.toml"
        )),
        (true, false) => Ok(StepScope::Az(text.to_string())),
        (false, true) => Ok(StepScope::Gateway(text.to_string())),
        (false, false) => {
            let mut azs: Vec<&str> = fleet.iter().map(|(_, az)| *az).collect();
            azs.dedup();
            Err(format!(
                "{text:?} is neither an AZ ({}) nor a gateway of the fleet, nor \"all\"",
                azs.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLEET: &[FleetEntry<'static>] =
        &[("gw-a1", "az-a"), ("gw-a2", "az-a"), ("gw-b1", "az-b")];

    fn parse(src: &str) -> Result<RampPlan, ConfigError> {
        RampPlan::parse(src, Path::new("plan.toml"), FLEET, 10)
    }

    const WAVES: &str = r#"
name = "az-waves"
on_fail = "rollback"
on_inconclusive = "extend"
max_extend = "30m"
[[step]]
weight = 10
scope = "az-a"
bake = "30m"
[[step]]
weight = 10
bake = "10m"
[[step]]
weight = 30
bake = "5m"
"#;

    #[test]
    fn a_plan_parses_with_its_scopes_and_bakes() {
        let p = parse(WAVES).unwrap();
        assert_eq!(p.name, "az-waves");
        assert_eq!(p.on_inconclusive, OnInconclusive::Extend);
        assert_eq!(p.max_extend_ms, 30 * 60_000);
        assert_eq!(p.steps.len(), 3);
        assert_eq!(p.steps[0].scope, StepScope::Az("az-a".into()));
        assert_eq!(p.steps[1].scope, StepScope::All);
        assert_eq!(p.steps[2].bake_ms, 5 * 60_000);
        assert_eq!(p.total_bake_ms(), 45 * 60_000);
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let bad = WAVES.replace("weight = 30", "weight = 35");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("step[3].weight"));
        assert_eq!(e.line, Some(14));
        assert!(
            e.to_string().contains("not reachable in whole steps"),
            "{e}"
        );

        let e = parse(&WAVES.replace("scope = \"az-a\"", "scope = \"az-z\"")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("step[1].scope"));
        assert!(e.message.contains("az-a, az-b"), "{e}");

        let e = parse(&WAVES.replace("bake = \"10m\"", "bake = \"10\"")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("step[2].bake"));
        assert!(e.message.contains("needs its unit"), "{e}");

        let e = parse(&WAVES.replace("max_extend = \"30m\"\n", "")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("on_inconclusive"));

        let e = parse(&format!("{WAVES}speed = 2\n")).unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");

        let e = parse("name = \"x\"\n").unwrap_err();
        assert!(e.message.contains("at least one [[step]]"), "{e}");
    }

    #[test]
    fn a_plan_never_moves_a_gateway_back() {
        let src = r#"
name = "back"
[[step]]
weight = 30
bake = "1m"
[[step]]
weight = 20
scope = "gw-b1"
bake = "1m"
"#;
        let e = parse(src).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("step[2].weight"));
        assert!(e.message.contains("gw-b1 back from 30"), "{e}");
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("30s"), Ok(30_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("25h").is_err());
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(90_000), "1m30s");
        assert_eq!(format_duration(0), "0s");
    }

    #[test]
    fn the_resume_point_follows_the_weights_in_force() {
        let p = parse(WAVES).unwrap();
        let at = |done, partial| Ok(Resume { done, partial });
        // Nothing done: everything at 0.
        assert_eq!(p.resume_point(FLEET, &[0, 0, 0]), at(0, false));
        // Step 1 done (az-a at 10, az-b untouched); step 2 is at the same weight on az-a,
        // so it is done once az-b is at 10 too.
        assert_eq!(p.resume_point(FLEET, &[10, 10, 0]), at(1, false));
        assert_eq!(p.resume_point(FLEET, &[10, 10, 10]), at(2, false));
        assert_eq!(p.resume_point(FLEET, &[30, 30, 30]), at(3, false));
        // Cut short in step 1 (one of az-a's two moved): a gateway below its first target
        // may be anywhere up to it, so this reads as nothing done; step 1 then moves the rest.
        assert_eq!(p.resume_point(FLEET, &[10, 0, 0]), at(0, false));
        // Cut short in step 3: two gateways still at step 2's weight.
        assert_eq!(p.resume_point(FLEET, &[30, 10, 10]), at(2, true));
        // Weights no step of the plan leaves.
        let e = p.resume_point(FLEET, &[50, 50, 50]).unwrap_err();
        assert!(e.contains("gw-a1 50"), "{e}");
        assert!(
            p.resume_point(FLEET, &[0, 0, 10]).is_ok(),
            "az-b below its first target"
        );
        assert!(p.resume_point(FLEET, &[0, 0, 20]).is_err());
    }

    #[test]
    fn the_shipped_plans_fit_the_demo_fleet() {
        let fleet: Vec<FleetEntry<'_>> = crate::sim::Scenario::find("happy-path")
            .unwrap()
            .gateway_names()
            .into_iter()
            .map(|(n, az)| (&*n.leak(), &*az.leak()))
            .collect();
        for (file, src) in [
            (
                "runbook.toml",
                include_str!("../../../../plans/runbook.toml"),
            ),
            (
                "az-waves.toml",
                include_str!("../../../../plans/az-waves.toml"),
            ),
        ] {
            let p =
                RampPlan::parse(src, Path::new(file), &fleet, 10).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(p.steps.last().map(|s| s.weight), Some(100), "{file}");
        }
    }
}
