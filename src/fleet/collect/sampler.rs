//! The host sampler: one remote command per interval whose one answer carries the upstream
//! file and its lock (the weights in force), the host clock, established connections and
//! listeners per color port, nginx worker pids and, when asked, each color's version; and the
//! version command of one color on its own ([`version_command`]), which the live cockpit runs
//! apart from the sampler so that a hung version never holds up the weights. Every version
//! command runs under a time limit on the host itself ([`LIMITED`]). Pure: the script texts
//! and the parsing of their answers.

use crate::config::GatewayConfig;
use crate::fleet::control::script::{self, PORT_FNS, READ, UNIX_FNS, WORKERS};
use crate::fleet::remote::quote::sh_c;
use crate::model::{Color, HostSample, PerColor};

/// Seconds each color's version command may run inside a sampler answer that asks for
/// versions (the headless burst): two of them must leave room within the command timeout.
pub(crate) const INLINE_VERSION_LIMIT_SECS: u64 = 5;

/// `limited SECS COMMAND`: runs COMMAND under `sh` (stdin from /dev/null, stderr dropped) and
/// ends it, with its children, after SECS seconds; the exit status is COMMAND's, or 124/137
/// when it was ended. A command abandoned by our side would otherwise go on running on the
/// host (a session without a terminal gets no hangup), and every later round would add one.
///
/// `timeout` (GNU coreutils, busybox) signals the whole process group it started: TERM, then
/// KILL a second later. Without it, a watchdog kills the command's process group when the
/// shell can give it one (`set -m`: bash, the `/bin/sh` of macOS); otherwise it stops the
/// command (so that it cannot go on past a killed child), kills its children (`pkill -P`),
/// then the command. The watchdog writes nothing, so it never holds the answer's pipe open.
pub(crate) const LIMITED: &str = r#"limited() {
  if command -v timeout >/dev/null 2>&1 && timeout -k 1 5 true >/dev/null 2>&1; then
    timeout -k 1 "$1" sh -c "$2" </dev/null 2>/dev/null
  else
    ( set -m 2>/dev/null
      sh -c "$2" </dev/null 2>/dev/null & l_p=$!
      ( sleep "$1"; kill -KILL -"$l_p" || { kill -STOP "$l_p"; pkill -KILL -P "$l_p"; kill -KILL "$l_p"; }
      ) >/dev/null 2>&1 </dev/null & l_w=$!
      wait "$l_p"; l_rc=$?
      pkill -KILL -P "$l_w" 2>/dev/null; kill -KILL "$l_w" 2>/dev/null
      exit "$l_rc" ) 2>/dev/null
  fi
}
"#;

/// The sampler script. Lines before `@read` are `@key ...` records; after it comes exactly
/// what the read script prints (lock line, then the file).
const SAMPLE: &str = r#"conf=$1 pidfile=$2 bport=$3 gport=$4 vers=$5 bver=$6 gver=$7 bip=$8 gip=$9 vlim=${10} bsock=${11} gsock=${12}
@WORKERS@@PORTS@@UNIX@@LIMITED@t=$(date +%s%N 2>/dev/null)
case $t in ''|*[!0-9]*) t=$(date +%s)000000000 ;; esac
echo "@clock $t"
for c in blue green; do
  if [ "$c" = blue ]; then p=$bport; v=$bver; ip=$bip; s=$bsock; else p=$gport; v=$gver; ip=$gip; s=$gsock; fi
  if [ -n "$p" ]; then
    echo "@conns $c $(conns "$p" "$ip" | tr -d ' ')"
    listeners "$p" | while read -r a; do echo "@listen $c $a"; done
  fi
  if [ -n "$s" ]; then
    echo "@conns $c $(uconns "$s" | tr -d ' ')"
    ulisteners "$s" | while read -r a; do echo "@listen $c unix:$a"; done
  fi
  if [ "$vers" = 1 ]; then
    out=$(limited "$vlim" "$v"); rc=$?
    echo "@version $c $rc $(printf '%s' "$out" | head -n 1)"
  fi
done
echo "@workers $(workers | tr '\n' ' ')"
echo "@read"
@READ@"#;

/// The sampler's command line for a gateway; `versions` asks each color's version command too
/// (a process per color, each limited to [`INLINE_VERSION_LIMIT_SECS`] on the host).
pub(crate) fn sample_command(g: &GatewayConfig, versions: bool) -> String {
    let script = SAMPLE
        .replace("@WORKERS@", WORKERS)
        .replace("@PORTS@", PORT_FNS)
        .replace("@UNIX@", UNIX_FNS)
        .replace("@LIMITED@", LIMITED)
        // The read script takes the file as $1, as this one does.
        .replace("@READ@", READ.trim_start_matches("conf=$1\n"));
    let port = |c: Color| {
        g.color(c)
            .tcp()
            .map(|(_, p)| p.to_string())
            .unwrap_or_default()
    };
    let ip = |c: Color| g.color(c).tcp().map_or("", |(ip, _)| ip);
    let sock = |c: Color| g.color(c).addr.strip_prefix("unix:").unwrap_or("");
    sh_c(
        &script,
        &[
            &g.nginx_conf,
            &g.nginx_pid,
            &port(Color::Blue),
            &port(Color::Green),
            if versions { "1" } else { "0" },
            &g.blue.version,
            &g.green.version,
            ip(Color::Blue),
            ip(Color::Green),
            &INLINE_VERSION_LIMIT_SECS.to_string(),
            sock(Color::Blue),
            sock(Color::Green),
        ],
    )
}

/// One color's version command on its own: `@version COLOR RC FIRST_LINE`, the command ended
/// on the host after `limit_secs` (at least 1).
const VERSION: &str = r#"c=$1 v=$2 lim=$3
@LIMITED@out=$(limited "$lim" "$v"); rc=$?
echo "@version $c $rc $(printf '%s' "$out" | head -n 1)"
"#;

/// The command line that asks `color`'s version on its host, limited there to `limit_secs`.
pub(crate) fn version_command(g: &GatewayConfig, color: Color, limit_secs: u64) -> String {
    sh_c(
        &VERSION.replace("@LIMITED@", LIMITED),
        &[
            color.name(),
            &g.color(color).version,
            &limit_secs.max(1).to_string(),
        ],
    )
}

/// What one version command said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VersionAnswer {
    /// It exited 0 with a first line: the version (raw; sanitized before it is drawn).
    Known(String),
    /// It failed or printed nothing.
    Unknown,
    /// It was ended on the host for taking too long.
    TimedOut,
}

/// Parse a [`version_command`] answer for `color` (login-shell noise before it is skipped).
pub(crate) fn parse_version(stdout: &[u8], color: Color) -> VersionAnswer {
    let text = String::from_utf8_lossy(stdout);
    let answer = text
        .lines()
        .filter_map(|l| l.strip_prefix("@version "))
        .filter_map(|rest| version_line(rest.trim_end()))
        .find(|(c, ..)| *c == color);
    match answer {
        Some((_, _, Some(v))) => VersionAnswer::Known(v),
        // `timeout` says 124; a KILL, from it or from the watchdog, 128 + 9.
        Some((_, "124" | "137", None)) => VersionAnswer::TimedOut,
        _ => VersionAnswer::Unknown,
    }
}

/// An `@version` record's rest: color, exit status, and the version when there is one.
fn version_line(rest: &str) -> Option<(Color, &str, Option<String>)> {
    let (c, v) = color_and(rest)?;
    let (rc, text) = v.split_once(' ').unwrap_or((v, ""));
    let text = text.trim();
    Some((
        c,
        rc,
        (rc == "0" && !text.is_empty()).then(|| text.to_string()),
    ))
}

/// One sampler answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sample {
    /// What the host sampler section says (clock skew still to be set by the caller).
    pub(crate) host: HostSample,
    /// The host's clock when it answered, ms since the epoch.
    pub(crate) clock_ms: Option<i64>,
    /// nginx worker pids (empty: nginx is not running).
    pub(crate) workers: Vec<u32>,
    /// Whether versions were asked for (otherwise `host.versions` is empty).
    pub(crate) with_versions: bool,
    /// The read section: lock and file.
    pub(crate) read: script::ReadOut,
}

/// Parse the sampler's stdout. Remote strings are kept raw here; the model sanitizes them
/// before they are drawn.
pub(crate) fn parse_sample(stdout: &[u8]) -> Result<Sample, String> {
    let marker = b"\n@read\n";
    let (head, rest) = match find(stdout, marker) {
        Some(at) => (&stdout[..at], &stdout[at + marker.len()..]),
        None if stdout.starts_with(b"@read\n") => (&b""[..], &stdout[6..]),
        None => return Err("sampler answer has no @read section".into()),
    };
    let read = script::parse_read(rest)?;
    let mut host = HostSample::default();
    let mut clock_ms = None;
    let mut workers = Vec::new();
    let mut with_versions = false;
    for line in String::from_utf8_lossy(head).lines() {
        let mut parts = line.splitn(2, ' ');
        let key = parts.next().unwrap_or("");
        let rest = parts.next().unwrap_or("").trim_end();
        match key {
            "@clock" => {
                clock_ms = rest
                    .parse::<i128>()
                    .ok()
                    .and_then(|ns| i64::try_from(ns / 1_000_000).ok());
            }
            "@conns" => {
                if let Some((c, n)) = color_and(rest) {
                    host.conns[c] = n.trim().parse().unwrap_or(0);
                }
            }
            "@listen" => {
                if let Some((c, a)) = color_and(rest) {
                    host.listeners[c].push(a.trim().to_string());
                }
            }
            "@version" => {
                with_versions = true;
                if let Some((c, _, v)) = version_line(rest) {
                    host.versions[c] = v;
                }
            }
            "@workers" => {
                workers = rest
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect();
            }
            _ => {}
        }
    }
    // A color with a listener is running; without a TCP port, its version answer says so.
    host.running =
        PerColor::from_fn(|c| !host.listeners[c].is_empty() || host.versions[c].is_some());
    Ok(Sample {
        host,
        clock_ms,
        workers,
        with_versions,
        read,
    })
}

fn color_and(rest: &str) -> Option<(Color, &str)> {
    let (c, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    let color = match c {
        "blue" => Color::Blue,
        "green" => Color::Green,
        _ => return None,
    };
    Some((color, tail))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Keep the listeners that concern this gateway's colors: its own address, and anything that
/// is not loopback (a wildcard or public bind is the alarm). Other loopback addresses on the
/// same port belong to something else (the lab runs many hosts on one kernel).
pub(crate) fn keep_relevant_listeners(host: &mut HostSample, g: &GatewayConfig) {
    for c in Color::BOTH {
        let own = &g.color(c).addr;
        host.listeners[c].retain(|a| a == own || !crate::guard::listeners::is_loopback(a));
        // A TCP color runs when it listens; a unix-socket one when its socket has a listener
        // (`ss -x`) or, where that cannot be seen, when its version answers.
        host.running[c] = if g.color(c).tcp().is_some() {
            !host.listeners[c].is_empty()
        } else {
            !host.listeners[c].is_empty() || host.versions[c].is_some()
        };
    }
}

/// Host clock minus ours, with our time taken halfway through the round trip.
pub(crate) fn clock_skew_ms(host_ms: i64, sent_ms: i64, answered_ms: i64) -> i64 {
    host_ms - (sent_ms + (answered_ms - sent_ms) / 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn gateway(dir: &std::path::Path) -> GatewayConfig {
        let conf = dir.join("gateway.conf");
        std::fs::write(
            &conf,
            "upstream gateway {\n    server 127.0.0.1:8787 weight=90;\n    server 127.0.0.1:8788 weight=10;\n}\n",
        )
        .unwrap();
        let toml = format!(
            r#"name = "gw-a1"
az = "az-a"
ssh = "gw-a1"
nginx_conf = "{}"
nginx_pid = "{}"
access_log = "/var/log/nginx/access.log"
health_url = "http://127.0.0.1:8080/health"
[blue]
addr = "127.0.0.1:8787"
start = "true"
stop = "true"
version = "echo blue-sha1; echo second line"
[green]
addr = "127.0.0.1:8788"
start = "true"
stop = "true"
version = "echo nope >&2; exit 3"
"#,
            conf.display(),
            dir.join("missing.pid").display()
        );
        toml::from_str(&toml).unwrap()
    }

    #[test]
    fn the_sampler_runs_under_sh_and_its_answer_parses() {
        let dir = std::env::temp_dir().join(format!("cutover-sampler-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let g = gateway(&dir);
        // The command line is what the remote login shell gets; run it with a local sh.
        let out = Command::new("sh")
            .arg("-c")
            .arg(sample_command(&g, true))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s = parse_sample(&out.stdout).unwrap();
        assert_eq!(
            s.read.conf,
            std::fs::read(dir.join("gateway.conf")).unwrap()
        );
        assert_eq!(s.read.lock, None);
        assert!(s.with_versions);
        assert_eq!(s.host.versions.blue.as_deref(), Some("blue-sha1"));
        assert_eq!(s.host.versions.green, None);
        assert!(s.workers.is_empty(), "no nginx under a missing pid file");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!((s.clock_ms.unwrap() - now).abs() < 5_000);
        let without = Command::new("sh")
            .arg("-c")
            .arg(sample_command(&g, false))
            .output()
            .unwrap();
        assert!(!parse_sample(&without.stdout).unwrap().with_versions);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn answers_are_parsed_field_by_field() {
        let text = b"@clock 1763683200123456789\n@conns blue 4\n@conns green 0\n@listen blue 127.0.0.1:8787\n@listen green 0.0.0.0:8788\n@listen green [::]:8788\n@version blue 0 abc123\n@version green 127 \n@workers 101 102 \n@read\nalice (CHG-1) since 2026-11-22T10:00:00Z\nupstream gateway {}\n";
        let s = parse_sample(text).unwrap();
        assert_eq!(s.clock_ms, Some(1_763_683_200_123));
        assert_eq!(s.host.conns, PerColor { blue: 4, green: 0 });
        assert_eq!(s.host.listeners.green, vec!["0.0.0.0:8788", "[::]:8788"]);
        assert_eq!(s.host.versions.blue.as_deref(), Some("abc123"));
        assert_eq!(s.host.versions.green, None);
        assert_eq!(
            s.host.running,
            PerColor {
                blue: true,
                green: true
            }
        );
        assert_eq!(s.workers, vec![101, 102]);
        assert_eq!(
            s.read.lock.as_deref(),
            Some("alice (CHG-1) since 2026-11-22T10:00:00Z")
        );
        assert_eq!(s.read.conf, b"upstream gateway {}\n");
        assert!(parse_sample(b"@clock 1\n").is_err());
    }

    /// Processes whose whole command line is `cmdline` (`pgrep -fx`).
    fn running(cmdline: &str) -> usize {
        let out = Command::new("pgrep")
            .args(["-fx", cmdline])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    }

    /// A directory with the tools the version script uses, `timeout` left out.
    fn path_without_timeout(dir: &std::path::Path) -> std::ffi::OsString {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let path = std::env::var_os("PATH").unwrap();
        for tool in ["sh", "sleep", "pkill", "head", "cat", "echo"] {
            let found = std::env::split_paths(&path)
                .map(|d| d.join(tool))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("{tool} not found on PATH"));
            let _ = std::os::unix::fs::symlink(found, bin.join(tool));
        }
        bin.into_os_string()
    }

    /// Run a version command line with a local sh; returns the answer and how long it took.
    fn ask(
        g: &GatewayConfig,
        c: Color,
        limit: u64,
        path: Option<&std::ffi::OsStr>,
    ) -> (VersionAnswer, std::time::Duration) {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(version_command(g, c, limit));
        if let Some(p) = path {
            cmd.env("PATH", p);
        }
        let started = std::time::Instant::now();
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (parse_version(&out.stdout, c), started.elapsed())
    }

    #[test]
    fn a_hung_version_command_is_ended_on_the_host_with_its_children() {
        let dir = std::env::temp_dir().join(format!("cutover-version-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut g = gateway(&dir);
        assert_eq!(
            ask(&g, Color::Blue, 5, None).0,
            VersionAnswer::Known("blue-sha1".into())
        );
        assert_eq!(ask(&g, Color::Green, 5, None).0, VersionAnswer::Unknown);
        let no_timeout = path_without_timeout(&dir);
        for (n, path) in [None, Some(no_timeout.as_os_str())].into_iter().enumerate() {
            // A unique duration names this test's sleeper; the `; echo` keeps `sh -c` as its
            // parent, as a pipeline or a script would.
            let sleeper = format!("sleep 60.{}{n}", std::process::id());
            g.green.version = format!("{sleeper}; echo never");
            let (answer, took) = ask(&g, Color::Green, 1, path);
            assert_eq!(answer, VersionAnswer::TimedOut, "path {path:?}");
            // Ended after its 1 s (and the second before KILL), not after its 60 s; the margin
            // is for a loaded machine.
            assert!(
                took < std::time::Duration::from_secs(10),
                "{took:?}, path {path:?}"
            );
            // A KILL takes effect when the process is next scheduled: give it that moment.
            let gone = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while running(&sleeper) > 0 && std::time::Instant::now() < gone {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            assert_eq!(
                running(&sleeper),
                0,
                "{sleeper} left running, path {path:?}"
            );
            // A quick one on the same path still answers.
            assert_eq!(
                ask(&g, Color::Blue, 1, path).0,
                VersionAnswer::Known("blue-sha1".into())
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn version_answers_are_read_for_their_own_color() {
        assert_eq!(
            parse_version(b"motd\n@version green 0 9b7d03c\n", Color::Green),
            VersionAnswer::Known("9b7d03c".into())
        );
        assert_eq!(
            parse_version(b"@version green 0 9b7d03c\n", Color::Blue),
            VersionAnswer::Unknown
        );
        assert_eq!(
            parse_version(b"@version blue 0 \n", Color::Blue),
            VersionAnswer::Unknown
        );
        assert_eq!(
            parse_version(b"@version blue 3 x\n", Color::Blue),
            VersionAnswer::Unknown
        );
        for rc in ["124", "137"] {
            assert_eq!(
                parse_version(format!("@version blue {rc} \n").as_bytes(), Color::Blue),
                VersionAnswer::TimedOut
            );
        }
        assert_eq!(parse_version(b"", Color::Blue), VersionAnswer::Unknown);
    }

    #[test]
    fn skew_is_measured_against_the_middle_of_the_round_trip() {
        assert_eq!(clock_skew_ms(10_050, 10_000, 10_100), 0);
        assert_eq!(clock_skew_ms(13_050, 10_000, 10_100), 3_000);
        assert_eq!(clock_skew_ms(7_050, 10_000, 10_100), -3_000);
    }
}
