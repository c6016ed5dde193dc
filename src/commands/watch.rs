//! `cutover -c fleet.toml watch`: the live cockpit's collectors, guardrail evaluation and
//! exports, with no terminal, until SIGINT, SIGTERM or SIGHUP (then exit 0).
//!
//! It never changes a gateway: the session is read-only whatever the flags, so a guardrail
//! that would roll back only raises its alarm (the cockpit or `cutover rollback` acts).
//! Progress and errors go to stderr, one line each, sanitized and redacted.

use crate::app::keymap::KeyMap;
use crate::app::state::Session;
use crate::commands::error::CommandError;
use crate::commands::runtime;
use crate::config::Config;
use crate::export::Exports;
use crate::export::annotate::Reporter;
use crate::fleet::control::Actor;
use crate::fleet::service::Fleet;
use crate::front::clock::Clock;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};

/// How often a progress line is written.
const PROGRESS_EVERY: Duration = Duration::from_secs(60);
/// How often the driver is advanced (as the cockpit's loop does).
const STEP: Duration = Duration::from_millis(100);

/// Run `watch` on `config` as `actor` (named in the audit log if anything were written).
pub(crate) fn run(config: Option<Config>, actor: String) -> Result<(), CommandError> {
    let Some(config) = config else {
        return Err(CommandError::usage(
            "watch needs the fleet: cutover -c fleet.toml watch",
        ));
    };
    runtime("the async runtime")?.block_on(watch(config, actor))
}

async fn watch(config: Config, actor: String) -> Result<(), CommandError> {
    init_stderr_logging();
    let handler = |k| signal(k).map_err(|e| CommandError::failed(e.to_string()));
    let mut int = handler(SignalKind::interrupt())?;
    let mut term = handler(SignalKind::terminate())?;
    let mut hup = handler(SignalKind::hangup())?;
    let guard = config.guardrails;
    let mut exports = Exports::start(&config, Reporter::Tracing);
    let grafana = config.export.grafana_url.clone();
    let n = config.gateway.len();
    let actor = Actor {
        name: actor,
        ticket: None,
        read_only: true,
    };
    let mut fleet = Fleet::new(config, actor.clone())?;
    if let Some(h) = exports.hook() {
        fleet.exec.set_hook(h);
    }
    let mut driver = crate::fleet::live::driver(fleet, guard, KeyMap::default(), Vec::new());
    driver.log_to(crate::front::tui::tracing_sink());
    driver.state.session = Session {
        actor: actor.name,
        read_only: true,
        ..Session::default()
    };
    exports.observe(&mut driver);
    let serving = exports.serve().map_err(CommandError::failed)?;
    let mut says = format!("watch: {n} gateways, read-only");
    match serving {
        Some(addr) => {
            let _ = write!(says, "; metrics on http://{addr}/metrics");
        }
        None => says.push_str("; no [export] metrics_listen, nothing served"),
    }
    if let Some(url) = &grafana {
        let _ = write!(says, "; annotations to {url}");
    }
    say(&says);
    let clock = Clock::new(0, 1.0);
    let mut every = tokio::time::interval(STEP);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut next_progress = Instant::now() + PROGRESS_EVERY;
    let signal_name = loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = int.recv() => break "SIGINT",
            _ = term.recv() => break "SIGTERM",
            _ = hup.recv() => break "SIGHUP",
        }
        driver.advance_to(clock.now());
        // Markers are for recordings; the log already has the events.
        driver.take_markers();
        driver.take_changed();
        if Instant::now() >= next_progress {
            next_progress += PROGRESS_EVERY;
            say(&progress(&driver.state, &exports));
        }
    };
    say(&format!("watch: {signal_name}: stopping"));
    if let Some(out) = exports.finish(crate::export::EXIT_BUDGET).await {
        if out.spooled > 0 {
            say(&format!(
                "watch: {} annotations spooled for the next start",
                out.spooled
            ));
        }
    }
    Ok(())
}

/// One progress line: freshness, alarms and what was served.
fn progress(s: &crate::app::state::State, exports: &Exports) -> String {
    let n = s.gateways.len();
    let stale: Vec<&str> = s
        .gateways
        .iter()
        .filter(|g| g.verdicts.stale || g.model.unreachable.is_some())
        .map(|g| g.name.as_str())
        .collect();
    let alarmed: Vec<&str> = (0..n)
        .filter(|&i| s.alarmed(i))
        .map(|i| s.gateways[i].name.as_str())
        .collect();
    let mut line = format!("watch: {}/{n} gateways fresh", n - stale.len());
    if !stale.is_empty() {
        let _ = write!(line, " (stale: {})", stale.join(", "));
    }
    // With Prometheus as the source, its figures have a freshness of their own.
    if s.gateways.iter().any(|g| g.model.metrics.is_some()) {
        let _ = write!(
            line,
            "; prometheus figures judged on {}/{n}",
            n - s.metrics_unjudged
        );
    }
    if !alarmed.is_empty() {
        let _ = write!(line, "; alarms on {}", alarmed.join(", "));
    }
    if let Some(st) = exports.server_stats() {
        let _ = write!(
            line,
            "; {} scrapes (last {} bytes in {} us)",
            st.scrapes.load(Ordering::Relaxed),
            st.last_bytes.load(Ordering::Relaxed),
            st.last_render_us.load(Ordering::Relaxed)
        );
    }
    let sh = &exports.shared;
    let (sent, failed) = (
        sh.annotations_sent.load(Ordering::Relaxed),
        sh.annotations_failed.load(Ordering::Relaxed),
    );
    if sent + failed > 0 {
        let _ = write!(line, "; annotations {sent} sent, {failed} spooled");
    }
    line
}

/// One line on stderr, with the time, sanitized and redacted.
fn say(text: &str) {
    eprintln!(
        "{} {}",
        crate::fleet::audit::now_rfc3339(),
        crate::redact::redact(&crate::sanitize::sanitize(text))
    );
}

/// Route `tracing` events (guardrail transitions, collector and annotation errors) to stderr.
fn init_stderr_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber = tracing_subscriber::registry().with(StderrLayer);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Writes every event at INFO or above as one stderr line.
struct StderrLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StderrLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let meta = event.metadata();
        // TRACE and DEBUG are "greater" (more verbose) than INFO.
        if *meta.level() > tracing::Level::INFO {
            return;
        }
        let mut text = Fields(String::new());
        event.record(&mut text);
        say(&format!("{} {}: {}", meta.level(), meta.target(), text.0));
    }
}

/// An event's message, then its other fields as `name=value`.
struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::{Gateway, Mode, State};
    use crate::model::Telemetry;
    use crate::model::gateway::Windows;

    #[test]
    fn the_progress_line_counts_the_gateways_judged_on_prometheus_figures() {
        let gateways = ["gw-a1", "gw-b1"]
            .iter()
            .map(|n| Gateway::new(*n, "az", Windows::default()))
            .collect();
        let mut s = State::new(
            Mode::Live,
            gateways,
            Default::default(),
            Default::default(),
            Vec::new(),
        );
        let exports = Exports::start(&crate::config::Config::default(), Reporter::Tracing);
        assert!(
            !progress(&s, &exports).contains("prometheus"),
            "the ssh source has no such figure"
        );
        for g in &mut s.gateways {
            g.model.apply(0, &Telemetry::Metrics(Box::default()));
        }
        s.metrics_unjudged = 1;
        let line = progress(&s, &exports);
        assert!(
            line.contains("; prometheus figures judged on 1/2"),
            "{line}"
        );
    }
}
