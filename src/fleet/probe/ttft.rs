//! The synthetic TTFT probe: one small streaming chat request, timed to its first content token.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Method, StatusCode, header};
use tokio::time::{Instant, timeout_at};

pub(crate) use super::dial::Dial;
use super::dial::{self, chain};
use super::sse::SseScanner;

/// The probe's chat request: tiny, streaming, recognisable in the gateway's logs.
pub(crate) const PROBE_BODY: &str = r#"{"model":"cutover-probe","stream":true,"max_tokens":8,"messages":[{"role":"user","content":"ping"}]}"#;

/// What one TTFT probe measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TtftResult {
    /// From just before the request was written to the arrival of the first content event.
    pub(crate) ttft_ms: u32,
}

/// POST a streaming chat completion and time its first content token; `timeout` bounds it all.
pub(crate) async fn probe_ttft(
    dial: &Dial,
    host_header: &str,
    timeout: Duration,
) -> Result<TtftResult, String> {
    let deadline = dial::deadline(timeout);
    let limit_ms = timeout.as_millis();
    let request = dial::request(
        Method::POST,
        "/v1/chat/completions",
        host_header,
        &[
            ("content-type", "application/json"),
            ("accept", "text/event-stream"),
        ],
        Bytes::from_static(PROBE_BODY.as_bytes()),
    )?;
    let mut conn = dial::connect(dial, deadline, limit_ms).await?;
    // The connection is up: from here on it is the gateway's time.
    let started = Instant::now();
    let resp = conn.send(request, deadline, limit_ms).await?;
    if resp.status() != StatusCode::OK {
        return Err(format!("HTTP {}", resp.status()));
    }
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        // Only ever shown in a short error message.
        .chars()
        .take(48)
        .collect::<String>();
    let mut body = resp.into_body();
    let mut sse = SseScanner::new();
    let mut ttft: Option<Duration> = None;
    // Why the loop stopped when no content token came.
    let failure = loop {
        let frame = match timeout_at(deadline, body.frame()).await {
            Err(_) => break format!("no content token within {limit_ms} ms"),
            Ok(None) => {
                sse.finish();
                break end_without_content(&sse, &content_type);
            }
            Ok(Some(Err(e))) => break format!("stream broken: {}", chain(&e)),
            Ok(Some(Ok(frame))) => frame,
        };
        let arrived = started.elapsed();
        // Trailers carry no events.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let pushed = sse.push(&data);
        if sse.summary().first_content.is_some() {
            // Let go at the first token: a probe that read the whole stream would hold a
            // connection to the color, and a drain waits for those to reach 0.
            ttft = Some(arrived);
            break String::new();
        }
        if let Err(e) = pushed {
            break e.to_string();
        }
        if sse.summary().done {
            break end_without_content(&sse, &content_type);
        }
    };
    match ttft {
        Some(t) => Ok(TtftResult {
            ttft_ms: u32::try_from(t.as_millis()).unwrap_or(u32::MAX),
        }),
        None => Err(failure),
    }
}

/// The message for a stream that ended (or said `[DONE]`) before any content token.
fn end_without_content(sse: &SseScanner, content_type: &str) -> String {
    let s = sse.summary();
    let mut msg = String::from("stream ended without a content token");
    if s.malformed > 0 {
        msg.push_str(&format!(" ({} malformed events)", s.malformed));
    }
    if !content_type.starts_with("text/event-stream") {
        msg.push_str(&format!(" (content-type {content_type:?})"));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::probe::dial::canned::{self, Socket};
    use crate::lab::gateway::{Behaviour, GatewaySpec, Listener, serve_on};
    use crate::model::Color;
    use tokio::sync::oneshot;

    /// A lab gateway on a unix socket of its own (as a probe sees it through an SSH forward);
    /// stops when dropped.
    struct Gateway {
        socket: Socket,
        _stop: oneshot::Sender<()>,
    }

    impl Gateway {
        fn dial(&self) -> Dial {
            self.socket.dial()
        }
    }

    async fn gateway(behaviour: Behaviour) -> Gateway {
        let socket = Socket::new("gw");
        let listener = socket.listen();
        let (stop, stopped) = oneshot::channel::<()>();
        let spec = GatewaySpec {
            color: Color::Green,
            version: "v-probe-test".to_string(),
            behaviour,
        };
        tokio::spawn(serve_on(Listener::Unix(listener), spec, async {
            let _ = stopped.await;
        }));
        Gateway {
            socket,
            _stop: stop,
        }
    }

    fn fast(ttft_ms: u64) -> Behaviour {
        Behaviour {
            ttft_ms,
            tokens_per_sec: 200.0,
            tokens: 3,
            ..Behaviour::default()
        }
    }

    const T: Duration = Duration::from_secs(3);

    #[tokio::test]
    async fn ttft_is_at_least_the_gateways_delay() {
        let gw = gateway(fast(300)).await;
        let r = probe_ttft(&gw.dial(), "gw.test", T).await.expect("probe");
        assert!((300..2000).contains(&r.ttft_ms), "{r:?}");
    }

    #[tokio::test]
    async fn a_5xx_is_an_error_naming_the_status() {
        let gw = gateway(Behaviour {
            error_rate: 1.0,
            ..fast(10)
        })
        .await;
        let err = probe_ttft(&gw.dial(), "gw.test", T).await.expect_err("500");
        assert!(err.contains("HTTP 500"), "{err}");
    }

    #[tokio::test]
    async fn a_hung_gateway_is_given_up_on_at_the_timeout() {
        let gw = gateway(Behaviour {
            hang: true,
            ..fast(10)
        })
        .await;
        let begun = std::time::Instant::now();
        let err = probe_ttft(&gw.dial(), "gw.test", Duration::from_millis(300))
            .await
            .expect_err("hang");
        let took = begun.elapsed();
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_millis(1300),
            "{took:?}"
        );
        assert!(err.contains("within 300 ms"), "{err}");
    }

    #[tokio::test]
    async fn a_slow_first_token_is_given_up_on_at_the_timeout() {
        let gw = gateway(fast(5_000)).await;
        let begun = std::time::Instant::now();
        let err = probe_ttft(&gw.dial(), "gw.test", Duration::from_millis(250))
            .await
            .expect_err("slow");
        assert!(begun.elapsed() < Duration::from_millis(1250));
        assert_eq!(err, "no content token within 250 ms");
    }

    #[tokio::test]
    async fn the_probe_lets_go_of_the_stream_at_the_first_token() {
        // One content token, then 10 s until the next: the probe does not wait for it.
        let gw = gateway(Behaviour {
            ttft_ms: 10,
            tokens_per_sec: 0.1,
            tokens: 2,
            ..Behaviour::default()
        })
        .await;
        let begun = std::time::Instant::now();
        let r = probe_ttft(&gw.dial(), "gw.test", Duration::from_secs(8))
            .await
            .expect("first token came");
        assert!(r.ttft_ms >= 10, "{r:?}");
        assert!(
            begun.elapsed() < Duration::from_secs(5),
            "held the stream to its end"
        );
    }

    #[tokio::test]
    async fn missing_socket_and_refused_connections_name_the_target() {
        let missing = Socket::new("missing");
        let err = probe_ttft(&missing.dial(), "gw.test", T)
            .await
            .expect_err("no socket");
        assert_eq!(err, format!("no socket at {}", missing.path.display()));

        // A socket file nobody listens on any more (a dead forward).
        let stale = Socket::new("stale");
        drop(stale.listen());
        let err = probe_ttft(&stale.dial(), "gw.test", T)
            .await
            .expect_err("refused");
        assert_eq!(err, format!("connection refused: {}", stale.path.display()));
    }

    #[tokio::test]
    async fn a_non_streaming_answer_is_no_content_token() {
        // A server that ignores `stream` and answers one JSON document.
        let body = r#"{"choices":[{"message":{"content":"hi"}}]}"#;
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let (socket, head) = canned::serve(resp.into_bytes()).await;
        let err = probe_ttft(&socket.dial(), "gw.test", T)
            .await
            .expect_err("not SSE");
        assert!(
            err.contains("without a content token") && err.contains("application/json"),
            "{err}"
        );
        let head = head.await.expect("request head");
        let lower = head.to_ascii_lowercase();
        assert!(
            head.starts_with("POST /v1/chat/completions HTTP/1.1\r\n"),
            "{head}"
        );
        for h in [
            "host: gw.test\r\n",
            "content-type: application/json\r\n",
            "accept: text/event-stream\r\n",
            "user-agent: cutover-probe\r\n",
        ] {
            assert!(lower.contains(h), "{h:?} missing in {head}");
        }
    }

    #[tokio::test]
    async fn a_bad_host_header_is_refused_before_dialing() {
        let nowhere = Socket::new("nowhere");
        let err = probe_ttft(&nowhere.dial(), "bad\nhost", T)
            .await
            .expect_err("bad host");
        assert!(err.contains("Host"), "{err}");
    }
}
