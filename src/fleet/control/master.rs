//! Is the nginx master in the configured pid file the nginx this gateway's commands drive?
//! A pid file of another nginx (the system's `/run/nginx.pid` on a host that runs two) makes
//! every reload check watch the wrong workers, so `check` fails on it; a dead master too.

use crate::fleet::remote::quote::sh_c;

/// Prints `NOPID why`, `DEAD pid`, or `MASTER pid cmdline` for the master in `$1`.
const MASTER: &str = r#"pidfile=$1
m=$(cat -- "$pidfile" 2>/dev/null) || { echo "NOPID cannot read $pidfile"; exit 0; }
m=$(echo $m)
case $m in ''|*[!0-9]*) echo "NOPID $pidfile holds no pid"; exit 0;; esac
if ! kill -0 "$m" 2>/dev/null && [ ! -d "/proc/$m" ]; then echo "DEAD $m"; exit 0; fi
if [ -r "/proc/$m/cmdline" ]; then cmd=$(tr '\0' ' ' < "/proc/$m/cmdline")
else cmd=$(ps -o args= -p "$m" 2>/dev/null)
fi
echo "MASTER $m $cmd"
"#;

/// The master-check command line for a pid file.
pub(crate) fn master_command(pidfile: &str) -> String {
    sh_c(MASTER, &[pidfile])
}

/// What the pid file says about the master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Master {
    /// No readable pid in the file.
    NoPid(String),
    /// The pid names no running process.
    Dead(u32),
    /// A running process with its command line.
    Running {
        /// Its pid.
        pid: u32,
        /// Its command line, arguments separated by spaces.
        cmdline: String,
    },
}

/// Read the master check's answer.
pub(crate) fn parse_master(stdout: &str) -> Result<Master, String> {
    let line = stdout.lines().next().unwrap_or_default();
    let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
    let pid = |s: &str| s.parse::<u32>().map_err(|_| format!("bad pid {s:?}"));
    match tag {
        "NOPID" => Ok(Master::NoPid(rest.to_string())),
        "DEAD" => Ok(Master::Dead(pid(rest.trim())?)),
        "MASTER" => {
            let (p, cmd) = rest.split_once(' ').unwrap_or((rest, ""));
            Ok(Master::Running {
                pid: pid(p)?,
                cmdline: cmd.trim().to_string(),
            })
        }
        _ => Err("unexpected answer from the master check".into()),
    }
}

/// The `-p PREFIX` and `-c FILE` arguments of an nginx command line, as written.
fn prefix_and_conf(cmdline: &str) -> Vec<(String, String)> {
    let words: Vec<&str> = cmdline.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "-p" || w[0] == "-c")
        .map(|w| (w[0].to_string(), w[1].trim_end_matches('/').to_string()))
        .collect()
}

/// Why the master does not belong to the configured `nginx` command, if it does not: it must
/// be an nginx master started with the same `-p` and `-c` as the command cutover runs.
pub(crate) fn mismatch(master: &Master, pidfile: &str, nginx: &str) -> Option<String> {
    match master {
        Master::NoPid(why) => Some(format!("no nginx master: {why}")),
        Master::Dead(pid) => Some(format!(
            "no nginx master: {pidfile} names pid {pid}, which is not running"
        )),
        Master::Running { pid, cmdline } => {
            if !cmdline.contains("nginx") || !cmdline.contains("master process") {
                return Some(format!(
                    "{pidfile} names pid {pid}, which is not an nginx master ({cmdline})"
                ));
            }
            let want = prefix_and_conf(nginx);
            let have = prefix_and_conf(cmdline);
            let missing: Vec<String> = want
                .iter()
                .filter(|w| !have.contains(w))
                .map(|(flag, v)| format!("{flag} {v}"))
                .collect();
            (!missing.is_empty()).then(|| {
                format!(
                    "{pidfile} belongs to another nginx: its master (pid {pid}) runs `{cmdline}`, without {} of the configured nginx command: reloads would be checked against the wrong workers",
                    missing.join(", ")
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NGINX: &str = "/usr/sbin/nginx -p /srv/gw/ -c conf/nginx.conf -e logs/error.log";

    #[test]
    fn answers_are_read() {
        assert_eq!(
            parse_master("MASTER 42 nginx: master process /usr/sbin/nginx -p /srv/gw -c x\n"),
            Ok(Master::Running {
                pid: 42,
                cmdline: "nginx: master process /usr/sbin/nginx -p /srv/gw -c x".into()
            })
        );
        assert_eq!(parse_master("DEAD 7\n"), Ok(Master::Dead(7)));
        assert!(matches!(
            parse_master("NOPID x holds no pid"),
            Ok(Master::NoPid(_))
        ));
        assert!(parse_master("garbage").is_err());
    }

    #[test]
    fn the_master_must_be_started_like_the_configured_command() {
        let ours = Master::Running {
            pid: 9,
            cmdline: "nginx: master process /usr/sbin/nginx -p /srv/gw -c conf/nginx.conf -e logs/error.log".into(),
        };
        assert_eq!(mismatch(&ours, "/srv/gw/nginx.pid", NGINX), None);
        let system = Master::Running {
            pid: 1,
            cmdline: "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"
                .into(),
        };
        let why = mismatch(&system, "/run/nginx.pid", NGINX).unwrap();
        assert!(
            why.contains("belongs to another nginx") && why.contains("-p /srv/gw"),
            "{why}"
        );
        let other = Master::Running {
            pid: 3,
            cmdline: "bash -c sleep".into(),
        };
        assert!(
            mismatch(&other, "/p", NGINX)
                .unwrap()
                .contains("not an nginx master")
        );
        assert!(
            mismatch(&Master::Dead(5), "/p", NGINX)
                .unwrap()
                .contains("not running")
        );
    }
}
