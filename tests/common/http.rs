//! HTTP on loopback for tests: one request read off a connection, and a webhook receiver
//! that keeps every JSON body it accepted.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The request head (lines) and body of one HTTP/1.1 request.
pub fn read_request(conn: &mut TcpStream) -> Option<(Vec<String>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head: Vec<String> = String::from_utf8_lossy(&buf[..end])
        .split("\r\n")
        .map(str::to_string)
        .collect();
    let len: usize = head
        .iter()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[end + 4..].to_vec();
    while body.len() < len {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// Answer every connection to `listener` on a thread, one request each, with what `answer`
/// makes of its head and body (status line, JSON body), until `stop` is set and a connection
/// wakes the loop.
pub fn serve(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    answer: impl Fn(&[String], &[u8]) -> (&'static str, String) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            // One request per connection: the answer says `Connection: close`.
            if let Some((head, body)) = read_request(&mut conn) {
                let (status, reply) = answer(&head, &body);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        }
    })
}

/// A webhook receiver on loopback: answers 200 to every POST and keeps its JSON body.
pub struct Webhook {
    /// Where it listens.
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<serde_json::Value>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Webhook {
    /// Listen on `addr` (port 0: any).
    pub fn start(addr: SocketAddr) -> Webhook {
        let listener = TcpListener::bind(addr).expect("webhook bind");
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (received.clone(), stop.clone());
        let thread = serve(listener, s, move |head, body| {
            let ok = head.first().is_some_and(|l| l.starts_with("POST "));
            match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(v) if ok => {
                    r.lock().unwrap().push(v);
                    ("200 OK", "ok".to_string())
                }
                _ => ("400 Bad Request", "bad".to_string()),
            }
        });
        Webhook {
            addr,
            received,
            stop,
            thread: Some(thread),
        }
    }

    /// The bodies accepted so far, in arrival order.
    pub fn received(&self) -> Vec<serde_json::Value> {
        self.received.lock().unwrap().clone()
    }

    /// Close the port: connections are refused until a new receiver listens.
    pub fn stop(mut self) -> Vec<serde_json::Value> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.received()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback address nothing listens on (yet): bound, noted, released.
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}
