//! Preflight: what must hold on a gateway before green gets traffic, and `cutover check`'s
//! table (`gateway · check · ok/warn/FAIL · reason`, `--json`, exit 1 on FAIL, `--strict`
//! fails on warn too).
//!
//! The pure parts each have a file: the nginx lint of what nginx loads ([`lint`]), the
//! open-files limits of the colors ([`limits`]), the public certificate's expiry ([`tls`]),
//! revision parity ([`revisions`](crate::fleet::collect::revisions), also a step rule in
//! `app::rules`) and the table ([`table`]). [`remote`] gathers the facts over SSH and
//! HTTP(S), one gateway per task.

pub(crate) mod limits;
pub(crate) mod lint;
pub(crate) mod remote;

pub(crate) mod table;
pub(crate) mod tls;

use crate::guard::verdict::Judgement;
use serde::Serialize;

/// One check's outcome: the core's, since the preflight's findings also reach the model (a
/// failing finding holds a step onto the candidate).
pub(crate) use crate::model::CheckStatus as Status;

/// A guardrail's judgement as a row: inconclusive is unknown (a warning), never ok.
pub(crate) fn status_from_judgement(j: Judgement) -> Status {
    match j {
        Judgement::Pass => Status::Ok,
        Judgement::Inconclusive => Status::Unknown,
        Judgement::Fail => Status::Fail,
    }
}

/// The status in `check --json`: `ok`, `warn` (unknown included) or `fail`, as the table.
fn serialize_status<S: serde::Serializer>(s: &Status, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(match s {
        Status::Ok => "ok",
        Status::Warn | Status::Unknown => "warn",
        Status::Fail => "fail",
    })
}

/// One row of the check table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Row {
    /// The gateway's name.
    pub(crate) gateway: String,
    /// The check (`ssh`, `revision`, `nginx buffering`, ...).
    pub(crate) check: String,
    /// `ok`, `warn` or `fail`.
    #[serde(rename = "result", serialize_with = "serialize_status")]
    pub(crate) status: Status,
    /// Why, in words (sanitized, secrets masked in JSON).
    #[serde(serialize_with = "crate::redact::serialize")]
    pub(crate) reason: String,
}

impl Row {
    /// A row; the reason is sanitized here, since much of it comes from hosts.
    pub(crate) fn new(gateway: &str, check: &str, status: Status, reason: impl AsRef<str>) -> Row {
        Row {
            gateway: gateway.to_string(),
            check: check.to_string(),
            status,
            reason: crate::sanitize::sanitize(reason.as_ref()),
        }
    }
}

/// Rows as the model's findings (the gateway is known from the telemetry's index).
pub(crate) fn findings(rows: &[Row]) -> Vec<crate::model::Finding> {
    rows.iter()
        .map(|r| crate::model::Finding {
            check: r.check.clone(),
            status: r.status,
            reason: r.reason.clone(),
        })
        .collect()
}

/// The exit code of `check`: 1 when a row fails (or, with `strict`, warns), else 0.
pub(crate) fn exit_code(rows: &[Row], strict: bool) -> u8 {
    let worst = rows.iter().map(|r| r.status).max().unwrap_or(Status::Ok);
    match worst {
        Status::Fail => 1,
        Status::Warn | Status::Unknown if strict => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_worst_row() {
        let row = |s| Row::new("gw", "x", s, "why");
        assert_eq!(exit_code(&[row(Status::Ok)], true), 0);
        assert_eq!(exit_code(&[row(Status::Ok), row(Status::Warn)], false), 0);
        assert_eq!(exit_code(&[row(Status::Warn)], true), 1);
        assert_eq!(exit_code(&[row(Status::Unknown)], true), 1);
        assert_eq!(exit_code(&[row(Status::Unknown)], false), 0);
        assert_eq!(exit_code(&[row(Status::Fail)], false), 1);
        assert_eq!(exit_code(&[], true), 0);
        assert_eq!(
            Row::new("gw", "x", Status::Ok, "a\u{1b}[2Jb").reason,
            "ab",
            "host words are sanitized"
        );
    }
}
