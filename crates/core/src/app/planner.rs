//! Build plans from the state: what an action would do to each gateway in scope.
//! Pure: nothing changes until a plan is executed.

use super::plan::{Plan, PlanItem, PlanKind, Scope};
use super::rules::{self, Refusal};
use super::state::{Gateway, State};
use crate::guard::verdict::GuardVerdict;
use crate::model::{Color, Weights};

/// A plan, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    /// Something to do (may still need confirmation).
    Ready(Plan),
    /// A guardrail does not pass for part of it; the override key (with a reason) runs it anyway.
    Refused {
        /// The plan as it would run with the override.
        plan: Plan,
        /// One line per hold: "gateway: guardrail verdict: sentence".
        reasons: Vec<String>,
    },
    /// Nothing to do anywhere in scope.
    Nothing {
        /// The action's label.
        action: String,
        /// Why each gateway in scope was left out (empty: no gateway in scope).
        skipped: Vec<(usize, Refusal)>,
        /// The sentence for the operator.
        why: String,
    },
}

impl Planned {
    /// Nothing to do because every gateway in scope is already where the action would put it.
    pub fn benign(&self) -> bool {
        matches!(self, Planned::Nothing { skipped, .. } if !skipped.is_empty() && skipped.iter().all(|(_, r)| r.benign()))
    }
}

/// A refusal before any gateway is looked at (bad target, bad delta).
fn nothing(action: String, why: String) -> Planned {
    Planned::Nothing {
        action,
        skipped: Vec::new(),
        why,
    }
}

fn finish(
    kind: PlanKind,
    state: &State,
    items: Vec<PlanItem>,
    skipped: Vec<(usize, Refusal)>,
    holds: Vec<(usize, GuardVerdict)>,
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
        return Planned::Nothing {
            action: kind.label(),
            skipped,
            why: format!("{}: nothing to do ({why})", kind.label()),
        };
    }
    // A rollback is the way back to the stable color in one move, confirmed as such: not a jump.
    let jumps = match kind {
        PlanKind::Step { .. } | PlanKind::StepTo { .. } => items
            .iter()
            .filter_map(|it| rules::jump(&state.cfg, it.before, it.after).map(|j| (it.gateway, j)))
            .collect(),
        PlanKind::Rollback
        | PlanKind::Drain { .. }
        | PlanKind::Start { .. }
        | PlanKind::Restart { .. } => Vec::new(),
    };
    let reasons: Vec<String> = holds
        .iter()
        .map(|(i, v)| format!("{}: {v}", state.gateways[*i].name))
        .collect();
    let plan = Plan {
        kind,
        scope: state.scope,
        scope_label: state.scope_label(),
        items,
        skipped,
        holds,
        jumps,
        overridden: false,
        reason: None,
    };
    if reasons.is_empty() {
        Planned::Ready(plan)
    } else {
        Planned::Refused { plan, reasons }
    }
}

/// Items, skips and holds of a scope, in scope order.
type Sorted = (
    Vec<PlanItem>,
    Vec<(usize, Refusal)>,
    Vec<(usize, GuardVerdict)>,
);

/// Sort the gateways in scope into items, skips and holds; `decide` sees only gateways that
/// can take an operation, with their weights, and names the weights it wants. Every item then
/// goes through the safety rules for the traffic it moves.
fn sort_scope(
    state: &State,
    mut decide: impl FnMut(&Gateway, Weights) -> Result<Weights, Refusal>,
) -> Sorted {
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    let mut holds = Vec::new();
    if !state.gateways.is_empty() && !state.visible(state.selected) {
        // The selection itself is filtered out: keys act only on rows in view.
        skipped.push((state.selected, Refusal::Hidden));
        return (items, skipped, holds);
    }
    for i in state.scope_members() {
        let g = &state.gateways[i];
        let decision = rules::ready(state, i).and_then(|before| {
            let after = decide(g, before)?;
            let held = rules::judge_change(g, &state.cfg, state.now, before, after)?;
            Ok((before, after, held))
        });
        match decision {
            Ok((before, after, held)) => {
                items.push(PlanItem {
                    gateway: i,
                    before,
                    after,
                });
                holds.extend(held.into_iter().map(|v| (i, v)));
            }
            Err(why) => skipped.push((i, why)),
        }
    }
    (items, skipped, holds)
}

/// Plan moving green to `target(weights)` on every gateway in scope.
fn plan_weights(
    state: &State,
    kind: PlanKind,
    target: impl Fn(Weights) -> Option<Weights>,
) -> Planned {
    let toward = match kind {
        PlanKind::Step { toward, .. } | PlanKind::StepTo { toward, .. } => Some(toward),
        PlanKind::Rollback
        | PlanKind::Drain { .. }
        | PlanKind::Start { .. }
        | PlanKind::Restart { .. } => None,
    };
    let (items, skipped, holds) = sort_scope(state, |g, before| {
        if g.drain.is_some() {
            return Err(Refusal::Draining);
        }
        if toward.is_some_and(|c| c != g.candidate) {
            return Err(Refusal::OtherCandidate(g.candidate));
        }
        target(before)
            .filter(|a| *a != before)
            .ok_or(Refusal::Already(before))
    });
    finish(kind, state, items, skipped, holds)
}

/// The candidate a step in scope moves toward: the selected gateway's. Gateways in scope with
/// the other candidate are left out (`Refusal::OtherCandidate`).
pub fn scope_candidate(state: &State) -> Color {
    state
        .selected_gateway()
        .map_or(Color::Green, |g| g.candidate)
}

/// Step the candidate by `delta` points in scope; `delta` must be a whole number of steps.
pub fn step(state: &State, delta: i16) -> Planned {
    let step = i16::from(state.cfg.step);
    let toward = scope_candidate(state);
    if delta == 0 || delta % step != 0 {
        return nothing(
            PlanKind::Step { delta, toward }.label(),
            format!("refused: {delta:+} is not a whole number of {step}-point steps"),
        );
    }
    plan_weights(state, PlanKind::Step { delta, toward }, |w| {
        w.shifted_for(toward, delta)
    })
}

/// Set the candidate to `weight` in scope; the target must be reachable by whole steps.
pub fn step_to(state: &State, weight: u8) -> Planned {
    let toward = scope_candidate(state);
    if weight > 100 || weight % state.cfg.step != 0 {
        return nothing(
            PlanKind::StepTo { weight, toward }.label(),
            format!(
                "refused: {toward} {weight} is not reachable in {}-point steps",
                state.cfg.step
            ),
        );
    }
    plan_weights(state, PlanKind::StepTo { weight, toward }, |_| {
        Weights::with(toward, weight)
    })
}

/// Roll back every gateway in scope: all traffic on its stable color, then its candidate is
/// stopped once its streams end (or the grace window passes). A gateway already in that grace
/// window is stopped now.
pub fn rollback(state: &State) -> Planned {
    let (items, skipped, holds) = sort_scope(state, |g, before| {
        let back = Weights::all_on(g.stable());
        let running = g.model.host.as_ref().is_none_or(|h| h.running[g.candidate]);
        if before == back && !running {
            return Err(Refusal::AlreadyRolledBack(back, g.candidate));
        }
        Ok(back)
    });
    finish(PlanKind::Rollback, state, items, skipped, holds)
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
            return nothing(
                "drain".into(),
                format!(
                    "drain: nothing to do on the selected gateway ({})",
                    Refusal::NothingAtZero(w)
                ),
            );
        }
    };
    let (items, skipped, holds) = sort_scope(state, |g, w| {
        if w.of(color) != 0 {
            Err(Refusal::CarriesTraffic(color, w))
        } else if g.drain.is_some() {
            Err(Refusal::Draining)
        } else if g.model.host.as_ref().is_some_and(|h| !h.running[color]) {
            Err(Refusal::AlreadyStopped(color))
        } else {
            Ok(w)
        }
    });
    finish(PlanKind::Drain { color }, state, items, skipped, holds)
}

/// Start `color` on every gateway in scope where it is stopped.
pub fn start(state: &State, color: Color) -> Planned {
    let (items, skipped, holds) = sort_scope(state, |g, w| {
        match g.model.host.as_ref().map(|h| h.running[color]) {
            None => Err(Refusal::RunningUnknown(color)),
            Some(true) => Err(Refusal::AlreadyRunning(color)),
            Some(false) => Ok(w),
        }
    });
    finish(PlanKind::Start { color }, state, items, skipped, holds)
}

/// Restart `color` on every gateway in scope where it carries no traffic: a restart of a
/// color with traffic would cut its streams.
pub fn restart(state: &State, color: Color) -> Planned {
    let (items, skipped, holds) = sort_scope(state, |g, w| {
        if w.of(color) != 0 {
            Err(Refusal::CarriesTraffic(color, w))
        } else if g.drain.is_some() {
            Err(Refusal::Draining)
        } else {
            Ok(w)
        }
    });
    finish(PlanKind::Restart { color }, state, items, skipped, holds)
}

/// Lines describing a plan, one per gateway, for dialogs, logs and audit: the change, what
/// follows it (with the open connections that a stop would wait for or cut), jumps, holds.
pub fn describe(plan: &Plan, state: &State) -> Vec<String> {
    let mut out: Vec<String> = plan
        .items
        .iter()
        .map(|it| {
            let g = &state.gateways[it.gateway];
            let name = &g.name;
            let mut line = if it.before == it.after {
                format!("{name}: at {}", it.before)
            } else {
                format!("{name}: {} -> {}", it.before, it.after)
            };
            if let Some(then) = consequence(plan, g, state) {
                line.push_str("; ");
                line.push_str(&then);
            }
            if let Some((_, j)) = plan.jumps.iter().find(|(i, _)| *i == it.gateway) {
                line.push_str(&format!("; {j}"));
            }
            line
        })
        .collect();
    out.extend(
        plan.skipped
            .iter()
            .map(|(i, why)| format!("{}: skipped ({why})", state.gateways[*i].name)),
    );
    out
}

/// What follows each gateway's change and the jumps, one line each, for the confirm dialog.
pub fn notes(plan: &Plan, state: &State) -> Vec<String> {
    let mut out = Vec::new();
    for it in &plan.items {
        let g = &state.gateways[it.gateway];
        if let Some(then) = consequence(plan, g, state) {
            out.push(format!("{}: {then}", g.name));
        }
        if let Some((_, j)) = plan.jumps.iter().find(|(i, _)| *i == it.gateway) {
            out.push(format!("{}: {j}", g.name));
        }
    }
    out
}

/// What happens on `g` after the weight change, with its open connections.
fn consequence(plan: &Plan, g: &Gateway, state: &State) -> Option<String> {
    let conns = |c: Color| {
        g.model
            .host
            .as_ref()
            .map_or("an unknown number of".into(), |h| h.conns[c].to_string())
    };
    let cand = g.candidate;
    match plan.kind {
        PlanKind::Rollback if stops_candidate_now(g) => Some(format!(
            "{cand} is stopped NOW, cutting its {} open connections",
            conns(cand)
        )),
        PlanKind::Rollback if state.cfg.rollback_grace_secs == 0 => Some(format!(
            "{cand} is stopped at once ({} open connections are cut)",
            conns(cand)
        )),
        PlanKind::Rollback => Some(format!(
            "{cand} ({} open connections) is stopped once they close, or after {} s",
            conns(cand),
            state.cfg.rollback_grace_secs
        )),
        PlanKind::Drain { color } => Some(format!(
            "{color} ({} open connections) is stopped once they close, or after {} s",
            conns(color),
            state.cfg.drain_window_secs
        )),
        PlanKind::Start { color } => Some(format!(
            "{color} starts, then must answer a TTFT probe; it takes traffic only by a step"
        )),
        PlanKind::Restart { color } => Some(format!(
            "{color} ({} open connections) stops and starts, then must answer a TTFT probe",
            conns(color)
        )),
        PlanKind::Step { .. } | PlanKind::StepTo { .. } => None,
    }
}

/// A rollback of `g` is already waiting out its candidate's grace window: a second one stops
/// it now.
pub fn stops_candidate_now(g: &Gateway) -> bool {
    g.drain.is_some_and(|d| {
        d.color == g.candidate && d.rollback && g.model.weights == Some(Weights::all_on(g.stable()))
    })
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
