//! Build plans from the state: what an action would do to each gateway in scope.
//! Pure: nothing changes until a plan is executed.

use super::plan::{Plan, PlanItem, PlanKind, Scope};
use super::state::{Gateway, State};
use crate::guard::ttft::TtftVerdict;
use crate::model::{Color, Weights};

/// A plan, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    /// Something to do (may still need confirmation).
    Ready(Plan),
    /// A guardrail refuses part of it; the override key runs it anyway.
    Refused {
        /// The plan as it would run with the override.
        plan: Plan,
        /// One line per gateway that a guardrail holds back.
        reasons: Vec<String>,
    },
    /// Nothing to do; the text says why.
    Nothing(String),
}

/// Why a gateway cannot take any operation right now, if it cannot.
fn unavailable(g: &Gateway, state: &State) -> Option<String> {
    if g.op.is_some() {
        return Some("operation under way".into());
    }
    if let Some(holder) = &g.lock {
        return Some(format!("locked by {holder}"));
    }
    if let Some(reason) = &g.model.unreachable {
        return Some(format!("unreachable: {reason}"));
    }
    if g.verdicts.stale {
        let age = g
            .model
            .age(state.now)
            .map_or("never".into(), |a| format!("{}s", a / 1000));
        return Some(format!("no fresh data (age {age})"));
    }
    None
}

fn finish(
    kind: PlanKind,
    state: &State,
    items: Vec<PlanItem>,
    skipped: Vec<(usize, String)>,
) -> Planned {
    if items.is_empty() {
        let why = match skipped.as_slice() {
            [] => "no gateway in scope".to_string(),
            [(i, why)] => format!("{}: {why}", state.gateways[*i].name),
            many => format!(
                "{} gateways skipped, e.g. {}: {}",
                many.len(),
                state.gateways[many[0].0].name,
                many[0].1
            ),
        };
        return Planned::Nothing(format!("{}: nothing to do ({why})", kind.label()));
    }
    Planned::Ready(Plan {
        kind,
        scope: state.scope,
        scope_label: state.scope_label(),
        items,
        skipped,
        overridden: false,
    })
}

/// Sort the gateways in scope into items and skips; `decide` sees only
/// gateways that can take an operation, with their weights.
fn sort_scope(
    state: &State,
    mut decide: impl FnMut(&Gateway, Weights) -> Result<Weights, String>,
) -> (Vec<PlanItem>, Vec<(usize, String)>) {
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for i in state.scope_members() {
        let g = &state.gateways[i];
        let decision = match (unavailable(g, state), g.model.weights) {
            (Some(why), _) => Err(why),
            (None, None) => Err("weights not read yet".into()),
            (None, Some(before)) => decide(g, before).map(|after| PlanItem {
                gateway: i,
                before,
                after,
            }),
        };
        match decision {
            Ok(item) => items.push(item),
            Err(why) => skipped.push((i, why)),
        }
    }
    (items, skipped)
}

/// Plan moving green to `target(weights)` on every gateway in scope.
fn plan_weights(
    state: &State,
    kind: PlanKind,
    target: impl Fn(Weights) -> Option<Weights>,
) -> Planned {
    let (items, skipped) = sort_scope(state, |g, before| {
        if g.drain.is_some() {
            return Err("drain under way".into());
        }
        target(before)
            .filter(|a| *a != before)
            .ok_or_else(|| format!("already at {before}"))
    });
    let reasons: Vec<String> = items
        .iter()
        .filter(|it| it.after.green > it.before.green)
        .filter_map(|it| {
            let g = &state.gateways[it.gateway];
            match g.verdicts.ttft {
                TtftVerdict::Halt {
                    delta_pct,
                    blue_p50,
                    green_p50,
                } => Some(format!(
                    "{}: green p50 TTFT {green_p50} ms is {delta_pct:+.1} % vs blue {blue_p50} ms (limit +{} %)",
                    g.name, state.cfg.ttft_halt_pct
                )),
                _ => None,
            }
        })
        .collect();
    match finish(kind, state, items, skipped) {
        Planned::Ready(plan) if !reasons.is_empty() => Planned::Refused { plan, reasons },
        other => other,
    }
}

/// Step green by `delta` points in scope; `delta` must be a whole number of steps.
pub fn step(state: &State, delta: i16) -> Planned {
    let step = i16::from(state.cfg.step);
    if delta == 0 || delta % step != 0 {
        return Planned::Nothing(format!(
            "refused: {delta:+} is not a whole number of {step}-point steps"
        ));
    }
    plan_weights(state, PlanKind::Step { delta }, |w| w.shifted(delta))
}

/// Set green to `green` in scope; the target must be reachable by whole steps.
pub fn step_to(state: &State, green: u8) -> Planned {
    if green > 100 || green % state.cfg.step != 0 {
        return Planned::Nothing(format!(
            "refused: green {green} is not reachable in {}-point steps",
            state.cfg.step
        ));
    }
    plan_weights(state, PlanKind::StepTo { green }, |_| {
        Weights::with_green(green)
    })
}

/// Roll back every gateway in scope: 100/0 and stop green.
pub fn rollback(state: &State) -> Planned {
    let (items, skipped) = sort_scope(state, |g, before| {
        let green_running = g.model.host.as_ref().is_none_or(|h| h.running.green);
        if before == Weights::STEADY && !green_running {
            return Err("already 100/0 with green stopped".into());
        }
        Ok(Weights::STEADY)
    });
    finish(PlanKind::Rollback, state, items, skipped)
}

/// Drain the color at weight 0 on the selected gateway, on every gateway in scope where it is at 0.
pub fn drain(state: &State, color: Option<Color>) -> Planned {
    let color = match (
        color,
        state.selected_gateway().and_then(|g| g.model.weights),
    ) {
        (Some(c), _) => c,
        (None, Some(w)) if w.blue == 0 => Color::Blue,
        (None, Some(w)) if w.green == 0 => Color::Green,
        (None, w) => {
            let w = w.map_or("unknown".into(), |w| w.to_string());
            return Planned::Nothing(format!(
                "drain: no color is at 0 on the selected gateway (weights {w})"
            ));
        }
    };
    let (items, skipped) = sort_scope(state, |g, w| {
        if w.of(color) != 0 {
            Err(format!("{color} still carries traffic ({w})"))
        } else if g.drain.is_some() {
            Err("drain already under way".into())
        } else if g.model.host.as_ref().is_some_and(|h| !h.running[color]) {
            Err(format!("{color} already stopped"))
        } else {
            Ok(w)
        }
    });
    finish(PlanKind::Drain { color }, state, items, skipped)
}

/// Lines describing a plan, one per gateway, for logs and audit.
pub fn describe(plan: &Plan, state: &State) -> Vec<String> {
    let then = plan
        .kind
        .consequence(state.cfg.drain_window_secs)
        .map_or(String::new(), |c| format!("; {c}"));
    let mut out: Vec<String> = plan
        .items
        .iter()
        .map(|it| {
            let name = &state.gateways[it.gateway].name;
            if it.before == it.after {
                format!("{name}: at {}{then}", it.before)
            } else {
                format!("{name}: {} -> {}{then}", it.before, it.after)
            }
        })
        .collect();
    out.extend(
        plan.skipped
            .iter()
            .map(|(i, why)| format!("{}: skipped ({why})", state.gateways[*i].name)),
    );
    out
}

/// "step green +10 on AZ eu-west-1a": the action and the scope it was made for.
pub fn action_on(plan: &Plan) -> String {
    format!("{} on {}", plan.kind.label(), plan.scope_label)
}

/// The action, its scope and how many gateways change, for dialogs and logs.
pub fn title(plan: &Plan) -> String {
    let head = action_on(plan);
    match (plan.scope, plan.items.len()) {
        (Scope::Gateway, _) => head,
        (_, 1) => format!("{head}: 1 gateway changes"),
        (_, n) => format!("{head}: {n} gateways change"),
    }
}
