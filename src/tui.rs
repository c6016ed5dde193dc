//! The terminal: a guard that always restores the screen, and the render loop.

use crate::app::driver::Driver;
use crate::app::msg::Msg;
use crate::app::world::World;
use crate::model::Ms;
use crate::record::{Recorder, Tee};
use crate::session::replay::{Control, Controls};
use crossterm::event::{self, Event, KeyEventKind};
use crossterm::terminal::{
    self, BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen,
    LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// Fewest milliseconds between two frames drawn for telemetry (about 10 per second).
pub const FRAME_MS: u64 = 100;
/// How often the loop wakes when nothing happens.
pub const WAKE_MS: u64 = 50;

/// Raw mode and the alternate screen, undone on drop (and by the panic hook).
pub struct TerminalGuard {
    restored: bool,
}

impl TerminalGuard {
    /// Enter raw mode and the alternate screen.
    pub fn enter() -> io::Result<TerminalGuard> {
        TerminalGuard::enter_with(&mut io::stdout())
    }

    /// Enter raw mode, and the alternate screen through `out` (the terminal, or a `Tee`
    /// that also records it).
    pub fn enter_with(out: &mut impl Write) -> io::Result<TerminalGuard> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        let guard = TerminalGuard { restored: false };
        enter_screen(out)?;
        Ok(guard)
    }

    /// Leave the alternate screen through `out` and raw mode; the guard has nothing left to do.
    pub fn leave_with(mut self, out: &mut impl Write) {
        let _ = leave_screen(out);
        let _ = terminal::disable_raw_mode();
        self.restored = true;
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if !self.restored {
            restore();
        }
    }
}

/// The alternate screen, cleared, cursor hidden.
pub fn enter_screen(out: &mut impl Write) -> io::Result<()> {
    // Clear here rather than with Terminal::clear, which asks the terminal for the
    // cursor position: a round trip that stalls on a slow link and fails when unanswered.
    execute!(
        out,
        EnterAlternateScreen,
        cursor::Hide,
        terminal::Clear(terminal::ClearType::All)
    )
}

/// Back to the main screen with the cursor shown.
pub fn leave_screen(out: &mut impl Write) -> io::Result<()> {
    execute!(
        out,
        EndSynchronizedUpdate,
        LeaveAlternateScreen,
        cursor::Show
    )
}

/// Put the terminal back as the shell expects it; safe to call twice.
pub fn restore() {
    let mut out = io::stdout();
    let _ = leave_screen(&mut out);
    let _ = terminal::disable_raw_mode();
    let _ = out.flush();
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// The world's clock: wall time since start, times the speed.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
    origin: Ms,
    speed: f64,
}

impl Clock {
    /// A clock reading `origin` now and running `speed` times faster than the wall.
    pub fn new(origin: Ms, speed: f64) -> Clock {
        Clock {
            start: Instant::now(),
            origin,
            speed,
        }
    }

    /// The current reading.
    pub fn now(&self) -> Ms {
        self.origin + (self.start.elapsed().as_secs_f64() * 1000.0 * self.speed) as Ms
    }

    /// The wall-clock instant the clock read `origin`.
    pub fn started(&self) -> Instant {
        self.start
    }

    /// Wall microseconds after the start at which the clock read `at`.
    pub fn wall_us_at(&self, at: Ms) -> u64 {
        (at.saturating_sub(self.origin) as f64 * 1000.0 / self.speed).round() as u64
    }
}

/// Wall clock as `HH:MM:SSZ` (UTC), for the header.
pub fn utc_clock() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        % 86_400;
    format!("{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Read terminal events on a thread of their own so the loop never blocks on input.
fn spawn_input(stop: Arc<AtomicBool>) -> mpsc::Receiver<Event> {
    let (tx, rx) = mpsc::channel(256);
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(100)) {
                    Ok(true) => match event::read() {
                        Ok(ev) => {
                            if tx.blocking_send(ev).is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    },
                    Ok(false) => {}
                    Err(_) => break,
                }
            }
        })
        .expect("spawning the input thread");
    rx
}

/// Run the cockpit full-screen until the operator quits or a signal arrives; with `rec`,
/// everything written to the terminal is recorded, with a marker at every chapter.
pub async fn run<W: World>(
    driver: Driver<W>,
    clock: Clock,
    rec: Option<Recorder>,
) -> io::Result<()> {
    run_loop(driver, clock, rec, None).await
}

/// Play a recorded session full-screen: the operator's keys steer the playback only.
pub async fn run_replay<W: World>(
    driver: Driver<W>,
    controls: Controls,
    rec: Option<Recorder>,
) -> io::Result<()> {
    run_loop(driver, Clock::new(0, 1.0), rec, Some(controls)).await
}

/// Longest wait at exit for operations already sent to report their outcome: above the
/// ssh command timeout a change can take.
const FINISH_SECS: u64 = 40;

async fn run_loop<W: World>(
    mut driver: Driver<W>,
    clock: Clock,
    rec: Option<Recorder>,
    mut replay: Option<Controls>,
) -> io::Result<()> {
    let mut tee = Tee::new(io::stdout(), rec.clone());
    let guard = TerminalGuard::enter_with(&mut tee)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(tee))?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut input = spawn_input(stop.clone());
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut wake = tokio::time::interval(Duration::from_millis(WAKE_MS));
    wake.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw: Option<Instant> = None;
    let mut pending = true;
    let result = loop {
        let mut urgent = false;
        tokio::select! {
            ev = input.recv() => match ev {
                Some(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                    match replay.as_mut() {
                        // A replay never hands a key to the state: nothing can act.
                        Some(c) => {
                            let now = c.now();
                            driver.advance_to(now);
                            match c.key(&k, driver.state.now) {
                                Control::Quit => driver.state.quit = true,
                                Control::Jump(t) => driver.advance_to(t),
                                Control::Changed | Control::Ignored => {}
                            }
                        }
                        None => {
                            driver.advance_to(clock.now());
                            driver.key(k);
                        }
                    }
                    urgent = true;
                }
                Some(Event::Resize(w, h)) => {
                    if let Some(r) = &rec {
                        r.resize(w, h);
                    }
                    let now = driver.state.now;
                    driver.apply(now, Msg::Resize);
                    terminal.autoresize()?;
                    urgent = true;
                }
                Some(_) => {}
                None => break Ok(()),
            },
            _ = wake.tick() => {}
            _ = term.recv() => break Ok(()),
            _ = int.recv() => break Ok(()),
            _ = hup.recv() => break Ok(()),
        }
        let clock_text = match replay.as_mut() {
            Some(c) => {
                driver.advance_to(c.now());
                let detail = Some(c.detail(driver.state.now));
                if detail != driver.state.session.detail {
                    driver.state.session.detail = detail;
                    pending = true;
                }
                // The recording's own clock: it stops while paused.
                crate::record::drill::sim_clock(driver.state.now)
            }
            None => {
                driver.advance_to(clock.now());
                utc_clock()
            }
        };
        if clock_text != driver.state.clock {
            driver.state.clock = clock_text;
            pending = true;
        }
        if driver.state.quit {
            break Ok(());
        }
        // Markers are for the recorder; the log already has the events.
        let markers = driver.take_markers();
        if let Some(r) = &rec {
            for (at, label) in markers {
                r.marker(Some(clock.wall_us_at(at)), &label);
            }
            if let Some(e) = r.take_error() {
                tracing::error!(target: "cutover", "{e}");
                driver.state.session.recording = false;
                pending = true;
            }
        }
        pending |= driver.take_changed();
        // A key or resize is drawn at once; telemetry at most every FRAME_MS.
        let due = last_draw.is_none_or(|t| t.elapsed() >= Duration::from_millis(FRAME_MS));
        if urgent || (pending && due) {
            draw(&mut terminal, &driver, rec.as_ref())?;
            last_draw = Some(Instant::now());
            pending = false;
        }
    };
    if replay.is_none() {
        // Whatever ended the loop (q, a signal, a dropped session): nothing new starts,
        // and the operations already sent finish and are audited before the process ends.
        let fx = crate::app::update::shutdown(&mut driver.state);
        driver.run_effects(fx);
        let deadline = Instant::now() + Duration::from_secs(FINISH_SECS);
        while crate::app::update::in_flight(&driver.state) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            driver.advance_to(clock.now());
        }
    }
    stop.store(true, Ordering::Relaxed);
    // Through the backend, so the recording ends with the screen put back too.
    guard.leave_with(terminal.backend_mut());
    if let Some(r) = &rec {
        if let Err(e) = r.finish() {
            eprintln!("cutover: {e}");
        }
    }
    result
}

/// Draw one frame in synchronized-update brackets; with `rec` (the recorder of the backend's
/// `Tee`), the frame is recorded as one event.
pub fn draw<W: Write, Wd: World>(
    terminal: &mut Terminal<CrosstermBackend<Tee<W>>>,
    driver: &Driver<Wd>,
    rec: Option<&Recorder>,
) -> io::Result<()> {
    if let Some(r) = rec {
        r.begin_frame();
    }
    let res = draw_frame(terminal, driver);
    if let Some(r) = rec {
        r.end_frame();
    }
    res
}

fn draw_frame<W: Write, Wd: World>(
    terminal: &mut Terminal<CrosstermBackend<Tee<W>>>,
    driver: &Driver<Wd>,
) -> io::Result<()> {
    execute!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| crate::ui::view(f, &driver.state))?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}
