//! Live collectors of a real fleet: per gateway, a host sampler (weights, lock, connections,
//! listeners, workers, clock, stub_status), a version command per color, a health probe, an
//! access-log tail and TTFT probes per color. Each runs on its own task, so a host that hangs
//! or disappears stalls only its own collectors, and a version command that hangs stalls only
//! itself: the weights keep arriving, and rollback keeps working. Each collector has at most
//! one remote command in flight (a round that comes due while the last one runs is skipped);
//! every one of them retries until the cockpit exits.
//! [`burst`] gathers the same data once, for the headless commands.

pub(crate) mod burst;
pub(crate) mod colorlog;
pub(crate) mod prometheus;
pub(crate) mod revisions;
pub(crate) mod sampler;
pub(crate) mod tail;

use crate::app::msg::Msg;
use crate::config::{GatewayConfig, ProbeConfig};
use crate::fleet::control::host::Host;
use crate::fleet::probe::stub_status::fetch_stub_status;
use crate::fleet::probe::ttft::{Dial, probe_ttft};
use crate::model::{Color, HostSample, NginxStatus, PerColor, Telemetry};
use sampler::VersionAnswer;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, watch};

/// How often and how widely the collectors work.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Host sampler interval.
    pub(crate) interval: Duration,
    /// Probe rates.
    pub(crate) probes: ProbeConfig,
    /// Sampler commands in flight at once across the fleet (version commands: as many again).
    pub(crate) parallel: usize,
    /// `[preflight] expected_revision`, carried with each color's revision to the model.
    pub(crate) expected_revision: Option<String>,
    /// What the preflight rounds check against (limits, certificate days, the https client).
    pub(crate) check: Arc<crate::fleet::preflight::remote::CheckSettings>,
    /// The Prometheus source when `[telemetry] source = "prometheus"`: it replaces the
    /// access-log tails and the health probes (the TTFT probes stay: they tell whether a
    /// color answers at all, and the colors' histograms count them).
    pub(crate) metrics: Option<Arc<prometheus::PromSource>>,
    /// Longest window one poll of the metrics source counts (the 5xx window).
    pub(crate) metrics_max_window_ms: u64,
}

/// Preflight rounds while everything holds: the lint reads what nginx loads, which changes
/// only when someone edits it.
const PREFLIGHT_EVERY: Duration = Duration::from_secs(60);
/// Preflight rounds while something does not hold: an operator fixing it sees it clear soon.
const PREFLIGHT_RETRY: Duration = Duration::from_secs(15);
/// Longest a preflight round may take; a round that does not end is not reported, and the
/// last one ages out (a step is then held as inconclusive).
const PREFLIGHT_LIMIT: Duration = Duration::from_secs(60);

/// Messages to the cockpit.
pub(crate) type Outbox = mpsc::UnboundedSender<Msg>;

/// Start every collector of every host; they stop when `tx` is closed.
pub(crate) fn spawn_all(hosts: &Arc<Vec<Host>>, settings: &Settings, tx: &Outbox) {
    let sem = Arc::new(Semaphore::new(settings.parallel.max(1)));
    // Version commands take turns of their own: hung ones must not hold the sampler's permits.
    let version_sem = Arc::new(Semaphore::new(settings.parallel.max(1)));
    let client = crate::fleet::probe::tls::client(
        Duration::from_secs(settings.probes.health_every_secs.max(2)),
        settings.probes.ca_file.as_deref(),
        false,
    )
    .ok();
    for (i, host) in hosts.iter().enumerate() {
        let (versions_tx, versions_rx) = watch::channel(Versions::default());
        let versions_tx = Arc::new(versions_tx);
        for color in Color::BOTH {
            tokio::spawn(version_loop(
                host.clone(),
                color,
                Duration::from_secs(settings.probes.version_every_secs),
                version_sem.clone(),
                versions_tx.clone(),
                tx.clone(),
            ));
        }
        let (revisions_tx, revisions_rx) = watch::channel(None);
        tokio::spawn(revision_loop(
            host.clone(),
            settings.expected_revision.clone(),
            Duration::from_secs(settings.probes.version_every_secs),
            version_sem.clone(),
            revisions_tx,
            tx.clone(),
        ));
        tokio::spawn(preflight_loop(
            i,
            host.clone(),
            settings.check.clone(),
            version_sem.clone(),
            tx.clone(),
        ));
        tokio::spawn(sample_loop(
            i,
            host.clone(),
            settings.clone(),
            sem.clone(),
            (versions_rx, revisions_rx),
            tx.clone(),
        ));
        // With Prometheus as the source there is no log tail and no health probe here.
        if let (None, Some(c)) = (&settings.metrics, &client) {
            tokio::spawn(health_loop(
                i,
                host.cfg.health_url.clone(),
                c.clone(),
                Duration::from_secs(settings.probes.health_every_secs),
                tx.clone(),
            ));
        }
        if settings.metrics.is_none() {
            tokio::spawn(tail::tail_loop(i, host.clone(), tx.clone()));
        }
        if settings.probes.ttft_every_secs > 0 {
            for color in Color::BOTH {
                tokio::spawn(ttft_loop(
                    i,
                    host.clone(),
                    color,
                    settings.probes.clone(),
                    tx.clone(),
                ));
            }
        }
    }
    if let Some(source) = &settings.metrics {
        tokio::spawn(prometheus::poll_loop(
            source.clone(),
            settings.interval,
            settings.metrics_max_window_ms,
            tx.clone(),
        ));
    }
}

fn send(tx: &Outbox, gateway: usize, data: Telemetry) -> bool {
    tx.send(Msg::Telemetry { gateway, data }).is_ok()
}

pub(crate) fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A ticker that does not try to catch up after a slow round (a hung host must not get a
/// burst of commands when it answers again).
fn ticker(every: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(every.max(Duration::from_millis(100)));
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

/// Each color's latest version answer: `None` until its first round is over.
type Versions = PerColor<Option<Option<String>>>;

/// How long a version command may run on the host: 10 s, or two thirds of the SSH
/// command timeout when that is shorter, so that the host ends it and answers before our
/// side would give up on the session (at least 1 s).
pub(crate) fn version_limit(command_timeout: Duration) -> Duration {
    const MOST: u64 = 10;
    Duration::from_secs((command_timeout.as_secs() * 2 / 3).clamp(1, MOST))
}

/// What our side waits for a version answer beyond the host's limit: the session set-up and
/// the round trip. Past it the session is dropped; the host still ends the command itself.
const VERSION_SLACK: Duration = Duration::from_secs(5);

/// One color's version command, every `every`, on its own task and its own session: a command
/// that hangs is ended on the host after [`version_limit`] and reported as unknown, and never
/// delays the sampler. One round at a time; rounds that come due meanwhile are skipped.
async fn version_loop(
    host: Host,
    color: Color,
    every: Duration,
    sem: Arc<Semaphore>,
    versions: Arc<watch::Sender<Versions>>,
    tx: Outbox,
) {
    let limit = version_limit(host.ssh().options().command_timeout);
    let command = sampler::version_command(&host.cfg, color, limit.as_secs());
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut timed_out = false;
    loop {
        tick.tick().await;
        if tx.is_closed() {
            return;
        }
        let answer = {
            let _permit = sem.acquire().await;
            tokio::time::timeout(
                limit + VERSION_SLACK,
                host.ssh().run(&host.cfg.ssh, &command, None),
            )
            .await
        };
        let version = match answer {
            Ok(Ok(out)) if out.code == 0 => sampler::parse_version(&out.stdout, color),
            Ok(Ok(_)) => VersionAnswer::Unknown,
            Ok(Err(crate::fleet::remote::SshError::Timeout { .. })) | Err(_) => {
                VersionAnswer::TimedOut
            }
            Ok(Err(_)) => {
                // No way to the host at all: the sampler says so. A version known from before
                // stays (a unix-socket color would otherwise look stopped after every blip);
                // without one it is unknown, so that the sampler need not wait for it.
                versions.send_if_modified(|v| {
                    let first = v[color].is_none();
                    if first {
                        v[color] = Some(None);
                    }
                    first
                });
                continue;
            }
        };
        // Said once per spell, not every round: the version shows as unknown meanwhile.
        let now_timed_out = version == VersionAnswer::TimedOut;
        if now_timed_out && !timed_out {
            tracing::warn!(
                target: "cutover::collect",
                "{} {}: version command gave no answer within {} s; version unknown",
                crate::sanitize::sanitize(&host.cfg.name),
                color.name(),
                limit.as_secs()
            );
        }
        timed_out = now_timed_out;
        let known = match version {
            VersionAnswer::Known(v) => Some(crate::sanitize::sanitize(&v)),
            VersionAnswer::Unknown | VersionAnswer::TimedOut => None,
        };
        versions.send_modify(|v| v[color] = Some(known));
    }
}

/// Both colors' revisions (preflight parity), as often as the versions, on their own task:
/// the sampler carries the latest to the model.
async fn revision_loop(
    host: Host,
    expected: Option<String>,
    every: Duration,
    sem: Arc<Semaphore>,
    out: watch::Sender<Option<crate::model::Revisions>>,
    tx: Outbox,
) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        if tx.is_closed() {
            return;
        }
        let r = {
            let _permit = sem.acquire().await;
            crate::fleet::collect::revisions::revisions(&host, expected.as_deref()).await
        };
        out.send_replace(Some(r));
    }
}

/// The preflight checks that gate a step onto the candidate, once a minute (every 15 s while
/// one does not hold). A round is sent only when SSH reached the host first: an unreachable
/// host is the sampler's news, and its failed commands are not findings about nginx.
async fn preflight_loop(
    i: usize,
    host: Host,
    check: Arc<crate::fleet::preflight::remote::CheckSettings>,
    sem: Arc<Semaphore>,
    tx: Outbox,
) {
    use crate::fleet::preflight::{Status, findings, remote::gate_rows};
    loop {
        if tx.is_closed() {
            return;
        }
        let round = {
            let _permit = sem.acquire().await;
            tokio::time::timeout(PREFLIGHT_LIMIT, async {
                host.ssh().run(&host.cfg.ssh, "true", None).await.ok()?;
                Some(gate_rows(&host, &check, &mut Vec::new()).await)
            })
            .await
            .ok()
            .flatten()
        };
        let mut wait = PREFLIGHT_RETRY;
        if let Some(rows) = round {
            if rows.iter().all(|r| r.status <= Status::Warn) {
                wait = PREFLIGHT_EVERY;
            }
            let findings = findings(&rows);
            if !send(&tx, i, Telemetry::Preflight { findings }) {
                return;
            }
        }
        tokio::time::sleep(wait).await;
    }
}

async fn sample_loop(
    i: usize,
    host: Host,
    s: Settings,
    sem: Arc<Semaphore>,
    (versions, revisions): (
        watch::Receiver<Versions>,
        watch::Receiver<Option<crate::model::Revisions>>,
    ),
    tx: Outbox,
) {
    let stub = stub_target(&host.cfg.stub_status_url);
    let mut stub_forwarded = false;
    let mut tick = ticker(s.interval);
    loop {
        tick.tick().await;
        if tx.is_closed() {
            return;
        }
        let sent = wall_ms();
        let answer = {
            let _permit = sem.acquire().await;
            // Never the versions: they run on their own tasks (see `version_loop`).
            host.ssh()
                .run(
                    &host.cfg.ssh,
                    &sampler::sample_command(&host.cfg, false),
                    None,
                )
                .await
        };
        let answered = wall_ms();
        let sample = match sampler_answer(answer) {
            Ok(s) => s,
            Err(reason) => {
                stub_forwarded = false;
                if !send(&tx, i, Telemetry::Unreachable { reason }) {
                    return;
                }
                continue;
            }
        };
        match host.take_read(sample.read) {
            Ok(read) => {
                // Our own change's lock, read while it ran: released by now.
                let holder = read.lock.filter(|h| !host.own_lock(h));
                let _ = tx.send(Msg::Lock { gateway: i, holder });
                send(&tx, i, Telemetry::Weights(read.weights));
            }
            Err(reason) => {
                send(&tx, i, Telemetry::Unreachable { reason });
            }
        }
        let latest = versions.borrow().clone();
        // A unix-socket color runs when its version answers: until its first version round is
        // over, whether it runs is not known, and no host sample is better than a wrong one.
        let undecided = Color::BOTH
            .into_iter()
            .any(|c| host.cfg.color(c).tcp().is_none() && latest[c].is_none());
        if undecided {
            continue;
        }
        let mut h = sample.host;
        h.versions = PerColor::from_fn(|c| latest[c].clone().flatten());
        h.revisions = revisions.borrow().clone().map(Box::new);
        finish_host_sample(
            &mut h,
            &host.cfg,
            sample.clock_ms,
            sample.workers.len(),
            sent,
            answered,
        );
        if let Some((remote, path, host_header)) = &stub {
            let local = host.ssh().forward_path(&host.cfg.ssh, "stub_status");
            if !stub_forwarded {
                stub_forwarded = host
                    .ssh()
                    .forward(&host.cfg.ssh, &local, remote)
                    .await
                    .is_ok();
            }
            if stub_forwarded {
                match fetch_stub_status(
                    &Dial::Unix(local),
                    path,
                    host_header,
                    Duration::from_secs(2),
                )
                .await
                {
                    Ok(st) => {
                        h.nginx = Some(NginxStatus {
                            active: st.active,
                            requests: st.requests,
                            reading: st.reading,
                            writing: st.writing,
                            waiting: st.waiting,
                        });
                    }
                    Err(_) => stub_forwarded = false,
                }
            }
        }
        if !send(&tx, i, Telemetry::Host(h)) {
            return;
        }
    }
}

/// The sampler's answer parsed, or why there is none (the host's words sanitized).
pub(crate) fn sampler_answer(
    answer: Result<crate::fleet::remote::Output, crate::fleet::remote::SshError>,
) -> Result<sampler::Sample, String> {
    match answer {
        Ok(out) if out.code == 0 => sampler::parse_sample(&out.stdout),
        Ok(out) => Err(format!(
            "sampler exited {}: {}",
            out.code,
            crate::sanitize::sanitize(out.stderr.trim())
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The steps from a sampler answer's host section to what the model gets: only this
/// gateway's listeners, clock skew against the middle of our round trip (`sent`..`answered`,
/// wall ms), the worker count. Versions must already be in `h` (they decide `running` for
/// unix-socket colors).
pub(crate) fn finish_host_sample(
    h: &mut HostSample,
    cfg: &GatewayConfig,
    clock_ms: Option<i64>,
    workers: usize,
    sent: i64,
    answered: i64,
) {
    sampler::keep_relevant_listeners(h, cfg);
    h.clock_skew_ms = clock_ms.map_or(0, |c| sampler::clock_skew_ms(c, sent, answered));
    h.nginx_workers = Some(u32::try_from(workers).unwrap_or(u32::MAX));
}

/// Where a stub_status URL points on its host: (forward target, path, Host header).
fn stub_target(url: &Option<String>) -> Option<(String, String, String)> {
    let rest = url.as_deref()?.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let target = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Some((target, path.to_string(), authority.to_string()))
}

async fn health_loop(i: usize, url: String, client: reqwest::Client, every: Duration, tx: Outbox) {
    let mut tick = ticker(every);
    loop {
        tick.tick().await;
        if tx.is_closed() {
            return;
        }
        let report = crate::fleet::probe::health::probe_health(&client, &url).await;
        if !send(&tx, i, Telemetry::Health(report)) {
            return;
        }
    }
}

/// The forward target of a color address: `host:port`, or the socket path of `unix:PATH`.
pub(crate) fn color_target(addr: &str) -> String {
    addr.strip_prefix("unix:").unwrap_or(addr).to_string()
}

async fn ttft_loop(i: usize, host: Host, color: Color, p: ProbeConfig, tx: Outbox) {
    let remote = color_target(&host.cfg.color(color).addr);
    let local = host.ssh().forward_path(&host.cfg.ssh, color.name());
    let timeout = Duration::from_secs(p.ttft_timeout_secs);
    let mut forwarded = false;
    let mut tick = ticker(Duration::from_secs(p.ttft_every_secs));
    loop {
        tick.tick().await;
        if tx.is_closed() {
            return;
        }
        if !forwarded {
            forwarded = host
                .ssh()
                .forward(&host.cfg.ssh, &local, &remote)
                .await
                .is_ok();
            if !forwarded {
                continue;
            }
        }
        let ms = match probe_ttft(&Dial::Unix(local.clone()), "localhost", timeout).await {
            Ok(r) => Some(r.ttft_ms),
            Err(_) => {
                // The forward may have died with its master: set it up again next time.
                forwarded = false;
                None
            }
        };
        if !send(&tx, i, Telemetry::Ttft { color, ms }) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_commands_end_on_the_host_before_the_session_gives_up() {
        let secs = |n| version_limit(Duration::from_secs(n)).as_secs();
        assert_eq!(secs(30), 10);
        assert_eq!(secs(9), 6);
        assert_eq!(secs(3), 2);
        assert_eq!(secs(1), 1);
        for n in 2..120 {
            assert!(secs(n) < n, "{n}");
        }
    }

    #[test]
    fn stub_status_urls_become_forward_targets() {
        assert_eq!(
            stub_target(&Some("http://127.0.0.1:8081/stub_status".into())),
            Some((
                "127.0.0.1:8081".into(),
                "/stub_status".into(),
                "127.0.0.1:8081".into()
            ))
        );
        assert_eq!(
            stub_target(&Some("http://localhost".into())),
            Some(("localhost:80".into(), "/".into(), "localhost".into()))
        );
        assert_eq!(stub_target(&None), None);
        assert_eq!(stub_target(&Some("https://x/y".into())), None);
        assert_eq!(color_target("unix:/run/green.sock"), "/run/green.sock");
        assert_eq!(color_target("127.0.0.1:8788"), "127.0.0.1:8788");
    }
}
