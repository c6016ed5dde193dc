//! The cockpit launcher: the steps every cockpit on this terminal shares (demo, live,
//! replay), and those the headless demo recording shares with them.

use crate::app::driver::Driver;
use crate::app::keymap::KeyMap;
use crate::app::state::Session;
use crate::app::world::World;
use crate::cli::GlobalFlags;
use crate::commands::error::CommandError;
use crate::commands::{runtime, session_actor};
use crate::config::Config;
use crate::front::record::{CastClock, Header, Recorder, Redactor};
use crate::front::tui::{self, Playback};
use crate::front::ui::theme::{self, ThemeSet};
use crate::guard::GuardConfig;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Key bindings, themes and guardrails resolved from flags, config and environment.
pub(super) struct Settings {
    /// `[keys]`, else the default bindings.
    pub(crate) keymap: KeyMap,
    /// `[guardrails]`, with `--no-auto-rollback`.
    pub(crate) guard: GuardConfig,
    /// The operator: actor, ticket, read-only.
    pub(crate) session: Session,
    /// The themes: the launcher keeps them, the driver only needs their names.
    pub(crate) look: Look,
}

/// The themes loaded and the one chosen.
pub(super) struct Look {
    /// Built-in and user themes.
    pub(crate) themes: ThemeSet,
    /// The one `--theme` or `theme =` chose.
    pub(crate) theme: usize,
}

/// A cockpit's settings from the flags, `config` and the environment (`NO_COLOR`, the
/// user's theme directory).
pub(super) fn settings(
    global: &GlobalFlags,
    config: Option<&Config>,
) -> Result<Settings, CommandError> {
    let keymap = config.map(|c| c.keymap.clone()).unwrap_or_default();
    let mut dirs: Vec<PathBuf> = config
        .and_then(|c| c.themes_dir.clone())
        .into_iter()
        .collect();
    if let Some(d) = user_theme_dir() {
        dirs.push(d);
    }
    let no_color = theme::no_color_from_env();
    let themes = ThemeSet::load(&dirs, no_color).map_err(CommandError::usage)?;
    let requested = global
        .theme
        .as_deref()
        .or(config.and_then(|c| c.theme.as_deref()));
    let theme = themes
        .select(requested, no_color)
        .map_err(CommandError::usage)?;
    let mut guard = config.map(|c| c.guardrails).unwrap_or_default();
    if global.no_auto_rollback {
        guard.auto_rollback = false;
    }
    let session = Session {
        actor: session_actor(global),
        ticket: global.ticket.as_deref().map(crate::sanitize::sanitize),
        read_only: global.read_only,
        recording: false,
        detail: None,
    };
    Ok(Settings {
        keymap,
        guard,
        session,
        look: Look { themes, theme },
    })
}

/// `$XDG_CONFIG_HOME/cutover/themes`, else `~/.config/cutover/themes`.
fn user_theme_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("cutover").join("themes"))
}

/// A cockpit on this terminal, as demo, live and replay launch it: each builds its own
/// driver; `open`, `dress` and `run` (or `launch`, both on a runtime of its own) are the
/// steps they share.
pub(super) struct Cockpit<P> {
    look: Look,
    rec: Option<Recorder>,
    /// The session log's mode (`demo`, `live`) and file.
    session_log: Option<(&'static str, PathBuf)>,
    /// Where time and keys go: the world's clock, or a replay's controls.
    playback: P,
    /// Log lines carry the session's clock instead of the wall clock (a replay).
    session_clock: bool,
}

impl<P: Playback> Cockpit<P> {
    /// Check the terminal and, with `--record`, create the cast: both before the screen is
    /// taken over, so that what is wrong is said on a normal terminal.
    pub(super) fn open(
        global: &GlobalFlags,
        config: Option<&Config>,
        title: String,
        look: Look,
        playback: P,
    ) -> Result<Self, CommandError> {
        if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
            return Err(CommandError::usage(
                "the cockpit needs a terminal on stdin and stdout",
            ));
        }
        let rec = cockpit_recorder(global, title, config, &playback)?;
        Ok(Cockpit {
            look,
            rec,
            session_log: None,
            playback,
            session_clock: false,
        })
    }

    /// Stamp log lines with the session's clock, not the wall clock: a replay's log then
    /// reads as the session's did, whatever the playback speed.
    pub(super) fn with_session_clock(mut self) -> Self {
        self.session_clock = true;
        self
    }

    /// Write a session log of mode `mode` to `path`, if any.
    pub(super) fn session_log(mut self, mode: &'static str, path: Option<PathBuf>) -> Self {
        self.session_log = path.map(|p| (mode, p));
        self
    }

    /// The names of the themes, for the driver's theme switcher.
    pub(super) fn theme_names(&self) -> Vec<String> {
        self.look.themes.owned_names()
    }

    /// Theme, log panel, recording flag and session log on a new driver.
    pub(super) fn dress<W: World>(&self, driver: &mut Driver<W>) -> Result<(), CommandError> {
        let log = self.session_log.as_ref().map(|(m, p)| (*m, p.as_path()));
        dress(driver, self.look.theme, self.rec.is_some(), log)?;
        if self.session_clock {
            driver.log_to(tui::session_clock_sink());
        }
        Ok(())
    }

    /// Start the log panel, say `greet`'s first lines in it, and run the loop until the
    /// operator leaves.
    pub(super) async fn run<W: World>(
        self,
        driver: Driver<W>,
        greet: impl FnOnce(),
    ) -> Result<(), CommandError> {
        init_logging();
        if self.session_clock {
            crate::front::ui::use_simulated_times(true);
        }
        greet();
        tui::run(driver, self.look.themes, self.rec, self.playback)
            .await
            .map_err(|e| CommandError::failed(format!("terminal: {e}")))
    }

    /// Dress `driver` and run it on a runtime of its own.
    pub(super) fn launch<W: World>(
        self,
        mut driver: Driver<W>,
        greet: impl FnOnce(),
    ) -> Result<(), CommandError> {
        self.dress(&mut driver)?;
        runtime("the runtime")?.block_on(self.run(driver, greet))
    }
}

/// What every cockpit does to a new driver, the headless recording's too: the theme, the
/// log lines into `tracing`, the recording flag and the session log.
pub(super) fn dress<W: World>(
    driver: &mut Driver<W>,
    theme: usize,
    recording: bool,
    session_log: Option<(&str, &Path)>,
) -> Result<(), CommandError> {
    driver.state.theme = theme;
    driver.log_to(tui::tracing_sink());
    driver.state.session.recording = recording;
    match session_log {
        Some((mode, path)) => attach_session_log(driver, mode, path),
        None => Ok(()),
    }
}

/// With `--record`, the cast for a cockpit on this terminal, timed as `playback` says.
fn cockpit_recorder(
    global: &GlobalFlags,
    title: String,
    config: Option<&Config>,
    playback: &impl Playback,
) -> Result<Option<Recorder>, CommandError> {
    let Some(path) = &global.record else {
        return Ok(None);
    };
    // A pseudo-terminal nobody sized reports 0x0: a cast needs a real size to play.
    let (w, h) = crossterm::terminal::size()
        .ok()
        .filter(|&(w, h)| w > 0 && h > 0)
        .unwrap_or((80, 24));
    let redactor = config.map(Redactor::for_config).unwrap_or_default();
    Recorder::create(
        path,
        &Header::from_env(w, h, title),
        redactor,
        CastClock::Wall(playback.cast_start()),
    )
    .map(Some)
    .map_err(CommandError::failed)
}

/// Write a session log of `driver` to `path` from now on: header first, then every message.
fn attach_session_log<W: World>(
    driver: &mut Driver<W>,
    mode: &str,
    path: &Path,
) -> Result<(), CommandError> {
    let st = &driver.state;
    let gateways = st
        .gateways
        .iter()
        .map(|g| crate::front::session::GatewayInfo {
            name: g.name.clone(),
            az: g.az.clone(),
        })
        .collect();
    let mut header =
        crate::front::session::Header::new(mode, &st.session.actor, st.session.read_only, gateways);
    header.guardrails = st.cfg;
    header.ticket = st.session.ticket.clone();
    let log =
        crate::front::session::SessionLog::create(path, &header).map_err(CommandError::failed)?;
    driver.log_session(log);
    Ok(())
}

/// Route tracing events to the cockpit's log panel.
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    if tui_logger::init_logger(tui_logger::LevelFilter::Info).is_ok() {
        tui_logger::set_default_level(tui_logger::LevelFilter::Info);
        let subscriber = tracing_subscriber::registry().with(tui_logger::TuiTracingSubscriberLayer);
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
}

/// Route tracing events to the log panel of a headless recording: no mover thread (each frame
/// moves the records itself, so the log never depends on thread timing) and the simulated
/// time in place of the wall clock.
pub(super) fn init_logging_simulated() {
    use tracing_subscriber::layer::SubscriberExt;
    crate::front::ui::use_simulated_times(true);
    tui_logger::set_default_level(tui_logger::LevelFilter::Info);
    let subscriber = tracing_subscriber::registry().with(tui_logger::TuiTracingSubscriberLayer);
    let _ = tracing::subscriber::set_global_default(subscriber);
}
