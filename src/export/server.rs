//! The `/metrics` endpoint: hyper's HTTP/1.1 server on a thread and runtime of its own, so a
//! scrape never takes time from the cockpit's frames or its collectors. It renders the
//! latest published [`Snapshot`](super::metrics::Snapshot) on each request and nothing else:
//! no lock is held while rendering, no histogram is touched.

use super::metrics::{Format, Published, render};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinSet;

/// Connections served at once; more wait to be accepted (a scraper needs one or two).
const MAX_CONNECTIONS: usize = 16;
/// A client must send its request head within this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server has done, for `watch`'s progress lines and the figures.
#[derive(Debug, Default)]
pub(crate) struct ServerStats {
    /// `/metrics` responses sent.
    pub(crate) scrapes: AtomicU64,
    /// Microseconds the last render took.
    pub(crate) last_render_us: AtomicU64,
    /// Bytes of the last body before compression.
    pub(crate) last_bytes: AtomicU64,
}

/// A running metrics server; stopped when dropped.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Its counters.
    pub(crate) stats: Arc<ServerStats>,
}

impl MetricsServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Listen on `addr` now (the error names the address) and serve `published` from a thread.
pub fn start(addr: SocketAddr, published: Published) -> Result<MetricsServer, String> {
    let fail = |e: std::io::Error| format!("export.metrics_listen {addr}: cannot listen: {e}");
    let listener = std::net::TcpListener::bind(addr).map_err(fail)?;
    listener.set_nonblocking(true).map_err(fail)?;
    let local = listener.local_addr().map_err(fail)?;
    let stats = Arc::new(ServerStats::default());
    let (stop, stopped) = oneshot::channel();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("metrics server: cannot start its runtime: {e}"))?;
    let st = stats.clone();
    let thread = std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || rt.block_on(serve(listener, published, st, stopped)))
        .map_err(|e| format!("metrics server: cannot start its thread: {e}"))?;
    Ok(MetricsServer {
        addr: local,
        stop: Some(stop),
        thread: Some(thread),
        stats,
    })
}

async fn serve(
    listener: std::net::TcpListener,
    published: Published,
    stats: Arc<ServerStats>,
    mut stopped: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Dropping the set when the loop ends closes every connection.
    let mut conns = JoinSet::new();
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        tokio::select! {
            _ = &mut stopped => return,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // A connection reset before accept, or no descriptors left: pause, go on.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let (published, stats) = (published.clone(), stats.clone());
                conns.spawn(async move {
                    let _permit = permit;
                    let service = service_fn(move |req| {
                        let (published, stats) = (published.clone(), stats.clone());
                        async move { Ok::<_, Infallible>(respond(&req, &published, &stats)) }
                    });
                    // An error here is a client that went away: nothing to report.
                    let _ = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_TIMEOUT)
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The answer to one request.
fn respond(
    req: &Request<Incoming>,
    published: &Published,
    stats: &ServerStats,
) -> Response<Full<Bytes>> {
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    match (get, req.uri().path()) {
        (true, "/metrics") => {}
        (true, "/") => return plain(StatusCode::OK, "cutover exporter: GET /metrics\n"),
        (false, "/" | "/metrics") => {
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only\n");
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        _ => return plain(StatusCode::NOT_FOUND, "not found: GET /metrics\n"),
    }
    let header = |h| {
        req.headers()
            .get(h)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let format = Format::negotiate(header(header::ACCEPT));
    let gzip = header(header::ACCEPT_ENCODING).is_some_and(|a| a.contains("gzip"));
    let started = Instant::now();
    let snap = published.get();
    let mut text = String::with_capacity(stats.last_bytes.load(Ordering::Relaxed) as usize + 4096);
    render(&snap, snap.taken.elapsed(), format, &mut text);
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    stats.last_render_us.store(micros, Ordering::Relaxed);
    stats.last_bytes.store(text.len() as u64, Ordering::Relaxed);
    stats.scrapes.fetch_add(1, Ordering::Relaxed);
    let (body, compressed) = match gzip.then(|| compress(text.as_bytes())).flatten() {
        Some(z) => (z, true),
        None => (text.into_bytes(), false),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if compressed {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r
}

/// `bytes` gzipped at the fastest level (a scrape is small and frequent).
fn compress(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 8),
        flate2::Compression::fast(),
    );
    z.write_all(bytes).ok()?;
    z.finish().ok()
}
