//! Training scenarios: data files describing a fleet and timed faults.
//! The shipped ones live in `scenarios/*.toml` and are embedded in the binary.

use crate::app::keymap::Key;
use serde::Deserialize;
use serde::de::{self, Deserializer};

/// Scenarios shipped with the binary: (file name, contents).
const BUILTIN: &[(&str, &str)] = &[
    (
        "happy-path.toml",
        include_str!("../../../../scenarios/happy-path.toml"),
    ),
    (
        "green-ttft-regression.toml",
        include_str!("../../../../scenarios/green-ttft-regression.toml"),
    ),
    (
        "green-5xx.toml",
        include_str!("../../../../scenarios/green-5xx.toml"),
    ),
    (
        "host-dark.toml",
        include_str!("../../../../scenarios/host-dark.toml"),
    ),
    (
        "nginx-test-fails.toml",
        include_str!("../../../../scenarios/nginx-test-fails.toml"),
    ),
    (
        "slow-drain.toml",
        include_str!("../../../../scenarios/slow-drain.toml"),
    ),
    (
        "plan-completes.toml",
        include_str!("../../../../scenarios/plan-completes.toml"),
    ),
    (
        "plan-fails-ttft.toml",
        include_str!("../../../../scenarios/plan-fails-ttft.toml"),
    ),
];

/// The scenario used when none is named.
pub const DEFAULT_SCENARIO: &str = "happy-path";

/// A scripted fleet and its faults.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name used with `--scenario`.
    pub name: String,
    /// What happens and what the trainee should do.
    pub description: String,
    /// Default clock speed (overridden by `--speed`).
    #[serde(default = "one")]
    pub speed: f64,
    /// Fleet shape and starting weights.
    pub fleet: FleetSpec,
    /// Blue's behaviour at the start.
    #[serde(default)]
    pub blue: Profile,
    /// Green's behaviour at the start.
    #[serde(default)]
    pub green: Profile,
    /// Timed changes, in time order.
    #[serde(default, rename = "event")]
    pub events: Vec<Event>,
    /// Timed key presses, played only by a headless recording (`cutover demo --for`);
    /// a trainee in the cockpit drives by hand.
    #[serde(default, rename = "key")]
    pub keys: Vec<ScriptedKeys>,
}

/// Keys pressed at a moment of a recorded drill (`[[key]]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedKeys {
    /// Seconds after the start.
    pub at_secs: f64,
    /// The keys, in order: one key name (`"]"`, `"Enter"`, `"Ctrl-c"`) or a list of them,
    /// in the syntax of `[keys]` in fleet.toml.
    #[serde(deserialize_with = "key_list")]
    pub press: Vec<Key>,
    /// Why (shown in the recording's log when the keys are pressed).
    #[serde(default)]
    pub note: Option<String>,
}

/// A key name or a list of them, each checked while parsing so a bad one is reported with
/// its line and column.
fn key_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Key>, D::Error> {
    let names = crate::app::keymap::KeyList::deserialize(d)?;
    if names.0.is_empty() {
        return Err(de::Error::custom("press: needs at least one key"));
    }
    names
        .0
        .iter()
        .map(|n| Key::parse(n).map_err(|e| de::Error::custom(format!("press: {e}"))))
        .collect()
}

fn one() -> f64 {
    1.0
}

/// Fleet shape.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    /// Availability zones, in display order.
    pub azs: Vec<String>,
    /// Gateways in each AZ.
    pub gateways_per_az: usize,
    /// Requests per second reaching each gateway.
    pub rps: f64,
    /// Green's starting weight on every gateway.
    #[serde(default)]
    pub initial_green: u8,
}

/// How one color behaves.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Profile {
    /// Median time to first token, ms.
    pub ttft_ms: f64,
    /// Median stream duration after the first token, seconds.
    pub stream_secs: f64,
    /// Share of requests answered with a 5xx.
    pub error_rate: f64,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            ttft_ms: 240.0,
            stream_secs: 3.0,
            error_rate: 0.0005,
        }
    }
}

/// A change at a moment of the scenario; unset fields stay as they were.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Seconds after the start.
    pub at_secs: f64,
    /// Gateways affected (names); empty means all.
    #[serde(default)]
    pub gateways: Vec<String>,
    /// What the trainee should notice (logged when it fires).
    #[serde(default)]
    pub note: Option<String>,
    /// New green 5xx share.
    pub green_error_rate: Option<f64>,
    /// New blue 5xx share.
    pub blue_error_rate: Option<f64>,
    /// New green median TTFT, ms.
    pub green_ttft_ms: Option<f64>,
    /// New blue median TTFT, ms.
    pub blue_ttft_ms: Option<f64>,
    /// New median stream duration of both colors, seconds.
    pub stream_secs: Option<f64>,
    /// The host stops (true) or resumes (false) answering.
    pub dark: Option<bool>,
    /// Green accepts connections but never answers (true), or recovers (false).
    pub green_hang: Option<bool>,
    /// `nginx -t` fails (true) or passes (false) on the host.
    pub nginx_test_fails: Option<bool>,
    /// Health endpoint answers "ok", "degraded" or "down".
    pub health: Option<String>,
    /// Someone else sets green's weight on the host (drift).
    pub set_green: Option<u8>,
    /// Green is bound to this address instead of loopback.
    pub green_listen: Option<String>,
    /// Host clock skew, ms.
    pub clock_skew_ms: Option<i64>,
}

impl Scenario {
    /// Parse and check a scenario file's text; errors name the file and field.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, String> {
        let s: Scenario =
            toml::from_str(text).map_err(|e| format!("{file}: {}", e.to_string().trim_end()))?;
        s.validate().map_err(|e| format!("{file}: {e}"))?;
        Ok(s)
    }

    /// Check the scenario's values; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.fleet.azs.is_empty() || self.fleet.gateways_per_az == 0 {
            return Err("fleet: needs at least one AZ and one gateway per AZ".into());
        }
        if !(self.speed > 0.0 && self.speed <= 1000.0) {
            return Err("speed: must be above 0 and at most 1000".into());
        }
        if self.fleet.initial_green > 100 {
            return Err("fleet.initial_green: must be 0..=100".into());
        }
        let names = self.gateway_names();
        for (i, e) in self.events.iter().enumerate() {
            for g in &e.gateways {
                if !names.iter().any(|(n, _)| n == g) {
                    return Err(format!("event[{i}].gateways: no gateway named {g:?}"));
                }
            }
            if let Some(h) = &e.health {
                if !matches!(h.as_str(), "ok" | "degraded" | "down") {
                    return Err(format!(
                        "event[{i}].health: {h:?} is not ok, degraded or down"
                    ));
                }
            }
            if e.set_green.is_some_and(|g| g > 100) {
                return Err(format!("event[{i}].set_green: must be 0..=100"));
            }
        }
        for (i, k) in self.keys.iter().enumerate() {
            if !(k.at_secs.is_finite() && k.at_secs >= 0.0) {
                return Err(format!("key[{i}].at_secs: must be 0 or more"));
            }
            if i > 0 && k.at_secs < self.keys[i - 1].at_secs {
                return Err(format!(
                    "key[{i}].at_secs: {} comes before the previous key's {}; keep [[key]] in time order",
                    k.at_secs,
                    self.keys[i - 1].at_secs
                ));
            }
        }
        Ok(())
    }

    /// Gateway names and AZs in display order: `gw-<az suffix><n>`.
    pub fn gateway_names(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for az in &self.fleet.azs {
            let suffix = az
                .chars()
                .last()
                .filter(|c| c.is_ascii_alphanumeric())
                .unwrap_or('x');
            for n in 1..=self.fleet.gateways_per_az {
                out.push((format!("gw-{suffix}{n}"), az.clone()));
            }
        }
        out
    }

    /// Every shipped scenario.
    pub fn builtin() -> Vec<Scenario> {
        BUILTIN
            .iter()
            .map(|(file, text)| Scenario::parse(file, text).expect("shipped scenarios are valid"))
            .collect()
    }

    /// A shipped scenario by name; the error lists the names there are.
    pub fn find(name: &str) -> Result<Scenario, String> {
        let all = Scenario::builtin();
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        let list = names.join(", ");
        all.iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| format!("unknown scenario {name:?}; available: {list}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_scenarios_parse_and_names_are_unique() {
        let all = Scenario::builtin();
        assert!(all.len() >= 6);
        let mut names: Vec<_> = all.iter().map(|s| s.name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert!(Scenario::find(DEFAULT_SCENARIO).is_ok());
    }

    #[test]
    fn unknown_scenario_lists_names() {
        let e = Scenario::find("nope").unwrap_err();
        assert!(e.contains("\"nope\"") && e.contains("green-5xx"), "{e}");
    }

    #[test]
    fn bad_field_is_named() {
        let text =
            "name='x'\ndescription='d'\n[fleet]\nazs=['a']\ngateways_per_az=1\nrps=1.0\nbogus=1\n";
        let e = Scenario::parse("x.toml", text).unwrap_err();
        assert!(e.starts_with("x.toml:") && e.contains("bogus"), "{e}");
        let text = "name='x'\ndescription='d'\n[fleet]\nazs=['a']\ngateways_per_az=1\nrps=1.0\n[[event]]\nat_secs=1\ngateways=['gw-z9']\n";
        let e = Scenario::parse("x.toml", text).unwrap_err();
        assert!(
            e.contains("event[0].gateways") && e.contains("gw-z9"),
            "{e}"
        );
    }

    const HEAD: &str =
        "name='x'\ndescription='d'\n[fleet]\nazs=['a']\ngateways_per_az=1\nrps=1.0\n";

    #[test]
    fn scripted_keys_parse_as_a_name_or_a_list() {
        let text = format!(
            "{HEAD}[[key]]\nat_secs=5\npress=']'\n[[key]]\nat_secs=9.5\npress=['s', 'Enter']\nnote='widen'\n"
        );
        let s = Scenario::parse("x.toml", &text).unwrap();
        assert_eq!(s.keys.len(), 2);
        assert_eq!(s.keys[0].press, [Key::parse("]").unwrap()]);
        assert_eq!(s.keys[1].at_secs, 9.5);
        assert_eq!(
            s.keys[1].press,
            [Key::parse("s").unwrap(), Key::parse("Enter").unwrap()]
        );
        assert_eq!(s.keys[1].note.as_deref(), Some("widen"));
    }

    #[test]
    fn a_bad_scripted_key_is_reported_with_its_line() {
        let text = format!("{HEAD}[[key]]\nat_secs=5\npress=['s', 'Hyper-x']\n");
        let e = Scenario::parse("x.toml", &text).unwrap_err();
        assert!(
            e.starts_with("x.toml:") && e.contains("line 9") && e.contains("Hyper-x"),
            "{e}"
        );
        let text = format!("{HEAD}[[key]]\nat_secs=5\npress=']'\n[[key]]\nat_secs=1\npress=']'\n");
        let e = Scenario::parse("x.toml", &text).unwrap_err();
        assert!(
            e.contains("key[1].at_secs") && e.contains("time order"),
            "{e}"
        );
    }
}
