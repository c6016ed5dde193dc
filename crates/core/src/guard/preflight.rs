//! The preflight as a step rule: the latest round of a gateway's preflight checks (nginx lint
//! of what nginx loads, `nginx -t`, the running master, the log format, open-files limits, the
//! certificate) must pass before the candidate gets more traffic. Pure: the findings, their
//! age and the limit are the inputs.
//!
//! A failing check fails; a check that could not be told, a round not run yet or one older
//! than the limit is inconclusive (unknown is not safe); warnings are advice and pass, named.

use crate::guard::verdict::Judgement;
use crate::model::{CheckStatus, Finding, Ms};

/// Findings named in one sentence at most: the rest are counted.
const NAMED: usize = 3;

/// Judge a gateway's latest preflight round (`(arrived at, findings)`) at `now`.
pub fn judge(seen: Option<&(Ms, Vec<Finding>)>, now: Ms, max_age_ms: Ms) -> (Judgement, String) {
    let Some((at, findings)) = seen else {
        return (
            Judgement::Inconclusive,
            "preflight not run yet on this gateway (nginx lint, limits, certificate): not known to hold".into(),
        );
    };
    let age = now.saturating_sub(*at);
    if age > max_age_ms {
        return (
            Judgement::Inconclusive,
            format!(
                "preflight is {} s old (counts {} s): not known to hold now",
                age / 1000,
                max_age_ms / 1000
            ),
        );
    }
    if findings.is_empty() {
        return (
            Judgement::Inconclusive,
            "preflight found nothing to check: not known to hold".into(),
        );
    }
    let with = |status: CheckStatus| -> Vec<&Finding> {
        findings.iter().filter(|f| f.status == status).collect()
    };
    let named = |list: &[&Finding]| -> String {
        let mut parts: Vec<String> = list
            .iter()
            .take(NAMED)
            .map(|f| format!("{}: {}", f.check, f.reason))
            .collect();
        if list.len() > NAMED {
            parts.push(format!(
                "{} more (cutover check lists them)",
                list.len() - NAMED
            ));
        }
        parts.join("; ")
    };
    let failing = with(CheckStatus::Fail);
    if !failing.is_empty() {
        return (
            Judgement::Fail,
            format!("preflight fails: {}", named(&failing)),
        );
    }
    let unknown = with(CheckStatus::Unknown);
    if !unknown.is_empty() {
        return (
            Judgement::Inconclusive,
            format!("preflight cannot tell: {}", named(&unknown)),
        );
    }
    let warned = with(CheckStatus::Warn);
    if warned.is_empty() {
        (
            Judgement::Pass,
            format!("preflight passes ({} checks)", findings.len()),
        )
    } else {
        (
            Judgement::Pass,
            format!(
                "preflight passes with {} warning(s): {}",
                warned.len(),
                named(&warned)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(check: &str, status: CheckStatus, reason: &str) -> Finding {
        Finding {
            check: check.into(),
            status,
            reason: reason.into(),
        }
    }

    #[test]
    fn missing_old_or_empty_rounds_never_pass() {
        let (j, s) = judge(None, 1_000, 600_000);
        assert_eq!(j, Judgement::Inconclusive, "{s}");
        let round = (0, vec![f("nofile", CheckStatus::Ok, "blue 65536")]);
        assert_eq!(judge(Some(&round), 600_000, 600_000).0, Judgement::Pass);
        let (j, s) = judge(Some(&round), 600_001, 600_000);
        assert_eq!(j, Judgement::Inconclusive);
        assert!(s.contains("600 s old"), "{s}");
        assert_eq!(
            judge(Some(&(0, vec![])), 1, 600_000).0,
            Judgement::Inconclusive
        );
    }

    #[test]
    fn the_worst_finding_decides_and_is_named() {
        let at = |list: Vec<Finding>| judge(Some(&(0, list)), 1, 600_000);
        let (j, s) = at(vec![
            f("tls", CheckStatus::Warn, "expires in 10 days"),
            f("nofile", CheckStatus::Unknown, "blue: not read"),
            f(
                "nginx buffering",
                CheckStatus::Fail,
                "/etc/nginx/nginx.conf:42: proxy_buffering is on",
            ),
        ]);
        assert_eq!(j, Judgement::Fail);
        assert_eq!(
            s,
            "preflight fails: nginx buffering: /etc/nginx/nginx.conf:42: proxy_buffering is on"
        );
        let (j, s) = at(vec![
            f("tls", CheckStatus::Warn, "expires in 10 days"),
            f("nofile", CheckStatus::Unknown, "blue: not read"),
        ]);
        assert_eq!(j, Judgement::Inconclusive);
        assert_eq!(s, "preflight cannot tell: nofile: blue: not read");
        let (j, s) = at(vec![
            f("tls", CheckStatus::Warn, "expires in 10 days"),
            f("nofile", CheckStatus::Ok, "blue 65536"),
        ]);
        assert_eq!(j, Judgement::Pass);
        assert_eq!(
            s,
            "preflight passes with 1 warning(s): tls: expires in 10 days"
        );
    }

    #[test]
    fn long_lists_are_counted_not_spelled_out() {
        let list: Vec<Finding> = (0..5)
            .map(|i| f(&format!("c{i}"), CheckStatus::Fail, "bad"))
            .collect();
        let (_, s) = judge(Some(&(0, list)), 1, 600_000);
        assert!(
            s.ends_with("c2: bad; 2 more (cutover check lists them)"),
            "{s}"
        );
    }
}
