//! `--record FILE.cast`: asciicast v2 from the real binary, headless and under pseudo-terminals,
//! checked with `cutover::front::record::validate` and played by Debian's asciinema 2.2 (required:
//! scripts/test installs it; a missing asciinema fails these tests, it does not skip them).

mod common;

use common::tmux::Tmux;
use common::{cutover, test_dir, text};
use cutover::front::record::{Summary, validate};
use cutover::sim::Scenario;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Generous: CI runs debug builds on two busy cores.
const WAIT: Duration = Duration::from_secs(20);

/// Largest cast accepted in recordings/.
const MAX_CAST_BYTES: u64 = 1_000_000;

fn recordings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn valid(path: &Path) -> Summary {
    validate(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `cutover demo --scenario NAME --seed SEED --for SECS --record DIR/NAME.cast`.
fn headless(dir: &Path, file: &str, name: &str, seed: u64, secs: u32) -> PathBuf {
    let cast = dir.join(file);
    let (seed, secs) = (seed.to_string(), secs.to_string());
    let o = cutover(&[
        "--actor",
        "trainee",
        "demo",
        "--scenario",
        name,
        "--seed",
        &seed,
        "--for",
        &secs,
        "--record",
        cast.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    cast
}

/// Run `sh_cmd` under a pseudo-terminal (`script`), stdin closed; both outputs, merged.
fn in_pty(sh_cmd: &str) -> Output {
    Command::new("script")
        .args(["-qec", sh_cmd, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::null())
        .output()
        .expect("script(1) from util-linux is required")
}

fn require_asciinema() {
    let o = Command::new("asciinema")
        .arg("--version")
        .output()
        .expect("asciinema is required: apt-get install asciinema (scripts/test installs it)");
    assert!(o.status.success(), "asciinema --version: {}", text(&o));
}

/// `asciinema cat` and a fast `asciinema play` of `cast` exit 0. Both open /dev/tty, so
/// they run under a pseudo-terminal.
fn plays(cast: &Path) {
    require_asciinema();
    let c = cast.display();
    let o = in_pty(&format!("asciinema cat '{c}' >/dev/null"));
    assert!(o.status.success(), "asciinema cat {c}: {}", text(&o));
    let o = in_pty(&format!("asciinema play -i 0.01 -s 20 '{c}' >/dev/null"));
    assert!(o.status.success(), "asciinema play {c}: {}", text(&o));
}

/// Decimal figures replaced by `#`: labels compared without the simulated measurements.
fn shape(label: &str) -> String {
    let mut out = String::new();
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut num = c.to_string();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit() || **d == '.') {
                num.push(d);
                chars.next();
            }
            out.push_str(if num.contains('.') { "#" } else { &num });
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn every_scenario_has_a_valid_recording_made_by_the_tool() {
    for s in Scenario::builtin() {
        let path = recordings().join(format!("{}.cast", s.name));
        let size = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run scripts/record-scenarios", path.display()))
            .len();
        assert!(size < MAX_CAST_BYTES, "{}: {size} bytes", path.display());
        let c = valid(&path);
        assert_eq!((c.width, c.height), (120, 40), "{}", path.display());
        assert!(
            c.title
                .starts_with(&format!("cutover demo {} seed ", s.name)),
            "{}",
            c.title
        );
        assert!(!c.markers.is_empty(), "{}: no markers", path.display());
        assert!(c.output.starts_with("\u{1b}[?1049h"), "{}", path.display());
        assert!(
            c.output.ends_with("\u{1b}[?1049l\u{1b}[?25h"),
            "{}",
            path.display()
        );
        assert!(c.output.contains("● REC") && c.output.contains("T+00:00:0"));
    }
    // The chapters each cast exists for.
    let labels = |name: &str| -> Vec<String> {
        valid(&recordings().join(format!("{name}.cast")))
            .markers
            .into_iter()
            .map(|(_, l)| shape(&l))
            .collect()
    };
    let has = |name: &str, want: &str| {
        let l = labels(name);
        assert!(l.iter().any(|x| x == want), "{name}: no {want:?} in {l:#?}");
    };
    has("happy-path", "step green +10 on gw-a1");
    has(
        "happy-path",
        "drain blue on fleet (6 gateways): 6 gateways change",
    );
    has("happy-path", "gw-c2: drain of blue done");
    has(
        "green-ttft-regression",
        "rollback on fleet (6 gateways): 6 gateways change",
    );
    has(
        "green-5xx",
        "gw-b1: AUTO-ROLLBACK: green 5xx +# pp over blue for more than 180 s",
    );
    has(
        "host-dark",
        "step green +10 on fleet (6 gateways): 5 gateways change",
    );
    has(
        "nginx-test-fails",
        "step green +10 on fleet (6 gateways): 6 gateways change (guardrail overridden)",
    );
    has("nginx-test-fails", "gw-a2: operation failed");
    has("slow-drain", "gw-a1: drain of blue done");
}

#[test]
fn green_5xx_cast_marks_the_alarm_then_the_auto_rollback_three_minutes_later() {
    let dir = test_dir("record-5xx");
    let c = valid(&headless(&dir, "g.cast", "green-5xx", 4, 220));
    let labels: Vec<String> = c.markers.iter().map(|(_, l)| shape(l)).collect();
    assert_eq!(
        labels[..3],
        [
            "gw-b1: green 5xx +# pp over blue: auto-rollback in 180 s unless vetoed",
            "gw-b1: green error budget burning at page level",
            "gw-b1: AUTO-ROLLBACK: green 5xx +# pp over blue for more than 180 s",
        ]
    );
    // 100/0 first; green is stopped once its streams end, inside the grace window.
    assert!(
        labels[3..]
            .iter()
            .any(|l| l == "gw-b1: rollback grace of green done"),
        "{labels:#?}"
    );
    // Times are simulated seconds over the scenario's speed (x10): 180 s of countdown is 18 s.
    let (alarm, rollback) = (c.markers[0].0, c.markers[2].0);
    assert!(
        (rollback - alarm - 18.0).abs() < 0.5,
        "alarm at {alarm} s, rollback at {rollback} s"
    );
    assert_eq!(c.title, "cutover demo green-5xx seed 4");
    assert!((c.duration - 22.0).abs() < 1e-9, "{}", c.duration);
    plays(&dir.join("g.cast"));
}

#[test]
fn the_same_command_makes_the_same_events() {
    let dir = test_dir("record-twice");
    let a = read(&headless(&dir, "a.cast", "host-dark", 7, 60));
    let b = read(&headless(&dir, "b.cast", "host-dark", 7, 60));
    let (ha, ea) = a.split_once('\n').unwrap();
    let (hb, eb) = b.split_once('\n').unwrap();
    assert!(
        ea == eb,
        "event lines differ between two runs of one command"
    );
    let strip = |h: &str| {
        let mut v: serde_json::Value = serde_json::from_str(h).unwrap();
        v.as_object_mut().unwrap().remove("timestamp");
        v
    };
    assert_eq!(strip(ha), strip(hb), "headers differ beyond the timestamp");
    let c = read(&headless(&dir, "c.cast", "host-dark", 8, 60));
    assert_ne!(
        c.split_once('\n').unwrap().1,
        ea,
        "another seed, another run"
    );
}

#[test]
fn every_recording_plays_in_asciinema() {
    for s in Scenario::builtin() {
        plays(&recordings().join(format!("{}.cast", s.name)));
    }
}

#[test]
fn sigkill_while_recording_leaves_a_valid_cast() {
    let dir = test_dir("record-sigkill");
    let cast = dir.join("k.cast");
    let pidfile = dir.join("pid");
    // exec: the shell's pid becomes the cockpit's, written first so the test can kill it.
    let cmd = format!(
        "stty cols 100 rows 30; echo $$ > '{}'; exec {} demo --scenario green-5xx --record '{}'",
        pidfile.display(),
        env!("CARGO_BIN_EXE_cutover"),
        cast.display()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("script(1) from util-linux is required");
    let start = Instant::now();
    let lines = || std::fs::read_to_string(&cast).map_or(0, |t| t.lines().count());
    while lines() < 12 {
        if start.elapsed() > WAIT {
            let _ = child.kill();
            panic!(
                "the cast never reached 12 lines: {:?}",
                std::fs::read_to_string(&cast)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid: i32 = read(&pidfile).trim().parse().unwrap();
    // SAFETY: kill(2) on the pid of the cockpit this test started.
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGKILL) },
        0,
        "kill -9 {pid}"
    );
    let status = child.wait().unwrap();
    assert!(!status.success(), "the cockpit was killed: {status:?}");
    let c = valid(&cast);
    assert!(c.events >= 11, "{} events", c.events);
    assert_eq!((c.width, c.height), (100, 30));
    assert_eq!(c.title, "cutover demo green-5xx seed 1");
    assert!(read(&cast).ends_with('\n'), "the last line is complete");
    plays(&cast);
}

#[test]
fn an_unwritable_cast_fails_before_the_screen_is_taken_over() {
    let bad = "/nonexistent/cutover-test-dir/x.cast";
    let o = in_pty(&format!(
        "{} demo --record {bad}; echo \"exit=$?\"; stty -a",
        env!("CARGO_BIN_EXE_cutover")
    ));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("exit=1"), "{out}");
    assert!(out.contains(bad) && out.contains("cannot create"), "{out}");
    assert!(
        out.split_whitespace().any(|w| w == "icanon"),
        "terminal left in raw mode:\n{out}"
    );
    assert!(
        !out.contains("\u{1b}[?1049h"),
        "the alternate screen was entered:\n{out}"
    );
    // Headless too: the same message, before anything is played.
    let o = cutover(&["demo", "--for", "5", "--record", bad]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(bad),
        "{}",
        text(&o)
    );
}

#[test]
fn record_flags_are_checked() {
    let dir = test_dir("record-flags");
    let cast = dir.join("x.cast");
    let cast = cast.to_str().unwrap();
    let usage = |args: &[&str], want: &str| {
        let o = cutover(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(want), "{args:?}: {e}");
    };
    usage(&["demo", "--for", "5"], "--record FILE.cast");
    usage(&["demo", "--for", "0", "--record", cast], "--for 0");
    usage(
        &["demo", "--size", "100x30", "--record", cast],
        "--size is for --for",
    );
    usage(
        &["demo", "--for", "5", "--size", "20x5", "--record", cast],
        "60x16",
    );
    usage(&["--record", cast, "status"], "only the cockpit records");
    assert!(!Path::new(cast).exists(), "no file for a refused command");
    let o = cutover(&[
        "demo", "--for", "3", "--size", "80x24", "--speed", "1", "--record", cast,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let c = valid(Path::new(cast));
    assert_eq!((c.width, c.height, c.duration), (80, 24, 3.0));
}

/// Wait until `pred` holds for the cast's text; the failure shows the cast and the screen.
fn wait_cast(t: &Tmux, cast: &Path, what: &str, pred: impl Fn(&str) -> bool) {
    let start = Instant::now();
    loop {
        let c = std::fs::read_to_string(cast).unwrap_or_default();
        if pred(&c) {
            return;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {what}; cast:\n{c}\nscreen:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_live_cockpit_records_frames_markers_and_resizes() {
    let dir = test_dir("record-live");
    let cast = dir.join("live.cast");
    let cmd = format!(
        "{} --actor pty-op demo --scenario happy-path --seed 3 --record '{}'; echo \"exit=$?\"; sleep 30",
        env!("CARGO_BIN_EXE_cutover"),
        cast.display()
    );
    let t = Tmux::start(100, 30, &cmd);
    // Weights read back (on the screen): a step can be planned.
    let start = Instant::now();
    while !t
        .screen()
        .lines()
        .any(|l| l.contains("gw-a1") && l.contains("100/0"))
    {
        assert!(start.elapsed() < WAIT, "no weights:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    // A step up waits for the TTFT guardrail's 20 probes (one a second in the demo).
    let start = Instant::now();
    while !t.screen().contains("% ok") {
        assert!(
            start.elapsed() < WAIT * 2,
            "no TTFT verdict:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t.cmd(&["send-keys", "-l", "]"]);
    wait_cast(&t, &cast, "the step's marker", |c| {
        c.contains(r#""m", "step green +10 on gw-a1"]"#)
    });
    t.cmd(&["resize-window", "-x", "110", "-y", "32"]);
    wait_cast(&t, &cast, "the resize", |c| c.contains(r#""r", "110x32"]"#));
    t.cmd(&["send-keys", "-l", "q"]);
    let start = Instant::now();
    while !t.screen().contains("exit=") {
        // A small-sample 5xx countdown may be pending: the cockpit asks; quit anyway.
        if t.screen().contains("Quit?") {
            t.cmd(&["send-keys", "-l", "y"]);
        }
        assert!(start.elapsed() < WAIT, "no exit:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(t.screen().contains("exit=0"), "{}", t.screen());
    let c = valid(&cast);
    assert_eq!((c.width, c.height), (100, 30));
    assert_eq!(c.title, "cutover demo happy-path seed 3");
    assert_eq!(c.markers.len(), 1, "{:?}", c.markers);
    assert_eq!(c.resizes.len(), 1);
    assert_eq!((c.resizes[0].1, c.resizes[0].2), (110, 32));
    assert!(
        c.markers[0].0 <= c.resizes[0].0,
        "in the order they happened"
    );
    assert!(c.output.contains("● REC") && c.output.contains("pty-op"));
    assert!(
        c.output.ends_with("\u{1b}[?1049l\u{1b}[?25h"),
        "ends on the main screen"
    );
    plays(&cast);
}
