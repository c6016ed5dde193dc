//! The terminal: a guard that always restores the screen, and the render loop.

use crate::app::driver::Driver;
use crate::app::keys;
use crate::app::msg::Msg;
use crate::app::world::World;
use crate::front::clock::{Clock, FRAME_MS, WAKE_MS, utc_clock};
use crate::front::record::{Recorder, Tee};
use crate::front::session::replay::{Control, Controls};
use crate::front::ui::theme::ThemeSet;
use crate::model::Ms;
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
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// Raw mode and the alternate screen, undone on drop (and by the panic hook).
pub(crate) struct TerminalGuard {
    restored: bool,
}

impl TerminalGuard {
    /// Enter raw mode, and the alternate screen through `out` (the terminal, or a `Tee`
    /// that also records it).
    pub(crate) fn enter_with(out: &mut impl Write) -> io::Result<TerminalGuard> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        let guard = TerminalGuard { restored: false };
        enter_screen(out)?;
        Ok(guard)
    }

    /// Leave the alternate screen through `out` and raw mode; the guard has nothing left to do.
    pub(crate) fn leave_with(mut self, out: &mut impl Write) {
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
pub(crate) fn enter_screen(out: &mut impl Write) -> io::Result<()> {
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
pub(crate) fn leave_screen(out: &mut impl Write) -> io::Result<()> {
    execute!(
        out,
        EndSynchronizedUpdate,
        LeaveAlternateScreen,
        cursor::Show
    )
}

/// Put the terminal back as the shell expects it; safe to call twice.
pub(crate) fn restore() {
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

/// Where a cockpit's time comes from and where the operator's keys go: the world's clock and
/// the state ([`Clock`]), or a replay's controls ([`Replay`]). The loop asks it, never
/// whether it plays a replay.
pub(crate) trait Playback {
    /// The wall instant the recording of the screen counts from.
    fn cast_start(&self) -> Instant;
    /// Microseconds into the recording at which the cockpit's time `at` is marked.
    fn cast_us(&self, at: Ms) -> u64;
    /// Hand over one of the operator's keys.
    fn key<W: World>(&mut self, driver: &mut Driver<W>, key: keys::KeyEvent);
    /// Bring `driver` to now and its header up to date; true if the header changed.
    fn advance<W: World>(&mut self, driver: &mut Driver<W>) -> bool;
    /// Once the loop has ended: let what the session started finish.
    fn finish<W: World>(&mut self, driver: &mut Driver<W>) -> impl Future<Output = ()>;
}

/// Longest wait at exit for operations already sent to report their outcome: above the
/// ssh command timeout a change can take.
const FINISH_SECS: u64 = 40;

/// A cockpit: the world runs on this clock, the operator's keys act on the state, and the
/// header shows the wall clock.
impl Playback for Clock {
    fn cast_start(&self) -> Instant {
        self.started()
    }

    fn cast_us(&self, at: Ms) -> u64 {
        self.wall_us_at(at)
    }

    fn key<W: World>(&mut self, driver: &mut Driver<W>, key: keys::KeyEvent) {
        driver.advance_to(self.now());
        driver.key(key);
    }

    fn advance<W: World>(&mut self, driver: &mut Driver<W>) -> bool {
        driver.advance_to(self.now());
        set_clock(driver, utc_clock())
    }

    async fn finish<W: World>(&mut self, driver: &mut Driver<W>) {
        // Whatever ended the loop (q, a signal, a dropped session): nothing new starts,
        // and the operations already sent finish and are audited before the process ends.
        let fx = crate::app::update::shutdown(&mut driver.state);
        driver.run_effects(fx);
        let deadline = Instant::now() + Duration::from_secs(FINISH_SECS);
        while crate::app::update::in_flight(&driver.state) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            driver.advance_to(self.now());
        }
    }
}

/// A replay: the controls own the clock, and the operator's keys steer the playback only.
pub(crate) struct Replay {
    controls: Controls,
    /// Times the recording of the replay: wall time from its start, markers at their
    /// recorded time.
    cast: Clock,
}

impl Replay {
    /// Playback steered by `controls`; a recording of it counts from now.
    pub(crate) fn new(controls: Controls) -> Replay {
        Replay {
            controls,
            cast: Clock::new(0, 1.0),
        }
    }
}

impl Playback for Replay {
    fn cast_start(&self) -> Instant {
        self.cast.started()
    }

    fn cast_us(&self, at: Ms) -> u64 {
        self.cast.wall_us_at(at)
    }

    fn key<W: World>(&mut self, driver: &mut Driver<W>, key: keys::KeyEvent) {
        // A replay never hands a key to the state: nothing can act.
        let now = self.controls.now();
        driver.advance_to(now);
        match self.controls.key(&key, driver.state.now) {
            Control::Quit => driver.state.quit = true,
            Control::Jump(t) => driver.advance_to(t),
            Control::Changed | Control::Ignored => {}
        }
    }

    fn advance<W: World>(&mut self, driver: &mut Driver<W>) -> bool {
        driver.advance_to(self.controls.now());
        let detail = Some(self.controls.detail(driver.state.now));
        let changed = detail != driver.state.session.detail;
        if changed {
            driver.state.session.detail = detail;
        }
        // The recording's own clock: it stops while paused.
        let now = driver.state.now;
        set_clock(driver, crate::front::clock::sim_clock(now)) | changed
    }

    async fn finish<W: World>(&mut self, _driver: &mut Driver<W>) {
        // Nothing to wait for: a replay starts no operation.
    }
}

/// Show `text` as the header clock; true if it changed.
fn set_clock<W: World>(driver: &mut Driver<W>, text: String) -> bool {
    let changed = text != driver.state.clock;
    if changed {
        driver.state.clock = text;
    }
    changed
}

/// Run the cockpit full-screen until the operator quits or a signal arrives, its time and
/// keys going where `playback` says; with `rec`, everything written to the terminal is
/// recorded, with a marker at every chapter.
pub(crate) async fn run<W: World, P: Playback>(
    mut driver: Driver<W>,
    themes: ThemeSet,
    rec: Option<Recorder>,
    mut playback: P,
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
                    playback.key(&mut driver, key_event(k));
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
        pending |= playback.advance(&mut driver);
        if driver.state.quit {
            break Ok(());
        }
        // Markers are for the recorder; the log already has the events.
        let markers = driver.take_markers();
        if let Some(r) = &rec {
            for (at, label) in markers {
                r.marker(Some(playback.cast_us(at)), &label);
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
            draw(&mut terminal, &driver, &themes, rec.as_ref())?;
            last_draw = Some(Instant::now());
            pending = false;
        }
    };
    playback.finish(&mut driver).await;
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
pub(crate) fn draw<W: Write, Wd: World>(
    terminal: &mut Terminal<CrosstermBackend<Tee<W>>>,
    driver: &Driver<Wd>,
    themes: &ThemeSet,
    rec: Option<&Recorder>,
) -> io::Result<()> {
    if let Some(r) = rec {
        r.begin_frame();
    }
    let res = draw_frame(terminal, driver, themes);
    if let Some(r) = rec {
        r.end_frame();
    }
    res
}

fn draw_frame<W: Write, Wd: World>(
    terminal: &mut Terminal<CrosstermBackend<Tee<W>>>,
    driver: &Driver<Wd>,
    themes: &ThemeSet,
) -> io::Result<()> {
    execute!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| crate::front::ui::view(f, &driver.state, themes))?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}

/// The core's view of a terminal key event.
pub(crate) fn key_event(k: event::KeyEvent) -> keys::KeyEvent {
    use event::{KeyCode as C, KeyModifiers as M};
    use keys::KeyCode as K;
    let code = match k.code {
        C::Char(c) => K::Char(c),
        C::F(n) => K::F(n),
        C::Esc => K::Esc,
        C::Enter => K::Enter,
        C::Tab => K::Tab,
        C::BackTab => K::BackTab,
        C::Backspace => K::Backspace,
        C::Delete => K::Delete,
        C::Insert => K::Insert,
        C::Up => K::Up,
        C::Down => K::Down,
        C::Left => K::Left,
        C::Right => K::Right,
        C::Home => K::Home,
        C::End => K::End,
        C::PageUp => K::PageUp,
        C::PageDown => K::PageDown,
        _ => K::Other,
    };
    let mut mods = keys::KeyModifiers::NONE;
    for (theirs, ours) in [
        (M::SHIFT, keys::KeyModifiers::SHIFT),
        (M::CONTROL, keys::KeyModifiers::CONTROL),
        (M::ALT, keys::KeyModifiers::ALT),
        (M::SUPER | M::HYPER | M::META, keys::KeyModifiers::SUPER),
    ] {
        if k.modifiers.intersects(theirs) {
            mods |= ours;
        }
    }
    let kind = match k.kind {
        event::KeyEventKind::Press => keys::KeyEventKind::Press,
        event::KeyEventKind::Repeat => keys::KeyEventKind::Repeat,
        event::KeyEventKind::Release => keys::KeyEventKind::Release,
    };
    keys::KeyEvent {
        code,
        modifiers: mods,
        kind,
    }
}

/// A log sink that writes the cockpit's log lines as `tracing` events, where the log panel
/// (tui-logger) and the stderr logger of the headless commands read them.
pub(crate) fn tracing_sink() -> crate::app::driver::LogSink {
    Box::new(|_, line| emit(line))
}

/// One log line as a `tracing` event (its target must be a constant, hence the match).
pub(crate) fn emit(line: &crate::app::msg::LogLine) {
    use crate::app::msg::{LogLevel as L, LogTarget as T};
    macro_rules! at {
        ($target:literal) => {
            match line.level {
                L::Error => tracing::error!(target: $target, "{}", line.text),
                L::Warn => tracing::warn!(target: $target, "{}", line.text),
                L::Info => tracing::info!(target: $target, "{}", line.text),
            }
        };
    }
    match line.target {
        T::Cockpit => at!("cutover"),
        T::Guard => at!("cutover::guard"),
        T::Ops => at!("cutover::ops"),
        T::Collect => at!("cutover::collect"),
        T::Scenario => at!("cutover::scenario"),
        T::Plan => at!("cutover::plan"),
    }
}

/// A log sink that stamps each line with its session time (`HH:MM:SS` from the session's
/// start) for the log panel's simulated-time layout: a replay's log reads the recorded
/// clock, not the second it was played back in.
pub fn session_clock_sink() -> crate::app::driver::LogSink {
    Box::new(emit_at)
}

/// One log line stamped with session time `at` (see [`session_clock_sink`]).
pub fn emit_at(at: Ms, line: &crate::app::msg::LogLine) {
    let _span = tracing::info_span!("sim", message = %crate::front::clock::hms(at)).entered();
    emit(line);
}
