//! One short burst of collection per gateway, for the headless commands (`status`, `step`,
//! `rollback`): they judge the guardrails from fresh data, not from the weights alone, and
//! exit. The burst gathers in seconds what the live collectors gather over minutes, with the
//! same remote commands, the same parsers and the same [`Telemetry`]: one host sampler
//! answer, one health probe, a burst of TTFT probes per color through an SSH forward, and
//! the access-log lines of the recent window.
//!
//! The parts run concurrently under one deadline. A part that did not arrive is absent from
//! the telemetry, never reported as a pass.

use super::{color_target, finish_host_sample, sampler, sampler_answer, wall_ms};
use crate::config::ProbeConfig;
use crate::fleet::control::{Host, HostRead};
use crate::fleet::probe::ttft::{Dial, probe_ttft};
use crate::fleet::remote::quote::sh_c;
use crate::model::{Color, PerColor, RequestRecord, Telemetry};
use crate::nginx::accesslog::{Colors, LineError, LineSplitter, parse_line, try_record};
use crate::sanitize::sanitize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout_at};

/// Failed TTFT probes after which a color is probed no further: a hung color must cost one
/// round of timeouts, not one per sample.
const MAX_FAILURES: u64 = 2;
/// TTFT probes in flight per color. Few: over a forward the SSH channel opens inside the
/// measured time, and a color whose channels queue behind the other's would look slower.
const IN_FLIGHT: u64 = 2;
/// Newest access-log lines the host scans for the window.
pub(crate) const LOG_LINES: u64 = 50_000;
/// Most access-log bytes the host sends (the newest are kept): bounds transfer and memory.
pub(crate) const LOG_BYTES: usize = 16 << 20;
/// Slack on top of the longest wait of any part (process start-up, local work).
const MARGIN: Duration = Duration::from_secs(5);

/// What a burst learned about one gateway, in the order the live collectors would report it.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    /// The weights/lock read (Err: why the host could not be read; then telemetry may be partial).
    pub(crate) read: Result<HostRead, String>,
    /// Telemetry to apply in order at one instant: Weights, Host, Health, every Ttft result (ok and failed), Requests.
    pub(crate) telemetry: Vec<Telemetry>,
}

/// Counts of the access-log read, for telling the operator what the 5xx figures rest on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LogStats {
    /// Lines read and parsed here (lines the host dropped as clearly too old are not among them).
    pub(crate) lines: u64,
    /// Requests within the window: the records sent.
    pub(crate) kept: u64,
    /// Lines older than the window, the host's drops included.
    pub(crate) outside: u64,
    /// Lines skipped: not the access-log format, no usable time, status or request_time, too long.
    pub(crate) malformed: u64,
    /// The read hit its line or byte limit inside the window: only the newest requests of
    /// the window were kept.
    pub(crate) clipped: bool,
}

/// Gather fresh data on one host: one sampler command (weights, lock, host sample with conns/listeners/running/versions/workers/clock skew), one health probe (with a `client`), a burst of TTFT probes per color, and the access-log lines of the last `log_window` (none without one: the metrics source counts requests then).
pub(crate) async fn burst(
    host: &Host,
    probes: &ProbeConfig,
    samples: u64,
    log_window: Option<Duration>,
    client: Option<&reqwest::Client>,
) -> Snapshot {
    let ssh = host.ssh().options();
    let ttft_timeout = Duration::from_secs(probes.ttft_timeout_secs);
    // The longest the burst may legitimately take: a master connection and a session to
    // open, the sampler command, then a round of TTFT probes (they wait for the sampler).
    let budget = ssh.connect_timeout * 2 + ssh.command_timeout + ttft_timeout + MARGIN;
    let deadline = Instant::now() + budget;
    let late = |what: &str| format!("{what}: nothing within {} s", budget.as_secs());

    let probing = probes.ttft_every_secs > 0 && samples > 0;
    let mut ttft = PerColor::<ColorProbes>::default();
    // The probes start when the sampler has answered (or given up): their connections to
    // the colors must not be counted as the colors' established connections, which decide
    // whether a drain is over. It says `false` when SSH itself failed: then no forward can
    // be set up either, and trying would only add another connection timeout.
    let (sampled_tx, sampled_rx) = tokio::sync::watch::channel(true);
    let (sampled, health, log, ()) = {
        let PerColor { blue, green } = &mut ttft;
        tokio::join!(
            async move {
                let answer = timeout_at(deadline, sample(host)).await;
                if answer.as_ref().is_ok_and(|a| !a.reached) {
                    let _ = sampled_tx.send(false);
                }
                drop(sampled_tx);
                answer
            },
            async {
                match client {
                    Some(c) => Some(
                        timeout_at(
                            deadline,
                            crate::fleet::probe::health::probe_health(c, &host.cfg.health_url),
                        )
                        .await,
                    ),
                    None => None,
                }
            },
            async {
                // A host that did not even answer `true` will not send its log either: do not
                // wait for the SSH keep-alive to notice.
                let mut rx = sampled_rx.clone();
                let dark = async {
                    if rx.wait_for(|reached| !reached).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                };
                let Some(window) = log_window else {
                    return Ok(Err(
                        "not read: requests are counted by the metrics source".into()
                    ));
                };
                tokio::select! {
                    read = timeout_at(deadline, read_log(host, window)) => read,
                    () = dark => Ok(Err("not read: the host is unreachable over SSH".into())),
                }
            },
            async {
                let mut rx = sampled_rx.clone();
                let _ = rx.changed().await;
                let reached = *rx.borrow();
                if probing && !reached {
                    for c in [&mut *blue, &mut *green] {
                        c.results.push(None);
                    }
                } else if probing {
                    // A deadline only stops the probing: results in so far are kept.
                    let _ = tokio::join!(
                        timeout_at(
                            deadline,
                            probe_color(host, Color::Blue, samples, ttft_timeout, blue)
                        ),
                        timeout_at(
                            deadline,
                            probe_color(host, Color::Green, samples, ttft_timeout, green)
                        ),
                    );
                }
            },
        )
    };

    let mut telemetry = Vec::new();
    let read = match sampled {
        Ok(Sampled {
            parsed: Ok(sample),
            sent,
            answered,
            ..
        }) => {
            let read = host.take_read(sample.read).map_err(|e| sanitize(&e));
            match &read {
                Ok(r) => telemetry.push(Telemetry::Weights(r.weights)),
                Err(reason) => telemetry.push(Telemetry::Unreachable {
                    reason: reason.clone(),
                }),
            }
            let mut h = sample.host;
            finish_host_sample(
                &mut h,
                &host.cfg,
                sample.clock_ms,
                sample.workers.len(),
                sent,
                answered,
            );
            telemetry.push(Telemetry::Host(h));
            read
        }
        failed => {
            let reason = match failed {
                Ok(Sampled {
                    parsed: Err(reason),
                    ..
                }) => sanitize(&reason),
                _ => late("host sampler"),
            };
            telemetry.push(Telemetry::Unreachable {
                reason: reason.clone(),
            });
            Err(reason)
        }
    };
    if let Some(Ok(report)) = health {
        telemetry.push(Telemetry::Health(report));
    }
    if probing {
        for color in Color::BOTH {
            for &ms in &ttft[color].results {
                telemetry.push(Telemetry::Ttft { color, ms });
            }
        }
    }
    if let Ok(Ok(records)) = log {
        telemetry.push(Telemetry::Requests { records });
    }
    Snapshot { read, telemetry }
}

/// [`burst`] on every host, at most `parallel` at once, in host order.
pub(crate) async fn burst_all(
    hosts: &[Host],
    probes: &ProbeConfig,
    samples: u64,
    log_window: Option<Duration>,
    client: Option<&reqwest::Client>,
    parallel: usize,
) -> Vec<Snapshot> {
    let sem = Arc::new(Semaphore::new(parallel.max(1)));
    let tasks: Vec<_> = hosts
        .iter()
        .map(|h| {
            let (host, probes, client, sem) =
                (h.clone(), probes.clone(), client.cloned(), sem.clone());
            tokio::spawn(async move {
                let _permit = sem.acquire().await;
                burst(&host, &probes, samples, log_window, client.as_ref()).await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap_or_else(|e| {
            let reason = format!("internal error: {e}");
            Snapshot {
                read: Err(reason.clone()),
                telemetry: vec![Telemetry::Unreachable {
                    reason: reason.clone(),
                }],
            }
        }));
    }
    out
}

/// One sampler answer and when it was asked.
struct Sampled {
    /// The answer, or why there is none.
    parsed: Result<sampler::Sample, String>,
    /// Our wall clock (ms) just before the command and just after its answer, for the skew.
    sent: i64,
    answered: i64,
    /// Whether SSH reached the host (a failure may still be the command's own).
    reached: bool,
}

/// One sampler answer (versions included: a burst has no earlier ones to reuse).
async fn sample(host: &Host) -> Sampled {
    // The skew is measured against the command's round trip: open the connection and a
    // session first, or their set-up (a cold master, a login shell) would count as round
    // trip. The session goes back to the pool and the sampler takes it.
    if let Err(e) = host.ssh().run(&host.cfg.ssh, "true", None).await {
        // Not even `true` answered: the host is dark or hung, its colors out of reach too.
        return Sampled {
            reached: false,
            parsed: Err(e.to_string()),
            sent: 0,
            answered: 0,
        };
    }
    let sent = wall_ms();
    let answer = host
        .ssh()
        .run(
            &host.cfg.ssh,
            &sampler::sample_command(&host.cfg, true),
            None,
        )
        .await;
    let answered = wall_ms();
    Sampled {
        // A command that timed out had a connection: the colors may still answer.
        reached: matches!(
            answer,
            Ok(_) | Err(crate::fleet::remote::SshError::Timeout { .. })
        ),
        parsed: sampler_answer(answer),
        sent,
        answered,
    }
}

/// What the TTFT probes of one color gave.
#[derive(Debug, Default)]
struct ColorProbes {
    /// One entry per probe, in the order they finished; `None`: it failed.
    results: Vec<Option<u32>>,
}

/// Which TTFT probes of one color may start: `samples` in all, [`IN_FLIGHT`] at once, none
/// after [`MAX_FAILURES`] failures (those in flight still count: failures are data). After
/// a failure nothing starts until those in flight are done: when a color hangs, its first
/// timeout comes with the others of the same round, and the next round never starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProbeBudget {
    samples: u64,
    started: u64,
    finished: u64,
    failed: u64,
    paused: bool,
}

impl ProbeBudget {
    fn new(samples: u64) -> ProbeBudget {
        ProbeBudget {
            samples,
            started: 0,
            finished: 0,
            failed: 0,
            paused: false,
        }
    }

    fn may_start(&self) -> bool {
        self.started < self.samples
            && self.failed < MAX_FAILURES
            && !self.paused
            && self.started - self.finished < IN_FLIGHT
    }

    fn start(&mut self) {
        self.started += 1;
    }

    fn finish(&mut self, ok: bool) {
        self.finished += 1;
        if !ok {
            self.failed += 1;
            self.paused = true;
        }
        if self.finished == self.started {
            self.paused = false;
        }
    }
}

/// Removes the local end of a forward when the burst is over (or abandoned at the deadline),
/// so that short-lived headless runs leave no socket files behind.
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Up to `samples` TTFT probes of `color` through an SSH forward, results pushed into `out` as
/// they finish (so that a deadline keeps those already in).
async fn probe_color(
    host: &Host,
    color: Color,
    samples: u64,
    timeout: Duration,
    out: &mut ColorProbes,
) {
    let remote = color_target(&host.cfg.color(color).addr);
    // Its own socket, apart from the live collectors' and from other gateways behind the same
    // SSH destination: setting a forward up cancels any other on the same path.
    let what = format!("burst-{}-{}", host.cfg.name, color.name());
    let local = host.ssh().forward_path(&host.cfg.ssh, &what);
    let _cleanup = SocketFile(local.clone());
    if host
        .ssh()
        .forward(&host.cfg.ssh, &local, &remote)
        .await
        .is_err()
    {
        out.results.push(None);
        return;
    }
    let dial = Dial::Unix(local);
    let mut budget = ProbeBudget::new(samples);
    // Dropping the set (at the deadline) aborts the probes still running.
    let mut running = JoinSet::new();
    loop {
        while budget.may_start() {
            budget.start();
            let dial = dial.clone();
            running.spawn(async move { probe_ttft(&dial, "localhost", timeout).await });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let ms = match done {
            Ok(Ok(r)) => Some(r.ttft_ms),
            Ok(Err(_)) | Err(_) => None,
        };
        budget.finish(ms.is_some());
        out.results.push(ms);
    }
}

/// The access-log read: the host clock first (`@clock NS`), then the newest `$2` lines of the
/// file `$1` minus those clearly older than the last `$3` seconds, at most `$4` bytes of them
/// (the newest), then `@end LINES_SCANNED OLDER`. The host drops old lines so that a long
/// tail costs no transfer; the exact cut is made here, with the tail's parser. stderr does
/// not come back over a stream, so a failure is said on stdout.
const LOG_READ: &str = r#"f=$1 n=$2 win=$3 cap=$4
t=$(date +%s%N 2>/dev/null)
case $t in ''|*[!0-9]*) t=$(date +%s)000000000 ;; esac
echo "@clock $t"
if [ ! -r "$f" ]; then echo "@error cannot read $f"; exit 0; fi
cut=$(( ${t%?????????} - win - 1 ))
tail -n "$n" -- "$f" | awk -v cut="$cut" '
match($0, /"time"[ \t]*:[ \t]*"[0-9]+/) {
  s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", s)
  if (s + 0 < cut) { old++; next }
}
{ print }
END { printf "@end %d %d\n", NR, old }' | tail -c "$cap"
"#;

/// The access-log read's command line for the file `path` and the last `window`.
pub(crate) fn log_command(path: &str, window: Duration) -> String {
    sh_c(
        LOG_READ,
        &[
            path,
            &LOG_LINES.to_string(),
            &window.as_secs().saturating_add(1).to_string(),
            &LOG_BYTES.to_string(),
        ],
    )
}

/// Run the access-log read and make its answer into the window's records.
async fn read_log(host: &Host, window: Duration) -> Result<Vec<RequestRecord>, String> {
    let command = log_command(&host.cfg.access_log, window);
    // A stream, not a session command: its bytes are read straight into a capped buffer.
    let mut child = host
        .ssh()
        .stream(&host.cfg.ssh, &command)
        .await
        .map_err(|e| e.to_string())?;
    let Some(out) = child.stdout.take() else {
        return Err("no output pipe".into());
    };
    // The host caps what it sends; this holds if it does not (another tail, a hostile host).
    let limit = u64::try_from(LOG_BYTES).unwrap_or(u64::MAX) + 64 * 1024;
    let mut bytes = Vec::new();
    out.take(limit)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| format!("reading: {e}"))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) >= limit {
        let _ = child.start_kill();
    }
    let code = child.wait().await.ok().and_then(|s| s.code());
    if answer_start(&bytes).is_none() {
        return Err(match code {
            Some(255) => "connection lost".into(),
            Some(c) => format!("no answer (exit {c})"),
            None => "no answer".into(),
        });
    }
    let colors = Colors::of_gateway(&host.cfg);
    // Parsing a large log is CPU work: off the runtime, where it would delay TTFT readings.
    let (records, _) =
        tokio::task::spawn_blocking(move || parse_log_answer(&bytes, &colors, window))
            .await
            .map_err(|e| format!("parsing: {e}"))??;
    Ok(records)
}

/// Where the answer begins: a stream runs under the login shell, whose startup files may
/// print a banner first.
fn answer_start(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.starts_with(b"@clock ") {
        return Some(bytes);
    }
    memchr::memmem::find(bytes, b"\n@clock ").map(|at| &bytes[at + 1..])
}

/// The window's records from what the access-log read printed (see [`LOG_READ`]).
pub(crate) fn parse_log_answer(
    bytes: &[u8],
    colors: &Colors,
    window: Duration,
) -> Result<(Vec<RequestRecord>, LogStats), String> {
    let Some(bytes) = answer_start(bytes) else {
        return Err("unexpected answer".into());
    };
    let (first, rest) = match memchr::memchr(b'\n', bytes) {
        Some(nl) => (&bytes[..nl], &bytes[nl + 1..]),
        None => (bytes, &b""[..]),
    };
    let first = String::from_utf8_lossy(first);
    let Some(clock) = first.strip_prefix("@clock ") else {
        return Err("unexpected answer".into());
    };
    let now_ms = clock
        .trim()
        .parse::<i128>()
        .ok()
        .and_then(|ns| i64::try_from(ns / 1_000_000).ok());
    if let Some(why) = rest.strip_prefix(b"@error ") {
        return Err(String::from_utf8_lossy(why).trim().to_string());
    }
    // At the cap the host cut the oldest line in two: drop its tail end.
    let cut = rest.len() >= LOG_BYTES;
    let mut body = rest;
    if cut {
        body = memchr::memchr(b'\n', body).map_or(&b""[..], |nl| &body[nl + 1..]);
    }
    // The last line is the host's count, unless the answer ended early.
    let trimmed = body.strip_suffix(b"\n").unwrap_or(body);
    let last_at = memchr::memrchr(b'\n', trimmed).map_or(0, |nl| nl + 1);
    let end = std::str::from_utf8(&trimmed[last_at..])
        .ok()
        .and_then(|l| l.strip_prefix("@end "))
        .and_then(|l| {
            let mut n = l.split_whitespace().map(|w| w.parse::<u64>().ok());
            Some((n.next()??, n.next()??))
        });
    if end.is_some() {
        body = &trimmed[..last_at];
    }
    let (records, mut stats) = window_records(body, colors, now_ms, window);
    let (scanned, dropped) = end.unwrap_or((0, 0));
    stats.outside += dropped;
    // The scan reached back past the window's start only if some line was older.
    stats.clipped = cut || end.is_none() || (scanned >= LOG_LINES && stats.outside == 0);
    Ok((records, stats))
}

/// The records of access-log lines `text` (oldest first) whose `time` lies within `window`
/// before `now_ms`, the host's clock; without it, before the newest line's time.
pub(crate) fn window_records(
    text: &[u8],
    colors: &Colors,
    now_ms: Option<i64>,
    window: Duration,
) -> (Vec<RequestRecord>, LogStats) {
    let mut stats = LogStats::default();
    let mut timed: Vec<(i64, RequestRecord)> = Vec::new();
    let mut take = |line: &[u8]| {
        if line.trim_ascii().is_empty() {
            return;
        }
        stats.lines += 1;
        let parsed = parse_line(line).and_then(|l| {
            let t = l.time_ms().ok_or(LineError::BadValue("time"))?;
            Ok((
                i64::try_from(t).unwrap_or(i64::MAX),
                try_record(&l, colors)?,
            ))
        });
        match parsed {
            Ok(x) => timed.push(x),
            Err(_) => stats.malformed += 1,
        }
    };
    let mut lines = LineSplitter::new();
    lines.push(text, &mut take);
    lines.finish(&mut take);
    stats.lines += lines.oversized();
    stats.malformed += lines.oversized();
    let Some(now) = now_ms.or_else(|| timed.iter().map(|&(t, _)| t).max()) else {
        return (Vec::new(), stats);
    };
    let from = now.saturating_sub(i64::try_from(window.as_millis()).unwrap_or(i64::MAX));
    let records: Vec<RequestRecord> = timed
        .into_iter()
        .filter(|&(t, _)| t >= from)
        .map(|(_, r)| r)
        .collect();
    stats.kept = records.len() as u64;
    stats.outside = stats.lines - stats.malformed - stats.kept;
    (records, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(time: &str, addr: &str, status: u16) -> String {
        format!(
            r#"{{"time":"{time}","status":"{status}","request_time":"0.100","upstream_addr":"{addr}","upstream_status":"{status}","upstream_response_time":"0.099","upstream_header_time":"0.004","request_id":"x"}}"#
        )
    }

    fn colors() -> Colors {
        Colors::new("127.0.0.1:8787", "127.0.0.1:8788")
    }

    const B: &str = "127.0.0.1:8787";
    const G: &str = "127.0.0.1:8788";

    #[test]
    fn only_lines_within_the_window_of_the_host_clock_are_kept() {
        let text = [
            line("1000.000", B, 200),
            "not json".to_string(),
            line("1039.999", G, 502),
            String::new(),
            line("1040.000", G, 200),
            line("1100.000", B, 200),
            // Logged after the clock was read: recent, kept.
            line("1100.500", G, 200),
        ]
        .join("\n");
        let (records, stats) = window_records(
            text.as_bytes(),
            &colors(),
            Some(1_100_000),
            Duration::from_secs(60),
        );
        assert_eq!(
            records.iter().map(|r| r.color).collect::<Vec<_>>(),
            vec![Some(Color::Green), Some(Color::Blue), Some(Color::Green)]
        );
        assert_eq!(
            stats,
            LogStats {
                lines: 6,
                kept: 3,
                outside: 2,
                malformed: 1,
                clipped: false
            }
        );
    }

    #[test]
    fn without_a_host_clock_the_newest_line_anchors_the_window() {
        let text = [line("500.000", B, 200), line("900.000", G, 503)].join("\n");
        let (records, stats) =
            window_records(text.as_bytes(), &colors(), None, Duration::from_secs(60));
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].status, 503);
        assert_eq!((stats.kept, stats.outside), (1, 1));
        let (none, stats) = window_records(b"garbage\n", &colors(), None, Duration::from_secs(60));
        assert!(none.is_empty());
        assert_eq!(stats.malformed, 1);
    }

    #[test]
    fn the_answer_carries_clock_lines_and_the_host_count() {
        let answer = format!(
            "@clock 1100000000000\n{}\n{}\n@end 40 37\n",
            line("1030.000", B, 200),
            line("1090.000", G, 200)
        );
        let (records, stats) =
            parse_log_answer(answer.as_bytes(), &colors(), Duration::from_secs(60)).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(stats.outside, 38);
        assert!(!stats.clipped);
        // The scan stopped at its line limit with every line in the window: clipped.
        let answer = format!(
            "@clock 1100000000000\n{}\n@end {LOG_LINES} 0\n",
            line("1090.000", G, 200)
        );
        let (_, stats) =
            parse_log_answer(answer.as_bytes(), &colors(), Duration::from_secs(60)).unwrap();
        assert!(stats.clipped);
        // No end line: the answer was cut short.
        let answer = format!("@clock 1100000000000\n{}\n", line("1090.000", G, 200));
        let (records, stats) =
            parse_log_answer(answer.as_bytes(), &colors(), Duration::from_secs(60)).unwrap();
        assert_eq!(records.len(), 1);
        assert!(stats.clipped);
        let (records, stats) = parse_log_answer(
            b"@clock 1100000000000\n@end 0 0\n",
            &colors(),
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(records.is_empty());
        assert_eq!(stats, LogStats::default());
        assert_eq!(
            parse_log_answer(
                b"@clock 1\n@error cannot read /var/log/x\n",
                &colors(),
                Duration::from_secs(60)
            )
            .unwrap_err(),
            "cannot read /var/log/x"
        );
        assert!(parse_log_answer(b"welcome\n", &colors(), Duration::from_secs(60)).is_err());
        // A login banner before the answer is skipped.
        let (_, stats) = parse_log_answer(
            b"welcome\n@clock 1100000000000\n@end 0 0\n",
            &colors(),
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(stats, LogStats::default());
    }

    #[test]
    fn the_log_read_runs_under_sh_and_drops_old_lines_on_the_host() {
        let dir = std::env::temp_dir().join(format!("cutover-burst-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("it's access.log");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let text = [
            line(&format!("{}.000", now - 3600), B, 200),
            line(&format!("{}.000", now - 10), G, 502),
            "{\"status\":\"200\"}".to_string(),
            line(&format!("{}.250", now), B, 200),
        ]
        .join("\n");
        std::fs::write(&log, format!("{text}\n")).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(log_command(log.to_str().unwrap(), Duration::from_secs(60)))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer = String::from_utf8_lossy(&out.stdout);
        assert!(answer.ends_with("@end 4 1\n"), "{answer}");
        let (records, stats) =
            parse_log_answer(&out.stdout, &colors(), Duration::from_secs(60)).unwrap();
        assert_eq!(
            records.iter().map(|r| r.status).collect::<Vec<_>>(),
            vec![502, 200]
        );
        assert_eq!(
            stats,
            LogStats {
                lines: 3,
                kept: 2,
                outside: 1,
                malformed: 1,
                clipped: false
            }
        );
        let missing = std::process::Command::new("sh")
            .arg("-c")
            .arg(log_command(
                dir.join("nope").to_str().unwrap(),
                Duration::from_secs(60),
            ))
            .output()
            .unwrap();
        let err =
            parse_log_answer(&missing.stdout, &colors(), Duration::from_secs(60)).unwrap_err();
        assert!(err.starts_with("cannot read"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Drive a budget with probe outcomes in finishing order; returns (started, most in flight).
    fn drive(samples: u64, mut outcomes: impl Iterator<Item = bool>) -> (u64, u64) {
        let mut b = ProbeBudget::new(samples);
        let mut most = 0;
        loop {
            while b.may_start() {
                b.start();
            }
            most = most.max(b.started - b.finished);
            if b.started == b.finished {
                return (b.started, most);
            }
            b.finish(outcomes.next().unwrap_or(true));
        }
    }

    #[test]
    fn probing_stops_after_two_failures_with_at_most_two_in_flight() {
        // Healthy: every sample, two at a time.
        assert_eq!(drive(20, std::iter::repeat(true)), (20, 2));
        assert_eq!(drive(3, std::iter::repeat(true)), (3, 2));
        // Hung: the first round of two both fail, and nothing more starts.
        assert_eq!(drive(20, std::iter::repeat(false)), (2, 2));
        // A failure pauses until the round is done; the second one stops it, and those
        // still in flight finish.
        let flaky = [true, false, true, true, false].into_iter();
        assert_eq!(drive(20, flaky), (6, 2));
        // One blip: after the pause, every sample is still taken.
        assert_eq!(
            drive(20, std::iter::once(false).chain(std::iter::repeat(true))),
            (20, 2)
        );
        let mut b = ProbeBudget::new(20);
        b.start();
        b.finish(false);
        assert!(b.may_start(), "one failure only pauses");
        b.start();
        b.finish(false);
        assert!(!b.may_start(), "the second failure stops the color");
        assert!(!ProbeBudget::new(0).may_start());
    }
}
