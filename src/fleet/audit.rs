//! The audit log: one JSON line per action, written with a single append and flushed to
//! disk before the action is reported, so a crash never leaves a torn or missing record.

use crate::model::Weights;
use crate::redact::{self, Redactor};
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One remote command as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct CommandRecord {
    /// What ran, in words an operator recognises (scripts are named, not pasted).
    pub(crate) cmd: String,
    /// Exit code, or `None` when it did not run to an exit (connection lost, timeout).
    pub(crate) exit: Option<i32>,
    /// Wall time in milliseconds, round trip included.
    pub(crate) ms: u64,
}

/// One audited action on one gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AuditRecord {
    /// When the action finished, RFC 3339 UTC with milliseconds.
    pub(crate) time: String,
    /// Who did it (`--actor`, default the login user).
    pub(crate) actor: String,
    /// The change ticket (`--ticket`).
    pub(crate) ticket: Option<String>,
    /// The gateway.
    pub(crate) host: String,
    /// `step`, `rollback`, `drain`, `stop`, ...
    pub(crate) action: String,
    /// `operator` or `guardrail`.
    pub(crate) origin: String,
    /// Weights read back before the change.
    pub(crate) before: Option<Weights>,
    /// Weights read back after the change (the truth, not the request).
    pub(crate) after: Option<Weights>,
    /// The weights that were asked for.
    pub(crate) target: Option<Weights>,
    /// Every remote command, with exit code and duration.
    pub(crate) commands: Vec<CommandRecord>,
    /// Wall time of the whole action.
    pub(crate) duration_ms: u64,
    /// `ok`, `failed` or `refused`.
    pub(crate) outcome: String,
    /// Why it failed or was refused.
    pub(crate) error: Option<String>,
    /// The operator's reason for an override, a jump or a veto.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// What a decision record (veto, abandoned work) decided, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
    /// Ties an operation's `intent` record to its `outcome` (or `reconciled`) record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    /// `intent` (written before anything is sent), `outcome` (after), `reconciled` (found on
    /// the host by a later run when the process that wrote the intent died first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stage: Option<String>,
    /// The process that wrote an intent, so a later run can tell a dead one from one still
    /// working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pid: Option<u32>,
    /// The candidate (the color being introduced) when the operation was planned; the other
    /// color is the stable one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) candidate: Option<crate::model::Color>,
}

/// An append-only JSON-lines file.
#[derive(Debug)]
pub(crate) struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
    /// Masks secrets in every string of every record (see `append`).
    redactor: Redactor,
}

impl AuditLog {
    /// Open (create) `path` for appending; the error names the file.
    pub(crate) fn open(path: &Path) -> Result<AuditLog, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                format!(
                    "audit log {}: cannot create {}: {e}",
                    path.display(),
                    dir.display()
                )
            })?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("audit log {}: {e}", path.display()))?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            redactor: redact::installed().clone(),
        })
    }

    /// The same log masking with `redactor` (by default, the one installed for the process).
    #[cfg(test)]
    pub(crate) fn with_redactor(self, redactor: Redactor) -> AuditLog {
        AuditLog { redactor, ..self }
    }

    /// Where the log is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record, secrets masked: one `write` of the whole line (O_APPEND), then fsync.
    pub(crate) fn append(&self, rec: &AuditRecord) -> Result<(), String> {
        let json = serde_json::to_string(rec).map_err(|e| e.to_string())?;
        // Every string field, here rather than where records are built, so no caller can
        // forget: commands carry configured secrets, errors carry what hosts echoed.
        let mut line = self.redactor.apply_json(&json).into_owned().into_bytes();
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        f.write_all(&line)
            .and_then(|()| f.sync_data())
            .map_err(|e| format!("audit log {}: {e}", self.path.display()))
    }
}

pub(crate) use crate::model::civil::{now_rfc3339, rfc3339};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_763_683_200, 123), "2025-11-21T00:00:00.123Z");
        assert_eq!(rfc3339(951_782_400, 0), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn records_are_whole_json_lines() {
        let path = std::env::temp_dir().join(format!("cutover-audit-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let log = AuditLog::open(&path).unwrap();
        let rec = AuditRecord {
            time: now_rfc3339(),
            actor: "alice".into(),
            ticket: Some("CHG-1".into()),
            host: "gw-a1".into(),
            action: "step".into(),
            origin: "operator".into(),
            before: Some(Weights::STEADY),
            after: Some(Weights {
                blue: 90,
                green: 10,
            }),
            target: Some(Weights {
                blue: 90,
                green: 10,
            }),
            commands: vec![CommandRecord {
                cmd: "nginx -t".into(),
                exit: Some(0),
                ms: 12,
            }],
            duration_ms: 40,
            outcome: "ok".into(),
            error: None,
            reason: None,
            detail: None,
            id: None,
            stage: None,
            pid: None,
            candidate: None,
        };
        log.append(&rec).unwrap();
        log.append(&rec).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["after"]["green"], 10);
            assert_eq!(v["commands"][0]["exit"], 0);
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn secrets_are_masked_in_every_field_at_append() {
        let path =
            std::env::temp_dir().join(format!("cutover-audit-redact-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let log = AuditLog::open(&path)
            .unwrap()
            .with_redactor(Redactor::new(["hunter2hunter2".to_string()]));
        let rec = AuditRecord {
            time: now_rfc3339(),
            actor: "alice".into(),
            ticket: None,
            host: "gw-a1".into(),
            action: "stop".into(),
            origin: "operator".into(),
            before: None,
            after: None,
            target: None,
            commands: vec![CommandRecord {
                cmd: "env TOKEN=sk-live-abc123 stop".into(),
                exit: Some(3),
                ms: 12,
            }],
            duration_ms: 40,
            outcome: "failed".into(),
            error: Some("exit 3: Authorization:\tBearer abcdef0123456789".into()),
            reason: Some("said hunter2hunter2".into()),
            detail: None,
            id: None,
            stage: None,
            pid: None,
            candidate: None,
        };
        log.append(&rec).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        for secret in ["sk-live-abc123", "abcdef0123456789", "hunter2hunter2"] {
            assert!(!text.contains(secret), "{text}");
        }
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["commands"][0]["cmd"], "env TOKEN=******** stop");
        assert_eq!(v["error"], "exit 3: Authorization:\tBearer ********");
        assert_eq!(v["reason"], "said ********");
    }
}
