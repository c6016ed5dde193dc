//! Process limits of the colors: the open-files limit (`ulimit -n`) of the process listening
//! on each color's address, read from `/proc/PID/limits` on the host. Both colors must have
//! the same limit and at least `[preflight] min_nofile`: a green that doubles its concurrency
//! runs out of descriptors first. The script and the parsing of its answer are pure.

use super::Status;
use crate::config::GatewayConfig;
use crate::fleet::remote::quote::sh_c;
use crate::model::{Color, PerColor};

/// Prints `@nofile COLOR PID SOFT HARD` per listening process of each color, or
/// `@nopid COLOR WHY` when none is found. `ss -p` names the processes (it needs to see them:
/// the SSH user must be the services' user, or root).
const SCRIPT: &str = r#"pids() {
  case $1 in
    unix:*) ss -Hxlp 2>/dev/null | awk -v a="${1#unix:}" '$5 == a' ;;
    *) ss -Hltnp 2>/dev/null | awk -v a="$1" '$4 == a' ;;
  esac | grep -o 'pid=[0-9]*' | sed 's/pid=//' | sort -u
}
for c in blue green; do
  if [ "$c" = blue ]; then a=$1; else a=$2; fi
  if ! command -v ss >/dev/null 2>&1; then echo "@nopid $c ss (iproute2) is not installed"; continue; fi
  found=
  for p in $(pids "$a"); do
    found=1
    l=$(awk '/^Max open files/ { print $4, $5 }' "/proc/$p/limits" 2>/dev/null)
    echo "@nofile $c $p ${l:-? ?}"
  done
  [ -n "$found" ] || echo "@nopid $c no process listening on $a is visible (not running, or another user's: ss -p shows only what the SSH user may see)"
done
"#;

/// The command line that reads both colors' open-files limits on a host.
pub(crate) fn nofile_command(g: &GatewayConfig) -> String {
    sh_c(SCRIPT, &[&g.blue.addr, &g.green.addr])
}

/// What the host said about one color.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ColorLimits {
    /// Each listening process: (pid, soft limit; `None`: unreadable; `u64::MAX`: unlimited).
    pub(crate) procs: Vec<(u32, Option<u64>)>,
    /// Why no process was found.
    pub(crate) missing: Option<String>,
}

fn limit(word: &str) -> Option<u64> {
    match word {
        "unlimited" => Some(u64::MAX),
        w => w.parse().ok(),
    }
}

/// Parse the script's answer.
pub(crate) fn parse(stdout: &str) -> PerColor<ColorLimits> {
    let mut out = PerColor::<ColorLimits>::default();
    for line in stdout.lines() {
        let mut w = line.split_whitespace();
        let (tag, color) = (w.next(), w.next());
        let c = match color {
            Some("blue") => Color::Blue,
            Some("green") => Color::Green,
            _ => continue,
        };
        match tag {
            Some("@nofile") => {
                let Some(pid) = w.next().and_then(|p| p.parse().ok()) else {
                    continue;
                };
                out[c].procs.push((pid, w.next().and_then(limit)));
            }
            Some("@nopid") => {
                let why: Vec<&str> = w.collect();
                out[c].missing = Some(crate::sanitize::sanitize(&why.join(" ")));
            }
            _ => {}
        }
    }
    out
}

fn shown(n: u64) -> String {
    if n == u64::MAX {
        "unlimited".into()
    } else {
        n.to_string()
    }
}

/// The row: each color's smallest soft limit against `min` and against the other color's.
pub(crate) fn judge(l: &PerColor<ColorLimits>, min: u64) -> (Status, String) {
    let mut worst = Status::Ok;
    let mut parts = Vec::new();
    let mut seen = PerColor::<Option<u64>>::default();
    for c in Color::BOTH {
        let lc = &l[c];
        if lc.procs.is_empty() {
            worst = worst.max(Status::Unknown);
            parts.push(format!(
                "{c}: {}",
                lc.missing.as_deref().unwrap_or("no process found")
            ));
            continue;
        }
        if lc.procs.iter().any(|(_, n)| n.is_none()) {
            worst = worst.max(Status::Unknown);
            let pids: Vec<String> = lc.procs.iter().map(|(p, _)| p.to_string()).collect();
            parts.push(format!("{c}: /proc/{}/limits unreadable", pids.join(",")));
            continue;
        }
        let (pid, n) = lc
            .procs
            .iter()
            .map(|&(p, n)| (p, n.unwrap_or(0)))
            .min_by_key(|&(_, n)| n)
            .unwrap_or((0, 0));
        seen[c] = Some(n);
        if n < min {
            worst = Status::Fail;
            parts.push(format!(
                "{c} nofile {} (pid {pid}) is below {min}",
                shown(n)
            ));
        } else {
            parts.push(format!("{c} {}", shown(n)));
        }
    }
    if let (Some(b), Some(g)) = (seen.blue, seen.green) {
        if b != g && worst == Status::Ok {
            worst = Status::Warn;
            parts.push("the colors differ".into());
        }
    }
    let tail = if worst == Status::Ok {
        format!(" (min {min})")
    } else {
        String::new()
    };
    (worst, format!("nofile: {}{tail}", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_and_judge() {
        let l = parse("@nofile blue 10 1048576 1048576\n@nofile green 11 256 1048576\nnoise\n");
        assert_eq!(l.blue.procs, vec![(10, Some(1_048_576))]);
        let (s, why) = judge(&l, 4096);
        assert_eq!(s, Status::Fail);
        assert!(
            why.contains("green nofile 256 (pid 11) is below 4096"),
            "{why}"
        );
        let l = parse("@nofile blue 1 unlimited unlimited\n@nofile green 2 65536 65536\n");
        let (s, why) = judge(&l, 4096);
        assert_eq!(s, Status::Warn, "{why}");
        assert!(why.contains("differ"), "{why}");
        let l = parse("@nofile blue 1 65536 65536\n@nofile green 2 65536 65536\n");
        assert_eq!(
            judge(&l, 4096),
            (
                Status::Ok,
                "nofile: blue 65536, green 65536 (min 4096)".into()
            )
        );
        let l = parse(
            "@nofile blue 1 65536 65536\n@nopid green no process listening\n@nofile blue 3 ? ?\n",
        );
        let (s, why) = judge(&l, 4096);
        assert_eq!(
            s,
            Status::Unknown,
            "a limit not read is unknown, never a pass"
        );
        assert!(why.contains("green: no process listening"), "{why}");
        assert!(why.contains("unreadable"), "{why}");
    }

    #[test]
    fn the_script_finds_a_listening_process_here() {
        // A listener of our own: the test process, on an ephemeral loopback port.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        if std::process::Command::new("ss").arg("-V").output().is_err() {
            return; // The lab and CI install iproute2; a bare machine can only parse.
        }
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(sh_c(SCRIPT, &[&addr, "unix:/nonexistent/x.sock"]))
            .output()
            .unwrap();
        let parsed = parse(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(
            parsed.blue.procs.first().map(|p| p.0),
            Some(std::process::id()),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(parsed.green.missing.is_some());
    }
}
