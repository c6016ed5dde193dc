use super::*;
use crate::app::keymap::KeyMap;
use crate::app::keys::{KeyCode, KeyModifiers};
use crate::front::record::SharedBuffer;
use crate::front::ui::theme::ThemeSet;
use crate::model::{Color, Weights};

/// A fixed header: `Header::new` stamps the current time, which two calls may not share.
fn header() -> Header {
    let mut h = Header::new(
        "live",
        "alice",
        false,
        vec![
            GatewayInfo {
                name: "gw-a".into(),
                az: "az1".into(),
            },
            GatewayInfo {
                name: "gw-b".into(),
                az: "az2".into(),
            },
        ],
    );
    h.started = "2026-11-22T02:51:32.430Z".into();
    h
}

fn written(events: &[(Ms, Event)]) -> String {
    let buf = SharedBuffer::default();
    let mut log = SessionLog::to_writer(Box::new(buf.clone()));
    log.header(&header()).unwrap();
    for (t, e) in events {
        match e {
            Event::Msg(m) => log.message(*t, m).unwrap(),
            Event::Marker(m) => log.marker(*t, m).unwrap(),
        }
    }
    buf.text()
}

fn every_kind() -> Vec<(Ms, Event)> {
    vec![
        (
            100,
            Event::Msg(Msg::Telemetry {
                gateway: 0,
                data: Telemetry::Weights(Weights {
                    blue: 90,
                    green: 10,
                }),
            }),
        ),
        (
            150,
            Event::Msg(Msg::Telemetry {
                gateway: 1,
                data: Telemetry::Ttft {
                    color: Color::Green,
                    ms: Some(420),
                },
            }),
        ),
        (200, Event::Msg(Msg::Tick)),
        (
            300,
            Event::Msg(Msg::Key(KeyEvent::new(
                KeyCode::Char(']'),
                KeyModifiers::NONE,
            ))),
        ),
        (
            300,
            Event::Msg(Msg::Key(KeyEvent::new(
                KeyCode::Char('r'),
                KeyModifiers::CONTROL,
            ))),
        ),
        (
            300,
            Event::Msg(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))),
        ),
        (300, Event::Marker("gw-a: step green +10".into())),
        (
            900,
            Event::Msg(Msg::OpDone(OpOutcome {
                id: 1,
                gateway: 0,
                weights: Some(Weights {
                    blue: 80,
                    green: 20,
                }),
                error: None,
            })),
        ),
        (
            950,
            Event::Msg(Msg::OpDone(OpOutcome {
                id: 2,
                gateway: 1,
                weights: None,
                error: Some("nginx -t failed".into()),
            })),
        ),
        (
            1000,
            Event::Msg(Msg::Lock {
                gateway: 1,
                holder: Some("bob@host".into()),
            }),
        ),
        (
            1000,
            Event::Msg(Msg::Lock {
                gateway: 1,
                holder: None,
            }),
        ),
        (1100, Event::Msg(Msg::Resize)),
    ]
}

#[test]
fn every_recorded_kind_round_trips() {
    let events = every_kind();
    let text = written(&events);
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().count(), events.len() + 1);
    let s = parse_session(&text).unwrap();
    assert_eq!(s.header, header());
    assert_eq!(s.events, events);
    assert_eq!(s.markers(), vec![(300, "gw-a: step green +10".to_string())]);
    assert_eq!(s.end(), 1100);
}

#[test]
fn empty_file_is_line_1() {
    for text in ["", "\n", "   \n"] {
        let e = parse_session(text).unwrap_err();
        assert_eq!(e.line, 1, "{text:?}");
        assert!(e.to_string().starts_with("line 1: empty"), "{e}");
    }
}

#[test]
fn foreign_json_is_named() {
    let e = parse_session("{\"format\":\"x\",\"version\":1}\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 1: not a cutover session file (format \"x\")"
    );
    let e = parse_session("{\"version\":2}\n{}\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 1: not a cutover session file (format none)"
    );
    let e = parse_session("WEBVTT\n").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("line 1: not a cutover session file (not JSON"),
        "{e}"
    );
    // An asciicast is JSON lines too, but not ours.
    let e = parse_session("{\"version\":2,\"width\":80,\"height\":24}\n[0.1,\"o\",\"x\"]\n")
        .unwrap_err();
    assert_eq!(e.line, 1);
}

#[test]
fn wrong_version_is_named() {
    let text = written(&[]).replacen("\"version\":1", "\"version\":9", 1);
    let e = parse_session(&text).unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.message.starts_with("unknown version 9"), "{e}");
}

#[test]
fn truncated_last_line_is_named() {
    let text = written(&every_kind());
    let cut = &text[..text.len() - 10];
    let e = parse_session(cut).unwrap_err();
    assert_eq!(e.line, every_kind().len() + 1);
    assert!(e.message.starts_with("truncated"), "{e}");
}

#[test]
fn garbage_in_the_middle_is_named() {
    let text = written(&every_kind());
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(3, "{\"t\":5,\"msg\":{\"kind\":\"teleport\"}}");
    let e = parse_session(&(lines.join("\n") + "\n")).unwrap_err();
    assert_eq!(e.line, 4);
    assert!(e.message.contains("invalid JSON"), "{e}");
    lines[3] = "not json at all";
    let e = parse_session(&(lines.join("\n") + "\n")).unwrap_err();
    assert_eq!(e.line, 4);
    lines[3] = "{\"t\":5,\"marker\":\"x\",\"key\":\"q\"}";
    let e = parse_session(&(lines.join("\n") + "\n")).unwrap_err();
    assert!(e.message.contains("exactly one"), "{e}");
    lines[3] = "{\"t\":5,\"msg\":{\"kind\":\"lock\",\"gateway\":7,\"holder\":null}}";
    let e = parse_session(&(lines.join("\n") + "\n")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 4: gateway 7 is not in the header (2 gateways)"
    );
}

#[test]
fn default_name_is_a_utc_stamp() {
    let n = default_file_name();
    assert!(
        n.starts_with("cutover-session-") && n.ends_with("Z.jsonl"),
        "{n}"
    );
    assert_eq!(
        n.len(),
        "cutover-session-20261122T023703Z.jsonl".len(),
        "{n}"
    );
}

#[test]
fn replay_world_hands_out_messages_by_time_and_executes_nothing() {
    let s = parse_session(&written(&every_kind())).unwrap();
    let mut d = replay::driver(&s, KeyMap::default(), ThemeSet::builtin().owned_names());
    assert_eq!(d.state.mode, crate::app::state::Mode::Replay);
    d.advance_to(250);
    assert_eq!(
        d.state.gateways[0].model.weights,
        Some(Weights {
            blue: 90,
            green: 10
        })
    );
    d.advance_to(2000);
    assert!(d.world.done());
}

#[test]
fn secrets_are_masked_in_every_line_and_the_log_still_reads() {
    let events = vec![
        (
            100,
            Event::Msg(Msg::OpDone(OpOutcome {
                id: 1,
                gateway: 0,
                weights: None,
                error: Some(
                    "stop green: `env TOKEN=sk-live-abc123 stop` exit 3: Authorization: Bearer abcdef0123456789"
                        .into(),
                ),
            })),
        ),
        (200, Event::Marker("rollback gw-a hunter2hunter2".into())),
    ];
    let buf = SharedBuffer::default();
    let mut log = SessionLog::to_writer(Box::new(buf.clone()))
        .with_redactor(crate::redact::Redactor::new(["hunter2hunter2".to_string()]));
    log.header(&header()).unwrap();
    for (t, e) in &events {
        match e {
            Event::Msg(m) => log.message(*t, m).unwrap(),
            Event::Marker(m) => log.marker(*t, m).unwrap(),
        }
    }
    let text = buf.text();
    for secret in ["sk-live-abc123", "abcdef0123456789", "hunter2hunter2"] {
        assert!(!text.contains(secret), "{text}");
    }
    let s = parse_session(&text).unwrap();
    assert_eq!(
        s.events[0].1,
        Event::Msg(Msg::OpDone(OpOutcome {
            id: 1,
            gateway: 0,
            weights: None,
            error: Some(
                "stop green: `env TOKEN=******** stop` exit 3: Authorization: Bearer ********"
                    .into()
            ),
        }))
    );
    assert_eq!(s.markers()[0].1, "rollback gw-a ********");
}

#[test]
fn the_ticket_is_recorded_and_the_replay_header_shows_it() {
    let buf = SharedBuffer::default();
    let mut log = SessionLog::to_writer(Box::new(buf.clone()));
    let mut h = header();
    h.ticket = Some("CHG-77".into());
    log.header(&h).unwrap();
    let s = parse_session(&buf.text()).unwrap();
    assert_eq!(s.header.ticket.as_deref(), Some("CHG-77"));
    let d = replay::driver(&s, KeyMap::default(), ThemeSet::builtin().owned_names());
    assert_eq!(d.state.session.ticket.as_deref(), Some("CHG-77"));
    let screen = crate::front::ui::fixtures::draw(&d.state, 120, 40);
    let top = crate::front::ui::fixtures::row_text(screen.backend().buffer(), 0);
    assert!(top.contains("CHG-77"), "{top}");
    assert!(!top.contains("no ticket"), "{top}");
    // A replay cannot act: the footer offers no step or rollback.
    let bottom = crate::front::ui::fixtures::row_text(screen.backend().buffer(), 39);
    assert!(
        !bottom.contains("step") && !bottom.contains("rollback"),
        "{bottom}"
    );
    assert!(bottom.contains("quit"), "{bottom}");
    // A session log written before tickets were recorded still parses, with none.
    let old = buf.text().replace(",\"ticket\":\"CHG-77\"", "");
    assert_eq!(parse_session(&old).unwrap().header.ticket, None);
}
