//! A long-lived remote `sh` fed one framed command at a time.
//!
//! Every ssh session starts the user's login shell, and bash sources `~/.bashrc` when it is run
//! by sshd; on real hosts that file can cost more than the command itself. A session pays it
//! once: the shell reads commands from its stdin and ends each answer with a marker carrying a
//! random nonce and the exit status, on stdout and on stderr.

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use super::quote::shell_quote;

/// The command the remote login shell is given: it is replaced by a plain `sh` reading stdin.
pub(crate) const REMOTE_SHELL: &str = "exec sh";

/// Why a session could not answer.
#[derive(Debug)]
pub(crate) enum SessionError {
    /// The frame never reached the shell (it had already gone): safe to retry elsewhere.
    NotSent(String),
    /// The shell went away before answering; the command may or may not have run.
    Lost(String),
    /// No answer in time; the session is unusable (the command may still be running).
    Timeout,
    /// The stdin bytes cannot travel inside a shell word (a NUL byte).
    BadInput,
}

/// One command's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    /// Its exit status.
    pub(crate) code: i32,
    /// Its stdout, exactly.
    pub(crate) stdout: Vec<u8>,
    /// Its stderr, exactly.
    pub(crate) stderr: Vec<u8>,
}

/// The text sent for one command: `command` runs in a subshell (an `exit` in it cannot end the
/// session) through `eval` (a syntax error in it cannot swallow the marker), with `stdin` or
/// /dev/null (never the session's own stdin) as its input.
pub(crate) fn frame(
    command: &str,
    stdin: Option<&[u8]>,
    marker: &str,
) -> Result<String, SessionError> {
    let input = match stdin {
        None => None,
        Some(b) if b.contains(&0) => return Err(SessionError::BadInput),
        Some(b) => Some(String::from_utf8(b.to_vec()).map_err(|_| SessionError::BadInput)?),
    };
    let run = format!("( eval {} )", shell_quote(command));
    let line = match input {
        // printf is a builtin in every sh we meet, so the size of the word is not an exec limit.
        Some(data) => format!("printf '%s' {} | {run}", shell_quote(&data)),
        None => format!("{run} </dev/null"),
    };
    Ok(format!(
        "{line}; printf '\\n{marker} %d\\n' \"$?\"; printf '\\n{marker}\\n' >&2\n"
    ))
}

/// In `buf`, the end of an answer on stdout: (output length, exit status, bytes consumed).
pub(crate) fn find_stdout_end(buf: &[u8], marker: &str) -> Option<(usize, i32, usize)> {
    let head = format!("\n{marker} ");
    let at = find(buf, head.as_bytes())?;
    let rest = &buf[at + head.len()..];
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let code = std::str::from_utf8(&rest[..nl]).ok()?.trim().parse().ok()?;
    Some((at, code, at + head.len() + nl + 1))
}

/// In `buf`, the end of an answer on stderr: (output length, bytes consumed).
pub(crate) fn find_stderr_end(buf: &[u8], marker: &str) -> Option<(usize, usize)> {
    let line = format!("\n{marker}\n");
    let at = find(buf, line.as_bytes())?;
    Some((at, at + line.len()))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A random marker prefix: the remote side cannot forge an end of answer by chance.
fn nonce() -> String {
    let mut bytes = [0u8; 12];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mix = (t as u64) ^ u64::from(std::process::id()).rotate_left(32);
    let mut s = String::from("__cutover_");
    for b in bytes.iter().chain(mix.to_le_bytes().iter()) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A running shell and its pipes.
#[derive(Debug)]
pub(crate) struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: ChildStderr,
    out_buf: Vec<u8>,
    err_buf: Vec<u8>,
    nonce: String,
    seq: u64,
}

/// Answers larger than this end the session: a remote host must not fill our memory.
const MAX_ANSWER: usize = 64 << 20;

impl Session {
    /// Start `cmd` (an ssh invocation, or a local `sh` in tests) and wait until its shell
    /// answers, discarding whatever its startup files printed.
    pub(crate) async fn start(
        mut cmd: Command,
        timeout: Duration,
    ) -> Result<Session, SessionError> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| SessionError::NotSent(e.to_string()))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(SessionError::NotSent("no pipes".into()));
        };
        let mut s = Session {
            child,
            stdin,
            stdout,
            stderr,
            out_buf: Vec::new(),
            err_buf: Vec::new(),
            nonce: nonce(),
            seq: 0,
        };
        match s.run(":", None, timeout).await {
            Ok(_) => Ok(s),
            // ssh's own complaint (host key, refused, ...) is what the caller needs to see.
            Err(SessionError::Lost(e)) => {
                let said = s.leftover_stderr();
                Err(SessionError::Lost(if said.trim().is_empty() {
                    e
                } else {
                    said
                }))
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the shell (or the ssh carrying it) has exited.
    pub(crate) fn is_gone(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// What the session printed on stderr before it died (for classifying ssh's complaint).
    pub(crate) fn leftover_stderr(&self) -> String {
        String::from_utf8_lossy(&self.err_buf).into_owned()
    }

    /// Run one command. After any error the session must be dropped.
    pub(crate) async fn run(
        &mut self,
        command: &str,
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Answer, SessionError> {
        self.seq += 1;
        let marker = format!("{}_{}", self.nonce, self.seq);
        let text = frame(command, stdin, &marker)?;
        if let Err(e) = self.stdin.write_all(text.as_bytes()).await {
            return Err(SessionError::NotSent(e.to_string()));
        }
        if let Err(e) = self.stdin.flush().await {
            return Err(SessionError::NotSent(e.to_string()));
        }
        let out = read_until(&mut self.stdout, &mut self.out_buf, |b| {
            find_stdout_end(b, &marker).map(|(n, c, used)| ((n, c), used))
        });
        let err = read_until(&mut self.stderr, &mut self.err_buf, |b| {
            find_stderr_end(b, &marker).map(|(n, used)| ((n, ()), used))
        });
        match tokio::time::timeout(timeout, async { tokio::try_join!(out, err) }).await {
            Err(_) => Err(SessionError::Timeout),
            Ok(Err(e)) => Err(SessionError::Lost(e)),
            Ok(Ok(((code, stdout), ((), stderr)))) => Ok(Answer {
                code,
                stdout,
                stderr,
            }),
        }
    }
}

/// Read `pipe` into `buf` until `end` finds a marker; returns what `end` found and the answer's
/// bytes, keeping anything after the marker in `buf`.
async fn read_until<R, T, F>(
    pipe: &mut R,
    buf: &mut Vec<u8>,
    end: F,
) -> Result<(T, Vec<u8>), String>
where
    R: AsyncRead + Unpin,
    F: Fn(&[u8]) -> Option<((usize, T), usize)>,
    T: Copy,
{
    // On the heap: an array here would make every future that awaits a command huge.
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        if let Some(((len, found), used)) = end(buf) {
            let answer = buf[..len].to_vec();
            buf.drain(..used);
            return Ok((found, answer));
        }
        if buf.len() > MAX_ANSWER {
            return Err(format!("answer over {} MiB", MAX_ANSWER >> 20));
        }
        match pipe.read(&mut chunk).await {
            Ok(0) => return Err("connection closed".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local_sh() -> Command {
        let mut c = Command::new("sh");
        // Startup noise on both streams, as a chatty .bashrc would print.
        c.args(["-c", "echo welcome; echo motd >&2; exec sh"]);
        c
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    const T: Duration = Duration::from_secs(10);

    #[test]
    fn answers_are_exact_bytes_with_exit_codes() {
        rt().block_on(async {
            let mut s = Session::start(local_sh(), T).await.unwrap();
            let a = s.run("printf 'no newline'", None, T).await.unwrap();
            assert_eq!(
                a,
                Answer {
                    code: 0,
                    stdout: b"no newline".to_vec(),
                    stderr: vec![]
                }
            );
            let a = s
                .run("printf 'a\\n\\n'; echo oops >&2; exit 3", None, T)
                .await
                .unwrap();
            assert_eq!(
                (a.code, &a.stdout[..], &a.stderr[..]),
                (3, &b"a\n\n"[..], &b"oops\n"[..])
            );
            // `exit` ended only the subshell, and the state does not leak between commands.
            let a = s.run("X=1; cd /; echo \"$X\"", None, T).await.unwrap();
            assert_eq!(a.stdout, b"1\n");
            let a = s.run("echo \"${X:-unset}\"; pwd", None, T).await.unwrap();
            assert_eq!(
                a.stdout,
                b"unset\n"
                    .iter()
                    .chain(
                        std::env::current_dir()
                            .unwrap()
                            .to_str()
                            .unwrap()
                            .as_bytes()
                    )
                    .chain(b"\n")
                    .copied()
                    .collect::<Vec<u8>>()
            );
        });
    }

    #[test]
    fn stdin_arrives_byte_for_byte_and_commands_never_read_the_session() {
        rt().block_on(async {
            let mut s = Session::start(local_sh(), T).await.unwrap();
            for data in [
                &b""[..],
                b"x",
                b"no trailing newline",
                b"it's $(not run) `either`\n\\n\n",
                "ünïcode\r\n".as_bytes(),
            ] {
                let a = s.run("cat", Some(data), T).await.unwrap();
                assert_eq!(a.stdout, data);
            }
            let a = s.run("cat; echo end", None, T).await.unwrap();
            assert_eq!(a.stdout, b"end\n");
            let big = "upstream gateway { server 127.0.0.1:8787 weight=90; }\n".repeat(20_000);
            let a = s.run("wc -c", Some(big.as_bytes()), T).await.unwrap();
            assert_eq!(
                String::from_utf8_lossy(&a.stdout).trim(),
                big.len().to_string()
            );
            assert!(matches!(
                s.run("cat", Some(b"a\0b"), T).await,
                Err(SessionError::BadInput)
            ));
        });
    }

    #[test]
    fn a_syntax_error_is_an_exit_code_not_a_hang() {
        rt().block_on(async {
            let mut s = Session::start(local_sh(), T).await.unwrap();
            let a = s.run("echo 'unbalanced", None, T).await.unwrap();
            assert_ne!(a.code, 0);
            assert_eq!(s.run("echo ok", None, T).await.unwrap().stdout, b"ok\n");
        });
    }

    #[test]
    fn a_slow_command_times_out_and_a_dead_shell_is_reported() {
        rt().block_on(async {
            let mut s = Session::start(local_sh(), T).await.unwrap();
            let short = Duration::from_millis(200);
            assert!(matches!(
                s.run("sleep 5", None, short).await,
                Err(SessionError::Timeout)
            ));
            let mut s = Session::start(local_sh(), T).await.unwrap();
            // `$$` is the session's shell even inside the subshell.
            let e = s.run("kill -9 $$", None, T).await;
            assert!(matches!(e, Err(SessionError::Lost(_))), "{e:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(s.is_gone());
        });
    }

    #[test]
    fn markers_are_found_only_whole() {
        let m = "__cutover_ab_7";
        assert_eq!(
            find_stdout_end(b"x\n__cutover_ab_7 0\nrest", m),
            Some((1, 0, 19))
        );
        assert_eq!(find_stdout_end(b"x\n__cutover_ab_7 1", m), None);
        assert_eq!(find_stdout_end(b"x\n__cutover_ab_70 0\n", m), None);
        assert_eq!(find_stderr_end(b"\n__cutover_ab_7\n", m), Some((0, 16)));
        assert_eq!(find_stderr_end(b"\n__cutover_ab_71\n", m), None);
    }
}
