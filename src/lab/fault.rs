//! `cutover lab fault`: change a running color's behaviour (slow, failing, unhealthy, hung).

use super::LabError;
use super::color;
use super::gateway::{self, Behaviour};
use crate::model::Color;
use std::path::Path;
use std::time::Duration;

/// Apply `key=value` assignments to `color` on the named gateways (all when empty).
/// The change is live at once and kept for the color's next start.
pub(crate) fn fault(
    dir: &Path,
    gateways: &[String],
    c: Color,
    assignments: &[String],
) -> Result<Vec<(String, Behaviour)>, LabError> {
    let patch = gateway::patch_from_assignments(assignments).map_err(LabError::Usage)?;
    let (layout, state) = color::load(dir).map_err(LabError::Failed)?;
    let hosts = if gateways.is_empty() {
        state.hosts.clone()
    } else {
        gateways
            .iter()
            .map(|g| state.host(g).cloned())
            .collect::<Result<Vec<_>, _>>()
            .map_err(LabError::Usage)?
    };
    let rt = color::runtime().map_err(LabError::Failed)?;
    let mut out = Vec::new();
    for h in &hosts {
        let addr = color::endpoint(&layout, &state, h, c);
        let b = rt
            .block_on(gateway::patch_behaviour(
                addr,
                &patch,
                Duration::from_secs(3),
            ))
            .map_err(|e| LabError::Failed(format!("{} {}: {e}", h.name, c.name())))?;
        color::save_behaviour(&layout, &h.name, c, &b).map_err(LabError::Failed)?;
        out.push((h.name.clone(), b));
    }
    Ok(out)
}
