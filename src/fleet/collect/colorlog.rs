//! One request's lines from a color's own structured log, read over the host's SSH
//! connection for the failures view: only the log's last [`TAIL_BYTES`], matched with a
//! fixed-string grep on the host, at most [`MAX_LINES`] lines back, within [`TIMEOUT`]; the
//! lines are parsed and sanitized by [`crate::failures::colorlog`].

use crate::fleet::control::host::Host;
use crate::fleet::remote::quote::sh_c;
use crate::model::Color;
use std::time::Duration;

/// The part of the log searched: recent failures are near its end, and a huge log must not
/// cost the host or the link.
const TAIL_BYTES: u64 = 8 << 20;
/// Lines brought back at most.
const MAX_LINES: usize = 50;
/// Longest the read may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The command: the log's tail, the lines holding `id` (a fixed string), the last few, each
/// cut at 4 KB (a 1 MB line must not cross the link whole).
pub(crate) fn command(path: &str, id: &str) -> String {
    sh_c(
        &format!(
            "[ -r \"$1\" ] || {{ echo \"cannot read $1\" >&2; exit 3; }}; tail -c {TAIL_BYTES} -- \"$1\" | grep -aF -- \"$2\" | tail -n {MAX_LINES} | cut -c1-4096"
        ),
        &[path, id],
    )
}

/// The lines of `color`'s log on `host` that carry `id`, or why there are none.
pub(crate) async fn read(
    host: &Host,
    color: Color,
    id: &str,
) -> Result<Vec<crate::failures::ColorLogLine>, String> {
    let Some(path) = host.cfg.color(color).log.as_deref() else {
        return Err(format!(
            "no log configured for {color} on {} ([gateway.{color}] log in fleet.toml)",
            crate::sanitize::sanitize(&host.cfg.name)
        ));
    };
    let cmd = command(path, id);
    let run = host.ssh().run(&host.cfg.ssh, &cmd, None);
    let out = tokio::time::timeout(TIMEOUT, run)
        .await
        .map_err(|_| format!("{color}'s log: no answer within {} s", TIMEOUT.as_secs()))?
        .map_err(|e| format!("{color}'s log: {e}"))?;
    // The pipeline's status is cut's: only the readability test fails it.
    if out.code != 0 {
        return Err(format!(
            "{color}'s log {}: {}",
            crate::sanitize::sanitize(path),
            crate::sanitize::sanitize(out.stderr.lines().next().unwrap_or("unreadable"))
        ));
    }
    Ok(crate::failures::lines_for(&out.stdout, id, MAX_LINES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_and_path_are_arguments_not_code() {
        let c = command("/var/log/gw green.log", "abc'; rm -rf / #");
        assert!(c.contains("grep -aF"), "{c}");
        assert!(!c.contains("rm -rf / #\"$"), "{c}");
        // Both travel as quoted positional arguments.
        assert!(c.contains("'abc'\\''; rm -rf / #'"), "{c}");
        assert!(c.contains("'/var/log/gw green.log'"), "{c}");
    }
}
