//! The preflight's remote half: every check of one gateway, over its SSH connection and over
//! HTTP(S) from here, as table rows; and each color's revision, which `check`, the headless
//! commands and the live collectors all ask the same way.

use super::{Row, Status, limits, lint, status_from_judgement, tls};
use crate::config::PreflightConfig;
pub(crate) use crate::fleet::collect::revisions::{revisions, url_path};
use crate::fleet::collect::{finish_host_sample, sampler, sampler_answer, wall_ms};
use crate::fleet::control::Host;
use crate::fleet::control::host::{CommandRecord, LOADED_EVERY, LogFormat};
use crate::guard::GuardConfig;
use crate::guard::revision;
use crate::model::{Color, HealthStatus, PerColor};

/// What `check` needs besides the host.
#[derive(Debug, Clone)]
pub(crate) struct CheckSettings {
    /// Guardrails: clock skew, probe p95 SLO, drain window.
    pub(crate) guard: GuardConfig,
    /// `[preflight]`.
    pub(crate) preflight: PreflightConfig,
    /// The HTTP(S) client for health and certificates (the CA file added), or why there is none.
    pub(crate) client: Result<reqwest::Client, String>,
}

impl CheckSettings {
    /// The settings of a fleet's configuration: its guardrails, `[preflight]` and an https
    /// client that trusts the probes' CA file and keeps the peer certificate.
    pub(crate) fn for_config(config: &crate::config::Config) -> CheckSettings {
        CheckSettings {
            guard: config.guardrails,
            preflight: config.preflight.clone(),
            client: crate::fleet::probe::tls::client(
                std::time::Duration::from_secs(3),
                config.probes.ca_file.as_deref(),
                true,
            ),
        }
    }
}

/// Every check of one gateway, in a fixed order. A host that SSH cannot reach gets one row.
pub(crate) async fn check_gateway(h: &Host, s: &CheckSettings) -> Vec<Row> {
    let name = h.cfg.name.as_str();
    let row = |check: &str, status: Status, reason: String| Row::new(name, check, status, reason);
    let mut rows = Vec::new();
    let mut log = Vec::new();
    if let Err(e) = h.ssh().run(&h.cfg.ssh, "true", None).await {
        rows.push(row("ssh", Status::Fail, e.to_string()));
        return rows;
    }
    rows.push(row(
        "ssh",
        Status::Ok,
        format!("{} reached, host key known", h.cfg.ssh),
    ));
    match h.read(&mut log).await {
        Ok(r) if r.other_servers.is_empty() => rows.push(row(
            "upstream",
            Status::Ok,
            format!(
                "{} holds blue and green only, at {}",
                h.cfg.upstream, r.weights
            ),
        )),
        Ok(r) => rows.push(row(
            "upstream",
            Status::Fail,
            format!(
                "upstream {} has other servers too: {}",
                h.cfg.upstream,
                r.other_servers.join(", ")
            ),
        )),
        Err(e) => rows.push(row("upstream", Status::Fail, e)),
    }
    rows.extend(gate_rows(h, s, &mut log).await);
    rows.extend(sampler_rows(h, s).await);
    let (j, sentence) = revision::judge(Some(
        &revisions(h, s.preflight.expected_revision.as_deref()).await,
    ));
    rows.push(row("revision", status_from_judgement(j), sentence));
    rows.extend(health_rows(h, s).await);
    rows
}

/// The checks that gate a step onto the candidate (the model's preflight round): `nginx -t`,
/// the running master, the log format, the nginx lint, the open-files limits and, for an https
/// health URL, the certificate. The live collectors and the headless commands run these; `check`
/// runs them among the rest.
pub(crate) async fn gate_rows(
    h: &Host,
    s: &CheckSettings,
    log: &mut Vec<CommandRecord>,
) -> Vec<Row> {
    let name = h.cfg.name.as_str();
    let row = |check: &str, status: Status, reason: String| Row::new(name, check, status, reason);
    let mut rows = Vec::new();
    rows.push(match h.nginx_test(log).await {
        Ok(()) => row("nginx -t", Status::Ok, "the configuration is valid".into()),
        Err(e) => row("nginx -t", Status::Fail, e),
    });
    rows.push(match check_master(h).await {
        Ok(()) => row(
            "nginx master",
            Status::Ok,
            "the pid file names this nginx's running master".into(),
        ),
        Err(e) => row("nginx master", Status::Fail, e),
    });
    rows.push(match h.check_log_format(log).await {
        Ok(LogFormat::Good) => row(
            "log format",
            Status::Ok,
            "the newest line is in the cutover JSON format".into(),
        ),
        // Known and harmless before traffic: said, not held (the 5xx guardrail waits for
        // requests anyway).
        Ok(LogFormat::Empty) => row(
            "log format",
            Status::Warn,
            format!(
                "the access log {} is empty: nothing to judge yet",
                h.cfg.access_log
            ),
        ),
        Err(e) => row("log format", Status::Fail, e),
    });
    rows.extend(lint_rows(h, s, log).await);
    rows.push(nofile_row(h, s).await);
    if let Some(r) = tls_row(h, s).await {
        rows.push(r);
    }
    rows
}

/// The nginx lint of what nginx loads (the dump the upstream judgement read).
async fn lint_rows(h: &Host, s: &CheckSettings, log: &mut Vec<CommandRecord>) -> Vec<Row> {
    let name = h.cfg.name.as_str();
    if let Err(e) = h.refresh_loaded(LOADED_EVERY, log).await {
        return vec![Row::new(
            name,
            "nginx lint",
            Status::Fail,
            format!("nothing to lint: {e}"),
        )];
    }
    let Some(dump) = h.loaded_dump() else {
        return vec![Row::new(
            name,
            "nginx lint",
            Status::Fail,
            "nothing to lint: nginx -T gave no configuration",
        )];
    };
    let directives = match crate::nginx::upstream::loaded_directives(&dump) {
        Ok(d) => d,
        Err(e) => return vec![Row::new(name, "nginx lint", Status::Fail, e)],
    };
    let input = lint::LintInput {
        upstream: &h.cfg.upstream,
        addrs: PerColor::from_fn(|c| h.cfg.color(c).addr.as_str()),
        idle_secs: PerColor::from_fn(|c| h.cfg.color(c).idle_timeout_secs),
        health_path: Some(url_path(&h.cfg.health_url).split('?').next().unwrap_or("/")),
        drain_window_secs: s.guard.drain_window_secs,
    };
    lint::lint(&directives, &input)
        .into_iter()
        .map(|f| Row::new(name, f.check, f.status, f.reason))
        .collect()
}

/// Clock skew, listeners and versions from one sampler answer.
async fn sampler_rows(h: &Host, s: &CheckSettings) -> Vec<Row> {
    let name = h.cfg.name.as_str();
    let sent = wall_ms();
    let answer = h
        .ssh()
        .run(&h.cfg.ssh, &sampler::sample_command(&h.cfg, true), None)
        .await;
    let answered = wall_ms();
    let sample = match sampler_answer(answer) {
        Ok(x) => x,
        Err(e) => return vec![Row::new(name, "host sample", Status::Fail, e)],
    };
    let mut host = sample.host;
    finish_host_sample(
        &mut host,
        &h.cfg,
        sample.clock_ms,
        sample.workers.len(),
        sent,
        answered,
    );
    let mut rows = Vec::new();
    let skew = host.clock_skew_ms;
    let limit = s.guard.max_clock_skew_ms;
    rows.push(match sample.clock_ms {
        None => Row::new(name, "clock skew", Status::Unknown, "the host gave no clock"),
        Some(_) if skew.unsigned_abs() > limit => Row::new(
            name,
            "clock skew",
            Status::Fail,
            format!("host clock is {skew:+} ms off ours (limit {limit} ms): log times and windows disagree"),
        ),
        Some(_) => Row::new(name, "clock skew", Status::Ok, format!("{skew:+} ms (limit {limit} ms)")),
    });
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for c in Color::BOTH {
        let addr = &h.cfg.color(c).addr;
        let l = &host.listeners[c];
        if l.is_empty() {
            problems.push(format!("{c} is not listening on {addr}"));
        }
        let public: Vec<&str> = l
            .iter()
            .map(String::as_str)
            .filter(|a| !crate::guard::listeners::is_loopback(a))
            .collect();
        if !public.is_empty() {
            problems.push(format!(
                "{c} listens beyond loopback: {}",
                public.join(", ")
            ));
        }
        seen.push(format!(
            "{c} {}",
            if l.is_empty() {
                "-".into()
            } else {
                l.join(",")
            }
        ));
    }
    rows.push(if problems.is_empty() {
        Row::new(
            name,
            "listeners",
            Status::Ok,
            format!("loopback only: {}", seen.join(", ")),
        )
    } else {
        Row::new(name, "listeners", Status::Fail, problems.join("; "))
    });
    let v = |c: Color| host.versions[c].clone();
    rows.push(match (v(Color::Blue), v(Color::Green)) {
        (Some(b), Some(g)) => {
            Row::new(name, "versions", Status::Ok, format!("blue {b}, green {g}"))
        }
        (b, g) => Row::new(
            name,
            "versions",
            Status::Fail,
            format!(
                "version command failed for {}",
                [(b.is_none(), "blue"), (g.is_none(), "green")]
                    .iter()
                    .filter(|x| x.0)
                    .map(|x| x.1)
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        ),
    });
    rows
}

async fn nofile_row(h: &Host, s: &CheckSettings) -> Row {
    let name = h.cfg.name.as_str();
    let out = h
        .ssh()
        .run(&h.cfg.ssh, &limits::nofile_command(&h.cfg), None)
        .await;
    match out {
        Ok(o) => {
            let parsed = limits::parse(&String::from_utf8_lossy(&o.stdout));
            let (status, why) = limits::judge(&parsed, s.preflight.min_nofile);
            Row::new(name, "nofile", status, why)
        }
        Err(e) => Row::new(name, "nofile", Status::Unknown, format!("not read: {e}")),
    }
}

/// Health status and the probe p95 over a few probes.
async fn health_rows(h: &Host, s: &CheckSettings) -> Vec<Row> {
    let name = h.cfg.name.as_str();
    let url = &h.cfg.health_url;
    let client = match &s.client {
        Ok(c) => c,
        Err(e) => return vec![Row::new(name, "health", Status::Fail, e.clone())],
    };
    let mut rows = Vec::new();
    let mut latencies = Vec::new();
    let mut last = None;
    for _ in 0..s.preflight.probe_samples.max(1) {
        let r = crate::fleet::probe::health::probe_health(client, url).await;
        latencies.push(u64::from(r.latency_ms));
        last = Some(r);
    }
    if let Some(r) = &last {
        let failing = if r.failing.is_empty() {
            String::new()
        } else {
            format!(" (failing: {})", r.failing.join(", "))
        };
        let status = match r.status {
            HealthStatus::Ok => Status::Ok,
            HealthStatus::Degraded => Status::Warn,
            HealthStatus::Down | HealthStatus::Unknown => Status::Fail,
        };
        rows.push(Row::new(
            name,
            "health",
            status,
            format!("{}{failing}", r.status.name()),
        ));
    }
    latencies.sort_unstable();
    let rank = (latencies.len() * 95).div_ceil(100).max(1) - 1;
    let p95 = latencies.get(rank).copied().unwrap_or(0);
    let slo = s.guard.health_p95_slo_ms;
    rows.push(Row::new(
        name,
        "probe p95",
        if p95 < slo { Status::Ok } else { Status::Warn },
        format!(
            "{p95} ms over {} probes (SLO under {slo} ms)",
            latencies.len()
        ),
    ));
    rows
}

/// Days until the public certificate expires, when the health URL is https.
async fn tls_row(h: &Host, s: &CheckSettings) -> Option<Row> {
    let name = h.cfg.name.as_str();
    let url = &h.cfg.health_url;
    if !url.starts_with("https://") {
        return None;
    }
    let client = match &s.client {
        Ok(c) => c,
        Err(e) => return Some(Row::new(name, "tls", Status::Unknown, e.clone())),
    };
    let p = &s.preflight;
    Some(
        match tls::peer_certificate(client, url)
            .await
            .and_then(|der| tls::not_after(&der))
        {
            Ok(after) => {
                let days = tls::days_left(after, wall_ms() / 1000);
                let (status, why) = tls::judge(days, p.tls_warn_days, p.tls_fail_days);
                Row::new(name, "tls", status, why)
            }
            Err(e) => Row::new(name, "tls", Status::Fail, e),
        },
    )
}

/// The pid file names a live nginx master started like the configured `nginx` command.
pub(crate) async fn check_master(h: &Host) -> Result<(), String> {
    use crate::fleet::control::master;
    let out = h
        .ssh()
        .run(&h.cfg.ssh, &master::master_command(&h.cfg.nginx_pid), None)
        .await
        .map_err(|e| e.to_string())?;
    let m = master::parse_master(&String::from_utf8_lossy(&out.stdout))?;
    match master::mismatch(&m, &h.cfg.nginx_pid, &h.cfg.nginx) {
        Some(why) => Err(crate::sanitize::sanitize(&why)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths() {
        assert_eq!(url_path("http://127.0.1.2:8080/health"), "/health");
        assert_eq!(url_path("https://gw.example.net/h?x=1"), "/h?x=1");
        assert_eq!(url_path("https://gw.example.net"), "/");
    }
}
