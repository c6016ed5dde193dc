//! Probes of a gateway from the cockpit: health over HTTP(S), TTFT and stub_status through
//! SSH forwards.

pub(crate) mod dial;
pub(crate) mod health;
pub(crate) mod sse;
pub(crate) mod stub_status;
pub(crate) mod tls;
pub(crate) mod ttft;

use std::time::Duration;

/// An HTTP client for probes: no system proxy (a probe must reach the host it names), rustls
/// with the ring provider, `timeout` for the whole request.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    // Installing twice is harmless: the first provider stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_builds_with_tls_available() {
        let c = http_client(Duration::from_secs(1));
        assert!(c.is_ok(), "{:?}", c.err());
    }
}
