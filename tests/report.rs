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
               "p50_ms": 200, "p95_ms": 300, "p99_ms": 300, "header_p95_ms": 20,
               "statuses": {"2xx": 2, "3xx": 0, "4xx": 0, "499": 0, "5xx": 1, "other": 0,
                            "top_5xx": [{"code": 503, "count": 1}]}})
    );
    assert_eq!(
        f["colors"]["green"],
        json!({"requests": 3, "errors_5xx": 1, "ratio_5xx": 1.0 / 3.0,
               "p50_ms": 500, "p95_ms": 600, "p99_ms": 600, "header_p95_ms": 60,
               "statuses": {"2xx": 2, "3xx": 0, "4xx": 0, "499": 0, "5xx": 1, "other": 0,
                            "top_5xx": [{"code": 500, "count": 1}]}})
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

/// A fleet.toml gateway whose access log is `log`, with its colors on `ip` (as in the lab).
fn gateway(name: &str, log: &Path, ip: &str) -> String {
    format!(
        "\n[[gateway]]\nname = \"{name}\"\naz = \"a\"\nssh = \"h\"\nnginx_conf = \"/c\"\naccess_log = \"{}\"\nhealth_url = \"http://127.0.0.1/h\"\n[gateway.blue]\naddr = \"{ip}:8787\"\nstart = \"s\"\nstop = \"s\"\nversion = \"v\"\n[gateway.green]\naddr = \"{ip}:8788\"\nstart = \"s\"\nstop = \"s\"\nversion = \"v\"\n",
        log.display()
    )
}

/// An audit record of a step on `host`, `at_ms` after T0.
fn audit_step(at_ms: u64, host: &str, before: u8, after: u8, extra: &str) -> String {
    let ms = T0_MS + at_ms;
    let (secs, millis) = (ms / 1000, ms % 1000);
    // 2026-11-22T01:MM:SS: the tests stay within the hour after T0.
    let into = secs - T0_MS / 1000;
    format!(
        r#"{{"time":"2026-11-22T01:{:02}:{:02}.{millis:03}Z","actor":"ann","ticket":null,"host":"{host}","action":"step","origin":"operator","before":{{"blue":{},"green":{before}}},"after":{{"blue":{},"green":{after}}},"target":{{"blue":{},"green":{after}}},"commands":[],"duration_ms":40,"outcome":"ok","error":null{extra}}}"#,
        into / 60,
        into % 60,
        100 - before,
        100 - after,
        100 - after
    )
}

/// Two gateways with their own color addresses, a rotated gzip sibling, and an audit log.
struct Fleet {
    dir: TempDir,
    toml: PathBuf,
    a: PathBuf,
    a_rotated: PathBuf,
    b: PathBuf,
}

fn two_gateways(test: &str, audit: Option<&str>) -> Fleet {
    let dir = TempDir::new(test);
    std::fs::create_dir_all(dir.0.join("a/logs")).expect("dir");
    std::fs::create_dir_all(dir.0.join("b/logs")).expect("dir");
    let a = dir.write(
        "a/logs/access.log",
        &log(&[
            line(1_000, "200", "0.100", "127.0.1.10:8787", "0.010"),
            line(2_000, "502", "0.100", "127.0.1.10:8788", "0.010"),
            line(61_000, "200", "0.100", "127.0.1.10:8788", "0.010"),
            line(62_000, "200", "0.100", "127.0.1.10:8787", "0.010"),
        ]),
    );
    let a_rotated = dir.write(
        "a/logs/access.log.1.gz",
        &gzip(&log(&[line(0, "200", "0.100", "127.0.1.10:8787", "0.010")])),
    );
    let b = dir.write(
        "b/logs/access.log",
        &log(&[
            line(1_000, "200", "0.100", "127.0.1.11:8787", "0.010"),
            line(61_500, "504", "0.100", "127.0.1.11:8788", "0.010"),
        ]),
    );
    let mut toml = String::new();
    if let Some(audit) = audit {
        dir.write("audit.jsonl", audit.as_bytes());
        toml.push_str("audit_log = \"audit.jsonl\"\n");
    } else {
        toml.push_str("audit_log = \"none-yet.jsonl\"\n");
    }
    toml.push_str(&gateway(
        "gw-a1",
        &dir.0.join("a/logs/access.log"),
        "127.0.1.10",
    ));
    toml.push_str(&gateway(
        "gw-b1",
        &dir.0.join("b/logs/access.log"),
        "127.0.1.11",
    ));
    let toml = dir.write("fleet.toml", toml.as_bytes());
    Fleet {
        dir,
        toml,
        a,
        a_rotated,
        b,
    }
}

#[test]
fn each_file_is_attributed_by_its_gateway_with_its_steps() {
    let audit = [
        audit_step(30_000, "gw-a1", 0, 10, r#","stage":"intent","id":"1""#),
        audit_step(30_000, "gw-a1", 0, 10, r#","stage":"outcome","id":"1""#),
        audit_step(90_000, "gw-b1", 0, 10, ""),
        "{\"time\": torn".to_string(),
        String::new(),
    ]
    .join("\n");
    let f = two_gateways("by-gateway", Some(&audit));
    let (toml, a, rot, b) = (
        path_arg(&f.toml),
        path_arg(&f.a),
        path_arg(&f.a_rotated),
        path_arg(&f.b),
    );
    let o = cutover(&["-c", toml, "report", a, rot, b]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("attribution: each file by its gateway's addresses in fleet.toml\n"),
        "{out}"
    );
    for (title, colors) in [
        (
            format!("== gw-a1 ({a})"),
            "127.0.1.10:8787, green 127.0.1.10:8788",
        ),
        (
            format!("== gw-a1 ({rot})"),
            "127.0.1.10:8787, green 127.0.1.10:8788",
        ),
        (
            format!("== gw-b1 ({b})"),
            "127.0.1.11:8787, green 127.0.1.11:8788",
        ),
    ] {
        assert!(
            out.contains(&format!("\n{title}\n  colors blue {colors} (fleet.toml)\n")),
            "{title} in\n{out}"
        );
    }
    assert!(
        out.contains("  unattributed         0         0       -"),
        "{out}"
    );
    assert!(!out.contains("  unattributed         1"), "{out}");
    // Each gateway's steps in its own minute rows; the intent is not a second step.
    let section = |title: &str| {
        let at = out
            .find(title)
            .unwrap_or_else(|| panic!("{title} in\n{out}"));
        let rest = &out[at + title.len()..];
        rest[..rest.find("\n== ").unwrap_or(rest.len())].to_string()
    };
    let sa = section(&format!("== gw-a1 ({a})"));
    assert!(
        sa.contains(
            "\n                    ← step 100/0→90/10 ok at 01:00:30\n  2026-11-22 01:01  blue"
        ),
        "{sa}"
    );
    assert_eq!(sa.matches('←').count(), 1, "{sa}");
    assert!(
        sa.contains("  green              1       0       0       0       1  502 x1\n"),
        "{sa}"
    );
    let sb = section(&format!("== gw-b1 ({b})"));
    assert!(sb.contains("← step 100/0→90/10 ok at 01:01:30"), "{sb}");
    assert!(!sb.contains("01:00:30"), "{sb}");
    // The rotated file is gw-a1's too: its one minute shows gw-a1's step of that minute.
    assert_eq!(
        section(&format!("== gw-a1 ({rot})")).matches('←').count(),
        1
    );
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
    // The fleet's disagreement does not matter when every file has its gateway; the torn
    // audit line is counted.
    let audit_path = f.dir.0.join("audit.jsonl");
    assert_eq!(
        stderr(&o),
        format!(
            "cutover: warning: audit log {}: skipped 1 unreadable line (the first is line 4); the steps shown may be incomplete\n",
            audit_path.display()
        )
    );

    let o = cutover(&["-c", toml, "report", "--json", a, b]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["files"][0]["gateway"], "gw-a1");
    assert_eq!(v["files"][1]["gateway"], "gw-b1");
    assert_eq!(
        v["files"][1]["addresses"],
        json!({"blue": "127.0.1.11:8787", "green": "127.0.1.11:8788"})
    );
    assert_eq!(v["files"][0]["colors"]["blue"]["requests"], 2);
    assert_eq!(v["files"][0]["colors"]["green"]["requests"], 2);
    assert_eq!(
        v["files"][1]["colors"]["green"]["statuses"]["top_5xx"],
        json!([{"code": 504, "count": 1}])
    );
    assert_eq!(v["total"]["colors"]["unattributed"]["requests"], 0);
    assert_eq!(
        v["files"][0]["steps"][0]["time"],
        "2026-11-22T01:00:30.000Z"
    );
    assert_eq!(
        v["files"][1]["steps"][0]["after"],
        json!({"blue": 90, "green": 10})
    );
}

#[test]
fn a_file_of_no_gateway_falls_back_and_a_missing_audit_log_is_fine() {
    let f = two_gateways("fallback", None);
    let stray = f.dir.write(
        "stray.log",
        &log(&[
            line(0, "200", "0.100", BLUE, "0.010"),
            line(1, "200", "0.100", "127.0.1.10:8787", "0.010"),
        ]),
    );
    let o = cutover(&[
        "-c",
        path_arg(&f.toml),
        "report",
        path_arg(&f.a),
        path_arg(&stray),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "attribution: blue 127.0.0.1:8787 (default), green 127.0.0.1:8788 (default)\n  except the files of a fleet.toml gateway: by that gateway's addresses\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!("\n== stray.log\n  file {}\n", path_arg(&stray))),
        "{out}"
    );
    // The stray file needed the fleet's addresses, which disagree: said once; no audit log
    // yet: nothing said.
    let e = stderr(&o);
    assert!(e.contains("the fleet's gateways disagree"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn every_request_unattributed_is_a_loud_failure() {
    let d = TempDir::new("unattributed");
    let lab = |at, addr: &str| line(at, "200", "0.100", addr, "0.010");
    let a = d.write(
        "gw-a1.access.log",
        &log(&[
            lab(0, "127.0.1.10:8787"),
            lab(1, "127.0.1.10:8787"),
            lab(2, "127.0.1.10:8788"),
        ]),
    );
    let b = d.write("gw-b1.access.log", &log(&[lab(0, "127.0.1.11:8788")]));
    let o = cutover(&["report", path_arg(&a), path_arg(&b)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "cutover: WARNING: gw-a1.access.log ({}): ALL 3 requests are unattributed: none ended at blue 127.0.0.1:8787 (default) and green 127.0.0.1:8788 (default); the log's upstreams are 127.0.1.10:8787 x2, 127.0.1.10:8788 x1.",
            path_arg(&a)
        )),
        "{e}"
    );
    assert!(e.contains("cutover: WARNING: gw-b1.access.log ("), "{e}");
    assert!(
        e.contains("not one request of the 2 files could be given a color"),
        "{e}"
    );
    assert!(e.trim_end().ends_with("every request is unattributed: the per-color figures are empty (see the warnings above)"), "{e}");
    // The report is still printed: it is what the warnings are about.
    assert!(
        stdout(&o).contains("  unattributed         3"),
        "{}",
        stdout(&o)
    );
    let o = cutover(&["report", "--json", path_arg(&a)]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["files"][0]["colors"]["unattributed"]["requests"], 3);

    // The right addresses: no warning. One file attributed: the other's warning, exit 0.
    let o = cutover(&[
        "report",
        "--blue",
        "127.0.1.10:8787",
        "--green",
        "127.0.1.10:8788",
        path_arg(&a),
        path_arg(&b),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("WARNING: gw-b1.access.log"), "{e}");
    assert!(!e.contains("gw-a1"), "{e}");
    // Partial unattribution is counted in the table, as before, without a warning.
    let mixed = d.write(
        "mixed.log",
        &log(&[lab(0, BLUE), lab(1, "127.0.1.10:8787"), lab(2, GREEN)]),
    );
    let o = cutover(&["report", path_arg(&mixed)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    assert!(
        stdout(&o).contains("  unattributed         1         0   0.00%"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn since_and_until_count_only_their_lines() {
    let d = TempDir::new("window");
    let p = d.write("gw.log", &sample());
    let v = report_json(&[
        "--since",
        "2026-11-22T01:00:00.300Z",
        "--until",
        "2026-11-22T02:01:00.150+01:00",
        path_arg(&p),
    ]);
    let f = &v["files"][0];
    // 300, 400, 500 ms and 60.100 s are inside; 100, 200 ms and 60.200 s are not.
    assert_eq!(
        (&f["lines"], &f["parsed"], &f["outside_window"]),
        (&json!(7), &json!(4), &json!(3))
    );
    assert_eq!(
        v["window"],
        json!({"since": "2026-11-22T01:00:00.300Z", "until": "2026-11-22T01:01:00.150Z"})
    );
    let o = cutover(&["report", "--since", "2026-11-22T01:01:00Z", path_arg(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("window: requests that ended from 2026-11-22T01:01:00.000Z\n"),
        "{out}"
    );
    assert!(
        out.contains("  lines 7, parsed 2, malformed 0, oversized 0, outside the window 5\n"),
        "{out}"
    );
    assert!(!out.contains("2026-11-22 01:00"), "{out}");
    // HH:MM is accepted (today's, so what it keeps depends on the day the test runs).
    let o = cutover(&["report", "--until", "00:00", path_arg(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(
            "T00:00:00.000Z
"
        ),
        "{}",
        stdout(&o)
    );

    for (args, want) in [
        (
            vec!["--since", "yesterday"],
            "--since \"yesterday\": expected RFC 3339",
        ),
        (
            vec!["--until", "25:00"],
            "--until \"25:00\": expected RFC 3339",
        ),
        (
            vec!["--since", "2026-11-22T01:00:00"],
            "--since \"2026-11-22T01:00:00\"",
        ),
        (
            vec!["--since", "02:00", "--until", "01:00"],
            "--since \"02:00\" is not before --until \"01:00\"",
        ),
    ] {
        let mut all = vec!["report"];
        all.extend_from_slice(&args);
        all.push(path_arg(&p));
        let o = cutover(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
    let o = cutover(&[
        "report",
        "--request-id",
        "x",
        "--since",
        "01:00",
        path_arg(&p),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
