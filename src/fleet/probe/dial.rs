//! One HTTP/1.1 connection to a gateway or nginx over a unix socket (an SSH forward's local
//! end), for a single probe request.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};

/// Where a probe connects: every probe goes through an SSH forward, so a unix socket path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Dial {
    /// A unix socket: the local end of an SSH forward.
    Unix(PathBuf),
}

impl fmt::Display for Dial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dial::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The request body type of every probe (small, known up front).
pub(crate) type ProbeBody = Full<Bytes>;

/// An open connection; dropping it aborts the connection task, which closes the socket.
pub(crate) struct Conn {
    sender: SendRequest<ProbeBody>,
    task: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        // A probe that gave up must not leave a socket open to a hung server.
        self.task.abort();
    }
}

/// Connect and do the HTTP/1.1 handshake, giving up at `deadline`.
pub(crate) async fn connect(
    dial: &Dial,
    deadline: Instant,
    limit_ms: u128,
) -> Result<Conn, String> {
    let connected = match dial {
        Dial::Unix(path) => match timeout_at(deadline, UnixStream::connect(path)).await {
            Ok(Ok(stream)) => Ok(handshake(stream).await),
            Ok(Err(e)) => Err(Some(e)),
            Err(_) => Err(None),
        },
    };
    match connected {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(format!("HTTP handshake with {dial} failed: {}", chain(&e))),
        Err(Some(e)) => Err(connect_error(dial, &e)),
        Err(None) => Err(format!("no connection within {limit_ms} ms: {dial}")),
    }
}

async fn handshake<S>(stream: S) -> Result<Conn, hyper::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    // The connection's errors surface through the request and body futures as well.
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Conn { sender, task })
}

fn connect_error(dial: &Dial, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match (e.kind(), dial) {
        (ErrorKind::ConnectionRefused, _) => format!("connection refused: {dial}"),
        (ErrorKind::NotFound, _) => format!("no socket at {dial}"),
        (ErrorKind::PermissionDenied, _) => format!("permission denied: {dial}"),
        _ => format!("cannot connect to {dial}: {e}"),
    }
}

impl Conn {
    /// Send one request and wait for the response head until `deadline`.
    pub(crate) async fn send(
        &mut self,
        request: Request<ProbeBody>,
        deadline: Instant,
        limit_ms: u128,
    ) -> Result<Response<Incoming>, String> {
        match timeout_at(deadline, self.sender.send_request(request)).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(format!("request failed: {}", chain(&e))),
            Err(_) => Err(format!("no response within {limit_ms} ms")),
        }
    }
}

/// `timeout` from now; an absurd timeout means about a year rather than an overflow panic.
pub(crate) fn deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
}

/// An error and its causes on one line: hyper's and reqwest's top-level messages alone hide
/// the cause.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(err) = source {
        let msg = err.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        source = err.source();
    }
    out
}

/// A probe request with the headers every probe sends; the error names a bad Host header.
pub(crate) fn request(
    method: hyper::Method,
    path_and_query: &str,
    host_header: &str,
    extra: &[(&str, &str)],
    body: Bytes,
) -> Result<Request<ProbeBody>, String> {
    if !path_and_query.starts_with('/') {
        return Err(format!(
            "the probe path must start with /: {path_and_query:?}"
        ));
    }
    let mut builder = Request::builder()
        .method(method)
        .uri(path_and_query)
        .header(hyper::header::HOST, host_header)
        .header(hyper::header::USER_AGENT, "cutover-probe");
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::new(body)).map_err(|e| {
        format!(
            "cannot build the probe request (Host {host_header:?}, path {path_and_query:?}): {e}"
        )
    })
}

/// Sockets for tests: a private socket path, and a one-shot HTTP server on one.
#[cfg(test)]
pub(crate) mod canned {
    use super::Dial;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixListener;
    use tokio::sync::oneshot;

    /// A unix socket path in a private directory of its own, removed when dropped.
    pub(crate) struct Socket {
        dir: PathBuf,
        /// The socket's path (nothing listens until [`Socket::listen`]).
        pub(crate) path: PathBuf,
    }

    impl Socket {
        /// A fresh directory under the system temp dir, `tag` in its name.
        pub(crate) fn new(tag: &str) -> Socket {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "cutover-probe-{tag}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            let path = dir.join("s.sock");
            Socket { dir, path }
        }

        /// Listen on the socket (within a tokio runtime).
        pub(crate) fn listen(&self) -> UnixListener {
            UnixListener::bind(&self.path).expect("bind unix socket")
        }

        /// What a probe dials to reach it.
        pub(crate) fn dial(&self) -> Dial {
            Dial::Unix(self.path.clone())
        }
    }

    impl Drop for Socket {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Answer the first request on a fresh socket with `response` verbatim; the receiver gets
    /// the request head as text.
    pub(crate) async fn serve(response: Vec<u8>) -> (Socket, oneshot::Receiver<String>) {
        let socket = Socket::new("canned");
        let listener = socket.listen();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
            let _ = s.write_all(&response).await;
            // Drain until the client hangs up: closing with unread bytes would reset the
            // connection and could destroy the response in flight.
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        });
        (socket, rx)
    }
}
