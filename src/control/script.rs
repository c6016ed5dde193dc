//! The POSIX sh scripts run on a gateway host, and the parsing of what they print. Pure.
//!
//! A weight change is one script, one round trip: lock, compare, write beside, rename,
//! `nginx -t`, restore on failure, reload, wait for new workers, read back, unlock. It ignores
//! SIGHUP and SIGPIPE, so a cockpit killed mid-change leaves the host finished and unlocked
//! rather than half-way.

use crate::config::GatewayConfig;
use crate::remote::quote::sh_c;

/// Minutes after which a lock left by a host that died mid-change may be broken.
pub const STALE_LOCK_MINUTES: u32 = 10;

/// Reads the lock holder (first line, may be empty) and then the upstream file.
pub const READ: &str = r#"conf=$1
lock="$conf.cutover.lock"
if [ -d "$lock" ]; then head -n 1 "$lock/holder" 2>/dev/null | tr -d '\n'; fi
echo
exec cat -- "$conf"
"#;

/// `read` command line for a gateway.
pub fn read_command(g: &GatewayConfig) -> String {
    sh_c(READ, &[&g.nginx_conf])
}

/// `workers`: pids of the nginx workers under the master whose pid is in `$pidfile`.
pub const WORKERS: &str = r#"workers() {
  m=$(cat "$pidfile" 2>/dev/null) || return 0
  if command -v ps >/dev/null 2>&1; then ps -A -o pid= -o ppid=
  else for s in /proc/[0-9]*/stat; do read -r p c st pp rest < "$s" 2>/dev/null && echo "$p $pp"; done
  fi | awk -v m="$m" '$2 == m { print $1 }'
}
"#;

/// The weight change. `@NGINX@` is the operator's nginx command (trusted configuration text,
/// checked for control characters); everything else arrives as quoted positional arguments.
const APPLY: &str = r#"set -u
trap '' HUP PIPE
conf=$1 pidfile=$2 errlog=$3 expect=$4 holder=$5
lock="$conf.cutover.lock" new="$conf.cutover.new" prev="$conf.cutover.prev"
# The holder is written just after mkdir: give a racing writer a second before reading.
holder_of() { [ -s "$lock/holder" ] || sleep 1; head -n 1 "$lock/holder" 2>/dev/null | tr -d '\n'; }
if ! mkdir "$lock" 2>/dev/null; then
  if [ -n "$(find "$lock" -maxdepth 0 -mmin +@STALE@ 2>/dev/null)" ]; then
    echo "STALE_LOCK_BROKEN $(holder_of)" >&2
    rm -rf "$lock"
    mkdir "$lock" 2>/dev/null || { echo "LOCKED $(holder_of)"; exit 20; }
  else
    echo "LOCKED $(holder_of)"; exit 20
  fi
fi
printf '%s\n' "$holder" > "$lock/holder"
finish() { rm -rf "$lock"; exit "$1"; }
if [ "$(cksum < "$conf")" != "$expect" ]; then echo CHANGED; finish 21; fi
@WORKERS@before=$(workers)
if [ -z "$before" ]; then echo "NO_NGINX no nginx workers under the master in $pidfile"; finish 26; fi
if ! { cp -p -- "$conf" "$prev" && cp -p -- "$conf" "$new" && cat > "$new" && mv -f -- "$new" "$conf"; }; then
  rm -f -- "$new" "$prev"; echo WRITE_FAILED; finish 22
fi
if ! out=$(@NGINX@ -t 2>&1); then
  mv -f -- "$prev" "$conf"; echo TEST_FAILED; printf '%s\n' "$out"; finish 23
fi
if ! out=$(@NGINX@ -s reload 2>&1); then
  mv -f -- "$prev" "$conf"; echo RELOAD_FAILED; printf '%s\n' "$out"; finish 24
fi
old=" $(echo $before) "
i=0
while :; do
  fresh=$(workers | awk -v old="$old" 'index(old, " " $1 " ") == 0')
  [ -n "$fresh" ] && break
  i=$((i + 1))
  if [ "$i" -ge 500 ]; then
    mv -f -- "$prev" "$conf"; echo NOT_APPLIED; tail -n 5 -- "$errlog" 2>/dev/null; finish 25
  fi
  sleep 0.02
done
rm -f -- "$prev"
echo OK
cat -- "$conf"
finish 0
"#;

/// The weight-change command line: `new_text` goes to its stdin.
pub fn apply_command(g: &GatewayConfig, expect_cksum: &str, holder: &str) -> String {
    let script = APPLY
        .replace("@WORKERS@", WORKERS)
        .replace("@NGINX@", &g.nginx)
        .replace("@STALE@", &STALE_LOCK_MINUTES.to_string());
    sh_c(
        &script,
        &[
            &g.nginx_conf,
            &g.nginx_pid,
            &g.nginx_error_log,
            expect_cksum,
            holder,
        ],
    )
}

/// `conns PORT [IP]`: established TCP connections whose local end is IP:PORT (a color's
/// serving connections; by port alone without `ss`); `listeners PORT`: local addresses listening on PORT, one per line.
pub const PORT_FNS: &str = r#"conns() {
  if command -v ss >/dev/null 2>&1 && [ -n "${2:-}" ]; then
    ss -Htn state established "( src $2:$1 )" | wc -l
  elif command -v ss >/dev/null 2>&1; then
    ss -Htn state established "( sport = :$1 )" | wc -l
  else
    hex=$(printf '%04X' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$hex" '{ split($2, a, ":"); if (a[2] == p && $4 == "01") n++ } END { print n + 0 }'
  fi
}
listeners() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn "( sport = :$1 )" | awk '{ print $4 }'
  else
    netstat -an 2>/dev/null | awk -v p="$1" '$NF == "LISTEN" && ($4 ~ "[.:]" p "$") { print $4 }'
  fi
}
"#;

/// The connection-count command line for a color's TCP address (`ip:port`).
pub fn connections_command(ip: &str, port: u16) -> String {
    sh_c(
        &format!("{PORT_FNS}conns \"$1\" \"$2\"\n"),
        &[&port.to_string(), ip],
    )
}

/// The listeners command line for a TCP port.
pub fn listeners_command(port: u16) -> String {
    sh_c(
        &format!("{PORT_FNS}listeners \"$1\"\n"),
        &[&port.to_string()],
    )
}

/// The last lines of the access log (to check its format).
pub fn log_tail_command(path: &str) -> String {
    sh_c("tail -n 5 -- \"$1\"", &[path])
}

/// `nginx -t` with the operator's nginx command.
pub fn nginx_test_command(nginx: &str) -> String {
    sh_c(&format!("{nginx} -t 2>&1"), &[])
}

/// An operator-configured command (start/stop/version), run by POSIX sh whatever the login shell.
pub fn configured_command(command: &str) -> String {
    sh_c(command, &[])
}

/// What the read script printed: the lock holder, if any, and the file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOut {
    /// Who holds the gateway's lock right now.
    pub lock: Option<String>,
    /// The upstream file, byte for byte.
    pub conf: Vec<u8>,
}

/// Split the read script's output.
pub fn parse_read(stdout: &[u8]) -> Result<ReadOut, String> {
    let nl = stdout
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("the read script printed no header line")?;
    let holder = String::from_utf8_lossy(&stdout[..nl]).trim().to_string();
    Ok(ReadOut {
        lock: (!holder.is_empty()).then_some(holder),
        conf: stdout[nl + 1..].to_vec(),
    })
}

/// How a weight change ended on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOut {
    /// Applied and reloaded; the file as it now reads.
    Applied(Vec<u8>),
    /// Another operator holds the lock.
    Locked(String),
    /// The file changed since it was read: someone else changed it.
    Changed,
    /// `nginx -t` refused the new file; the old bytes are back.
    TestFailed(String),
    /// `nginx -s reload` failed, or no new workers came; the old bytes are back.
    ReloadFailed(String),
    /// nginx is not running (no workers under the master in the pid file).
    NoNginx(String),
    /// The new file could not be written; nothing changed.
    WriteFailed,
    /// Output that matches no known ending.
    Unknown(String),
}

/// Parse the apply script's stdout.
pub fn parse_apply(stdout: &[u8]) -> ApplyOut {
    let text = String::from_utf8_lossy(stdout);
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let rest_bytes = || stdout[stdout.len() - rest.len()..].to_vec();
    let detail = rest.trim().to_string();
    match first.split_once(' ').unwrap_or((first, "")) {
        ("OK", _) => ApplyOut::Applied(rest_bytes()),
        ("LOCKED", holder) => ApplyOut::Locked(holder.trim().to_string()),
        ("CHANGED", _) => ApplyOut::Changed,
        ("TEST_FAILED", _) => ApplyOut::TestFailed(detail),
        ("RELOAD_FAILED", _) => ApplyOut::ReloadFailed(detail),
        ("NOT_APPLIED", _) => ApplyOut::ReloadFailed(format!(
            "no new nginx workers after the reload; error.log: {detail}"
        )),
        ("NO_NGINX", why) => ApplyOut::NoNginx(why.to_string()),
        ("WRITE_FAILED", _) => ApplyOut::WriteFailed,
        _ => ApplyOut::Unknown(text.trim().chars().take(300).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_output_splits_lock_and_bytes() {
        let r = parse_read(b"\nupstream x {\n}\n").unwrap();
        assert_eq!(
            r,
            ReadOut {
                lock: None,
                conf: b"upstream x {\n}\n".to_vec()
            }
        );
        let r = parse_read(b"alice ticket=CHG-1\nabc").unwrap();
        assert_eq!(r.lock.as_deref(), Some("alice ticket=CHG-1"));
        assert!(parse_read(b"").is_err());
    }

    #[test]
    fn apply_output_is_recognised() {
        assert_eq!(
            parse_apply(b"OK\nupstream {}\n"),
            ApplyOut::Applied(b"upstream {}\n".to_vec())
        );
        assert_eq!(
            parse_apply(b"LOCKED bob ticket=T-9\n"),
            ApplyOut::Locked("bob ticket=T-9".into())
        );
        assert_eq!(parse_apply(b"CHANGED\n"), ApplyOut::Changed);
        assert_eq!(
            parse_apply(b"TEST_FAILED\nnginx: [emerg] unknown directive\n"),
            ApplyOut::TestFailed("nginx: [emerg] unknown directive".into())
        );
        assert!(matches!(parse_apply(b"garbage"), ApplyOut::Unknown(_)));
    }

    #[test]
    fn scripts_are_valid_posix_sh() {
        let g: GatewayConfig = toml::from_str(
            r#"name = "gw"
az = "a"
ssh = "gw"
nginx = "/usr/sbin/nginx -p /x/ -c conf/nginx.conf"
nginx_conf = "/x/conf/gateway.conf"
access_log = "/x/logs/access.log"
health_url = "http://127.0.0.1/health"
[blue]
addr = "127.0.0.1:1"
start = "true"
stop = "true"
version = "echo 1"
[green]
addr = "127.0.0.1:2"
start = "true"
stop = "true"
version = "echo 2"
"#,
        )
        .unwrap();
        for cmd in [
            read_command(&g),
            apply_command(&g, "1 2", "alice"),
            connections_command("127.0.0.1", 8787),
            configured_command(&g.blue.version),
        ] {
            // `sh -n` parses without running: the quoting and the script are well-formed.
            let inner = cmd.strip_prefix("sh -c ").unwrap();
            let check = format!("sh -n -c {inner}");
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&check)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{cmd}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
