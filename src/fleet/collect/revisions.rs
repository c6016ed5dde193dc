//! Each color's revision, asked the same way by the live collectors, the headless commands
//! and `check`: the color's `revision` command, or else its own health answer through an SSH
//! forward.

use crate::fleet::collect::color_target;
use crate::fleet::control::{Host, script};
use crate::fleet::probe::dial::{self, Dial};
use crate::guard::revision;
use crate::model::{Color, PerColor, Revisions};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use std::time::Duration;

/// Largest body read from a color's health endpoint.
const BODY_LIMIT: usize = 64 * 1024;

/// How long one revision answer may take (command or health request).
pub(crate) const REVISION_TIMEOUT: Duration = Duration::from_secs(5);

/// The path (and query) of a URL, `/` when it has none.
pub(crate) fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// GET `path` over `dial`: status and body (at most [`BODY_LIMIT`] bytes).
pub(crate) async fn get(
    dial: &Dial,
    path: &str,
    timeout: Duration,
) -> Result<(u16, Bytes), String> {
    let deadline = dial::deadline(timeout);
    let limit_ms = timeout.as_millis();
    let request = dial::request(
        hyper::Method::GET,
        path,
        "localhost",
        &[("accept", "application/json")],
        Bytes::new(),
    )?;
    let mut conn = dial::connect(dial, deadline, limit_ms).await?;
    let resp = conn.send(request, deadline, limit_ms).await?;
    let status = resp.status().as_u16();
    let body = tokio::time::timeout_at(
        deadline,
        Limited::new(resp.into_body(), BODY_LIMIT).collect(),
    )
    .await
    .map_err(|_| format!("{path}: body not complete within {limit_ms} ms"))?
    .map_err(|e| format!("{path}: body broken: {e}"))?;
    Ok((status, body.to_bytes()))
}

/// One color's revision: its `revision` command's first line, or else the `revision` of its own
/// health answer, fetched on the color's address through an SSH forward (the health URL goes
/// through nginx, to either color).
pub(crate) async fn color_revision(h: &Host, c: Color) -> Result<Option<String>, String> {
    let cc = h.cfg.color(c);
    if let Some(cmd) = &cc.revision {
        let out = tokio::time::timeout(
            REVISION_TIMEOUT,
            h.ssh()
                .run(&h.cfg.ssh, &script::configured_command(cmd), None),
        )
        .await
        .map_err(|_| {
            format!(
                "{c} revision command: no answer within {} s",
                REVISION_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| e.to_string())?;
        if out.code != 0 {
            return Err(format!("{c} revision command exited {}", out.code));
        }
        return Ok(revision::clean(&String::from_utf8_lossy(&out.stdout)));
    }
    let local = h
        .ssh()
        .forward_path(&h.cfg.ssh, &format!("{}-revision", c.name()));
    h.ssh()
        .forward(&h.cfg.ssh, &local, &color_target(&cc.addr))
        .await
        .map_err(|e| e.to_string())?;
    // Any status: a degraded or down color still says what it runs.
    let (_, body) = get(
        &Dial::Unix(local),
        url_path(&h.cfg.health_url),
        REVISION_TIMEOUT,
    )
    .await
    .map_err(|e| format!("{c} health: {e}"))?;
    Ok(revision::from_health(&body))
}

/// Both colors' revisions (asked at once), with the expected one.
pub(crate) async fn revisions(h: &Host, expected: Option<&str>) -> Revisions {
    let (b, g) = tokio::join!(
        color_revision(h, Color::Blue),
        color_revision(h, Color::Green)
    );
    Revisions {
        of: PerColor {
            blue: b.ok().flatten(),
            green: g.ok().flatten(),
        },
        expected: expected.map(str::to_string),
    }
}
