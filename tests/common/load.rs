//! One chat client and one load generator for the lab tests: every request counted, and
//! every streaming one checked to end with `[DONE]` after all its tokens.

use super::{client, fresh_client, runtime};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The chat endpoint of the lab host at `ip` (through its nginx).
pub fn chat_url(ip: impl std::fmt::Display) -> String {
    format!("http://{ip}:8080/v1/chat/completions")
}

/// How requests reach nginx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    /// A connection per request (`fresh_client`): what nginx promises across reloads.
    Fresh,
    /// Pooled keep-alive connections (`client`), as a long-lived client sends them.
    Pooled,
}

impl Conn {
    /// A client that connects this way.
    pub fn client(self) -> reqwest::Client {
        match self {
            Conn::Fresh => fresh_client(),
            Conn::Pooled => client(),
        }
    }
}

/// What one request through nginx came to.
#[derive(Debug)]
pub struct Done {
    /// When it was sent.
    pub started: Instant,
    /// When the first content token of a stream arrived (streams only).
    pub first_token: Option<Instant>,
    /// When it ended.
    pub ended: Instant,
    /// The color that answered (`x-gateway-color`), `-` when none did.
    pub color: String,
    /// What went wrong, if anything.
    pub problem: Option<String>,
}

/// What a streamed body has shown so far, read line by line as it arrives.
#[derive(Default)]
struct Stream {
    /// The unfinished last line.
    partial: Vec<u8>,
    /// `data:` lines with a non-empty content delta.
    tokens: usize,
    first_token: Option<Instant>,
    /// A `data: [DONE]` line.
    done: bool,
    /// `[DONE]` anywhere.
    done_anywhere: bool,
}

impl Stream {
    fn feed(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        while let Some(i) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=i).collect();
            self.line(&line);
        }
    }

    fn finish(&mut self) {
        let rest = std::mem::take(&mut self.partial);
        self.line(&rest);
    }

    fn line(&mut self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        let line = line.strip_suffix('\n').unwrap_or(&line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        self.done |= line.contains("data: [DONE]");
        self.done_anywhere |= line.contains("[DONE]");
        let Some(data) = line.strip_prefix("data: ").filter(|d| *d != "[DONE]") else {
            return;
        };
        let content = serde_json::from_str::<serde_json::Value>(data).is_ok_and(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|c| !c.is_empty())
        });
        if content {
            self.tokens += 1;
            self.first_token.get_or_insert_with(Instant::now);
        }
    }
}

/// One chat request; streaming ones must end with `[DONE]` after every token.
pub async fn chat(client: &reqwest::Client, url: &str, stream: bool, tokens: usize) -> Done {
    let started = Instant::now();
    let body = format!(
        r#"{{"model":"lab","stream":{stream},"messages":[{{"role":"user","content":"hi"}}]}}"#
    );
    let mut sse = Stream::default();
    let done = |color: String, problem: Option<String>, sse: &Stream| Done {
        started,
        first_token: sse.first_token,
        ended: Instant::now(),
        color,
        problem,
    };
    let mut resp = match client.post(url).body(body).send().await {
        Ok(r) => r,
        Err(e) => return done("-".into(), Some(format!("send: {e}")), &sse),
    };
    let color = resp
        .headers()
        .get("x-gateway-color")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    if resp.status() != 200 {
        let problem = format!("HTTP {}", resp.status());
        return done(color, Some(problem), &sse);
    }
    loop {
        match resp.chunk().await {
            Ok(Some(c)) if stream => sse.feed(&c),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return done(color, Some(format!("body cut: {e}")), &sse),
        }
    }
    sse.finish();
    if stream && (!sse.done || sse.tokens != tokens) {
        let problem = format!(
            "stream incomplete: {} tokens, [DONE]={}",
            sse.tokens, sse.done_anywhere
        );
        return done(color, Some(problem), &sse);
    }
    done(color, None, &sse)
}

/// A load through nginx: `per_host` workers a host, each sending one request after another
/// (alternating streaming and plain ones of `tokens` tokens), until stopped.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    per_host: usize,
    tokens: usize,
    conn: Conn,
    pause: Duration,
}

impl Load {
    /// `per_host` workers a host on fresh connections, with no pause between requests.
    pub fn new(per_host: usize, tokens: usize) -> Load {
        Load {
            per_host,
            tokens,
            conn: Conn::Fresh,
            pause: Duration::ZERO,
        }
    }

    /// The same on connections made this way.
    pub fn conn(self, conn: Conn) -> Load {
        Load { conn, ..self }
    }

    /// The same with each worker waiting `pause` after every request (a steady, light load).
    pub fn pause(self, pause: Duration) -> Load {
        Load { pause, ..self }
    }

    /// Start it, on a thread and runtime of its own, against every one of `urls`.
    pub fn start(self, urls: Vec<String>) -> Loader {
        let stop = Arc::new(AtomicBool::new(false));
        let halt = stop.clone();
        let thread = std::thread::spawn(move || {
            runtime().block_on(async move {
                let client = self.conn.client();
                let mut tasks = Vec::new();
                for url in &urls {
                    for w in 0..self.per_host {
                        let (client, url, stop) = (client.clone(), url.clone(), halt.clone());
                        tasks.push(tokio::spawn(async move {
                            let mut out = Vec::new();
                            let mut n = w;
                            while !stop.load(Ordering::Relaxed) {
                                out.push(chat(&client, &url, n % 2 == 0, self.tokens).await);
                                n += 1;
                                if !self.pause.is_zero() {
                                    tokio::time::sleep(self.pause).await;
                                }
                            }
                            out
                        }));
                    }
                }
                let mut all = Vec::new();
                for t in tasks {
                    all.extend(t.await.unwrap());
                }
                all
            })
        });
        Loader {
            stop,
            thread: Some(thread),
        }
    }
}

/// A running load; stopped (and waited for) when dropped, so a failing test leaves none.
pub struct Loader {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<Done>>>,
}

impl Loader {
    /// Stop sending, let the requests in flight end, and return every request.
    pub fn stop(mut self) -> Vec<Done> {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().expect("a loader is stopped once");
        thread.join().expect("the load thread")
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The colors that answered `n` plain chat requests through the nginx of the host at `ip`,
/// asserting that each was answered. `Conn::Fresh` gives each its own connection (one an old
/// worker still holds would show the old split).
pub fn colors_through_nginx(ip: impl std::fmt::Display, n: usize, conn: Conn) -> Vec<String> {
    let url = chat_url(ip);
    runtime().block_on(async {
        let c = conn.client();
        let mut out = Vec::new();
        for _ in 0..n {
            let d = chat(&c, &url, false, 0).await;
            assert!(d.problem.is_none(), "chat through {url}: {d:?}");
            out.push(d.color);
        }
        out
    })
}

/// Fails with the first few problems when any request of a load run did not complete.
pub fn assert_none_failed(done: &[Done]) {
    let failed: Vec<&Done> = done.iter().filter(|d| d.problem.is_some()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {:?}",
        failed.len(),
        done.len(),
        &failed[..failed.len().min(5)]
    );
}
