//! One chat client and one load generator for the lab tests: every request counted, and
//! every streaming one checked to end with `[DONE]` after all its tokens.

use super::{fresh_client, runtime};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What one request through nginx came to.
#[derive(Debug)]
pub struct Done {
    /// When it was sent.
    pub started: Instant,
    /// When it ended.
    pub ended: Instant,
    /// The color that answered (`x-gateway-color`), `-` when none did.
    pub color: String,
    /// What went wrong, if anything.
    pub problem: Option<String>,
}

/// One chat request; streaming ones must end with `[DONE]` after every token.
pub async fn chat(client: &reqwest::Client, url: &str, stream: bool, tokens: usize) -> Done {
    let started = Instant::now();
    let body = format!(
        r#"{{"model":"lab","stream":{stream},"messages":[{{"role":"user","content":"hi"}}]}}"#
    );
    let done = |color: String, problem: Option<String>| Done {
        started,
        ended: Instant::now(),
        color,
        problem,
    };
    let mut resp = match client.post(url).body(body).send().await {
        Ok(r) => r,
        Err(e) => return done("-".into(), Some(format!("send: {e}"))),
    };
    let color = resp
        .headers()
        .get("x-gateway-color")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    if resp.status() != 200 {
        return done(color, Some(format!("HTTP {}", resp.status())));
    }
    let mut buf = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => buf.extend_from_slice(&c),
            Ok(None) => break,
            Err(e) => return done(color, Some(format!("body cut: {e}"))),
        }
    }
    let text = String::from_utf8_lossy(&buf);
    if stream {
        let content = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter(|d| *d != "[DONE]")
            .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .filter(|v| {
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .is_some_and(|c| !c.is_empty())
            })
            .count();
        if !text.contains("data: [DONE]") || content != tokens {
            return done(
                color,
                Some(format!(
                    "stream incomplete: {content} tokens, [DONE]={}",
                    text.contains("[DONE]")
                )),
            );
        }
    }
    done(color, None)
}

/// Load through every host's nginx until `stop`: `per_host` workers each, alternating
/// streaming and plain requests.
pub fn load(
    urls: Vec<String>,
    per_host: usize,
    tokens: usize,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<Done>> {
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let client = fresh_client();
            let mut tasks = Vec::new();
            for url in &urls {
                for w in 0..per_host {
                    let (client, url, stop) = (client.clone(), url.clone(), stop.clone());
                    tasks.push(tokio::spawn(async move {
                        let mut out = Vec::new();
                        let mut n = w;
                        while !stop.load(Ordering::Relaxed) {
                            out.push(chat(&client, &url, n % 2 == 0, tokens).await);
                            n += 1;
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
    })
}

/// The colors that answered `n` plain chat requests through the nginx of the host at `ip`,
/// each on a connection of its own (one an old worker still holds would show the old split).
pub fn colors_through_nginx(ip: impl std::fmt::Display, n: usize) -> Vec<String> {
    let url = format!("http://{ip}:8080/v1/chat/completions");
    runtime().block_on(async {
        let c = fresh_client();
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
