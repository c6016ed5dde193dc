//! nginx's stub_status page: parsing and fetching it through a probe connection.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use tokio::time::timeout_at;

use super::dial::{self, Dial, chain};

/// Largest stub_status body read; the real page is about 100 bytes.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// The counters of nginx's stub_status page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct StubStatus {
    /// Open client connections, including idle ones.
    pub(crate) active: u64,
    /// Client connections accepted since start.
    pub(crate) accepts: u64,
    /// Client connections handled (below `accepts` when a limit was hit).
    pub(crate) handled: u64,
    /// Client requests since start.
    pub(crate) requests: u64,
    /// Connections reading a request header.
    pub(crate) reading: u64,
    /// Connections writing a response.
    pub(crate) writing: u64,
    /// Idle keep-alive connections.
    pub(crate) waiting: u64,
}

impl StubStatus {
    /// Parse the page; the error names the part that is missing or not a number.
    pub(crate) fn parse(text: &str) -> Result<StubStatus, String> {
        let lines: Vec<&str> = text.lines().map(str::trim).collect();

        let active = lines
            .iter()
            .find_map(|l| l.strip_prefix("Active connections:"))
            .ok_or("stub_status: no `Active connections:` line")?;
        let active = number("Active connections", active.trim())?;

        // The three counters are on the line after their header.
        let header = lines
            .iter()
            .position(|l| {
                l.split_whitespace()
                    .eq(["server", "accepts", "handled", "requests"])
            })
            .ok_or("stub_status: no `server accepts handled requests` line")?;
        let counters = lines
            .get(header + 1)
            .ok_or("stub_status: no accepts/handled/requests counters")?;
        let counters: Vec<&str> = counters.split_whitespace().collect();
        let [accepts, handled, requests] = counters[..] else {
            return Err(format!(
                "stub_status: expected 3 accepts/handled/requests counters, got {:?}",
                counters.join(" ")
            ));
        };

        let states = lines
            .iter()
            .find(|l| l.starts_with("Reading:"))
            .ok_or("stub_status: no `Reading: Writing: Waiting:` line")?;
        let words: Vec<&str> = states.split_whitespace().collect();
        let state = |label: &str| -> Result<u64, String> {
            let i = words
                .iter()
                .position(|w| w.strip_suffix(':') == Some(label))
                .ok_or_else(|| format!("stub_status: no `{label}:` count"))?;
            let value = words
                .get(i + 1)
                .ok_or_else(|| format!("stub_status: no value after `{label}:`"))?;
            number(label, value)
        };

        Ok(StubStatus {
            active,
            accepts: number("accepts", accepts)?,
            handled: number("handled", handled)?,
            requests: number("requests", requests)?,
            reading: state("Reading")?,
            writing: state("Writing")?,
            waiting: state("Waiting")?,
        })
    }
}

fn number(what: &str, s: &str) -> Result<u64, String> {
    s.parse::<u64>().map_err(|_| {
        // Keep the message short whatever the page held.
        let shown: String = s.chars().take(24).collect();
        format!("stub_status: {what} is not a number: {shown:?}")
    })
}

/// GET nginx's stub_status page (200 required, body up to [`BODY_LIMIT`]) and parse it.
pub(crate) async fn fetch_stub_status(
    dial: &Dial,
    path_and_query: &str,
    host_header: &str,
    timeout: Duration,
) -> Result<StubStatus, String> {
    let deadline = dial::deadline(timeout);
    let limit_ms = timeout.as_millis();
    let request = dial::request(
        Method::GET,
        path_and_query,
        host_header,
        &[("accept", "text/plain")],
        Bytes::new(),
    )?;
    let mut conn = dial::connect(dial, deadline, limit_ms).await?;
    let resp = conn.send(request, deadline, limit_ms).await?;
    if resp.status() != StatusCode::OK {
        return Err(format!("HTTP {}", resp.status()));
    }
    let body = match timeout_at(
        deadline,
        Limited::new(resp.into_body(), BODY_LIMIT).collect(),
    )
    .await
    {
        Err(_) => {
            return Err(format!(
                "stub_status body not complete within {limit_ms} ms"
            ));
        }
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(format!("stub_status body larger than {BODY_LIMIT} bytes"));
        }
        Ok(Err(e)) => return Err(format!("stub_status body broken: {}", chain(&*e))),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let text =
        std::str::from_utf8(&body).map_err(|_| "stub_status body is not UTF-8".to_string())?;
    StubStatus::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::probe::dial::canned;

    const SAMPLE: &str = "Active connections: 291 \n\
                          server accepts handled requests\n \
                          16630948 16630948 31070465 \n\
                          Reading: 6 Writing: 179 Waiting: 106 \n";

    const PARSED: StubStatus = StubStatus {
        active: 291,
        accepts: 16630948,
        handled: 16630948,
        requests: 31070465,
        reading: 6,
        writing: 179,
        waiting: 106,
    };

    #[test]
    fn the_sample_page_parses() {
        assert_eq!(StubStatus::parse(SAMPLE), Ok(PARSED));
        // CRLF, extra spaces, no final newline.
        let crlf = "Active connections:   291\r\nserver accepts handled requests\r\n16630948  16630948 31070465\r\nReading: 6  Writing: 179 Waiting: 106";
        assert_eq!(StubStatus::parse(crlf), Ok(PARSED));
    }

    #[test]
    fn missing_parts_are_named() {
        let cases = [
            ("", "Active connections"),
            (
                "Active connections: 1\nReading: 0 Writing: 1 Waiting: 0\n",
                "server accepts handled requests",
            ),
            (
                "Active connections: 1\nserver accepts handled requests\n",
                "counters",
            ),
            (
                "Active connections: 1\nserver accepts handled requests\n 1 2\nReading: 0 Writing: 1 Waiting: 0\n",
                "expected 3",
            ),
            (
                "Active connections: 1\nserver accepts handled requests\n 1 2 3\n",
                "Reading",
            ),
            (
                "Active connections: 1\nserver accepts handled requests\n 1 2 3\nReading: 0 Waiting: 0\n",
                "Writing",
            ),
            (
                "Active connections: 1\nserver accepts handled requests\n 1 2 3\nReading: 0 Writing: 1 Waiting:\n",
                "Waiting",
            ),
            (
                "Active connections: many\nserver accepts handled requests\n 1 2 3\nReading: 0 Writing: 1 Waiting: 0\n",
                "Active connections is not a number: \"many\"",
            ),
            (
                "Active connections: 1\nserver accepts handled requests\n 1 -2 3\nReading: 0 Writing: 1 Waiting: 0\n",
                "handled is not a number",
            ),
        ];
        for (text, part) in cases {
            let err = StubStatus::parse(text).expect_err(part);
            assert!(err.contains(part), "{part:?} not in {err:?}");
        }
    }

    #[test]
    fn serde_round_trip() {
        let json = serde_json::to_string(&PARSED).expect("serialize");
        assert_eq!(
            serde_json::from_str::<StubStatus>(&json).expect("parse"),
            PARSED
        );
    }

    fn ok_response(body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    const T: Duration = Duration::from_secs(3);

    #[tokio::test]
    async fn fetch_parses_a_served_page() {
        let (socket, head) = canned::serve(ok_response(SAMPLE)).await;
        // Duration::MAX: an absurd timeout must not overflow the deadline.
        let got = fetch_stub_status(
            &socket.dial(),
            "/nginx_status?x=1",
            "status.local",
            Duration::MAX,
        )
        .await
        .expect("fetch");
        assert_eq!(got, PARSED);
        let head = head.await.expect("request head");
        assert!(
            head.starts_with("GET /nginx_status?x=1 HTTP/1.1\r\n"),
            "{head}"
        );
        assert!(
            head.to_ascii_lowercase().contains("host: status.local\r\n"),
            "{head}"
        );
    }

    #[tokio::test]
    async fn fetch_requires_200_and_a_small_body() {
        let (socket, _) =
            canned::serve(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_vec()).await;
        let err = fetch_stub_status(&socket.dial(), "/s", "h", T)
            .await
            .expect_err("403");
        assert_eq!(err, "HTTP 403 Forbidden");

        let (socket, _) = canned::serve(ok_response(&"x".repeat(BODY_LIMIT + 1))).await;
        let err = fetch_stub_status(&socket.dial(), "/s", "h", T)
            .await
            .expect_err("too large");
        assert!(err.contains("larger than 65536"), "{err}");

        let (socket, _) = canned::serve(ok_response("<html>not it</html>")).await;
        let err = fetch_stub_status(&socket.dial(), "/s", "h", T)
            .await
            .expect_err("not a status page");
        assert!(err.contains("Active connections"), "{err}");
    }

    #[tokio::test]
    async fn fetch_gives_up_at_the_timeout() {
        // Accepts, reads, never answers.
        let socket = canned::Socket::new("silent");
        let listener = socket.listen();
        let _server = tokio::spawn(async move {
            let conn = listener.accept().await;
            std::future::pending::<()>().await;
            drop(conn);
        });
        let begun = std::time::Instant::now();
        let err = fetch_stub_status(&socket.dial(), "/s", "h", Duration::from_millis(200))
            .await
            .expect_err("silent server");
        assert!(begun.elapsed() < Duration::from_millis(1200));
        assert_eq!(err, "no response within 200 ms");

        let err = fetch_stub_status(&socket.dial(), "nginx_status", "h", T)
            .await
            .expect_err("relative path");
        assert!(err.contains("must start with /"), "{err}");
    }
}
