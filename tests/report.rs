//! `cutover report` as a user runs it: the real binary on files in a temp dir.

mod common;

use common::cutover;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

const BLUE: &str = "127.0.0.1:8787";
const GREEN: &str = "127.0.0.1:8788";
/// 2026-11-22T01:00:00Z.
const T0_MS: u64 = 1_795_309_200_000;

/// A directory of its own per test (and per run), removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let d =
            std::env::temp_dir().join(format!("cutover-report-it-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("create temp dir");
        TempDir(d)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).expect("write temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path_arg(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn report_json(args: &[&str]) -> Value {
    let mut all = vec!["report", "--json"];
    all.extend_from_slice(args);
    let o = cutover(&all);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("stdout is one JSON object")
}

/// A line in the documented `log_format cutover`, `at_ms` after T0.
fn line(at_ms: u64, status: &str, request_time: &str, addr: &str, header: &str) -> String {
    let ms = T0_MS + at_ms;
    format!(
        r#"{{"time":"{}.{:03}","status":"{status}","request_time":"{request_time}","upstream_addr":"{addr}","upstream_status":"{status}","upstream_response_time":"{request_time}","upstream_header_time":"{header}","request_id":"0123456789abcdef0123456789abcdef","request":"POST /v1/chat/completions HTTP/1.1","bytes_sent":"2197"}}"#,
        ms / 1000,
        ms % 1000
    )
}

fn log(lines: &[String]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect()
}

/// Minute 0: blue 3 (one 503), green 1, unattributed 1 (the group name); minute 1: green 2.
fn sample() -> Vec<u8> {
    log(&[
        line(100, "200", "0.120", BLUE, "0.012"),
        line(200, "503", "0.300", BLUE, "-"),
        line(300, "200", "0.200", &format!("{GREEN}, {BLUE}"), "-, 0.020"),
        line(400, "200", "0.400", GREEN, "0.040"),
        line(500, "502", "0.001", "gateway", ""),
        line(60_100, "200", "0.500", GREEN, "0.050"),
        line(60_200, "500", "0.600", GREEN, "0.060"),
    ])
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("in memory");
    e.finish().expect("in memory")
}

#[test]
fn plain_and_gzipped_give_the_same_json() {
    let d = TempDir::new("gzip");
    let plain = d.write("gw-a1.access.log", &sample());
    let gz = d.write("gw-a1.access.log.2.gz", &gzip(&sample()));
    let a = report_json(&[path_arg(&plain)]);
    let mut b = report_json(&[path_arg(&gz)]);
    assert_eq!(b["files"][0]["name"], "gw-a1.access.log");
    assert_eq!(b["files"][0]["path"], path_arg(&gz));
    b["files"][0]["path"] = json!(path_arg(&plain));
    assert_eq!(a, b);
    let f = &a["files"][0];
    assert_eq!(
        (&f["lines"], &f["parsed"], &f["malformed"], &f["oversized"]),
        (&json!(7), &json!(7), &json!(0), &json!(0))
    );
    assert_eq!(
        f["colors"]["blue"],
        json!({"requests": 3, "errors_5xx": 1, "ratio_5xx": 1.0 / 3.0,
               "p50_ms": 200, "p95_ms": 300, "p99_ms": 300, "header_p95_ms": 20})
    );
    assert_eq!(
        f["colors"]["green"],
        json!({"requests": 3, "errors_5xx": 1, "ratio_5xx": 1.0 / 3.0,
               "p50_ms": 500, "p95_ms": 600, "p99_ms": 600, "header_p95_ms": 60})
    );
    assert_eq!(f["colors"]["unattributed"]["requests"], 1);
    assert_eq!(f["colors"]["unattributed"]["errors_5xx"], 1);
    assert_eq!(f["minutes"][0]["minute"], "2026-11-22T01:00:00Z");
    assert_eq!(f["minutes"][0]["green"]["requests"], 1);
    assert_eq!(f["minutes"][1]["minute"], "2026-11-22T01:01:00Z");
    assert_eq!(f["minutes"][1]["green"]["ratio_5xx"], 0.5);
    assert_eq!(f["minutes"][1]["blue"]["p50_ms"], Value::Null);
    assert_eq!(a["total"], Value::Null);
}

#[test]
fn two_files_and_their_total() {
    let d = TempDir::new("two");
    let a = d.write("gw-a1.access.log", &sample());
    let b = d.write(
        "gw-b1.access.log.1",
        &log(&[
            line(150, "200", "0.100", BLUE, "0.010"),
            line(120_000, "504", "1.504", GREEN, "-"),
            "not a log line".to_string(),
        ]),
    );
    let v = report_json(&[path_arg(&a), path_arg(&b)]);
    let files = v["files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    assert_eq!(files[1]["name"], "gw-b1.access.log");
    assert_eq!(
        files[1]["first_malformed"],
        json!({"line": 3, "error": "not a JSON object"})
    );
    let t = &v["total"];
    assert_eq!(t["files"], 2);
    for key in ["lines", "parsed", "malformed", "oversized"] {
        assert_eq!(
            t[key].as_u64(),
            Some(files[0][key].as_u64().unwrap_or(0) + files[1][key].as_u64().unwrap_or(0)),
            "{key}"
        );
    }
    assert_eq!(
        (t["lines"].as_u64(), t["malformed"].as_u64()),
        (Some(10), Some(1))
    );
    for color in ["blue", "green", "unattributed"] {
        for key in ["requests", "errors_5xx"] {
            let sum = files[0]["colors"][color][key].as_u64().unwrap_or(0)
                + files[1]["colors"][color][key].as_u64().unwrap_or(0);
            assert_eq!(t["colors"][color][key].as_u64(), Some(sum), "{color} {key}");
        }
    }
    assert_eq!(t["colors"]["blue"]["requests"], 4);
    assert_eq!(t["colors"]["green"]["p99_ms"], 1504);
    let minutes: Vec<&str> = t["minutes"]
        .as_array()
        .expect("minutes")
        .iter()
        .filter_map(|m| m["minute"].as_str())
        .collect();
    assert_eq!(
        minutes,
        [
            "2026-11-22T01:00:00Z",
            "2026-11-22T01:01:00Z",
            "2026-11-22T01:02:00Z"
        ]
    );
    assert_eq!(t["minutes"][0]["blue"]["requests"], 4);

    // The table: a section per file, then the total.
    let o = cutover(&["report", path_arg(&a), path_arg(&b)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s:?} in\n{out}"));
    assert!(at("== gw-a1.access.log") < at("== gw-b1.access.log"));
    assert!(at("== gw-b1.access.log") < at("== fleet total (2 files)"));
    assert!(
        out.contains("  first malformed: line 3: not a JSON object\n"),
        "{out}"
    );
    assert!(
        out.contains("  blue                 4         1  25.00%"),
        "{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
}

#[test]
fn a_truncated_gzip_fails_naming_the_file() {
    let d = TempDir::new("corrupt");
    let many: Vec<String> = (0..2000)
        .map(|i| line(i, "200", "0.100", BLUE, "0.010"))
        .collect();
    let z = gzip(&log(&many));
    let good = d.write("good.log", &sample());
    let cut = d.write("gw.access.log.3.gz", &z[..z.len() * 2 / 3]);
    let o = cutover(&["report", path_arg(&good), path_arg(&cut)]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "{}: the gzip stream is broken after ",
            path_arg(&cut)
        )),
        "{e}"
    );
    assert!(e.contains("decompressed bytes"), "{e}");
    assert!(o.stdout.is_empty());
}

#[test]
fn a_missing_file_fails_naming_it() {
    let d = TempDir::new("missing");
    let good = d.write("good.log", &sample());
    let missing = d.0.join("nope.log");
    let o = cutover(&["report", "--json", path_arg(&good), path_arg(&missing)]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains(&format!("{}: cannot open: ", path_arg(&missing))) && e.contains("os error 2"),
        "{e}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn no_files_is_a_usage_error() {
    let o = cutover(&["report"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ACCESS_LOG"), "{}", stderr(&o));
    let o = cutover(&["report", "--blue", "a:1", "--green", "a:1", "x.log"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("both have the address"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn garbage_is_reported_with_a_warning_naming_line_1() {
    let d = TempDir::new("garbage");
    let p = d.write(
        "junk.log",
        b"GET / HTTP/1.1\n127.0.0.1 - - [22/Nov/2026]\n{\"time\":\n",
    );
    let o = cutover(&["report", "--json", path_arg(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let f = &v["files"][0];
    assert_eq!(
        (&f["lines"], &f["parsed"], &f["malformed"]),
        (&json!(3), &json!(0), &json!(3))
    );
    assert_eq!(
        f["first_malformed"],
        json!({"line": 1, "error": "not a JSON object"})
    );
    assert_eq!(f["minutes"], json!([]));
    assert_eq!(
        stderr(&o),
        format!(
            "cutover: warning: {}: no usable line in 3 lines; the first bad one is line 1: not a JSON object\n",
            path_arg(&p)
        )
    );
}

#[test]
fn escape_sequences_never_reach_the_terminal() {
    let d = TempDir::new("escapes");
    let ok = line(0, "200", "0.100", BLUE, "0.010");
    // As nginx's escape=json writes an ESC (valid), and a raw ESC (malformed).
    let escaped = ok.replace("POST /v1", "POST /\\u001b]0;pwned\\u0007\\u001b[2J/v1");
    let raw = ok.replace("POST /v1", "POST /\x1b]0;pwned\x07\x1b[2J/v1");
    let mut bytes = log(&[escaped, raw]);
    bytes.extend_from_slice(b"\x1b[31mred\x1b[0m\n\x9b31m\n");
    let p = d.write("evil\x1b[2J.log", &bytes);
    let missing = d.0.join("gone\x1b]0;x\x07.log");
    for args in [
        vec!["report", path_arg(&p)],
        vec!["report", "--json", path_arg(&p)],
        vec!["report", path_arg(&missing)],
        vec!["report", "--blue", "\x1b[2J:1", path_arg(&p)],
    ] {
        let o = cutover(&args);
        assert!(
            !o.stdout.contains(&0x1b) && !o.stderr.contains(&0x1b),
            "{args:?}: {o:?}"
        );
        assert!(
            !o.stdout.contains(&0x07) && !o.stderr.contains(&0x07),
            "{args:?}: {o:?}"
        );
    }
    let v = report_json(&[path_arg(&p)]);
    let f = &v["files"][0];
    assert_eq!(
        (&f["lines"], &f["parsed"], &f["malformed"]),
        (&json!(4), &json!(1), &json!(3))
    );
    assert_eq!(f["name"], "evil.log");
    assert_eq!(
        f["first_malformed"],
        json!({"line": 2, "error": "a string holds a raw control character or a bad escape"})
    );
}

#[test]
fn blue_and_green_flags_override_attribution() {
    let d = TempDir::new("flags");
    let p = d.write(
        "gw.log",
        &log(&[
            line(0, "200", "0.100", "unix:/run/gw-blue.sock", "0.010"),
            line(1, "200", "0.100", "unix:/run/gw-blue.sock", "0.010"),
            line(2, "500", "0.100", "10.0.0.2:9000", "0.010"),
            line(3, "200", "0.100", BLUE, "0.010"),
        ]),
    );
    let requests = |v: &Value| {
        let c = &v["files"][0]["colors"];
        (
            c["blue"]["requests"].as_u64(),
            c["green"]["requests"].as_u64(),
            c["unattributed"]["requests"].as_u64(),
        )
    };
    assert_eq!(
        requests(&report_json(&[path_arg(&p)])),
        (Some(1), Some(0), Some(3))
    );
    let v = report_json(&[
        "--blue",
        "unix:/run/gw-blue.sock",
        "--green",
        "10.0.0.2:9000",
        path_arg(&p),
    ]);
    assert_eq!(requests(&v), (Some(2), Some(1), Some(1)));
    assert_eq!(v["files"][0]["colors"]["green"]["errors_5xx"], 1);
    let o = cutover(&["report", "--green", "10.0.0.2:9000", path_arg(&p)]);
    assert!(
        stdout(&o).starts_with(
            "attribution: blue 127.0.0.1:8787 (default), green 10.0.0.2:9000 (flag)\n"
        ),
        "{}",
        stdout(&o)
    );
}

#[test]
fn addresses_come_from_fleet_toml_unless_the_gateways_disagree() {
    let d = TempDir::new("fleet");
    let gw = |name: &str, blue: &str| {
        format!(
            "[[gateway]]\nname = \"{name}\"\naz = \"a\"\nssh = \"h\"\nnginx_conf = \"/c\"\naccess_log = \"/l\"\nhealth_url = \"http://127.0.0.1/h\"\n[gateway.blue]\naddr = \"{blue}\"\nstart = \"s\"\nstop = \"s\"\nversion = \"v\"\n[gateway.green]\naddr = \"10.0.0.2:9000\"\nstart = \"s\"\nstop = \"s\"\nversion = \"v\"\n"
        )
    };
    let same = d.write(
        "same.toml",
        format!("{}{}", gw("g1", "10.0.0.1:9000"), gw("g2", "10.0.0.1:9000")).as_bytes(),
    );
    let differ = d.write(
        "differ.toml",
        format!("{}{}", gw("g1", "10.0.0.1:9000"), gw("g2", "10.0.0.3:9000")).as_bytes(),
    );
    let p = d.write(
        "gw.log",
        &log(&[
            line(0, "200", "0.100", "10.0.0.1:9000", "0.010"),
            line(1, "200", "0.100", "10.0.0.2:9000", "0.010"),
            line(2, "200", "0.100", BLUE, "0.010"),
        ]),
    );
    let o = cutover(&["-c", path_arg(&same), "report", "--json", path_arg(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["files"][0]["colors"]["blue"]["requests"], 1);
    assert_eq!(v["files"][0]["colors"]["green"]["requests"], 1);
    assert_eq!(v["files"][0]["colors"]["unattributed"]["requests"], 1);
    assert_eq!(stderr(&o), "");

    let o = cutover(&["-c", path_arg(&differ), "report", "--json", path_arg(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    // The defaults: only the 127.0.0.1:8787 line is blue's.
    assert_eq!(v["files"][0]["colors"]["blue"]["requests"], 1);
    assert_eq!(v["files"][0]["colors"]["unattributed"]["requests"], 2);
    let e = stderr(&o);
    assert!(
        e.contains("the fleet's gateways disagree") && e.contains("g2 has blue 10.0.0.3:9000"),
        "{e}"
    );
}
