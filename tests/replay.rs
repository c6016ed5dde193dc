//! `cutover replay`: a session log written by a demo replays to the same markers, weights and
//! verdicts; bad files are refused naming the line; the cockpit plays it read-only.

mod common;

use common::tmux::{Tmux, row};
use common::{cutover, test_dir, text};
use cutover::app::driver::Driver;
use cutover::app::keymap::KeyMap;
use cutover::app::keys::KeyEvent;
use cutover::app::world::World;
use cutover::front::session::{self, GatewayInfo, Header, SessionLog};
use cutover::front::ui::theme::ThemeSet;
use cutover::guard::GuardConfig;
use cutover::model::Ms;
use cutover::sim::{self, Scenario, scenario::ScriptedKeys};

/// Past the scenario's auto-rollback (about 205 s in).
const UNTIL: Ms = 240_000;

/// What a marker must agree on: its time and label, and every gateway's weights and
/// 5xx and TTFT verdicts when it was made.
type Snapshot = (Ms, String, String);

fn state_of<W: World>(d: &Driver<W>) -> String {
    let gws: Vec<String> = d
        .state
        .gateways
        .iter()
        .map(|g| {
            format!(
                "{} {:?} {:?} {:?}",
                g.name, g.model.weights, g.verdicts.fivexx, g.verdicts.ttft
            )
        })
        .collect();
    gws.join("\n")
}

fn collect<W: World>(d: &mut Driver<W>, out: &mut Vec<Snapshot>) {
    for (t, label) in d.take_markers() {
        out.push((t, label, state_of(d)));
    }
}

/// Drive `d` to `until` in 100 ms steps, pressing `keys` at their times.
fn play<W: World>(d: &mut Driver<W>, until: Ms, keys: &[ScriptedKeys]) -> Vec<Snapshot> {
    let ms = |s: f64| (s * 1000.0).round() as Ms;
    let mut out = Vec::new();
    let mut keys = keys.iter().peekable();
    let mut t = 0;
    while t < until {
        t += 100;
        while let Some(k) = keys.next_if(|k| ms(k.at_secs) <= t) {
            d.advance_to(ms(k.at_secs));
            for key in &k.press {
                d.key(KeyEvent::new(key.code, key.mods));
            }
        }
        d.advance_to(t);
        collect(d, &mut out);
    }
    out
}

#[test]
fn a_session_replays_to_the_same_weights_and_verdicts_at_every_marker() {
    let scenario = Scenario::find("green-5xx").unwrap();
    let keys = scenario.keys.clone();
    let mut original = sim::demo(
        scenario,
        4,
        GuardConfig::default(),
        KeyMap::default(),
        ThemeSet::builtin().owned_names(),
    );
    let buf = cutover::front::record::SharedBuffer::default();
    let mut log = SessionLog::to_writer(Box::new(buf.clone()));
    let gateways = original
        .state
        .gateways
        .iter()
        .map(|g| GatewayInfo {
            name: g.name.clone(),
            az: g.az.clone(),
        })
        .collect();
    let mut header = Header::new("demo", "trainee", false, gateways);
    header.guardrails = original.state.cfg;
    log.header(&header).unwrap();
    original.log_session(log);
    let seen = play(&mut original, UNTIL, &keys);
    assert!(
        seen.iter().any(|(_, l, _)| l.contains("AUTO-ROLLBACK")),
        "the scenario must reach its auto-rollback: {seen:#?}"
    );

    let text = buf.text();
    let s = session::parse_session(&text).unwrap();
    let recorded: Vec<(Ms, String)> = seen.iter().map(|(t, l, _)| (*t, l.clone())).collect();
    assert_eq!(s.markers(), recorded);
    let mut replay =
        session::replay::driver(&s, KeyMap::default(), ThemeSet::builtin().owned_names());
    let replayed = play(&mut replay, UNTIL, &[]);
    assert_eq!(replayed, seen);
    // The rollback's outcome arrived as recorded: green is at 0 where it fired.
    assert!(
        state_of(&replay).contains("Some(Weights { blue: 100, green: 0 })"),
        "{}",
        state_of(&replay)
    );
}

/// `cutover demo --scenario green-5xx --seed 4 --for SECS`, recording a cast in `dir` and
/// the session log at `jsonl`.
fn headless_green_5xx(dir: &std::path::Path, secs: u32, jsonl: &std::path::Path) {
    let secs = secs.to_string();
    let cast = dir.join("x.cast");
    let o = cutover(&[
        "demo",
        "--scenario",
        "green-5xx",
        "--seed",
        "4",
        "--for",
        &secs,
        "--record",
        cast.to_str().unwrap(),
        "--session",
        jsonl.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn a_headless_demo_writes_a_session_that_replays_to_its_markers() {
    let dir = test_dir("replay-headless");
    let cast = dir.join("x.cast");
    let jsonl = dir.join("s.jsonl");
    headless_green_5xx(&dir, 240, &jsonl);
    let s = session::load(&jsonl).unwrap();
    assert_eq!(s.header.mode, "demo");
    assert_eq!(s.header.gateways.len(), 6);
    let markers = s.markers();
    assert!(
        markers.iter().any(|(_, l)| l.contains("AUTO-ROLLBACK")),
        "{markers:#?}"
    );
    let mut replay =
        session::replay::driver(&s, KeyMap::default(), ThemeSet::builtin().owned_names());
    let mut got = Vec::new();
    for (t, _) in &markers {
        replay.advance_to(*t);
        got.extend(replay.take_markers());
    }
    assert_eq!(
        got, markers,
        "the replay makes the recorded markers at their times"
    );
    // The cast made in the same run carries the same chapters.
    let c = cutover::front::record::validate(&std::fs::read_to_string(&cast).unwrap()).unwrap();
    let chapters: Vec<&String> = c.markers.iter().map(|(_, l)| l).collect();
    assert_eq!(chapters, markers.iter().map(|(_, l)| l).collect::<Vec<_>>());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_truncated_or_foreign_file_is_refused_naming_the_line() {
    let dir = test_dir("replay-bad");
    let good = dir.join("s.jsonl");
    headless_green_5xx(&dir, 5, &good);
    let full = std::fs::read_to_string(&good).unwrap();
    let lines = full.lines().count();
    let cut = dir.join("cut.jsonl");
    std::fs::write(&cut, &full[..full.len() - 7]).unwrap();
    let o = cutover(&["replay", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("cut.jsonl: line {lines}: truncated")),
        "{err}"
    );

    let foreign = dir.join("x.cast");
    let o = cutover(&["replay", foreign.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("x.cast: line 1: not a cutover session file"),
        "{err}"
    );

    let o = cutover(&["replay", dir.join("missing.jsonl").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The time of the first log line on `screen` holding `needle`. A log line starts with its
/// time; the same words can also be in the footer's notice or the header's next marker.
fn log_line_time(screen: &str, needle: &str) -> Option<String> {
    screen
        .lines()
        .filter(|l| l.contains(needle) && !l.contains("next marker"))
        .filter_map(|l| l.trim_start().get(..8))
        .find(|t| {
            t.split(':')
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
}

/// The header's replay clock, `T+HH:MM:SS`.
fn replay_clock(screen: &str) -> Option<String> {
    let at = screen.find("T+")?;
    screen.get(at..at + 10).map(str::to_string)
}

#[test]
fn the_cockpit_replays_read_only_with_pause_and_jump() {
    let dir = test_dir("replay-tmux");
    let jsonl = dir.join("s.jsonl");
    headless_green_5xx(&dir, 240, &jsonl);
    // The replay is recorded too: --record works in every cockpit mode.
    let replay_cast = dir.join("replay.cast");
    let cmd = format!(
        "{} replay {} --record {}",
        env!("CARGO_BIN_EXE_cutover"),
        jsonl.display(),
        replay_cast.display()
    );
    let t = Tmux::start(140, 40, &cmd);
    t.wait_for("the REPLAY header", |s| {
        s.contains("REPLAY") && s.contains("next marker")
    });
    t.keys(" ");
    let paused = t.wait_for("the pause", |s| s.contains("PAUSED"));
    let clock = replay_clock(&paused);
    assert!(clock.is_some(), "{paused}");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        replay_clock(&t.screen()),
        clock,
        "the clock stops while paused"
    );
    // Markers: the 5xx breach, the page-level burn, then the auto-rollback.
    t.keys("n");
    t.keys("n");
    t.keys("n");
    // The footer's notice can show the auto-rollback a frame before the log panel does:
    // wait for the log line itself.
    let screen = t.wait_for("the auto-rollback's log line", |s| {
        log_line_time(s, "AUTO-ROLLBACK: green").is_some()
    });
    // The log reads the session's clock, not the second it was played back in: the greeting
    // at 00:00:00, the auto-rollback within the 240 s the session lasted.
    let log_time = |needle: &str| {
        log_line_time(&screen, needle)
            .unwrap_or_else(|| panic!("no log line with {needle}:\n{screen}"))
    };
    assert_eq!(log_time("replay of a"), "00:00:00", "{screen}");
    let at = log_time("AUTO-ROLLBACK: green");
    let secs: Vec<u64> = at.split(':').map(|p| p.parse().unwrap()).collect();
    assert!(
        secs[0] == 0 && secs[1] * 60 + secs[2] <= 240,
        "session time, not wall time: {at}\n{screen}"
    );
    // Keys that would act on a live fleet do nothing here.
    t.keys("]");
    t.keys(" ");
    let row = |s: &str| {
        s.lines()
            .find(|l| l.trim_start_matches(['▸', ' ']).starts_with("gw-b1 "))
            .unwrap_or_default()
            .to_string()
    };
    t.wait_for("gw-b1 rolled back to 100/0", |s| {
        row(s).contains("100/0") && !s.contains("PAUSED")
    });
    t.keys("q");
    t.wait_for("the exit", |s| !s.contains("REPLAY"));
    let cast = std::fs::read_to_string(&replay_cast).unwrap();
    let c = cutover::front::record::validate(&cast).unwrap_or_else(|e| panic!("replay.cast: {e}"));
    assert!(
        c.output.contains("REPLAY"),
        "the replay's screen is in its cast"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_live_lab_session_is_logged_and_replays_to_the_same_markers_and_weights() {
    let lab = common::Lab::up("replay-live", 2, &[]);
    let cast = lab.dir.join("live.cast");
    let cmd = lab.cockpit_cmd(&format!("--actor replay-op --record {}", cast.display()));
    let t = Tmux::start(120, 40, &cmd);
    t.wait_for("both gateways read back", |s| {
        s.contains("LIVE") && row(s, "gw-a1").contains("100/0") && row(s, "gw-b1").contains("100/0")
    });
    t.wait_for("the TTFT verdict", |s| s.contains("% ok"));
    t.keys("]");
    t.wait_for("gw-a1 at 90/10", |s| row(s, "gw-a1").contains("90/10"));
    t.keys("R");
    t.keys("y");
    t.wait_for("gw-a1 rolled back", |s| row(s, "gw-a1").contains("100/0"));
    // Green is in its rollback grace window (nginx's idle keep-alive connection to it counts
    // until it times out): q asks what it would abandon; y quits anyway, audited.
    t.keys("q");
    t.wait_for("the quit question", |s| s.contains("Quit?"));
    t.keys("y");
    t.wait_for("the cockpit to exit", |s| s.contains("exit=0"));
    let audit = std::fs::read_to_string(lab.dir.join("cutover-audit.jsonl")).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains(r#""action":"abandon""#) && l.contains("rollback grace of green")),
        "{audit}"
    );

    let logs: Vec<_> = std::fs::read_dir(&lab.dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("cutover-session-") && n.ends_with("Z.jsonl"))
        })
        .collect();
    assert_eq!(
        logs.len(),
        1,
        "one session log beside the audit log: {logs:?}"
    );
    let s = session::load(&logs[0]).unwrap();
    assert_eq!(
        (s.header.mode.as_str(), s.header.actor.as_str()),
        ("live", "replay-op")
    );
    let markers = s.markers();
    assert_eq!(markers.len(), 2, "{markers:#?}");
    assert!(markers[1].1.contains("rollback"), "{markers:#?}");

    let mut replay =
        session::replay::driver(&s, KeyMap::default(), ThemeSet::builtin().owned_names());
    let weights = |d: &Driver<session::replay::ReplayWorld>| {
        d.state.gateways[0].model.weights.map(|w| w.to_string())
    };
    replay.advance_to(markers[0].0);
    assert_eq!(weights(&replay).as_deref(), Some("100/0"));
    replay.advance_to(markers[1].0);
    // The step had read back before the rollback began, as on the screen.
    assert_eq!(weights(&replay).as_deref(), Some("90/10"));
    replay.advance_to(s.end());
    assert_eq!(weights(&replay).as_deref(), Some("100/0"));
    assert_eq!(
        replay.take_markers(),
        markers,
        "the same markers at the same times"
    );
    assert!(replay.world.done());

    // The cast recorded beside it is valid and carries the same chapters at the same times.
    let text = std::fs::read_to_string(&cast).unwrap();
    let c = cutover::front::record::validate(&text).unwrap_or_else(|e| panic!("live.cast: {e}"));
    let cast_markers: Vec<String> = c.markers.iter().map(|(_, l)| l.clone()).collect();
    let log_markers: Vec<String> = markers.iter().map(|(_, l)| l.clone()).collect();
    assert_eq!(cast_markers, log_markers);
    for ((cast_t, _), (log_t, _)) in c.markers.iter().zip(&markers) {
        // The cast counts seconds from its first event, the log milliseconds from the start.
        assert!(
            (cast_t - *log_t as f64 / 1000.0).abs() < 1.0,
            "{cast_t} vs {log_t} ms"
        );
    }
    lab.down();
}
