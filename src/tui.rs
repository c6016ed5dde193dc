//! The terminal: a guard that always restores the screen, and the render loop.

use crate::app::driver::Driver;
use crate::app::msg::Msg;
use crate::app::world::World;
use crate::model::Ms;
use crossterm::event::{self, Event, KeyEventKind};
use crossterm::terminal::{
    self, BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen,
    LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// Fewest milliseconds between two frames drawn for telemetry (about 10 per second).
const FRAME_MS: u64 = 100;
/// How often the loop wakes when nothing happens.
const WAKE_MS: u64 = 50;

/// Raw mode and the alternate screen, undone on drop (and by the panic hook).
pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    /// Enter raw mode and the alternate screen.
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        let guard = TerminalGuard { _private: () };
        // Clear here rather than with Terminal::clear, which asks the terminal for the
        // cursor position: a round trip that stalls on a slow link and fails when unanswered.
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            cursor::Hide,
            terminal::Clear(terminal::ClearType::All)
        )?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Put the terminal back as the shell expects it; safe to call twice.
pub fn restore() {
    let mut out = io::stdout();
    let _ = execute!(
        out,
        EndSynchronizedUpdate,
        LeaveAlternateScreen,
        cursor::Show
    );
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

/// Run the cockpit full-screen until the operator quits or a signal arrives.
pub async fn run<W: World>(mut driver: Driver<W>, clock: Clock) -> io::Result<()> {
    let _guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
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
                    driver.advance_to(clock.now());
                    driver.key(k);
                    urgent = true;
                }
                Some(Event::Resize(_, _)) => {
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
        driver.advance_to(clock.now());
        let clock_text = utc_clock();
        if clock_text != driver.state.clock {
            driver.state.clock = clock_text;
            pending = true;
        }
        if driver.state.quit {
            break Ok(());
        }
        // Markers are for the recorder; the log already has the events.
        driver.take_markers();
        pending |= driver.take_changed();
        // A key or resize is drawn at once; telemetry at most every FRAME_MS.
        let due = last_draw.is_none_or(|t| t.elapsed() >= Duration::from_millis(FRAME_MS));
        if urgent || (pending && due) {
            draw(&mut terminal, &driver)?;
            last_draw = Some(Instant::now());
            pending = false;
        }
    };
    stop.store(true, Ordering::Relaxed);
    result
}

fn draw<W: World>(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    driver: &Driver<W>,
) -> io::Result<()> {
    execute!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| crate::ui::view(f, &driver.state))?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}
