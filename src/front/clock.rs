//! Clocks of the front end: the world clock a cockpit runs on, the header clocks, and the
//! frame cadence every loop (the terminal and the headless recorder) draws at.

use crate::model::Ms;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Fewest milliseconds between two frames drawn for telemetry (about 10 per second).
pub(crate) const FRAME_MS: u64 = 100;
/// How often the loop wakes when nothing happens.
pub(crate) const WAKE_MS: u64 = 50;

/// The world's clock: wall time since start, times the speed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: Instant,
    origin: Ms,
    speed: f64,
}

impl Clock {
    /// A clock reading `origin` now and running `speed` times faster than the wall.
    pub(crate) fn new(origin: Ms, speed: f64) -> Clock {
        Clock {
            start: Instant::now(),
            origin,
            speed,
        }
    }

    /// The current reading.
    pub(crate) fn now(&self) -> Ms {
        self.origin + (self.start.elapsed().as_secs_f64() * 1000.0 * self.speed) as Ms
    }

    /// The wall-clock instant the clock read `origin`.
    pub(crate) fn started(&self) -> Instant {
        self.start
    }

    /// Wall microseconds after the start at which the clock read `at`.
    pub(crate) fn wall_us_at(&self, at: Ms) -> u64 {
        (at.saturating_sub(self.origin) as f64 * 1000.0 / self.speed).round() as u64
    }
}

/// Wall clock as `HH:MM:SSZ` (UTC), for the header.
pub(crate) fn utc_clock() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        % 86_400;
    format!("{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `T+HH:MM:SS` since the start of the simulation: the header clock of a headless recording.
pub(crate) fn sim_clock(at: Ms) -> String {
    format!("T+{}", hms(at))
}

/// `HH:MM:SS` of a session time.
pub(crate) fn hms(at: Ms) -> String {
    let s = at / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}
