//! What each command does, with exit codes: 0 success, 1 failure, 2 bad usage or configuration.

use crate::app::keymap::KeyMap;
use crate::app::state::Session;
use crate::cli::{Cli, ColorVerb, Command, DemoArgs, GlobalFlags, LabCommand, ScopeArgs, SshdVerb};
use crate::commands::headless::{self, ActOptions, Request};
use crate::config::Config;
use crate::fleet::service::{Fleet, Target};
use crate::front::clock::Clock;
use crate::front::drill::{self, Drill};
use crate::front::record::{CastClock, Header, Recorder, Redactor};
use crate::front::tui;
use crate::front::ui::theme::{self, ThemeSet};
use crate::guard::GuardConfig;
use crate::lab::{self, LabError};
use crate::model::Color;
use crate::sim::{self, Scenario, scenario::DEFAULT_SCENARIO};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::signal::unix::{SignalKind, signal};

/// A failed command: the exit code and the message for stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1: the operation failed; 2: bad usage or configuration.
    pub code: u8,
    /// What went wrong, naming the file, field or value at fault.
    pub message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

/// Run the parsed command line and return the process exit code.
pub fn main(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("cutover: {}", crate::redact::redact(&f.message));
            ExitCode::from(f.code)
        }
    }
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    let config = match &cli.config {
        Some(path) => Some(Config::load(path).map_err(|e| usage(e.to_string()))?),
        None => None,
    };
    if let Some(c) = &config {
        // Before anything is written or printed: every writer masks the fleet's secrets.
        crate::redact::install(Redactor::for_config(c));
    }
    let cockpit = matches!(cli.command, None | Some(Command::Demo(_)));
    let screen = cockpit || matches!(cli.command, Some(Command::Replay { .. }));
    if let (Some(path), false) = (&cli.global.record, screen) {
        return Err(usage(format!(
            "--record {}: only the cockpit records (cutover demo, cutover -c fleet.toml, cutover replay)",
            path.display()
        )));
    }
    if let (Some(path), false) = (&cli.global.session, cockpit) {
        return Err(usage(format!(
            "--session {}: only the cockpit writes session logs (cutover demo, or cutover -c fleet.toml)",
            path.display()
        )));
    }
    match cli.command {
        Some(Command::Demo(args)) => demo(&args, &cli.global, config.as_ref()),
        Some(Command::Replay { file, speed }) => replay(&file, speed, &cli.global, config.as_ref()),
        Some(Command::Lab(args)) => lab(args.command),
        Some(Command::Report(args)) => crate::commands::report::command(&args, config.as_ref())
            .map_err(|e| Failure {
                code: e.code,
                message: e.message,
            }),
        Some(
            cmd @ (Command::Status { .. }
            | Command::Step { .. }
            | Command::Rollback { .. }
            | Command::Drain { .. }
            | Command::Check { .. }),
        ) => fleet_command(cmd, &cli.global, config),
        Some(Command::Watch) => crate::commands::watch::run(config, session_actor(&cli.global)),
        None if config.is_none() => Err(usage(
            "no fleet given: run `cutover -c fleet.toml` for a real fleet, or `cutover demo` for the simulated one",
        )),
        None => live(&cli.global, config, cli.config.as_deref()),
    }
}

/// Key bindings, themes and guardrails resolved from flags, config and environment.
struct Settings {
    keymap: KeyMap,
    themes: ThemeSet,
    theme: usize,
    guard: GuardConfig,
    session: Session,
}

fn settings(global: &GlobalFlags, config: Option<&Config>) -> Result<Settings, Failure> {
    let keymap = config.map(|c| c.keymap.clone()).unwrap_or_default();
    let mut dirs: Vec<PathBuf> = config
        .and_then(|c| c.themes_dir.clone())
        .into_iter()
        .collect();
    if let Some(d) = user_theme_dir() {
        dirs.push(d);
    }
    let no_color = theme::no_color_from_env();
    let themes = ThemeSet::load(&dirs, no_color).map_err(usage)?;
    let requested = global
        .theme
        .as_deref()
        .or(config.and_then(|c| c.theme.as_deref()));
    let theme = themes.select(requested, no_color).map_err(usage)?;
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
        themes,
        theme,
        guard,
        session,
    })
}

fn login_user() -> Option<String> {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(crate::lab::process::user_name)
}

fn user_theme_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("cutover").join("themes"))
}

fn list_scenarios() {
    for s in Scenario::builtin() {
        println!("{:<24} x{:<5} {}", s.name, s.speed, s.description);
    }
}

fn demo(args: &DemoArgs, global: &GlobalFlags, config: Option<&Config>) -> Result<(), Failure> {
    if args.list_scenarios {
        list_scenarios();
        return Ok(());
    }
    let mut scenario =
        Scenario::find(args.scenario.as_deref().unwrap_or(DEFAULT_SCENARIO)).map_err(usage)?;
    if let Some(demo) = config.map(|c| &c.demo) {
        if let Some(azs) = &demo.azs {
            scenario.fleet.azs = azs.clone();
        }
        if let Some(n) = demo.gateways_per_az {
            scenario.fleet.gateways_per_az = n;
        }
        scenario.validate().map_err(|e| {
            usage(format!(
                "[demo] does not fit scenario {}: {e}",
                scenario.name
            ))
        })?;
    }
    let speed = args.speed.unwrap_or(scenario.speed);
    if !(speed > 0.0 && speed <= 1000.0) {
        return Err(usage(format!(
            "--speed {speed}: must be above 0 and at most 1000"
        )));
    }
    let s = settings(global, config)?;
    if let Some(secs) = args.for_secs {
        return demo_headless(args, secs, speed, global, config, scenario, s);
    }
    if args.size.is_some() {
        return Err(usage(
            "--size is for --for recordings; the cockpit takes the terminal's size",
        ));
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(usage("the cockpit needs a terminal on stdin and stdout"));
    }
    let title = format!("cutover demo {} seed {}", scenario.name, args.seed);
    let clock = Clock::new(0, speed);
    let rec = cockpit_recorder(global, title, config, &clock)?;
    let detail = format!("{} x{speed} seed {}", scenario.name, args.seed);
    let mut driver = sim::demo(
        scenario,
        args.seed,
        s.guard,
        s.keymap,
        s.themes.owned_names(),
    );
    driver.state.theme = s.theme;
    driver.log_to(tui::tracing_sink());
    driver.state.session = Session {
        detail: Some(detail),
        recording: rec.is_some(),
        ..s.session
    };
    if let Some(path) = &global.session {
        attach_session_log(&mut driver, "demo", path)?;
    }
    init_logging();
    tracing::info!(target: "cutover", "demo started; ? for help");
    if let Some(path) = &global.session {
        tracing::info!(target: "cutover", "session log: {}", path.display());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure {
            code: 1,
            message: format!("cannot start the runtime: {e}"),
        })?;
    rt.block_on(tui::run(driver, s.themes, clock, rec))
        .map_err(|e| Failure {
            code: 1,
            message: format!("terminal: {e}"),
        })
}

/// With `--record`, the cast for a cockpit on this terminal, created before the screen is
/// taken over so a bad path is reported on a normal terminal.
fn cockpit_recorder(
    global: &GlobalFlags,
    title: String,
    config: Option<&Config>,
    clock: &Clock,
) -> Result<Option<Recorder>, Failure> {
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
        CastClock::Wall(clock.started()),
    )
    .map(Some)
    .map_err(failed)
}

/// `cutover demo --for SECS --record F.cast`: the scenario on simulated time into a cast,
/// with no terminal; the same seed gives the same events.
fn demo_headless(
    args: &DemoArgs,
    secs: f64,
    speed: f64,
    global: &GlobalFlags,
    config: Option<&Config>,
    scenario: Scenario,
    s: Settings,
) -> Result<(), Failure> {
    let Some(path) = &global.record else {
        return Err(usage(
            "--for plays the demo without a terminal into a recording: add --record FILE.cast",
        ));
    };
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err(usage(format!(
            "--for {secs}: must be above 0 and at most 3600 seconds"
        )));
    }
    let (width, height) = args.size.unwrap_or((120, 40));
    let title = format!("cutover demo {} seed {}", scenario.name, args.seed);
    let redactor = config.map(Redactor::for_config).unwrap_or_default();
    let header = Header::from_env(width, height, title);
    let rec = Recorder::create(path, &header, redactor, CastClock::Manual).map_err(failed)?;
    let plan = Drill {
        speed,
        until: (secs * 1000.0).round() as crate::model::Ms,
        width,
        height,
        keys: scenario.keys.clone(),
    };
    let detail = format!("{} x{speed} seed {}", scenario.name, args.seed);
    // The scripted keys are written for the default bindings, whatever [keys] says.
    let mut driver = sim::demo(
        scenario,
        args.seed,
        s.guard,
        crate::app::keymap::KeyMap::default(),
        s.themes.owned_names(),
    );
    driver.state.theme = s.theme;
    driver.log_to(tui::tracing_sink());
    driver.state.session = Session {
        detail: Some(detail),
        recording: true,
        ..s.session
    };
    if let Some(path) = &global.session {
        attach_session_log(&mut driver, "demo", path)?;
    }
    init_logging_simulated();
    drill::log_line(0, "demo started; ? for help");
    drill::record(&mut driver, &s.themes, &plan, &rec)
        .map_err(|e| failed(format!("--record {}: {e}", path.display())))
}

/// The cockpit on the configured fleet.
fn live(
    global: &GlobalFlags,
    config: Option<Config>,
    path: Option<&std::path::Path>,
) -> Result<(), Failure> {
    let Some(mut config) = config else {
        return Err(usage("no fleet given"));
    };
    // The fleet table groups by AZ, in the order AZs first appear in the file.
    let azs: Vec<String> = config.gateway.iter().map(|g| g.az.clone()).collect();
    config
        .gateway
        .sort_by_key(|g| azs.iter().position(|a| *a == g.az).unwrap_or(usize::MAX));
    let s = settings(global, Some(&config))?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(usage("the cockpit needs a terminal on stdin and stdout"));
    }
    let actor = crate::fleet::control::Actor {
        name: s.session.actor.clone(),
        ticket: s.session.ticket.clone(),
        read_only: s.session.read_only,
    };
    let title = format!(
        "cutover live {}",
        path.map_or("fleet".into(), |p| p.display().to_string())
    );
    let clock = Clock::new(0, 1.0);
    let rec = cockpit_recorder(global, title, Some(&config), &clock)?;
    let session_path = match (&global.session, global.no_session_log) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => None,
        (None, false) => Some(
            config
                .audit_log_path()
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default()
                .join(crate::front::session::default_file_name()),
        ),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failed(format!("cannot start the runtime: {e}")))?;
    rt.block_on(async move {
        let mut fleet = Fleet::new(config, actor).map_err(|e| Failure {
            code: e.code,
            message: e.message,
        })?;
        let mut exports = crate::export::Exports::start(
            &fleet.config,
            crate::export::annotate::Reporter::Tracing,
        );
        if let Some(h) = exports.hook() {
            fleet.exec.set_hook(h);
        }
        // Changes a killed run left without an outcome are read and recorded first.
        let reconciled = fleet.exec.reconcile().await;
        let mut driver = crate::fleet::live::driver(fleet, s.guard, s.keymap, s.themes.owned_names());
        driver.log_to(tui::tracing_sink());
        let themes = s.themes;
        exports.observe(&mut driver);
        let state = &mut driver.state;
        state.theme = s.theme;
        state.session = Session {
            recording: rec.is_some(),
            ..s.session
        };
        if let Some(p) = &session_path {
            attach_session_log(&mut driver, "live", p)?;
        }
        init_logging();
        tracing::info!(target: "cutover", "live cockpit started; ? for help");
        for line in &reconciled {
            tracing::warn!(target: "cutover::ops", "audit: {line}");
        }
        if let Some(p) = &session_path {
            tracing::info!(target: "cutover", "session log: {} (cutover replay FILE plays it)", p.display());
        }
        // The cockpit comes first: a metrics port that is taken (a `watch` service) is said
        // in the log, not fatal.
        match exports.serve() {
            Ok(Some(addr)) => tracing::info!(target: "cutover::export", "metrics: http://{addr}/metrics"),
            Ok(None) => {}
            Err(e) => tracing::warn!(target: "cutover::export", "{e}; metrics are not served by this cockpit"),
        }
        let ran = tui::run(driver, themes, clock, rec)
            .await
            .map_err(|e| failed(format!("terminal: {e}")));
        exports.finish(crate::export::EXIT_BUDGET).await;
        ran
    })
}

/// Write a session log of `driver` to `path` from now on: header first, then every message.
fn attach_session_log<W: crate::app::world::World>(
    driver: &mut crate::app::driver::Driver<W>,
    mode: &str,
    path: &std::path::Path,
) -> Result<(), Failure> {
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
    let log = crate::front::session::SessionLog::create(path, &header).map_err(failed)?;
    driver.log_session(log);
    Ok(())
}

/// `cutover replay FILE`: a session log played in a read-only cockpit.
fn replay(
    file: &std::path::Path,
    speed: f64,
    global: &GlobalFlags,
    config: Option<&Config>,
) -> Result<(), Failure> {
    let (lo, hi) = crate::front::session::replay::SPEED_BOUNDS;
    if !(lo..=hi).contains(&speed) {
        return Err(usage(format!("--speed {speed}: must be from {lo} to {hi}")));
    }
    // A bad file is bad input: said on a normal terminal, before the screen is taken.
    let session = crate::front::session::load(file).map_err(usage)?;
    let s = settings(global, config)?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(usage("the cockpit needs a terminal on stdin and stdout"));
    }
    let mut driver =
        crate::front::session::replay::driver(&session, s.keymap, s.themes.owned_names());
    driver.state.theme = s.theme;
    driver.log_to(tui::tracing_sink());
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let title = format!("cutover replay {name}");
    let controls = crate::front::session::replay::Controls::new(&session, name, speed);
    let rec = cockpit_recorder(global, title, config, &Clock::new(0, 1.0))?;
    driver.state.session.recording = rec.is_some();
    init_logging();
    tracing::info!(
        target: "cutover",
        "replay of a {} session started {} by {}: space pauses, + and - change speed, n jumps to the next marker, q quits",
        crate::sanitize::sanitize(&session.header.mode),
        crate::sanitize::sanitize(&session.header.started),
        crate::sanitize::sanitize(&session.header.actor)
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failed(format!("cannot start the runtime: {e}")))?;
    rt.block_on(tui::run_replay(driver, s.themes, controls, rec))
        .map_err(|e| failed(format!("terminal: {e}")))
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
fn init_logging_simulated() {
    use tracing_subscriber::layer::SubscriberExt;
    crate::front::ui::use_simulated_times(true);
    tui_logger::set_default_level(tui_logger::LevelFilter::Info);
    let subscriber = tracing_subscriber::registry().with(tui_logger::TuiTracingSubscriberLayer);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

impl From<LabError> for Failure {
    fn from(e: LabError) -> Failure {
        match e {
            LabError::Usage(message) => Failure { code: 2, message },
            LabError::Failed(message) => Failure { code: 1, message },
        }
    }
}

fn failed(message: String) -> Failure {
    Failure { code: 1, message }
}

/// A lab's layout, its state and its host `gateway`.
fn lab_host(
    dir: &std::path::Path,
    gateway: &str,
) -> Result<
    (
        lab::layout::Layout,
        lab::state::LabState,
        lab::state::HostState,
    ),
    Failure,
> {
    let (layout, state) = lab::color::load(dir).map_err(failed)?;
    let host = state.host(gateway).map_err(usage)?.clone();
    Ok((layout, state, host))
}

/// `cutover lab ...`.
fn lab(cmd: LabCommand) -> Result<(), Failure> {
    match cmd {
        LabCommand::Up {
            gateways,
            dir,
            weights,
            prometheus,
            tls,
            tls_days,
            unix_sockets,
        } => {
            let state = lab::up::up(&lab::up::UpOptions {
                gateways,
                dir,
                weights,
                prometheus,
                tls,
                tls_days,
                unix_sockets,
            })?;
            let layout = lab::layout::Layout::new(std::path::Path::new(&state.dir));
            print!("{}", lab::up::summary(&layout, &state, weights));
            Ok(())
        }
        LabCommand::Down { dir } => {
            let report = lab::down::down(&dir)?;
            println!(
                "lab down: stopped {} processes of {} gateways in {}; nothing listens on their addresses",
                report.stopped.len(),
                report.hosts,
                report.dir
            );
            Ok(())
        }
        LabCommand::Fault {
            dir,
            gateway,
            color,
            set,
        } => {
            let c = Color::from(color);
            for (name, b) in lab::fault::fault(&dir, &gateway, c, &set)? {
                let json = serde_json::to_string(&b).unwrap_or_default();
                println!("{name} {}: {json}", c.name());
            }
            Ok(())
        }
        LabCommand::Color {
            verb,
            dir,
            gateway,
            color,
        } => {
            let (layout, state, host) = lab_host(&dir, &gateway)?;
            let c = Color::from(color);
            let line = match verb {
                ColorVerb::Start => lab::color::start(&layout, &state, &host, c),
                ColorVerb::Stop => lab::color::stop(&layout, &state, &host, c),
                ColorVerb::Version => lab::color::version(&state, &host, c),
            }
            .map_err(failed)?;
            println!("{line}");
            Ok(())
        }
        LabCommand::Sshd { verb, dir, gateway } => {
            let line = match verb {
                SshdVerb::Stop => lab::up::sshd_stop(&dir, &gateway)?,
                SshdVerb::Start => lab::up::sshd_start(&dir, &gateway)?,
            };
            println!("{line}");
            Ok(())
        }
        LabCommand::Serve {
            dir,
            gateway,
            color,
        } => {
            let (layout, state, host) = lab_host(&dir, &gateway)?;
            lab::color::serve(&layout, &state, &host, Color::from(color)).map_err(failed)
        }
    }
}

fn target(s: &ScopeArgs) -> Target {
    match (&s.gateway, &s.az) {
        (Some(g), _) => Target::Gateway(g.clone()),
        (None, Some(az)) => Target::Az(az.clone()),
        (None, None) => Target::All,
    }
}

/// `--override REASON`: a reason must say something; it is sanitized like every other
/// operator text that reaches the audit log and screens.
fn reason_arg(reason: Option<String>) -> Result<Option<String>, Failure> {
    match reason {
        Some(r) if r.trim().is_empty() => Err(usage(
            "--override needs a reason (it goes into the audit log), e.g. --override \"probe path broken, checked by hand\"",
        )),
        Some(r) => Ok(Some(crate::sanitize::sanitize(r.trim()))),
        None => Ok(None),
    }
}

fn print_lines(lines: &[headless::Line]) -> Result<(), Failure> {
    for l in lines {
        println!("{:<12} {}", l.gateway, crate::redact::redact(&l.text));
    }
    let bad = lines.iter().filter(|l| l.failed).count();
    if bad > 0 {
        return Err(failed(format!("{bad} of {} gateways failed", lines.len())));
    }
    Ok(())
}

/// Print `check`'s rows (a table, or JSON) and turn them into the exit code.
fn check_report(
    rows: &[crate::fleet::preflight::Row],
    gateways: usize,
    json: bool,
    strict: bool,
) -> Result<(), Failure> {
    use crate::fleet::preflight::{self, table};
    let summary = table::summary(rows, gateways);
    if json {
        let v = serde_json::json!({ "summary": summary, "rows": rows });
        println!("{v}");
    } else {
        // A terminal's width when there is one, so long reasons wrap less; 80 otherwise.
        let width = crossterm::terminal::size()
            .ok()
            .filter(|_| std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .map_or(80, |(w, _)| usize::from(w).max(60));
        let table = table::render(rows, gateways, width);
        print!("{}", crate::redact::redact(&table));
    }
    match preflight::exit_code(rows, strict) {
        0 => Ok(()),
        _ if summary.fail > 0 => Err(failed(format!(
            "check: {} of {} rows FAIL",
            summary.fail,
            rows.len()
        ))),
        _ => Err(failed(format!(
            "check: {} rows warn (--strict fails on warnings)",
            summary.warn
        ))),
    }
}

/// The operator's name: `--actor`, else the login user; sanitized (it reaches screens and hosts).
fn session_actor(global: &GlobalFlags) -> String {
    let actor = global
        .actor
        .clone()
        .or_else(login_user)
        .unwrap_or_else(|| "unknown".into());
    crate::sanitize::sanitize(&actor)
}

/// `status`, `step`, `rollback`, `drain`, `check` on the configured fleet.
fn fleet_command(
    cmd: Command,
    global: &GlobalFlags,
    config: Option<Config>,
) -> Result<(), Failure> {
    let Some(config) = config else {
        return Err(usage(
            "this command needs the fleet: cutover -c fleet.toml ...",
        ));
    };
    let actor = crate::fleet::control::Actor {
        name: session_actor(global),
        ticket: global.ticket.as_deref().map(crate::sanitize::sanitize),
        read_only: global.read_only,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failed(format!("cannot start the async runtime: {e}")))?;
    let herr = |e: crate::fleet::service::CmdError| Failure {
        code: e.code,
        message: e.message,
    };
    rt.block_on(async {
        let mut fleet = Fleet::new(config, actor).map_err(herr)?;
        // Changes are annotated in Grafana when [export] says where (never delaying them).
        let changes = matches!(
            cmd,
            Command::Step { .. } | Command::Rollback { .. } | Command::Drain { .. }
        );
        let exports = (changes && fleet.config.export.annotations()).then(|| {
            let x = crate::export::Exports::start(
                &fleet.config,
                crate::export::annotate::Reporter::Stderr,
            );
            if let Some(h) = x.hook() {
                fleet.exec.set_hook(h);
            }
            x
        });
        // A signal (Ctrl-C, kill, a dropped bastion session) lets the operations already sent
        // finish and be audited; nothing new starts.
        let interrupted = fleet.interrupted.clone();
        let handler = |k| signal(k).map_err(|e| failed(format!("cannot handle signals: {e}")));
        let (mut a, mut b, mut c) = (
            handler(SignalKind::interrupt())?,
            handler(SignalKind::terminate())?,
            handler(SignalKind::hangup())?,
        );
        tokio::spawn(async move {
            tokio::select! {
                _ = a.recv() => {}
                _ = b.recv() => {}
                _ = c.recv() => {}
            }
            interrupted.store(true, std::sync::atomic::Ordering::Relaxed);
            eprintln!("cutover: signal received: finishing the operations already sent (each bounded by the ssh timeouts), starting no more");
        });
        // Changes a killed run left without an outcome are read and recorded first.
        for line in fleet.exec.reconcile().await {
            eprintln!("cutover: audit: {}", crate::redact::redact(&crate::sanitize::sanitize(&line)));
        }
        let result = match cmd {
            Command::Status { json } => {
                let entries = headless::status(&fleet).await;
                if json {
                    let v = serde_json::json!({ "gateways": entries });
                    println!("{v}");
                } else {
                    for e in &entries {
                        let w = e.weights.map_or("-".into(), |w| w.to_string());
                        let tail = match (&e.error, &e.lock) {
                            (Some(err), _) => format!("ERROR {}", crate::redact::redact(err)),
                            (None, Some(l)) => format!("locked by {l}"),
                            (None, None) => String::new(),
                        };
                        println!(
                            "{:<12} {:<8} {:>7} {:<9} health {:<9} {tail}",
                            e.name,
                            e.az,
                            w,
                            e.phase.as_deref().unwrap_or("-"),
                            e.health
                        );
                        for g in &e.guardrails {
                            println!("{:<12}   {g}", "");
                        }
                    }
                }
                let unread: Vec<&str> = entries
                    .iter()
                    .filter(|e| e.error.is_some())
                    .map(|e| e.name.as_str())
                    .collect();
                if unread.is_empty() {
                    Ok(())
                } else {
                    Err(failed(format!(
                        "{} of {} gateways could not be read: {}",
                        unread.len(),
                        entries.len(),
                        unread.join(", ")
                    )))
                }
            }
            Command::Step {
                by,
                to,
                override_reason,
                scope,
            } => {
                let req = match (by, to) {
                    (Some(d), _) => Request::By(d),
                    (None, Some(g)) => Request::To(g),
                    (None, None) => return Err(usage("step needs --by N or --to GREEN")),
                };
                let opts = ActOptions {
                    override_reason: reason_arg(override_reason)?,
                    stop_now: false,
                };
                print_lines(
                    &headless::act(&fleet, &target(&scope), req, &opts)
                        .await
                        .map_err(herr)?,
                )
            }
            Command::Rollback {
                now,
                override_reason,
                scope,
            } => {
                let opts = ActOptions {
                    override_reason: reason_arg(override_reason)?,
                    stop_now: now,
                };
                print_lines(
                    &headless::act(&fleet, &target(&scope), Request::Rollback, &opts)
                        .await
                        .map_err(herr)?,
                )
            }
            Command::Drain { color, scope } => print_lines(
                &headless::act(
                    &fleet,
                    &target(&scope),
                    Request::Drain(Color::from(color)),
                    &ActOptions::default(),
                )
                .await
                .map_err(herr)?,
            ),
            Command::Check { json, strict } => {
                let rows = headless::check(&fleet).await;
                check_report(&rows, fleet.config.gateway.len(), json, strict)
            }
            Command::Demo(_)
            | Command::Lab(_)
            | Command::Report(_)
            | Command::Replay { .. }
            | Command::Watch => Ok(()),
        };
        // Annotations of the changes made: delivered, or spooled for the next start.
        if let Some(x) = exports {
            x.finish(crate::export::EXIT_BUDGET).await;
        }
        result
    })
}
