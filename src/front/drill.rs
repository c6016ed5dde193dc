//! Headless recordings of the demo (`cutover demo --record F.cast --for SECS`): a scenario
//! played on simulated time, its scripted keys pressed at their moments, frames drawn by the
//! same view through the same backend and `Tee` at the live loop's cadence. No terminal and
//! no wall clock reach the cast, so the same seed makes the same events.

use crate::app::driver::Driver;
use crate::app::keys::KeyEvent;
use crate::app::world::World;
use crate::front::clock::{FRAME_MS, WAKE_MS, hms, sim_clock};
use crate::front::record::Recorder;
use crate::front::record::Tee;
use crate::front::tui;
use crate::front::ui::theme::ThemeSet;
use crate::model::Ms;
use crate::sim::scenario::ScriptedKeys;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::io;

/// Granularity of the log's simulated timestamps: the driver's own slice.
const LOG_SLICE_MS: Ms = 100;

/// What to record and how.
#[derive(Debug, Clone)]
pub(crate) struct Drill {
    /// Simulated seconds per second of the cast (the scenario's demo speed, so the cast
    /// plays like the cockpit a trainee would see).
    pub(crate) speed: f64,
    /// Simulated time at which the recording stops, ms.
    pub(crate) until: Ms,
    /// Screen columns.
    pub(crate) width: u16,
    /// Screen rows.
    pub(crate) height: u16,
    /// Keys pressed on the way, in time order.
    pub(crate) keys: Vec<ScriptedKeys>,
}

/// Simulated ms of a scenario time in seconds.
fn ms(secs: f64) -> Ms {
    (secs * 1000.0).round() as Ms
}

/// Play `driver` until `drill.until` and record every frame into `rec`.
pub(crate) fn record<W: World>(
    driver: &mut Driver<W>,
    themes: &ThemeSet,
    drill: &Drill,
    rec: &Recorder,
) -> io::Result<()> {
    let speed = drill.speed;
    let cast_us = |at: Ms| (at as f64 * 1000.0 / speed).round() as u64;
    let mut tee = Tee::new(io::sink(), Some(rec.clone()));
    rec.set_time_us(0);
    tui::enter_screen(&mut tee)?;
    // A fixed viewport: the size is the drill's, never asked of a terminal.
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(tee),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, drill.width, drill.height)),
        },
    )?;
    let mut keys = drill.keys.iter().peekable();
    let mut last_draw: Option<Ms> = None;
    let mut pending = true;
    let mut wall: Ms = 0;
    loop {
        let now = (wall as f64 * speed).round() as Ms;
        // Keys due by now, each at its own moment and drawn at once, as the live loop does.
        while let Some(k) = keys.next_if(|k| ms(k.at_secs) <= now) {
            let at = ms(k.at_secs).max(driver.state.now);
            advance(driver, at);
            log_keys(driver.state.now, k);
            for key in &k.press {
                press(driver, KeyEvent::new(key.code, key.mods));
                frame(&mut terminal, driver, themes, rec, cast_us)?;
                last_draw = Some((at as f64 / speed) as Ms);
                pending = false;
            }
        }
        advance(driver, now);
        let clock = sim_clock(driver.state.now);
        if clock != driver.state.clock {
            driver.state.clock = clock;
            pending = true;
        }
        if driver.state.quit {
            break;
        }
        pending |= driver.take_changed() | markers(driver, rec, cast_us);
        let due = last_draw.is_none_or(|t| wall >= t + FRAME_MS);
        if pending && due {
            frame(&mut terminal, driver, themes, rec, cast_us)?;
            last_draw = Some(wall);
            pending = false;
        }
        if now >= drill.until {
            break;
        }
        wall += WAKE_MS;
    }
    rec.set_time_us(cast_us(driver.state.now));
    tui::leave_screen(terminal.backend_mut())?;
    rec.finish().map_err(io::Error::other)
}

/// Move the world to `until` in slices, logging under each slice's simulated time.
fn advance<W: World>(driver: &mut Driver<W>, until: Ms) {
    while driver.state.now < until {
        let t = (driver.state.now + LOG_SLICE_MS).min(until);
        // The log layer prefixes a span's `message` to every event inside it: the log
        // panel shows this time instead of the wall clock (`ui::use_simulated_times`).
        let _span = tracing::info_span!("sim", message = %hms(t)).entered();
        driver.advance_to(t);
    }
}

fn press<W: World>(driver: &mut Driver<W>, key: KeyEvent) {
    let _span = tracing::info_span!("sim", message = %hms(driver.state.now)).entered();
    driver.key(key);
}

/// Log `text` at simulated time `at`, as the recording's log panel shows it.
pub(crate) fn log_line(at: Ms, text: &str) {
    let _span = tracing::info_span!("sim", message = %hms(at)).entered();
    tracing::info!(target: "cutover", "{text}");
}

/// Say in the log which keys the script pressed: a trainee watching sees why things happen.
fn log_keys(at: Ms, k: &ScriptedKeys) {
    let _span = tracing::info_span!("sim", message = %hms(at)).entered();
    let names: Vec<String> = k.press.iter().map(ToString::to_string).collect();
    match &k.note {
        Some(note) => {
            tracing::info!(target: "cutover::drill", "keys {}: {note}", names.join(" "));
        }
        None => tracing::info!(target: "cutover::drill", "keys {}", names.join(" ")),
    }
}

/// Record the driver's new markers at their simulated time; true if there were any.
fn markers<W: World>(driver: &mut Driver<W>, rec: &Recorder, cast_us: impl Fn(Ms) -> u64) -> bool {
    let list = driver.take_markers();
    for (at, label) in &list {
        rec.marker(Some(cast_us(*at)), label);
    }
    !list.is_empty()
}

/// Draw one frame at the driver's time.
fn frame<W: World>(
    terminal: &mut Terminal<CrosstermBackend<Tee<io::Sink>>>,
    driver: &mut Driver<W>,
    themes: &ThemeSet,
    rec: &Recorder,
    cast_us: impl Fn(Ms) -> u64 + Copy,
) -> io::Result<()> {
    markers(driver, rec, cast_us);
    driver.state.clock = sim_clock(driver.state.now);
    // Log records wait in the logger's hot buffer; move them now so every frame shows
    // exactly what was logged before it, whatever the threads do.
    tui_logger::move_events();
    rec.set_time_us(cast_us(driver.state.now));
    tui::draw(terminal, driver, themes, Some(rec))?;
    driver.take_changed();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::{Key, KeyMap};
    use crate::front::record::cast::{CastClock, Header};
    use crate::front::record::redact::Redactor;
    use crate::front::record::validate::validate;
    use crate::front::ui::theme::ThemeSet;
    use crate::guard::GuardConfig;
    use crate::sim::{self, Scenario};
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A happy-path cast; seed 3 has no small-sample alarms in the first minutes.
    fn cast(seed: u64, secs: f64, keys: Vec<ScriptedKeys>) -> String {
        let scenario = Scenario::find("happy-path").unwrap();
        let mut d = sim::demo(
            scenario,
            seed,
            GuardConfig::default(),
            KeyMap::default(),
            ThemeSet::builtin().owned_names(),
        );
        let out = Shared::default();
        let header = Header {
            width: 100,
            height: 30,
            timestamp: 0,
            title: "t".into(),
            term: None,
            shell: None,
        };
        let rec = Recorder::new(
            Box::new(out.clone()),
            &header,
            Redactor::default(),
            CastClock::Manual,
        )
        .unwrap();
        let drill = Drill {
            speed: 2.0,
            until: ms(secs),
            width: 100,
            height: 30,
            keys,
        };
        record(&mut d, &ThemeSet::builtin(), &drill, &rec).unwrap();
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn frames_follow_simulated_time_at_the_live_cadence() {
        let text = cast(3, 10.0, Vec::new());
        let s = validate(&text).unwrap();
        // 10 simulated seconds at speed 2: 5 s of cast, a frame at most every 100 ms.
        assert!((s.duration - 5.0).abs() < 1e-9, "{}", s.duration);
        assert!(s.output_events <= 5 * 10 + 3, "{}", s.output_events);
        assert!(s.output_events >= 20, "{}", s.output_events);
        // Only changed cells are sent after the first frame: the whole clock shows once.
        assert!(
            s.output.contains("T+00:00:00"),
            "the simulated clock is drawn"
        );
        assert!(
            s.output.starts_with("\u{1b}[?1049h"),
            "enters the alternate screen"
        );
        assert!(
            s.output.ends_with("\u{1b}[?1049l\u{1b}[?25h"),
            "and leaves it"
        );
    }

    #[test]
    fn scripted_keys_step_and_mark_the_cast() {
        let text = cast(3, 26.0, s_keys());
        let s = validate(&text).unwrap();
        assert_eq!(s.markers.len(), 1, "{:?}", s.markers);
        assert_eq!(s.markers[0].0, 11.0, "at 22 simulated seconds, speed 2");
        assert_eq!(s.markers[0].1, "step green +10 on gw-a1");
        assert_eq!(text, cast(3, 26.0, s_keys()), "deterministic for a seed");
    }

    /// `]` at 22 simulated seconds: once the TTFT guardrail has its 20 samples.
    fn s_keys() -> Vec<ScriptedKeys> {
        vec![ScriptedKeys {
            at_secs: 22.0,
            press: vec![Key::parse("]").unwrap()],
            note: None,
        }]
    }

    #[test]
    fn the_simulated_clock_reads_from_the_start() {
        assert_eq!(sim_clock(0), "T+00:00:00");
        assert_eq!(sim_clock(3_723_999), "T+01:02:03");
    }
}
