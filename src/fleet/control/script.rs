//! The POSIX sh scripts run on a gateway host, and the parsing of what they print. Pure.
//!
//! A weight change is one script, one round trip: lock, compare, write beside, rename,
//! `nginx -t`, restore on failure, reload, wait for new workers, read back, unlock. It ignores
//! SIGHUP and SIGPIPE, so a cockpit killed mid-change leaves the host finished and unlocked
//! rather than half-way. A symlinked upstream file is changed at its target, the link kept.
//! Another script asks nginx what it loads (`nginx -T`), for includes and unloaded files.

use crate::config::GatewayConfig;
use crate::fleet::remote::quote::sh_c;

/// Minutes after which a lock left by a host that died mid-change may be broken.
pub(crate) const STALE_LOCK_MINUTES: u32 = 10;

/// Reads the lock holder (first line, may be empty) and then the upstream file.
///
/// `cat` opens `nginx_conf` through any symlink, as nginx does, so this reads the very file
/// that [`apply_command`] edits (the link's final target) and that nginx loads.
pub(crate) const READ: &str = r#"conf=$1
lock="$conf.cutover.lock"
if [ -d "$lock" ]; then
  h=$(head -n 1 "$lock/holder" 2>/dev/null | tr -d '\n')
  # A bare lock directory is a lock too: name it, or it would read as no lock at all.
  printf '%s' "${h:-unknown (no holder file in $lock)}"
fi
echo
exec cat -- "$conf"
"#;

/// `resolve PATH`: prints PATH with every symlink of its last component followed, so that a
/// file can be replaced beside its real location, leaving the link a link.
///
/// `readlink -f` is not POSIX and `realpath` is not everywhere; this follows one link at a
/// time with `readlink` (GNU, busybox, BSD, macOS) or, without it, the `-> target` of
/// `ls -ld`. A relative target is relative to the link's directory; directories on the way
/// need no resolving, since a rename inside a directory reached through a link is a rename in
/// the real one. Fails, saying why on stderr, on a loop or a link it cannot read.
const RESOLVE: &str = r#"resolve() {
  r_p=$1 r_n=0
  while [ -L "$r_p" ]; do
    r_n=$((r_n + 1))
    if [ "$r_n" -gt 40 ]; then echo "$1: too many levels of symbolic links" >&2; return 1; fi
    if command -v readlink >/dev/null 2>&1; then
      r_t=$(readlink -- "$r_p") || return 1
    else
      r_t=$(ls -ld -- "$r_p") || return 1
      case $r_t in
        *"$r_p -> "*) r_t=${r_t#*"$r_p -> "} ;;
        *) echo "$r_p: a symbolic link, and neither readlink nor ls -l shows its target" >&2; return 1 ;;
      esac
    fi
    if [ -z "$r_t" ]; then echo "$r_p: a symbolic link with an empty target" >&2; return 1; fi
    case $r_t in
      /*) r_p=$r_t ;;
      *) case $r_p in */*) r_p=${r_p%/*}/$r_t ;; *) r_p=$r_t ;; esac ;;
    esac
  done
  printf '%s\n' "$r_p"
}
"#;

/// `read` command line for a gateway.
pub(crate) fn read_command(g: &GatewayConfig) -> String {
    sh_c(READ, &[&g.nginx_conf])
}

/// `workers`: pids of the nginx workers under the master whose pid is in `$pidfile`.
pub(crate) const WORKERS: &str = r#"workers() {
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
lock="$conf.cutover.lock"
# The holder is written just after mkdir: give a racing writer a second before reading.
holder_of() {
  [ -s "$lock/holder" ] || sleep 1
  h=$(head -n 1 "$lock/holder" 2>/dev/null | tr -d '\n')
  printf '%s' "${h:-unknown (no holder file in $lock)}"
}
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
# A symlinked nginx_conf is edited at its target: a rename over the link would replace the
# link with a regular file and leave the target, which other links may share, at the old
# weights. The lock stays beside the configured path, where every cutover looks for it.
@RESOLVE@if ! target=$(resolve "$conf" 2>&1); then echo "UNRESOLVED $target"; finish 27; fi
if [ ! -f "$target" ]; then echo "UNRESOLVED $conf leads to $target, which is not a regular file"; finish 27; fi
new="$target.cutover.new" prev="$target.cutover.prev"
if [ "$(cksum < "$target")" != "$expect" ]; then echo CHANGED; finish 21; fi
@WORKERS@before=$(workers)
if [ -z "$before" ]; then echo "NO_NGINX no nginx workers under the master in $pidfile"; finish 26; fi
if ! { cp -p -- "$target" "$prev" && cp -p -- "$target" "$new" && cat > "$new" && mv -f -- "$new" "$target"; }; then
  rm -f -- "$new" "$prev"; echo WRITE_FAILED; finish 22
fi
if ! out=$(@NGINX@ -t 2>&1); then
  mv -f -- "$prev" "$target"; echo TEST_FAILED; printf '%s\n' "$out"; finish 23
fi
if ! out=$(@NGINX@ -s reload 2>&1); then
  mv -f -- "$prev" "$target"; echo RELOAD_FAILED; printf '%s\n' "$out"; finish 24
fi
old=" $(echo $before) "
i=0
while :; do
  fresh=$(workers | awk -v old="$old" 'index(old, " " $1 " ") == 0')
  [ -n "$fresh" ] && break
  i=$((i + 1))
  if [ "$i" -ge 500 ]; then
    mv -f -- "$prev" "$target"; echo NOT_APPLIED; tail -n 5 -- "$errlog" 2>/dev/null; finish 25
  fi
  sleep 0.02
done
rm -f -- "$prev"
echo OK
cat -- "$target"
finish 0
"#;

/// The weight-change command line: `new_text` goes to its stdin.
pub(crate) fn apply_command(g: &GatewayConfig, expect_cksum: &str, holder: &str) -> String {
    let script = APPLY
        .replace("@WORKERS@", WORKERS)
        .replace("@RESOLVE@", RESOLVE)
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

/// The configuration nginx loads, for [`crate::nginx::upstream::judge_loaded`]: `nginx -T`
/// (stdout and stderr), after the real path of the configured file and of every file the dump
/// holds, so that a symlink and its target are known to be one file. Costly on a big
/// configuration (nginx parses everything, certificates included): see `Host::refresh_loaded`
/// for how often it runs.
const LOADED: &str = r##"conf=$1
@RESOLVE@real=$(resolve "$conf" 2>/dev/null) || real=$conf
printf '@conf %s\n' "$real"
dump=$(@NGINX@ -T 2>&1)
rc=$?
printf '%s\n' "$dump" | awk 'index($0, "# configuration file ") == 1 && /:$/ { print substr($0, 22, length($0) - 22) }' |
while IFS= read -r f; do
  r=$(resolve "$f" 2>/dev/null) || r=$f
  printf '@file %s\t%s\n' "$f" "$r"
done
echo "@rc $rc"
echo "@dump"
printf '%s\n' "$dump"
"##;

/// The loaded-configuration command line for a gateway (see [`LOADED`]).
pub(crate) fn loaded_command(g: &GatewayConfig) -> String {
    let script = LOADED
        .replace("@RESOLVE@", RESOLVE)
        .replace("@NGINX@", &g.nginx);
    sh_c(&script, &[&g.nginx_conf])
}

/// What the loaded-configuration script printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoadedOut {
    /// The configured file's real path (symlinks followed).
    pub(crate) conf_real: String,
    /// Every file of the dump: (path as nginx printed it, its real path).
    pub(crate) files: Vec<(String, String)>,
    /// `nginx -T`'s exit code.
    pub(crate) rc: i32,
    /// `nginx -T`'s output: its messages, then the dump.
    pub(crate) dump: String,
}

impl LoadedOut {
    /// Whether `path`, as nginx printed it, is the configured file `conf` (itself or through links).
    pub(crate) fn is_conf(&self, conf: &str, path: &str) -> bool {
        path == conf
            || path == self.conf_real
            || self
                .files
                .iter()
                .any(|(p, real)| p == path && (real == conf || *real == self.conf_real))
    }
}

/// Parse the loaded-configuration script's stdout.
pub(crate) fn parse_loaded(stdout: &[u8]) -> Result<LoadedOut, String> {
    let text = String::from_utf8_lossy(stdout);
    let (head, dump) = match text.split_once("\n@dump\n") {
        Some(parts) => parts,
        None => return Err("the nginx -T script printed no @dump line".into()),
    };
    let mut out = LoadedOut {
        conf_real: String::new(),
        files: Vec::new(),
        rc: -1,
        dump: dump.strip_suffix('\n').unwrap_or(dump).to_string(),
    };
    for line in head.lines() {
        if let Some(real) = line.strip_prefix("@conf ") {
            out.conf_real = real.to_string();
        } else if let Some(pair) = line.strip_prefix("@file ") {
            let (path, real) = pair.split_once('\t').unwrap_or((pair, pair));
            out.files.push((path.to_string(), real.to_string()));
        } else if let Some(rc) = line.strip_prefix("@rc ") {
            out.rc = rc.trim().parse().unwrap_or(-1);
        }
    }
    Ok(out)
}

/// `conns PORT [IP]`: established TCP connections whose local end is IP:PORT (a color's
/// serving connections; by port alone without `ss`); `listeners PORT`: local addresses listening on PORT, one per line.
pub(crate) const PORT_FNS: &str = r#"conns() {
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

/// `uconns PATH`: established connections accepted on the unix socket PATH (`ss -x`, else
/// `/proc/net/unix`, where an accepted connection carries the listener's path);
/// `ulisteners PATH`: PATH itself when a process listens on it. For colors on `unix:` sockets.
pub(crate) const UNIX_FNS: &str = r#"uconns() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hxn 2>/dev/null | awk -v p="$1" '$2 == "ESTAB" && $5 == p { n++ } END { print n + 0 }'
  else
    awk -v p="$1" '$NF == p && $6 == "03" { n++ } END { print n + 0 }' /proc/net/unix 2>/dev/null || echo 0
  fi
}
ulisteners() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hxln 2>/dev/null | awk -v p="$1" '$5 == p { print $5; exit }'
  else
    awk -v p="$1" '$NF == p && $6 == "01" && $4 == "00010000" { print $NF; exit }' /proc/net/unix 2>/dev/null
  fi
}
"#;

/// The connection-count command line for a color's unix socket path.
pub(crate) fn unix_connections_command(path: &str) -> String {
    sh_c(&format!("{UNIX_FNS}uconns \"$1\"\n"), &[path])
}

/// The connection-count command line for a color's TCP address (`ip:port`).
pub(crate) fn connections_command(ip: &str, port: u16) -> String {
    sh_c(
        &format!("{PORT_FNS}conns \"$1\" \"$2\"\n"),
        &[&port.to_string(), ip],
    )
}

/// The last lines of the access log (to check its format).
pub(crate) fn log_tail_command(path: &str) -> String {
    sh_c("tail -n 5 -- \"$1\"", &[path])
}

/// `nginx -t` with the operator's nginx command.
pub(crate) fn nginx_test_command(nginx: &str) -> String {
    sh_c(&format!("{nginx} -t 2>&1"), &[])
}

/// An operator-configured command (start/stop/version), run by POSIX sh whatever the login shell.
pub(crate) fn configured_command(command: &str) -> String {
    sh_c(command, &[])
}

/// What the read script printed: the lock holder, if any, and the file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadOut {
    /// Who holds the gateway's lock right now.
    pub(crate) lock: Option<String>,
    /// The upstream file, byte for byte.
    pub(crate) conf: Vec<u8>,
}

/// Split the read script's output.
pub(crate) fn parse_read(stdout: &[u8]) -> Result<ReadOut, String> {
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
pub(crate) enum ApplyOut {
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
    /// `nginx_conf` is a symlink that could not be followed to a regular file; nothing changed.
    Unresolved(String),
    /// Output that matches no known ending.
    Unknown(String),
}

/// Parse the apply script's stdout.
pub(crate) fn parse_apply(stdout: &[u8]) -> ApplyOut {
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
        ("UNRESOLVED", why) => ApplyOut::Unresolved(why.trim().to_string()),
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
    fn apply_output_names_an_unresolvable_link() {
        assert_eq!(
            parse_apply(b"UNRESOLVED /x/gw.conf: too many levels of symbolic links\n"),
            ApplyOut::Unresolved("/x/gw.conf: too many levels of symbolic links".into())
        );
    }

    /// A gateway whose `nginx` command is `nginx` and whose upstream file is `conf`.
    fn gateway(nginx: &str, conf: &str) -> GatewayConfig {
        toml::from_str(&format!(
            r#"name = "gw"
az = "a"
ssh = "gw"
nginx = "{nginx}"
nginx_conf = "{conf}"
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
"#
        ))
        .unwrap()
    }

    /// Run a command line (as the remote login shell would) with `path` as PATH, if given.
    fn local(cmd: &str, path: Option<&std::path::Path>) -> std::process::Output {
        let mut c = std::process::Command::new("/bin/sh");
        c.arg("-c").arg(cmd);
        if let Some(p) = path {
            c.env("PATH", p);
        }
        c.output().unwrap()
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cutover-script-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        dir
    }

    fn resolve_at(path: &std::path::Path, bin: Option<&std::path::Path>) -> (bool, String) {
        let cmd = sh_c(
            &format!("{RESOLVE}resolve \"$1\""),
            &[path.to_str().unwrap()],
        );
        let out = local(&cmd, bin);
        let text = if out.status.success() {
            String::from_utf8_lossy(&out.stdout).trim_end().to_string()
        } else {
            String::from_utf8_lossy(&out.stderr).trim_end().to_string()
        };
        (out.status.success(), text)
    }

    #[test]
    fn resolve_follows_every_link_to_the_real_file() {
        use std::os::unix::fs::symlink;
        let dir = scratch("resolve");
        let real = dir.join("real.conf");
        std::fs::write(&real, "x").unwrap();
        // relative, absolute, and bare-name links, chained
        symlink("../real.conf", dir.join("sub/one")).unwrap();
        symlink(dir.join("sub/one"), dir.join("two")).unwrap();
        symlink("two", dir.join("three")).unwrap();
        symlink("loop-b", dir.join("loop-c")).unwrap();
        symlink("loop-c", dir.join("loop-b")).unwrap();
        // Without readlink, `ls -ld` is read instead: a PATH holding only `sh` and `ls`.
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for tool in ["sh", "ls"] {
            let found = ["/bin", "/usr/bin"]
                .into_iter()
                .map(|d| std::path::Path::new(d).join(tool))
                .find(|p| p.exists())
                .unwrap();
            symlink(found, bin.join(tool)).unwrap();
        }
        for path in [None, Some(bin.as_path())] {
            for start in ["three", "two", "sub/one", "real.conf"] {
                let (ok, got) = resolve_at(&dir.join(start), path);
                assert!(ok, "{start} {path:?}: {got}");
                let got = std::path::Path::new(&got);
                assert!(!got.is_symlink(), "{start} {path:?}: {got:?}");
                assert_eq!(
                    got.canonicalize().unwrap(),
                    real.canonicalize().unwrap(),
                    "{start} {path:?}"
                );
            }
            let (ok, why) = resolve_at(&dir.join("loop-b"), path);
            assert!(
                !ok && why.contains("too many levels of symbolic links"),
                "{why}"
            );
        }
        // A link to nothing resolves to the missing path; the change script then refuses it.
        symlink("gone.conf", dir.join("dangling")).unwrap();
        let (ok, got) = resolve_at(&dir.join("dangling"), None);
        assert!(ok);
        assert_eq!(got, dir.join("gone.conf").to_str().unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn read_and_change_scripts_use_the_links_target() {
        use std::os::unix::fs::symlink;
        let dir = scratch("read-link");
        let real = dir.join("sub/real.conf");
        std::fs::write(&real, "upstream gateway {}\n").unwrap();
        let link = dir.join("gateway.conf");
        symlink("sub/real.conf", &link).unwrap();
        let g = gateway("nginx", link.to_str().unwrap());
        let out = local(&read_command(&g), None);
        let r = parse_read(&out.stdout).unwrap();
        assert_eq!(r.conf, b"upstream gateway {}\n");
        // The change is written beside the target and renamed over it, never over the link.
        let apply = apply_command(&g, "1 2", "alice");
        for must in [
            r#"new="$target.cutover.new" prev="$target.cutover.prev""#,
            r#"mv -f -- "$new" "$target""#,
            r#"cksum < "$target""#,
            r#"lock="$conf.cutover.lock""#,
        ] {
            assert!(APPLY.contains(must) || apply.contains(must), "{must}");
        }
        assert!(!APPLY.contains(r#""$conf"; }"#));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_bare_lock_directory_reads_as_a_lock_with_a_name() {
        let dir = scratch("bare-lock");
        let conf = dir.join("gateway.conf");
        std::fs::write(&conf, "upstream gateway {}\n").unwrap();
        let g = gateway("nginx", conf.to_str().unwrap());
        let lock = dir.join("gateway.conf.cutover.lock");
        std::fs::create_dir(&lock).unwrap();
        let r = parse_read(&local(&read_command(&g), None).stdout).unwrap();
        let holder = r
            .lock
            .expect("a lock directory without a holder file is a lock");
        assert!(
            holder.starts_with("unknown (no holder file in ") && holder.contains("cutover.lock"),
            "{holder}"
        );
        std::fs::write(lock.join("holder"), "bob@ops-2 pid 7\n").unwrap();
        let r = parse_read(&local(&read_command(&g), None).stdout).unwrap();
        assert_eq!(r.lock.as_deref(), Some("bob@ops-2 pid 7"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_loaded_configuration_script_pairs_each_file_with_its_real_path() {
        use std::os::unix::fs::symlink;
        let dir = scratch("loaded");
        let d = dir.to_str().unwrap();
        std::fs::write(dir.join("sub/real.conf"), "upstream gateway {}\n").unwrap();
        symlink("sub/real.conf", dir.join("gateway.conf")).unwrap();
        // A stand-in for `nginx -T`: its messages on stderr, then the dump.
        let fake = dir.join("nginx");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\n[ \"$1\" = -T ] || exit 9\necho 'nginx: the configuration file {d}/main.conf syntax is ok' >&2\nprintf '# configuration file {d}/main.conf:\\nhttp {{ include {d}/gateway.conf; }}\\n\\n# configuration file {d}/gateway.conf:\\nupstream gateway {{}}\\n\\n'\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let g = gateway(fake.to_str().unwrap(), &format!("{d}/gateway.conf"));
        let out = local(&loaded_command(&g), None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let l = parse_loaded(&out.stdout).unwrap();
        assert_eq!(l.rc, 0);
        assert_eq!(l.conf_real, format!("{d}/sub/real.conf"));
        assert_eq!(
            l.files,
            [
                (format!("{d}/main.conf"), format!("{d}/main.conf")),
                (format!("{d}/gateway.conf"), format!("{d}/sub/real.conf")),
            ]
        );
        assert!(
            l.dump.starts_with("nginx: the configuration file"),
            "{}",
            l.dump
        );
        assert!(l.dump.ends_with("upstream gateway {}"), "{:?}", l.dump);
        let conf = format!("{d}/gateway.conf");
        assert!(l.is_conf(&conf, &conf));
        assert!(l.is_conf(&format!("{d}/sub/real.conf"), &conf));
        assert!(l.is_conf(&conf, &format!("{d}/sub/real.conf")));
        assert!(!l.is_conf(&conf, &format!("{d}/main.conf")));
        // A failing nginx -T: its exit code and words come back.
        let g = gateway("false", &conf);
        let l = parse_loaded(&local(&loaded_command(&g), None).stdout).unwrap();
        assert_eq!(l.rc, 1);
        assert!(parse_loaded(b"@conf /x\n").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `ulisteners PATH` alone (the host sampler runs it inside its script).
    fn unix_listeners_command(path: &str) -> String {
        sh_c(&format!("{UNIX_FNS}ulisteners \"$1\"\n"), &[path])
    }

    #[test]
    fn unix_socket_connections_and_listeners_are_counted() {
        let dir = scratch("unix");
        let sock = dir.join("green.sock");
        let path = sock.to_str().unwrap();
        let count = || {
            let out = local(&unix_connections_command(path), None);
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        let listening = || {
            let out = local(&unix_listeners_command(path), None);
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        assert_eq!((count(), listening()), ("0".into(), String::new()));
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let _a = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        let _b = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        let (_sa, _) = listener.accept().unwrap();
        let (_sb, _) = listener.accept().unwrap();
        assert_eq!(listening(), path);
        assert_eq!(count(), "2", "accepted connections carry the socket's path");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn scripts_are_valid_posix_sh() {
        let g = gateway(
            "/usr/sbin/nginx -p /x/ -c conf/nginx.conf",
            "/x/conf/gateway.conf",
        );
        for cmd in [
            read_command(&g),
            apply_command(&g, "1 2", "alice"),
            loaded_command(&g),
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
