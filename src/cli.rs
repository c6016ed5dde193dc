//! Command-line definitions (clap).

use crate::model::{Color, Weights};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Terminal cockpit for blue/green cutovers of AI gateways behind nginx.
#[derive(Debug, Parser)]
#[command(name = "cutover", version, about, long_about = None)]
pub struct Cli {
    /// Fleet configuration file.
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Session-wide flags.
    #[command(flatten)]
    pub(crate) global: GlobalFlags,
    /// What to do; without one, the cockpit on the configured fleet.
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Flags valid with every command.
#[derive(Debug, Args, Clone)]
pub(crate) struct GlobalFlags {
    /// Who is operating (default: the login user).
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) actor: Option<String>,
    /// Change ticket recorded with every action.
    #[arg(long, global = true, value_name = "ID")]
    pub(crate) ticket: Option<String>,
    /// Disable every mutating key and command.
    #[arg(long, global = true)]
    pub(crate) read_only: bool,
    /// Theme name (built-in or from a themes directory).
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) theme: Option<String>,
    /// Turn the 5xx auto-rollback into an alarm only.
    #[arg(long, global = true)]
    pub(crate) no_auto_rollback: bool,
    /// Record the cockpit's screen as an asciicast v2 file (`asciinema play FILE.cast`).
    #[arg(long, global = true, value_name = "FILE.cast")]
    pub(crate) record: Option<PathBuf>,
    /// Record telemetry, keys and markers as JSON lines for `cutover replay` (live sessions
    /// record beside the audit log by default; the demo only with this flag).
    #[arg(long, global = true, value_name = "FILE.jsonl")]
    pub(crate) session: Option<PathBuf>,
    /// Do not write the live session log.
    #[arg(long, global = true, conflicts_with = "session")]
    pub(crate) no_session_log: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The cockpit on a simulated in-process fleet (no network, no config needed).
    Demo(DemoArgs),
    /// A real local fleet (nginx, sshd, gateway processes) for tests and rehearsal.
    Lab(LabArgs),
    /// Weights, health and locks of every gateway, read from the hosts now.
    Status {
        /// One JSON object, {"gateways":[...]}, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// One weight change, applied safely (nginx -t, reload, verify), audited.
    Step {
        /// Move the candidate by N points (a whole number of steps, e.g. 10 or -10).
        #[arg(
            long,
            value_name = "±N",
            allow_negative_numbers = true,
            conflicts_with = "to",
            required_unless_present = "to"
        )]
        by: Option<i16>,
        /// Move the candidate to this weight.
        #[arg(long, value_name = "WEIGHT")]
        to: Option<u8>,
        /// The color being introduced, when the weights do not say (one color at 0 makes the
        /// other stable; mixed weights count green as the candidate unless this says blue).
        #[arg(long, value_enum, value_name = "COLOR")]
        candidate: Option<ColorArg>,
        /// Run past guardrails that do not pass, or a change of more than one step; the
        /// reason goes into the audit log.
        #[arg(long = "override", value_name = "REASON")]
        override_reason: Option<String>,
        /// Which gateways.
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// All traffic back on the stable color; the candidate is stopped once its open streams
    /// end (or after guardrails.rollback_grace_secs).
    Rollback {
        /// Stop the candidate at once, cutting its open streams (emergencies).
        #[arg(long)]
        now: bool,
        /// The color being introduced, when the weights do not say (see `step --candidate`).
        #[arg(long, value_enum, value_name = "COLOR")]
        candidate: Option<ColorArg>,
        /// Run past checks on blue that do not pass; the reason goes into the audit log.
        #[arg(long = "override", value_name = "REASON")]
        override_reason: Option<String>,
        /// Which gateways.
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Run a ramp plan to its end: steps, bakes and gates, as the cockpit runs them. Exit 0
    /// done, 1 failed, held or interrupted, 2 bad plan. Run it again to continue.
    Ramp {
        /// The plan file (see plans/ and docs/configuration.md).
        #[arg(value_name = "PLAN.toml")]
        plan: std::path::PathBuf,
        /// Validate the plan and print its schedule; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// The color being introduced, when the weights do not say.
        #[arg(long, value_enum, value_name = "COLOR")]
        candidate: Option<ColorArg>,
        /// Which gateways.
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Wait for a color at weight 0 to finish its connections (or the drain window), then stop it.
    Drain {
        /// The color to drain.
        #[arg(value_enum)]
        color: ColorArg,
        /// Which gateways.
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Start a stopped color (its fleet.toml `start` command), then wait until it answers a
    /// TTFT probe (60 s at most); it takes traffic only by a step.
    Start {
        /// The color to start.
        #[arg(value_enum)]
        color: ColorArg,
        /// Which gateways.
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Stop and start a color that carries no traffic (weight 0), then wait until it answers.
    Restart {
        /// The color to restart.
        #[arg(value_enum)]
        color: ColorArg,
        /// Which gateways.
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Preflight: one row per gateway and check (SSH, nginx config and lint, listeners,
    /// limits, revisions, health, certificates), ok/warn/FAIL; exit 1 when a row fails.
    Check {
        /// One JSON object, {"summary":{...},"rows":[...]}, for scripts and CI.
        #[arg(long)]
        json: bool,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        strict: bool,
    },
    /// The collectors, guardrails and exports ([export]: /metrics, Grafana annotations) with
    /// no terminal, read-only, until SIGINT or SIGTERM; progress and errors on stderr.
    Watch,
    /// The failure notifier: at each window's end, one digest of the failed requests
    /// (grouped by color, status, gateway and AZ) posted to a webhook, spooled when the post
    /// fails and sent with the next one; read-only, until SIGINT or SIGTERM.
    Digest {
        /// Window length ("30s", "5m", "1h").
        #[arg(long, value_name = "DURATION", default_value = "5m")]
        window: String,
        /// Send one window's digest, then exit: 0 when it was delivered or spooled.
        #[arg(long)]
        once: bool,
        /// Where to POST each digest (JSON with a `text` field: Slack-compatible).
        #[arg(long, value_name = "URL")]
        webhook: Option<String>,
        /// Spool directory for digests not yet delivered [default: cutover-digest.spool
        /// beside the audit log].
        #[arg(long, value_name = "DIR")]
        spool: Option<PathBuf>,
        /// Print each digest as one JSON line on stdout.
        #[arg(long)]
        json: bool,
        /// The fleet's name in digest IDs [default: the directory holding fleet.toml].
        #[arg(long, value_name = "NAME")]
        fleet: Option<String>,
    },
    /// Play a session log in the cockpit, read-only: space pauses, + and - change speed, n jumps to the next marker.
    Replay {
        /// A session log written by the cockpit (cutover-session-*.jsonl).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Playback speed, times real time (0.25 to 64).
        #[arg(long, value_name = "X", default_value_t = 1.0)]
        speed: f64,
    },
    /// Per-color summary of access logs (plain or gzip), offline: requests, 5xx, latency per minute.
    Report(ReportArgs),
}

/// Arguments of `cutover report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Access logs in the cutover format, plain or gzip-compressed; one file is one gateway.
    #[arg(required = true, value_name = "ACCESS_LOG")]
    pub(crate) files: Vec<PathBuf>,
    /// Blue's upstream address as nginx logs it [default: fleet.toml's, else 127.0.0.1:8787].
    #[arg(long, value_name = "ADDR")]
    pub(crate) blue: Option<String>,
    /// Green's upstream address as nginx logs it [default: fleet.toml's, else 127.0.0.1:8788].
    #[arg(long, value_name = "ADDR")]
    pub(crate) green: Option<String>,
    /// One JSON object, {"files":[...],"total":...}, for scripts.
    #[arg(long)]
    pub(crate) json: bool,
    /// What the logs know about one request (its `request_id`): time, status, every upstream
    /// try with its color, and the color charged when it failed.
    #[arg(long, value_name = "ID", conflicts_with = "json")]
    pub(crate) request_id: Option<String>,
    /// Count only requests that ended at or after TIME ($msec): RFC 3339
    /// (2026-12-02T13:00:00Z, or with an offset) or HH:MM, meaning that time today in UTC.
    #[arg(long, value_name = "TIME", conflicts_with = "request_id")]
    pub(crate) since: Option<String>,
    /// Count only requests that ended before TIME ($msec): RFC 3339 (2026-12-02T13:30:00Z)
    /// or HH:MM, meaning that time today in UTC.
    #[arg(long, value_name = "TIME", conflicts_with = "request_id")]
    pub(crate) until: Option<String>,
}

/// The scope of a headless change: exactly one of these.
#[derive(Debug, Args, Clone)]
#[group(required = true, multiple = false)]
pub(crate) struct ScopeArgs {
    /// One gateway.
    #[arg(long, value_name = "NAME")]
    pub(crate) gateway: Option<String>,
    /// Every gateway of an AZ.
    #[arg(long, value_name = "AZ")]
    pub(crate) az: Option<String>,
    /// The whole fleet.
    #[arg(long)]
    pub(crate) all: bool,
}

/// Arguments of `cutover lab`.
#[derive(Debug, Args)]
pub(crate) struct LabArgs {
    /// What to do with the lab.
    #[command(subcommand)]
    pub(crate) command: LabCommand,
}

/// `cutover lab` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum LabCommand {
    /// Start N gateway hosts on loopback addresses and write fleet.toml, ssh_config, known_hosts.
    Up {
        /// Number of gateway hosts (spread over up to three AZs).
        #[arg(long, value_name = "N", default_value_t = 3)]
        gateways: usize,
        /// Directory for configs, keys, logs and state.
        #[arg(long, value_name = "DIR", default_value = "cutover-lab")]
        dir: PathBuf,
        /// Upstream weights every host starts with, BLUE/GREEN.
        #[arg(long, value_name = "B/G", default_value = "100/0", value_parser = parse_weights)]
        weights: Weights,
        /// Also start a real Prometheus (and prometheus-nginx-exporter when installed) that
        /// scrapes `watch`'s or the cockpit's /metrics every second.
        #[arg(long)]
        prometheus: bool,
        /// Serve the public listeners over https, signed by a CA made for the lab with
        /// openssl (fleet.toml's `probes.ca_file` names it).
        #[arg(long)]
        tls: bool,
        /// Days the hosts' certificates are valid, with --tls (a short one fails `check`).
        #[arg(long, value_name = "DAYS", default_value_t = 365, requires = "tls",
              value_parser = clap::value_parser!(u32).range(1..=3650))]
        tls_days: u32,
        /// The colors listen on unix sockets (`server unix:...` in the upstream), not TCP ports.
        #[arg(long)]
        unix_sockets: bool,
    },
    /// Stop every process of the lab in DIR.
    Down {
        /// The lab's directory.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// Change a running color's behaviour: ttft_ms=900 error_rate=0.2 disk=false hang=true
    /// revision=r43 nofile=256 ...
    Fault {
        /// The lab's directory.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Gateway to change (repeatable; default: every gateway).
        #[arg(long, value_name = "NAME")]
        gateway: Vec<String>,
        /// The color to change.
        #[arg(long, value_enum)]
        color: ColorArg,
        /// KEY=VALUE assignments.
        #[arg(required = true, value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// A lab host's service manager: what fleet.toml's start/stop/version commands run.
    Color {
        /// start, stop or version.
        #[arg(value_enum)]
        verb: ColorVerb,
        /// The lab's directory.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The gateway host.
        #[arg(long, value_name = "NAME")]
        gateway: String,
        /// The color.
        #[arg(long, value_enum)]
        color: ColorArg,
    },
    /// Stop or start a host's sshd (stop also ends its sessions): a host going dark for SSH.
    Sshd {
        /// start or stop.
        #[arg(value_enum)]
        verb: SshdVerb,
        /// The lab's directory.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The gateway host.
        #[arg(long, value_name = "NAME")]
        gateway: String,
    },
    /// Serve one color in the foreground (started by `lab color start`).
    #[command(hide = true)]
    Serve {
        /// The lab's directory.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The gateway host.
        #[arg(long, value_name = "NAME")]
        gateway: String,
        /// The color.
        #[arg(long, value_enum)]
        color: ColorArg,
    },
}

/// A color on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorArg {
    /// Blue.
    Blue,
    /// Green.
    Green,
}

impl From<ColorArg> for Color {
    fn from(c: ColorArg) -> Color {
        match c {
            ColorArg::Blue => Color::Blue,
            ColorArg::Green => Color::Green,
        }
    }
}

/// What `lab sshd` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SshdVerb {
    /// Start sshd again.
    Start,
    /// Stop sshd and every session on it.
    Stop,
}

/// What `lab color` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorVerb {
    /// Start the color (no-op if running) and return once it listens.
    Start,
    /// Stop the color (no-op if stopped).
    Stop,
    /// Print the running color's version.
    Version,
}

/// `70/30` → blue 70, green 30; the two must add up to 100.
pub(crate) fn parse_weights(s: &str) -> Result<Weights, String> {
    let (b, g) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: expected BLUE/GREEN, e.g. 90/10"))?;
    let b: u8 = b
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: {b:?} is not a whole number"))?;
    let g: u8 = g
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: {g:?} is not a whole number"))?;
    if u16::from(b) + u16::from(g) != 100 {
        return Err(format!("{s:?}: blue and green must add up to 100"));
    }
    Ok(Weights { blue: b, green: g })
}

/// Arguments of `cutover demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Training scenario to play (see --list-scenarios).
    #[arg(long, value_name = "NAME")]
    pub(crate) scenario: Option<String>,
    /// Clock speed: 10 runs ten simulated seconds per second (default: the scenario's).
    #[arg(long, value_name = "X")]
    pub(crate) speed: Option<f64>,
    /// Random seed; the same seed and keys give the same session.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) seed: u64,
    /// List the scenarios and exit.
    #[arg(long)]
    pub(crate) list_scenarios: bool,
    /// No terminal: play SECS of simulated time, with the scenario's scripted keys, into the
    /// --record cast and exit (deterministic for a seed).
    #[arg(long = "for", value_name = "SECS")]
    pub(crate) for_secs: Option<f64>,
    /// Screen size of a --for recording [default: 120x40].
    #[arg(long, value_name = "COLSxROWS", value_parser = parse_size)]
    pub(crate) size: Option<(u16, u16)>,
}

/// `120x40` → (120, 40); at least the cockpit's smallest screen, at most 1000 either way.
pub(crate) fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (min_w, min_h) = crate::front::ui::MIN_SIZE;
    let bad = || format!("{s:?}: expected COLSxROWS, e.g. 120x40");
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let w: u16 = w.trim().parse().map_err(|_| bad())?;
    let h: u16 = h.trim().parse().map_err(|_| bad())?;
    if w < min_w || h < min_h || w > 1000 || h > 1000 {
        return Err(format!(
            "{s:?}: the cockpit needs {min_w}x{min_h} to 1000x1000"
        ));
    }
    Ok((w, h))
}
