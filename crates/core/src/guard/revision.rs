//! Revision parity: both colors must run the same configuration/secret revision (or the one
//! `[preflight] expected_revision` names) before green gets traffic, or green boots with stale
//! keys and silently inherits traffic. Pure: the judgement and the reading of a health answer.

use crate::guard::verdict::Judgement;
use crate::model::{Color, Revisions};

/// Longest revision kept from a host: it is shown and compared, never parsed.
pub const MAX_LEN: usize = 64;

/// A revision as reported by a host (first line, sanitized, bounded); `None` when empty.
pub fn clean(raw: &str) -> Option<String> {
    let line = raw.lines().next().unwrap_or("").trim();
    let line = crate::sanitize::sanitize(line);
    let kept: String = line.chars().take(MAX_LEN).collect();
    (!kept.is_empty()).then_some(kept)
}

/// The `revision` field of a composite health answer (a string, or a number written as one).
pub fn from_health(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    match v.get("revision")? {
        serde_json::Value::String(s) => clean(s),
        serde_json::Value::Number(n) => clean(&n.to_string()),
        _ => None,
    }
}

/// Judge parity: `Fail` names both revisions (and the expected one), `Inconclusive` says which
/// color did not report; missing data never passes.
pub fn judge(r: Option<&Revisions>) -> (Judgement, String) {
    let Some(r) = r else {
        return (
            Judgement::Inconclusive,
            "revisions not collected yet: parity unknown".into(),
        );
    };
    let shown = |c: Color| r.of[c].as_deref().unwrap_or("unknown").to_string();
    let (blue, green) = (shown(Color::Blue), shown(Color::Green));
    if let Some(want) = &r.expected {
        let off: Vec<String> = Color::BOTH
            .into_iter()
            .filter(|&c| r.of[c].as_ref().is_some_and(|v| v != want))
            .map(|c| format!("{c} runs {}", shown(c)))
            .collect();
        if !off.is_empty() {
            return (
                Judgement::Fail,
                format!(
                    "revision mismatch: {}, expected {want} (blue {blue}, green {green})",
                    off.join(", ")
                ),
            );
        }
    }
    match (&r.of.blue, &r.of.green) {
        (Some(b), Some(g)) if b != g => (
            Judgement::Fail,
            format!("revision mismatch: green runs {g}, blue runs {b}; both must run one revision"),
        ),
        (Some(b), Some(_)) => (
            Judgement::Pass,
            match &r.expected {
                Some(_) => format!("blue and green run {b}, as expected"),
                None => format!("blue and green run {b}"),
            },
        ),
        _ => {
            let missing: Vec<&str> = Color::BOTH
                .into_iter()
                .filter(|&c| r.of[c].is_none())
                .map(Color::name)
                .collect();
            (
                Judgement::Inconclusive,
                format!(
                    "{} reported no revision (blue {blue}, green {green}): set `revision` per color or report it in the health JSON",
                    missing.join(" and ")
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PerColor;

    fn revs(b: Option<&str>, g: Option<&str>, expected: Option<&str>) -> Revisions {
        Revisions {
            of: PerColor {
                blue: b.map(str::to_string),
                green: g.map(str::to_string),
            },
            expected: expected.map(str::to_string),
        }
    }

    #[test]
    fn parity_names_both_revisions() {
        let (j, s) = judge(Some(&revs(Some("r42"), Some("r42"), None)));
        assert_eq!((j, s.as_str()), (Judgement::Pass, "blue and green run r42"));
        let (j, s) = judge(Some(&revs(Some("r42"), Some("r43"), None)));
        assert_eq!(j, Judgement::Fail);
        assert!(
            s.contains("green runs r43") && s.contains("blue runs r42"),
            "{s}"
        );
        let (j, s) = judge(Some(&revs(Some("r42"), Some("r42"), Some("r44"))));
        assert_eq!(j, Judgement::Fail);
        assert!(
            s.contains("expected r44") && s.contains("blue runs r42"),
            "{s}"
        );
        let (j, _) = judge(Some(&revs(Some("r44"), Some("r44"), Some("r44"))));
        assert_eq!(j, Judgement::Pass);
    }

    #[test]
    fn missing_revisions_never_pass() {
        assert_eq!(judge(None).0, Judgement::Inconclusive);
        let (j, s) = judge(Some(&revs(Some("r42"), None, None)));
        assert_eq!(j, Judgement::Inconclusive);
        assert!(s.starts_with("green reported no revision"), "{s}");
        // A known mismatch with the expected revision fails even when the other is unknown.
        let (j, _) = judge(Some(&revs(None, Some("r1"), Some("r2"))));
        assert_eq!(j, Judgement::Fail);
    }

    #[test]
    fn health_answers_and_command_output_are_cleaned() {
        assert_eq!(
            from_health(br#"{"status":"ok","revision":"r42"}"#).as_deref(),
            Some("r42")
        );
        assert_eq!(from_health(br#"{"revision":43}"#).as_deref(), Some("43"));
        assert_eq!(from_health(br#"{"status":"ok"}"#), None);
        assert_eq!(from_health(b"not json"), None);
        assert_eq!(clean("r42\nsecond line").as_deref(), Some("r42"));
        assert_eq!(clean("  \n"), None);
        assert_eq!(clean("\u{1b}[31mr9").as_deref(), Some("r9"));
        assert_eq!(clean(&"x".repeat(200)).map(|s| s.len()), Some(MAX_LEN));
    }
}
