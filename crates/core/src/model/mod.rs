//! The pure model of a fleet: weights, phases, rolling windows and per-gateway statistics.

pub mod buckets;
pub mod civil;
pub mod gateway;
pub mod telemetry;
pub mod window;

pub use gateway::{ColorSummary, GatewayModel, Summary};
pub use telemetry::{
    CheckStatus, Finding, HealthReport, HealthStatus, HostSample, MetricsSample, NginxStatus,
    RequestRecord, Revisions, Telemetry,
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

impl<T> PerColor<T> {
    /// The same values in role order: the stable color's in `blue`, the candidate's in
    /// `green` (the guards compare "green" against "blue"). An involution: applying it twice
    /// gives the values back by color.
    pub fn by_role(self, candidate: Color) -> PerColor<T> {
        match candidate {
            Color::Green => self,
            Color::Blue => PerColor {
                blue: self.green,
                green: self.blue,
            },
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

    /// Weights with `weight` percent on color `c` and the rest on the other; `None` above 100.
    pub fn with(c: Color, weight: u8) -> Option<Weights> {
        let other = 100u8.checked_sub(weight)?;
        Some(match c {
            Color::Blue => Weights {
                blue: weight,
                green: other,
            },
            Color::Green => Weights {
                blue: other,
                green: weight,
            },
        })
    }

    /// All traffic on color `c`.
    pub fn all_on(c: Color) -> Weights {
        Weights::with(c, 100).expect("100 is a weight")
    }

    /// Color `c` moved by `delta` points, or `None` when that leaves 0..=100.
    pub fn shifted_for(self, c: Color, delta: i16) -> Option<Weights> {
        let w = i16::from(self.of(c)) + delta;
        u8::try_from(w).ok().and_then(|w| Weights::with(c, w))
    }

    /// The cutover phase these weights stand for when `candidate` is the build being
    /// introduced.
    pub fn phase_for(self, candidate: Color) -> Phase {
        match self.of(candidate) {
            0 => Phase::Steady,
            1..=10 => Phase::Canary,
            50 => Phase::Half,
            100 => Phase::Complete,
            _ => Phase::Ramp,
        }
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
        self.shifted_for(Color::Green, delta)
    }

    /// The cutover phase these weights stand for with green as the candidate.
    pub fn phase(self) -> Phase {
        self.phase_for(Color::Green)
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
