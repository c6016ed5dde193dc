//! What each command does, with exit codes: 0 success, 1 failure, 2 bad usage or configuration.

use crate::app::driver::Driver;
use crate::app::keymap::KeyMap;
use crate::app::state::Session;
use crate::cli::{Cli, ColorVerb, Command, DemoArgs, GlobalFlags, LabCommand, ScopeArgs, SshdVerb};
use crate::commands::cockpit::{Cockpit, Settings, dress, init_logging_simulated, settings};
use crate::commands::error::CommandError;
use crate::commands::headless::{self, ActOptions, Request};
use crate::commands::{runtime, session_actor};
use crate::config::Config;
use crate::fleet::service::{Fleet, Target};
use crate::front::clock::Clock;
use crate::front::drill::{self, Drill};
use crate::front::record::{CastClock, Header, Recorder, Redactor};
use crate::front::session::replay::Controls;
use crate::front::tui::Replay;
use crate::guard::GuardConfig;
use crate::lab;
use crate::model::Color;
use crate::sim::{self, Scenario, scenario::DEFAULT_SCENARIO};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::signal::unix::{SignalKind, signal};

/// Run the parsed command line and return the process exit code.
pub fn main(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cutover: {}", crate::redact::redact(&e.message));
            e.exit.into()
        }
    }
}

fn dispatch(cli: Cli) -> Result<(), CommandError> {
    let config = match &cli.config {
        Some(path) => Some(Config::load(path).map_err(|e| CommandError::usage(e.to_string()))?),
        None => None,
    };
    if let Some(c) = &config {
        // Before anything is written or printed: every writer masks the fleet's secrets.
        crate::redact::install(Redactor::for_config(c));
    }
    let cockpit = matches!(cli.command, None | Some(Command::Demo(_)));
    let screen = cockpit || matches!(cli.command, Some(Command::Replay { .. }));
    if let (Some(path), false) = (&cli.global.record, screen) {
        return Err(CommandError::usage(format!(
            "--record {}: only the cockpit records (cutover demo, cutover -c fleet.toml, cutover replay)",
            path.display()
        )));
    }
    if let (Some(path), false) = (&cli.global.session, cockpit) {
        return Err(CommandError::usage(format!(
            "--session {}: only the cockpit writes session logs (cutover demo, or cutover -c fleet.toml)",
            path.display()
        )));
    }
    match cli.command {
        Some(Command::Demo(args)) => demo(&args, &cli.global, config.as_ref()),
        Some(Command::Replay { file, speed }) => replay(&file, speed, &cli.global, config.as_ref()),
        Some(Command::Lab(args)) => lab(args.command),
        Some(Command::Report(args)) => crate::commands::report::command(&args, config.as_ref()),
        Some(
            cmd @ (Command::Status { .. }
            | Command::Step { .. }
            | Command::Rollback { .. }
            | Command::Drain { .. }
            | Command::Start { .. }
            | Command::Restart { .. }
            | Command::Check { .. }),
        ) => fleet_command(cmd, &cli.global, config),
        Some(Command::Watch) => crate::commands::watch::run(config, session_actor(&cli.global)),
        Some(Command::Digest {
            window,
            once,
            webhook,
            spool,
            json,
            fleet,
        }) => {
            let ms = crate::ramp::parse_duration(&window)
                .map_err(|e| CommandError::usage(format!("digest --window {window}: {e}")))?;
            let args = crate::commands::digest::DigestArgs {
                window: std::time::Duration::from_millis(ms),
                once,
                webhook,
                spool,
                json,
                fleet,
            };
            crate::commands::digest::run(config, session_actor(&cli.global), args)
        }
        Some(Command::Ramp {
            plan,
            dry_run,
            json,
            candidate,
            scope,
        }) => {
            let Some(config) = config else {
                return Err(CommandError::usage(
                    "ramp needs the fleet: cutover -c fleet.toml ramp PLAN.toml --all",
                ));
            };
            let actor = crate::fleet::control::Actor {
                name: session_actor(&cli.global),
                ticket: cli.global.ticket.as_deref().map(crate::sanitize::sanitize),
                read_only: cli.global.read_only,
            };
            let args = crate::commands::ramp::RampArgs {
                plan: &plan,
                target: target(&scope),
                dry_run,
                json,
                candidate: candidate.map(Color::from),
            };
            runtime("the async runtime")?.block_on(crate::commands::ramp::run(config, actor, args))
        }
        None if config.is_none() => Err(CommandError::usage(
            "no fleet given: run `cutover -c fleet.toml` for a real fleet, or `cutover demo` for the simulated one",
        )),
        None => live(&cli.global, config, cli.config.as_deref()),
    }
}

fn list_scenarios() {
    for s in Scenario::builtin() {
        println!("{:<24} x{:<5} {}", s.name, s.speed, s.description);
    }
}

fn demo(
    args: &DemoArgs,
    global: &GlobalFlags,
    config: Option<&Config>,
) -> Result<(), CommandError> {
    if args.list_scenarios {
        list_scenarios();
        return Ok(());
    }
    let mut scenario = Scenario::find(args.scenario.as_deref().unwrap_or(DEFAULT_SCENARIO))
        .map_err(CommandError::usage)?;
    if let Some(demo) = config.map(|c| &c.demo) {
        if let Some(azs) = &demo.azs {
            scenario.fleet.azs = azs.clone();
        }
        if let Some(n) = demo.gateways_per_az {
            scenario.fleet.gateways_per_az = n;
        }
        scenario.validate().map_err(|e| {
            CommandError::usage(format!(
                "[demo] does not fit scenario {}: {e}",
                scenario.name
            ))
        })?;
    }
    let speed = args.speed.unwrap_or(scenario.speed);
    if !(speed > 0.0 && speed <= 1000.0) {
        return Err(CommandError::usage(format!(
            "--speed {speed}: must be above 0 and at most 1000"
        )));
    }
    let s = settings(global, config)?;
    if let Some(secs) = args.for_secs {
        return demo_headless(args, secs, speed, global, config, scenario, s);
    }
    if args.size.is_some() {
        return Err(CommandError::usage(
            "--size is for --for recordings; the cockpit takes the terminal's size",
        ));
    }
    let title = format!("cutover demo {} seed {}", scenario.name, args.seed);
    let cockpit = Cockpit::open(global, config, title, s.look, Clock::new(0, speed))?
        .session_log("demo", global.session.clone());
    let names = cockpit.theme_names();
    let driver = demo_driver(args, speed, scenario, s.guard, s.keymap, names, s.session);
    cockpit.launch(driver, || {
        tracing::info!(target: "cutover", "demo started; ? for help");
        if let Some(path) = &global.session {
            tracing::info!(target: "cutover", "session log: {}", path.display());
        }
    })
}

/// The simulated fleet of `scenario`, its session detailed with scenario, speed and seed.
fn demo_driver(
    args: &DemoArgs,
    speed: f64,
    scenario: Scenario,
    guard: GuardConfig,
    keymap: KeyMap,
    themes: Vec<String>,
    session: Session,
) -> Driver<sim::SimFleet> {
    let detail = format!("{} x{speed} seed {}", scenario.name, args.seed);
    let mut driver = sim::demo(scenario, args.seed, guard, keymap, themes);
    driver.state.session = Session {
        detail: Some(detail),
        ..session
    };
    driver
}

/// `cutover demo --for SECS --record F.cast`: the scenario on simulated time into a cast,
/// with no terminal; the same seed gives the same events. Not a `Cockpit`: no terminal to
/// check, a cast of a fixed size on a manual clock, and no runtime.
fn demo_headless(
    args: &DemoArgs,
    secs: f64,
    speed: f64,
    global: &GlobalFlags,
    config: Option<&Config>,
    scenario: Scenario,
    s: Settings,
) -> Result<(), CommandError> {
    let Some(path) = &global.record else {
        return Err(CommandError::usage(
            "--for plays the demo without a terminal into a recording: add --record FILE.cast",
        ));
    };
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err(CommandError::usage(format!(
            "--for {secs}: must be above 0 and at most 3600 seconds"
        )));
    }
    let (width, height) = args.size.unwrap_or((120, 40));
    let title = format!("cutover demo {} seed {}", scenario.name, args.seed);
    let redactor = config.map(Redactor::for_config).unwrap_or_default();
    let header = Header::from_env(width, height, title);
    let rec = Recorder::create(path, &header, redactor, CastClock::Manual)
        .map_err(CommandError::failed)?;
    let plan = Drill {
        speed,
        until: (secs * 1000.0).round() as crate::model::Ms,
        width,
        height,
        keys: scenario.keys.clone(),
    };
    // The scripted keys are written for the default bindings, whatever [keys] says.
    let names = s.look.themes.owned_names();
    let mut driver = demo_driver(
        args,
        speed,
        scenario,
        s.guard,
        KeyMap::default(),
        names,
        s.session,
    );
    let log = global.session.as_deref().map(|p| ("demo", p));
    dress(&mut driver, s.look.theme, true, log)?;
    init_logging_simulated();
    drill::log_line(0, "demo started; ? for help");
    drill::record(&mut driver, &s.look.themes, &plan, &rec)
        .map_err(|e| CommandError::failed(format!("--record {}: {e}", path.display())))
}

/// The cockpit on the configured fleet.
fn live(
    global: &GlobalFlags,
    config: Option<Config>,
    path: Option<&Path>,
) -> Result<(), CommandError> {
    let Some(mut config) = config else {
        return Err(CommandError::usage("no fleet given"));
    };
    // The fleet table groups by AZ, in the order AZs first appear in the file.
    let azs: Vec<String> = config.gateway.iter().map(|g| g.az.clone()).collect();
    config
        .gateway
        .sort_by_key(|g| azs.iter().position(|a| *a == g.az).unwrap_or(usize::MAX));
    let s = settings(global, Some(&config))?;
    let title = format!(
        "cutover live {}",
        path.map_or("fleet".into(), |p| p.display().to_string())
    );
    let session_path = match (&global.session, global.no_session_log) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => None,
        (None, false) => Some(
            config
                .audit_log_path()
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
                .join(crate::front::session::default_file_name()),
        ),
    };
    let cockpit = Cockpit::open(global, Some(&config), title, s.look, Clock::new(0, 1.0))?
        .session_log("live", session_path.clone());
    let actor = crate::fleet::control::Actor {
        name: s.session.actor.clone(),
        ticket: s.session.ticket.clone(),
        read_only: s.session.read_only,
    };
    runtime("the runtime")?.block_on(async move {
        let mut fleet = Fleet::new(config, actor)?;
        let mut exports = crate::export::Exports::start(
            &fleet.config,
            crate::export::annotate::Reporter::Tracing,
        );
        if let Some(h) = exports.hook() {
            fleet.exec.set_hook(h);
        }
        // Changes a killed run left without an outcome are read and recorded first.
        let reconciled = fleet.exec.reconcile().await;
        let names = cockpit.theme_names();
        let mut driver = crate::fleet::live::driver(fleet, s.guard, s.keymap, names);
        exports.observe(&mut driver);
        driver.state.session = s.session;
        cockpit.dress(&mut driver)?;
        let ran = cockpit.run(driver, || {
            tracing::info!(target: "cutover", "live cockpit started; ? for help");
            for line in &reconciled {
                tracing::warn!(target: "cutover::ops", "audit: {line}");
            }
            if let Some(p) = &session_path {
                tracing::info!(target: "cutover", "session log: {} (cutover replay FILE plays it)", p.display());
            }
            // The cockpit comes first: a metrics port that is taken (a `watch` service) is
            // said in the log, not fatal.
            match exports.serve() {
                Ok(Some(addr)) => tracing::info!(target: "cutover::export", "metrics: http://{addr}/metrics"),
                Ok(None) => {}
                Err(e) => tracing::warn!(target: "cutover::export", "{e}; metrics are not served by this cockpit"),
            }
        })
        .await;
        exports.finish(crate::export::EXIT_BUDGET).await;
        ran
    })
}

/// `cutover replay FILE`: a session log played in a read-only cockpit.
fn replay(
    file: &Path,
    speed: f64,
    global: &GlobalFlags,
    config: Option<&Config>,
) -> Result<(), CommandError> {
    let (lo, hi) = crate::front::session::replay::SPEED_BOUNDS;
    if !(lo..=hi).contains(&speed) {
        return Err(CommandError::usage(format!(
            "--speed {speed}: must be from {lo} to {hi}"
        )));
    }
    // A bad file is bad input: said on a normal terminal, before the screen is taken.
    let session = crate::front::session::load(file).map_err(CommandError::usage)?;
    let s = settings(global, config)?;
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let title = format!("cutover replay {name}");
    let controls = Controls::new(&session, name, speed);
    let cockpit =
        Cockpit::open(global, config, title, s.look, Replay::new(controls))?.with_session_clock();
    // The recorded session's actor and read-only flag, not this operator's.
    let driver = crate::front::session::replay::driver(&session, s.keymap, cockpit.theme_names());
    let greeting = format!(
        "replay of a {} session started {} by {}: space pauses, + and - change speed, n jumps to the next marker, q quits",
        crate::sanitize::sanitize(&session.header.mode),
        crate::sanitize::sanitize(&session.header.started),
        crate::sanitize::sanitize(&session.header.actor)
    );
    cockpit.launch(driver, || {
        // Through the same path as the session's own lines, so it carries the session clock.
        crate::front::tui::emit_at(
            0,
            &crate::app::msg::LogLine {
                level: crate::app::msg::LogLevel::Info,
                target: crate::app::msg::LogTarget::Cockpit,
                text: greeting,
            },
        );
    })
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
    CommandError,
> {
    let (layout, state) = lab::color::load(dir).map_err(CommandError::failed)?;
    let host = state.host(gateway).map_err(CommandError::usage)?.clone();
    Ok((layout, state, host))
}

/// `cutover lab ...`.
fn lab(cmd: LabCommand) -> Result<(), CommandError> {
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
            .map_err(CommandError::failed)?;
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
            lab::color::serve(&layout, &state, &host, Color::from(color))
                .map_err(CommandError::failed)
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
fn reason_arg(reason: Option<String>) -> Result<Option<String>, CommandError> {
    match reason {
        Some(r) if r.trim().is_empty() => Err(CommandError::usage(
            "--override needs a reason (it goes into the audit log), e.g. --override \"probe path broken, checked by hand\"",
        )),
        Some(r) => Ok(Some(crate::sanitize::sanitize(r.trim()))),
        None => Ok(None),
    }
}

fn print_lines(lines: &[headless::Line]) -> Result<(), CommandError> {
    for l in lines {
        println!("{:<12} {}", l.gateway, crate::redact::redact(&l.text));
    }
    let bad = lines.iter().filter(|l| l.failed).count();
    if bad > 0 {
        return Err(CommandError::failed(format!(
            "{bad} of {} gateways failed",
            lines.len()
        )));
    }
    Ok(())
}

/// Print `check`'s rows (a table, or JSON) and turn them into the exit code.
fn check_report(
    rows: &[crate::fleet::preflight::Row],
    gateways: usize,
    json: bool,
    strict: bool,
) -> Result<(), CommandError> {
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
        _ if summary.fail > 0 => Err(CommandError::failed(format!(
            "check: {} of {} rows FAIL",
            summary.fail,
            rows.len()
        ))),
        _ => Err(CommandError::failed(format!(
            "check: {} rows warn (--strict fails on warnings)",
            summary.warn
        ))),
    }
}

/// `status`, `step`, `rollback`, `drain`, `check` on the configured fleet.
fn fleet_command(
    cmd: Command,
    global: &GlobalFlags,
    config: Option<Config>,
) -> Result<(), CommandError> {
    let Some(config) = config else {
        return Err(CommandError::usage(
            "this command needs the fleet: cutover -c fleet.toml ...",
        ));
    };
    let actor = crate::fleet::control::Actor {
        name: session_actor(global),
        ticket: global.ticket.as_deref().map(crate::sanitize::sanitize),
        read_only: global.read_only,
    };
    runtime("the async runtime")?.block_on(async {
        let mut fleet = Fleet::new(config, actor)?;
        // Changes are annotated in Grafana when [export] says where (never delaying them).
        let changes = matches!(
            cmd,
            Command::Step { .. }
                | Command::Rollback { .. }
                | Command::Drain { .. }
                | Command::Start { .. }
                | Command::Restart { .. }
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
        stop_on_signal(fleet.interrupted.clone())?;
        // Changes a killed run left without an outcome are read and recorded first.
        for line in fleet.exec.reconcile().await {
            eprintln!(
                "cutover: audit: {}",
                crate::redact::redact(&crate::sanitize::sanitize(&line))
            );
        }
        let result = match cmd {
            Command::Status { json } => print_status(&headless::status(&fleet).await, json),
            Command::Step {
                by,
                to,
                candidate,
                override_reason,
                scope,
            } => {
                let req = match (by, to) {
                    (Some(d), _) => Request::By(d),
                    (None, Some(g)) => Request::To(g),
                    (None, None) => {
                        return Err(CommandError::usage("step needs --by N or --to WEIGHT"));
                    }
                };
                let opts = ActOptions {
                    override_reason: reason_arg(override_reason)?,
                    stop_now: false,
                    candidate: candidate.map(Color::from),
                };
                print_lines(&headless::act(&fleet, &target(&scope), req, &opts).await?)
            }
            Command::Rollback {
                now,
                candidate,
                override_reason,
                scope,
            } => {
                let opts = ActOptions {
                    override_reason: reason_arg(override_reason)?,
                    stop_now: now,
                    candidate: candidate.map(Color::from),
                };
                print_lines(
                    &headless::act(&fleet, &target(&scope), Request::Rollback, &opts).await?,
                )
            }
            Command::Drain { color, scope } => print_lines(
                &headless::act(
                    &fleet,
                    &target(&scope),
                    Request::Drain(Color::from(color)),
                    &ActOptions::default(),
                )
                .await?,
            ),
            Command::Start { color, scope } => print_lines(
                &headless::act(
                    &fleet,
                    &target(&scope),
                    Request::Start(Color::from(color)),
                    &ActOptions::default(),
                )
                .await?,
            ),
            Command::Restart { color, scope } => print_lines(
                &headless::act(
                    &fleet,
                    &target(&scope),
                    Request::Restart(Color::from(color)),
                    &ActOptions::default(),
                )
                .await?,
            ),
            Command::Check { json, strict } => {
                let rows = headless::check(&fleet).await;
                check_report(&rows, fleet.config.gateway.len(), json, strict)
            }
            Command::Demo(_)
            | Command::Lab(_)
            | Command::Report(_)
            | Command::Replay { .. }
            | Command::Ramp { .. }
            | Command::Watch
            | Command::Digest { .. } => Ok(()),
        };
        // Annotations of the changes made: delivered, or spooled for the next start.
        if let Some(x) = exports {
            x.finish(crate::export::EXIT_BUDGET).await;
        }
        result
    })
}

/// A signal (Ctrl-C, kill, a dropped bastion session) sets `interrupted`, so the operations
/// already sent finish and are audited and nothing new starts.
fn stop_on_signal(interrupted: Arc<AtomicBool>) -> Result<(), CommandError> {
    let handler =
        |k| signal(k).map_err(|e| CommandError::failed(format!("cannot handle signals: {e}")));
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
        interrupted.store(true, Ordering::Relaxed);
        eprintln!(
            "cutover: signal received: finishing the operations already sent (each bounded by the ssh timeouts), starting no more"
        );
    });
    Ok(())
}

/// Print `status`'s entries (a table, or JSON); gateways that could not be read fail it.
fn print_status(entries: &[headless::StatusEntry], json: bool) -> Result<(), CommandError> {
    if json {
        let v = serde_json::json!({ "gateways": entries });
        println!("{v}");
    } else {
        for e in entries {
            let w = e.weights.map_or("-".into(), |w| w.to_string());
            let tail = match (&e.error, &e.lock) {
                (Some(err), _) => format!("ERROR {}", crate::redact::redact(err)),
                (None, Some(l)) => format!("locked by {l}"),
                (None, None) => String::new(),
            };
            let color = |s: &headless::ColorStatus| match (s.running, &s.version) {
                (Some(false), _) => "stopped".to_string(),
                (_, Some(v)) => v.clone(),
                (Some(true), None) => "?".to_string(),
                (None, None) => "-".to_string(),
            };
            println!(
                "{:<12} {:<8} {:>7} {:<9} candidate {:<5} health {:<9} b {:<9} g {:<9} {tail}",
                e.name,
                e.az,
                w,
                e.phase.as_deref().unwrap_or("-"),
                e.candidate,
                e.health,
                color(&e.colors.blue),
                color(&e.colors.green)
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
        Err(CommandError::failed(format!(
            "{} of {} gateways could not be read: {}",
            unread.len(),
            entries.len(),
            unread.join(", ")
        )))
    }
}
