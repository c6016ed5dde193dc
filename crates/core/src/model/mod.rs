//! The pure model of a fleet: weights, phases, rolling windows and per-gateway statistics.

pub mod civil;
pub mod gateway;
pub mod telemetry;
pub mod window;

pub use gateway::{ColorSummary, GatewayModel, Summary};
pub use telemetry::{
    HealthReport, HealthStatus, HostSample, NginxStatus, RequestRecord, Revisions, Telemetry,
};

use serde::{Deserialize, Serialize};

/// Milliseconds on the session clock (virtual in the demo, monotonic when live).
pub type Ms = u64;

/// One of the two builds behind the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    /// The build currently serving (the old one during a cutover).
    Blue,
    /// The build being rolled out.
    Green,
}

impl Color {
    /// Both colors, blue first.
    pub const BOTH: [Color; 2] = [Color::Blue, Color::Green];

    /// Lower-case name as used in configuration and logs.
    pub fn name(self) -> &'static str {
        match self {
            Color::Blue => "blue",
            Color::Green => "green",
        }
    }

    /// The other color.
    pub fn other(self) -> Color {
        match self {
            Color::Blue => Color::Green,
            Color::Green => Color::Blue,
        }
    }
}

impl std::fmt::Display for Color {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A value held once per color.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerColor<T> {
    /// Blue's value.
    pub blue: T,
    /// Green's value.
    pub green: T,
}

impl<T> PerColor<T> {
    /// Build from one closure called per color.
    pub fn from_fn(mut f: impl FnMut(Color) -> T) -> Self {
        PerColor {
            blue: f(Color::Blue),
            green: f(Color::Green),
        }
    }
}

impl<T> std::ops::Index<Color> for PerColor<T> {
    type Output = T;
    fn index(&self, c: Color) -> &T {
        match c {
            Color::Blue => &self.blue,
            Color::Green => &self.green,
        }
    }
}

impl<T> std::ops::IndexMut<Color> for PerColor<T> {
    fn index_mut(&mut self, c: Color) -> &mut T {
        match c {
            Color::Blue => &mut self.blue,
            Color::Green => &mut self.green,
        }
    }
}

/// Upstream weights in percent; blue + green is always 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Weights {
    /// Blue's share in percent.
    pub blue: u8,
    /// Green's share in percent.
    pub green: u8,
}

impl Weights {
    /// All traffic on blue.
    pub const STEADY: Weights = Weights {
        blue: 100,
        green: 0,
    };

    /// Weights with `green` percent on green; `None` above 100.
    pub fn with_green(green: u8) -> Option<Weights> {
        (green <= 100).then(|| Weights {
            blue: 100 - green,
            green,
        })
    }

    /// The weight of one color.
    pub fn of(self, c: Color) -> u8 {
        match c {
            Color::Blue => self.blue,
            Color::Green => self.green,
        }
    }

    /// Green moved by `delta` points, or `None` when that leaves 0..=100.
    pub fn shifted(self, delta: i16) -> Option<Weights> {
        let g = i16::from(self.green) + delta;
        u8::try_from(g).ok().and_then(Weights::with_green)
    }

    /// The cutover phase these weights stand for.
    pub fn phase(self) -> Phase {
        match self.green {
            0 => Phase::Steady,
            1..=10 => Phase::Canary,
            50 => Phase::Half,
            100 => Phase::Complete,
            _ => Phase::Ramp,
        }
    }
}

impl std::fmt::Display for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.blue, self.green)
    }
}

/// Where a gateway stands in the cutover, derived from its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// 100/0: all traffic on blue.
    Steady,
    /// Green carries a canary share (up to 10 %).
    Canary,
    /// Between canary and complete, other than 50/50.
    Ramp,
    /// 50/50.
    Half,
    /// 0/100: all traffic on green.
    Complete,
}

impl Phase {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Steady => "steady",
            Phase::Canary => "canary",
            Phase::Ramp => "ramp",
            Phase::Half => "half",
            Phase::Complete => "complete",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_green_weight() {
        let p = |g| Weights::with_green(g).unwrap().phase();
        assert_eq!(p(0), Phase::Steady);
        assert_eq!(p(10), Phase::Canary);
        assert_eq!(p(20), Phase::Ramp);
        assert_eq!(p(50), Phase::Half);
        assert_eq!(p(90), Phase::Ramp);
        assert_eq!(p(100), Phase::Complete);
    }

    #[test]
    fn shifting_stays_within_bounds() {
        let w = Weights::STEADY;
        assert_eq!(w.shifted(10), Weights::with_green(10));
        assert_eq!(w.shifted(-10), None);
        assert_eq!(Weights::with_green(100).unwrap().shifted(10), None);
        assert_eq!(Weights::with_green(101), None);
        assert_eq!(Weights::with_green(30).unwrap().to_string(), "70/30");
    }
}
