//! `cutover -c fleet.toml digest [--window 5m] [--once] [--webhook URL] [--spool DIR] [--json]`:
//! the failure notifier. The live collectors run read-only (as `watch`); at each window's end
//! the window's failure groups become one digest ([`crate::failures::digest`]), which is
//! written to the spool, then posted with everything spooled before it, oldest first, each
//! removed once the receiver took it ([`crate::export::digest_spool`]).
//!
//! Without `--webhook` the digest is printed (its text, or with `--json` its JSON on one line).
//! Progress goes to stderr, one line each, with the figure that matters: the time from the
//! window's end to the delivery.

use crate::app::keymap::KeyMap;
use crate::app::state::{Session, State};
use crate::commands::error::CommandError;
use crate::commands::runtime;
use crate::config::Config;
use crate::export::digest_spool::DigestSpool;
use crate::failures::digest::{self, Severity};
use crate::fleet::control::Actor;
use crate::fleet::service::Fleet;
use crate::front::clock::Clock;
use crate::guard::fivexx::FivexxState;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};

/// How often the driver is advanced (as the cockpit's loop does).
const STEP: Duration = Duration::from_millis(100);
/// How long after a window's end late lines are still waited for (the tail batches every
/// 250 ms; the host clock may be a little ahead).
const SETTLE: Duration = Duration::from_millis(1_500);
/// Time the collectors take to connect: `--once` waits for a window that starts after it.
const WARM_UP_MS: u64 = 2_000;

/// What `digest` was asked.
#[derive(Debug, Clone)]
pub(crate) struct DigestArgs {
    /// Window length.
    pub(crate) window: Duration,
    /// Send one window, then exit.
    pub(crate) once: bool,
    /// Where to post (a Slack-compatible incoming webhook, or any JSON receiver).
    pub(crate) webhook: Option<String>,
    /// The spool directory (default: `cutover-digest.spool` beside the audit log).
    pub(crate) spool: Option<PathBuf>,
    /// Print the digests as JSON lines.
    pub(crate) json: bool,
    /// The fleet's name in digest IDs and texts.
    pub(crate) fleet: Option<String>,
}

/// Run `digest` on `config` as `actor`.
pub(crate) fn run(
    config: Option<Config>,
    actor: String,
    args: DigestArgs,
) -> Result<(), CommandError> {
    let Some(config) = config else {
        return Err(CommandError::usage(
            "digest needs the fleet: cutover -c fleet.toml digest",
        ));
    };
    if args.window < Duration::from_secs(1) {
        return Err(CommandError::usage("digest --window: at least 1s"));
    }
    if let Some(url) = &args.webhook {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(CommandError::usage(format!(
                "digest --webhook {url}: an http:// or https:// URL"
            )));
        }
    }
    runtime("the async runtime")?.block_on(digest_loop(config, actor, args))
}

async fn digest_loop(config: Config, actor: String, args: DigestArgs) -> Result<(), CommandError> {
    let handler = |k| signal(k).map_err(|e| CommandError::failed(e.to_string()));
    let mut int = handler(SignalKind::interrupt())?;
    let mut term = handler(SignalKind::terminate())?;
    let spool_dir = args.spool.clone().unwrap_or_else(|| {
        config
            .audit_log_path()
            .with_file_name("cutover-digest.spool")
    });
    let spool = DigestSpool::open(&spool_dir).map_err(CommandError::failed)?;
    let fleet_name = fleet_name(&config, args.fleet.as_deref());
    let client = crate::export::annotate::client(args.webhook.as_deref().unwrap_or(""))
        .ok_or_else(|| CommandError::failed("digest: no HTTP client could be built"))?;
    let guard = config.guardrails;
    let actor = Actor {
        name: actor,
        ticket: None,
        read_only: true,
    };
    let n = config.gateway.len();
    let fleet = Fleet::new(config, actor.clone())?;
    let mut driver = crate::fleet::live::driver(fleet, guard, KeyMap::default(), Vec::new());
    driver.state.session = Session {
        actor: actor.name,
        read_only: true,
        ..Session::default()
    };
    let window_ms = u64::try_from(args.window.as_millis()).unwrap_or(u64::MAX);
    driver.state.failures = crate::failures::book::FailureBook::new(window_ms);
    let waiting = spool.pending().map(|p| p.len()).unwrap_or(0);
    say(&format!(
        "digest: {n} gateways, windows of {}, spool {} ({waiting} waiting, {} failed posts so far){}",
        crate::ramp::format_duration(window_ms),
        spool.dir().display(),
        spool.failures(),
        args.webhook.as_deref().map_or(String::new(), |u| format!(
            ", posting to {}",
            crate::redact::redact(u)
        ))
    ));
    // What earlier runs left is sent before anything new.
    if let Some(url) = &args.webhook {
        flush(&spool, &client, url, None).await;
    }
    let started_wall = wall_ms();
    let clock = Clock::new(0, 1.0);
    let mut every = tokio::time::interval(STEP);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut window_start = started_wall / window_ms * window_ms;
    if args.once && started_wall + WARM_UP_MS > window_start {
        // One whole window: the first that starts after the tails are connected.
        window_start = (started_wall + WARM_UP_MS).div_ceil(window_ms) * window_ms;
    }
    loop {
        let window_end = window_start.saturating_add(window_ms);
        let due =
            Instant::now() + Duration::from_millis(window_end.saturating_sub(wall_ms())) + SETTLE;
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = int.recv() => { say("digest: SIGINT: stopping"); return Ok(()); }
                _ = term.recv() => { say("digest: SIGTERM: stopping"); return Ok(()); }
            }
            driver.advance_to(clock.now());
            driver.take_markers();
            driver.take_changed();
            if Instant::now() >= due {
                break;
            }
        }
        let partial_since = (started_wall > window_start).then_some(started_wall);
        let delivered = send_window(
            &driver.state,
            &fleet_name,
            window_start,
            partial_since,
            &spool,
            &client,
            &args,
        )
        .await?;
        driver.state.failures.prune_before(window_end);
        if args.once {
            return if delivered {
                Ok(())
            } else {
                Err(CommandError::failed(
                    "digest: the window's digest was neither delivered nor spooled",
                ))
            };
        }
        window_start = window_end;
    }
}

/// Build, spool and post (or print) the digest of the window starting at `start`. True when
/// it was delivered, printed or at least spooled.
async fn send_window(
    state: &State,
    fleet: &str,
    start: u64,
    partial_since: Option<u64>,
    spool: &DigestSpool,
    client: &reqwest::Client,
    args: &DigestArgs,
) -> Result<bool, CommandError> {
    let reasons = critical_reasons(state);
    let severity = if reasons.is_empty() {
        Severity::Info
    } else {
        Severity::Critical
    };
    let mut d = digest::build(fleet, &state.failures, start, severity, &reasons);
    if let Some(since) = partial_since {
        d.text.push_str(&format!(
            "\n(watched from {} UTC: the window started before this digest did)",
            crate::model::civil::rfc3339(since / 1000, (since % 1000) as u32)
        ));
    }
    let body = serde_json::to_vec(&d)
        .map_err(|e| CommandError::failed(format!("digest: cannot encode: {e}")))?;
    let Some(url) = &args.webhook else {
        if args.json {
            println!("{}", String::from_utf8_lossy(&body));
        } else {
            println!("{}\n", d.text);
        }
        return Ok(true);
    };
    let name = format!("{start:016}-{}", file_safe(fleet));
    let spooled = match spool.put(&name, &body) {
        Ok(p) => Some(p),
        Err(e) => {
            say(&format!("digest {}: {e}", d.id));
            None
        }
    };
    let window_end = start.saturating_add(u64::try_from(args.window.as_millis()).unwrap_or(0));
    if args.json {
        println!("{}", String::from_utf8_lossy(&body));
    }
    if spooled.is_none() {
        // Not even spooled: post it directly, the last chance it has (after the older ones,
        // so that order is kept when the receiver is up).
        let sent = flush(spool, client, url, None).await;
        return Ok(sent.error.is_none() && post(client, url, &body).await.is_ok());
    }
    flush(spool, client, url, Some((&name, window_end))).await;
    Ok(true)
}

/// What one flush of the spool did.
struct Flushed {
    /// Why it stopped early, if it did.
    error: Option<String>,
}

/// Post every spooled digest, oldest first, removing each the receiver took; stop at the
/// first failure (order is kept) and count it. `current` names the digest of the window that
/// just ended and that window's end, for the delivery latency.
async fn flush(
    spool: &DigestSpool,
    client: &reqwest::Client,
    url: &str,
    current: Option<(&str, u64)>,
) -> Flushed {
    let pending = match spool.pending() {
        Ok(p) => p,
        Err(e) => {
            say(&format!("digest: {e}"));
            return Flushed { error: Some(e) };
        }
    };
    for path in pending {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let body = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                let e = format!("{}: {e}", path.display());
                say(&format!("digest: {e}"));
                return Flushed { error: Some(e) };
            }
        };
        match post(client, url, &body).await {
            Ok(()) => {
                if let Err(e) = spool.remove(&path) {
                    say(&format!("digest: {e}"));
                }
                let note = match current {
                    Some((now_name, end)) if name == format!("{now_name}.json") => format!(
                        ", {:.2} s after its window ended",
                        wall_ms().saturating_sub(end) as f64 / 1000.0
                    ),
                    _ => String::new(),
                };
                say(&format!("digest: delivered {name}{note}"));
            }
            Err(e) => {
                let n = spool.bump_failures().unwrap_or(0);
                say(&format!(
                    "digest: post failed ({e}); {name} stays in the spool ({n} failed posts so far)"
                ));
                return Flushed { error: Some(e) };
            }
        }
    }
    Flushed { error: None }
}

/// POST `body` as JSON; any 2xx is delivered.
async fn post(client: &reqwest::Client, url: &str, body: &[u8]) -> Result<(), String> {
    let r = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| crate::sanitize::sanitize(&e.to_string()))?;
    if r.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", r.status().as_u16()))
    }
}

/// Why the window is critical: page-level burn or the candidate's 5xx alarm on a gateway.
fn critical_reasons(state: &State) -> Vec<String> {
    let mut out = Vec::new();
    for g in &state.gateways {
        if matches!(
            g.verdicts.fivexx,
            FivexxState::Breaching { .. } | FivexxState::Fire { .. }
        ) {
            out.push(format!("{} {} 5xx alarm", g.name, g.candidate));
        }
        for c in crate::model::Color::BOTH {
            if g.verdicts.burn[c].page {
                out.push(format!("{} {c} error budget burning at page level", g.name));
            }
        }
    }
    out
}

/// The fleet's name in digest IDs: `--fleet`, else the name of the directory holding
/// fleet.toml.
fn fleet_name(config: &Config, asked: Option<&str>) -> String {
    let name = match asked {
        Some(n) => n.to_string(),
        None => config
            .base_dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "fleet".into()),
    };
    crate::sanitize::sanitize(&name)
}

/// Letters, digits, `-`, `_` and `.` of `s` (a spool file name).
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn say(text: &str) {
    eprintln!(
        "{} {}",
        crate::fleet::audit::now_rfc3339(),
        crate::redact::redact(&crate::sanitize::sanitize(text))
    );
}
