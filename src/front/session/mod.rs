//! Session logs: every message the cockpit applied (telemetry, locks, operation outcomes,
//! ticks, the operator's keys) and every chapter marker, as versioned JSON lines, so
//! `cutover replay FILE` can rebuild the same screens later.
//!
//! Format v1: line 1 is the header
//! `{"format":"cutover-session","version":1,"mode":"live","started":"…","actor":"…",
//! "read_only":false,"gateways":[{"name":"…","az":"…"}],"guardrails":{…}}`;
//! every further line is one event, `{"t":MS,"msg":{"kind":"telemetry",…}}`,
//! `{"t":MS,"key":"]"}` or `{"t":MS,"marker":"…"}`, with `t` the session clock in ms.

pub mod replay;

use crate::app::keymap::Key;
use crate::app::keys::KeyEvent;
use crate::app::msg::Msg;
use crate::app::plan::OpOutcome;
use crate::guard::GuardConfig;
use crate::model::{Ms, Telemetry};
use crate::redact::{self, Redactor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// The `format` field of every session log.
pub(crate) const FORMAT: &str = "cutover-session";
/// The format version this build writes and reads.
pub(crate) const VERSION: u32 = 1;

/// One gateway as the header lists it, in display order (indices in events refer to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayInfo {
    /// Configured name.
    pub name: String,
    /// Availability zone.
    pub az: String,
}

/// Line 1 of a session log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always `cutover-session`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// `live` or `demo`.
    pub mode: String,
    /// Wall-clock start, RFC 3339 UTC.
    pub started: String,
    /// Who operated.
    #[serde(default)]
    pub actor: String,
    /// The session could not mutate (also turns auto-rollback into an alarm).
    #[serde(default)]
    pub read_only: bool,
    /// The change ticket the session was opened with (`--ticket`), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Gateways in display order.
    pub gateways: Vec<GatewayInfo>,
    /// Guardrail settings in force, so a replay reaches the same verdicts.
    pub guardrails: GuardConfig,
}

impl Header {
    /// A v1 header for a session starting now.
    pub fn new(mode: &str, actor: &str, read_only: bool, gateways: Vec<GatewayInfo>) -> Header {
        Header {
            format: FORMAT.into(),
            version: VERSION,
            mode: mode.into(),
            started: crate::model::civil::now_rfc3339(),
            actor: actor.into(),
            read_only,
            ticket: None,
            gateways,
            guardrails: GuardConfig::default(),
        }
    }
}

/// A recorded message (every `Msg` but keys, which are recorded by name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Wire {
    Telemetry {
        gateway: usize,
        data: Telemetry,
    },
    OpDone {
        outcome: OpOutcome,
    },
    Lock {
        gateway: usize,
        holder: Option<String>,
    },
    Failures {
        gateway: usize,
        failures: Vec<crate::failures::FailedRequest>,
    },
    Tick,
    Resize,
}

/// The same, borrowed, for writing without a copy.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum WireRef<'a> {
    Telemetry {
        gateway: usize,
        data: &'a Telemetry,
    },
    OpDone {
        outcome: &'a OpOutcome,
    },
    Lock {
        gateway: usize,
        holder: &'a Option<String>,
    },
    Failures {
        gateway: usize,
        failures: &'a [crate::failures::FailedRequest],
    },
    Tick,
    Resize,
}

/// One event line as written and read.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<M> {
    t: Ms,
    #[serde(skip_serializing_if = "Option::is_none")]
    msg: Option<M>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
}

/// What happened at one moment of a session.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A message applied to the state (keys included).
    Msg(Msg),
    /// A chapter marker the state produced.
    Marker(String),
}

/// A whole session log, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Line 1.
    pub header: Header,
    /// Every event with its time, in file order.
    pub events: Vec<(Ms, Event)>,
}

impl Session {
    /// The markers with their times, in file order.
    pub fn markers(&self) -> Vec<(Ms, String)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::Marker(m) => Some((*t, m.clone())),
                Event::Msg(_) => None,
            })
            .collect()
    }

    /// Time of the last event.
    pub fn end(&self) -> Ms {
        self.events.iter().map(|(t, _)| *t).max().unwrap_or(0)
    }
}

/// Why a file is not a readable session log: the line at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionError {
    /// 1-based line number.
    pub(crate) line: usize,
    /// What is wrong.
    pub(crate) message: String,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for SessionError {}

fn err(line: usize, message: impl Into<String>) -> SessionError {
    SessionError {
        line,
        message: message.into(),
    }
}

/// Read a session log; the error names the first line at fault.
pub fn parse_session(text: &str) -> Result<Session, SessionError> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    // A final newline leaves an empty last piece: not a line.
    let complete = text.ends_with('\n');
    if complete {
        lines.pop();
    }
    let Some(first) = lines.first().filter(|l| !l.trim().is_empty()) else {
        return Err(err(1, "empty, not a cutover session file"));
    };
    let header = parse_header(first)?;
    let last = lines.len();
    let mut events = Vec::new();
    for (i, raw) in lines.iter().enumerate().skip(1) {
        let n = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line<Wire> = serde_json::from_str(raw).map_err(|e| {
            if n == last && !complete {
                err(n, format!("truncated (the file ends mid-line): {e}"))
            } else {
                err(n, format!("truncated or invalid JSON: {e}"))
            }
        })?;
        let event = match (line.msg, line.key, line.marker) {
            (Some(m), None, None) => Event::Msg(from_wire(m, n, header.gateways.len())?),
            (None, Some(k), None) => {
                let key = Key::parse(&k).map_err(|e| err(n, e))?;
                Event::Msg(Msg::Key(KeyEvent::new(key.code, key.mods)))
            }
            (None, None, Some(m)) => Event::Marker(m),
            _ => return Err(err(n, "an event needs exactly one of msg, key, marker")),
        };
        events.push((line.t, event));
    }
    Ok(Session { header, events })
}

fn parse_header(first: &str) -> Result<Header, SessionError> {
    let v: serde_json::Value = serde_json::from_str(first)
        .map_err(|e| err(1, format!("not a cutover session file (not JSON: {e})")))?;
    let format = v.get("format").and_then(|f| f.as_str());
    if format != Some(FORMAT) {
        let shown = format.map_or("none".to_string(), |f| format!("{f:?}"));
        return Err(err(
            1,
            format!("not a cutover session file (format {shown})"),
        ));
    }
    match v.get("version").and_then(|n| n.as_u64()) {
        Some(n) if n == u64::from(VERSION) => {}
        Some(n) => {
            return Err(err(
                1,
                format!("unknown version {n} (this cutover reads version {VERSION})"),
            ));
        }
        None => return Err(err(1, "the header has no version")),
    }
    let header: Header =
        serde_json::from_value(v).map_err(|e| err(1, format!("bad header: {e}")))?;
    if header.gateways.is_empty() {
        return Err(err(1, "bad header: no gateways"));
    }
    Ok(header)
}

fn from_wire(w: Wire, line: usize, gateways: usize) -> Result<Msg, SessionError> {
    let check = |g: usize| {
        if g < gateways {
            Ok(g)
        } else {
            Err(err(
                line,
                format!("gateway {g} is not in the header ({gateways} gateways)"),
            ))
        }
    };
    Ok(match w {
        Wire::Telemetry { gateway, data } => Msg::Telemetry {
            gateway: check(gateway)?,
            data,
        },
        Wire::OpDone { outcome } => {
            check(outcome.gateway)?;
            Msg::OpDone(outcome)
        }
        Wire::Lock { gateway, holder } => Msg::Lock {
            gateway: check(gateway)?,
            holder,
        },
        Wire::Failures { gateway, failures } => Msg::Failures {
            gateway: check(gateway)?,
            failures,
        },
        Wire::Tick => Msg::Tick,
        Wire::Resize => Msg::Resize,
    })
}

/// Read the session log at `path`; the error names the file and the line.
pub fn load(path: &Path) -> Result<Session, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_session(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes a session log, one whole line per `write_all`, flushed, so a crash leaves whole lines.
/// Secrets are masked in every string of every line: outcomes quote failing commands' output.
pub struct SessionLog {
    out: Box<dyn Write + Send>,
    redactor: Redactor,
}

impl fmt::Debug for SessionLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionLog")
    }
}

impl crate::app::driver::Journal for SessionLog {
    fn message(&mut self, t: Ms, msg: &Msg) -> io::Result<()> {
        SessionLog::message(self, t, msg)
    }

    fn marker(&mut self, t: Ms, label: &str) -> io::Result<()> {
        SessionLog::marker(self, t, label)
    }
}

impl SessionLog {
    /// Create (or truncate) `path` and write the header.
    pub(crate) fn create(path: &Path, header: &Header) -> Result<SessionLog, String> {
        let file = File::create(path).map_err(|e| format!("--session {}: {e}", path.display()))?;
        let mut log = SessionLog::to_writer(Box::new(file));
        log.line(header)
            .map_err(|e| format!("--session {}: {e}", path.display()))?;
        Ok(log)
    }

    /// A log on any writer (the header is the caller's to write with `header`), masking with
    /// the redactor installed for the process.
    pub fn to_writer(out: Box<dyn Write + Send>) -> SessionLog {
        SessionLog {
            out,
            redactor: redact::installed().clone(),
        }
    }

    /// The same log masking with `redactor` instead (tests).
    #[cfg(test)]
    pub(crate) fn with_redactor(self, redactor: Redactor) -> SessionLog {
        SessionLog { redactor, ..self }
    }

    /// Write the header line.
    pub fn header(&mut self, header: &Header) -> io::Result<()> {
        self.line(header)
    }

    /// Record a message applied at `t`; keys that cannot be named are left out.
    pub(crate) fn message(&mut self, t: Ms, msg: &Msg) -> io::Result<()> {
        let wire = match msg {
            Msg::Key(k) => {
                let Some(key) = Key::from_event(k) else {
                    return Ok(());
                };
                return self.line(&Line::<WireRef> {
                    t,
                    msg: None,
                    key: Some(key.to_string()),
                    marker: None,
                });
            }
            Msg::Telemetry { gateway, data } => WireRef::Telemetry {
                gateway: *gateway,
                data,
            },
            Msg::OpDone(outcome) => WireRef::OpDone { outcome },
            Msg::Lock { gateway, holder } => WireRef::Lock {
                gateway: *gateway,
                holder,
            },
            Msg::Failures { gateway, failures } => WireRef::Failures {
                gateway: *gateway,
                failures,
            },
            // A host's answer to this session's own question: a replay asks nothing of hosts.
            Msg::ColorLog(_) => return Ok(()),
            Msg::Tick => WireRef::Tick,
            Msg::Resize => WireRef::Resize,
        };
        self.line(&Line {
            t,
            msg: Some(wire),
            key: None,
            marker: None,
        })
    }

    /// Record a chapter marker at `t`.
    pub(crate) fn marker(&mut self, t: Ms, label: &str) -> io::Result<()> {
        self.line(&Line::<WireRef> {
            t,
            msg: None,
            key: None,
            marker: Some(label.into()),
        })
    }

    fn line(&mut self, v: &impl Serialize) -> io::Result<()> {
        let json = serde_json::to_string(v).map_err(io::Error::other)?;
        let mut text = self.redactor.apply_json(&json).into_owned();
        text.push('\n');
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }
}

/// `cutover-session-YYYYMMDDTHHMMSSZ.jsonl` for a session starting now.
pub(crate) fn default_file_name() -> String {
    let now = crate::model::civil::now_rfc3339();
    let stamp: String = now
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    format!("cutover-session-{stamp}Z.jsonl")
}

#[cfg(test)]
mod tests;
