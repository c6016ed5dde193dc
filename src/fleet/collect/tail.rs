//! The access-log tail: `tail -F -n 0` over the host's SSH connection, parsed as it arrives,
//! sent to the cockpit in batches. `-F` follows the file across log rotation; a dropped
//! connection is retried with a growing pause.

use super::{Outbox, send};
use crate::fleet::control::host::Host;
use crate::fleet::remote::quote::sh_c;
use crate::model::Telemetry;
use crate::nginx::accesslog::{Colors, LogReader};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Records are sent at least this often while traffic flows (the rate panels move smoothly).
const BATCH_EVERY: Duration = Duration::from_millis(250);
/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// The tail's command line.
pub(crate) fn tail_command(path: &str) -> String {
    sh_c("exec tail -F -n 0 -- \"$1\" 2>/dev/null", &[path])
}

/// Tail `host`'s access log until the cockpit exits.
pub(crate) async fn tail_loop(i: usize, host: Host, tx: Outbox) {
    let colors = Colors {
        blue: host.cfg.blue.addr.clone(),
        green: host.cfg.green.addr.clone(),
    };
    let mut reader = LogReader::new(colors);
    let command = tail_command(&host.cfg.access_log);
    let mut backoff = Duration::from_secs(1);
    while !tx.is_closed() {
        let started = tokio::time::Instant::now();
        if let Ok(mut child) = host.ssh().stream(&host.cfg.ssh, &command).await {
            if let Some(mut out) = child.stdout.take() {
                pump(i, &mut out, &mut reader, &tx).await;
            }
            let _ = child.kill().await;
        }
        // The half line cut off by the drop must not be glued to the next stream's first line.
        reader.discard_partial();
        // A tail that ran a while before it broke was healthy: start the backoff over.
        if started.elapsed() > MAX_BACKOFF {
            backoff = Duration::from_secs(1);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Read until EOF (or the cockpit exits), sending parsed requests (and, apart, the failed
/// ones with their request IDs and tries, for the failures view and the digest) every
/// `BATCH_EVERY`.
async fn pump(
    i: usize,
    out: &mut tokio::process::ChildStdout,
    reader: &mut LogReader,
    tx: &Outbox,
) {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut batch = Vec::new();
    let mut failures = Vec::new();
    let mut flush = tokio::time::interval(BATCH_EVERY);
    loop {
        tokio::select! {
            n = out.read(&mut chunk) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => reader.feed_with(&chunk[..n], &mut batch, |l, colors| {
                    failures.extend(crate::failures::failed_request(l, colors));
                }),
            },
            _ = flush.tick() => {
                if !send_batch(i, tx, &mut batch, &mut failures) || tx.is_closed() {
                    return;
                }
            }
        }
    }
    send_batch(i, tx, &mut batch, &mut failures);
}

/// Send what was gathered (requests first, then failures); false once the cockpit is gone.
fn send_batch(
    i: usize,
    tx: &Outbox,
    batch: &mut Vec<crate::model::RequestRecord>,
    failures: &mut Vec<crate::failures::FailedRequest>,
) -> bool {
    if !batch.is_empty()
        && !send(
            tx,
            i,
            Telemetry::Requests {
                records: std::mem::take(batch),
            },
        )
    {
        return false;
    }
    if !failures.is_empty() {
        let failures = std::mem::take(failures);
        return tx
            .send(crate::app::msg::Msg::Failures {
                gateway: i,
                failures,
            })
            .is_ok();
    }
    true
}
