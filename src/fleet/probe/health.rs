//! The health probe: one GET of a gateway's health URL, its body capped and judged.

use crate::model::{HealthReport, HealthStatus};
use crate::sanitize::sanitize;

/// A health answer larger than this is cut: a host must not fill our memory.
const HEALTH_BODY_LIMIT: usize = 64 * 1024;

/// The body, up to `limit` bytes (the rest is not read).
async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    body
}

/// The verdict of a composite health answer: `ok`, `degraded` (200, yellow), or `down`; the
/// sub-checks that are `false`, sanitized.
pub(crate) fn judge_health(code: u16, body: &[u8]) -> (HealthStatus, Vec<String>) {
    let json = serde_json::from_slice::<serde_json::Value>(body).ok();
    let failing: Vec<String> = json
        .as_ref()
        .and_then(|v| v.as_object())
        .map(|o| {
            o.iter()
                .filter(|(_, v)| v.as_bool() == Some(false))
                .map(|(k, _)| sanitize(k))
                .collect()
        })
        .unwrap_or_default();
    let status = json
        .as_ref()
        .and_then(|v| v.get("status"))
        .and_then(|s| s.as_str())
        .map(str::to_string);
    let status = match (code, status.as_deref()) {
        (200, Some("ok") | None) if failing.is_empty() => HealthStatus::Ok,
        (200, Some("degraded")) => HealthStatus::Degraded,
        (200, Some("ok") | None) => HealthStatus::Degraded,
        (200, Some(_)) => HealthStatus::Unknown,
        _ => HealthStatus::Down,
    };
    (status, failing)
}

/// Probe a health URL once. HTTP 200 with `"status":"degraded"` is yellow, not red; any
/// sub-check reported `false` is named.
pub(crate) async fn probe_health(client: &reqwest::Client, url: &str) -> HealthReport {
    let started = std::time::Instant::now();
    let latency = || u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
    let Ok(resp) = client.get(url).send().await else {
        return HealthReport {
            status: HealthStatus::Down,
            failing: vec!["unreachable".into()],
            latency_ms: latency(),
        };
    };
    let code = resp.status().as_u16();
    let body = read_capped(resp, HEALTH_BODY_LIMIT).await;
    let latency_ms = latency();
    let (status, failing) = judge_health(code, &body);
    HealthReport {
        status,
        failing,
        latency_ms,
    }
}
