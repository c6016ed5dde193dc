//! The HTTPS client of the health and certificate probes.

use std::path::Path;
use std::time::Duration;

/// An HTTP client for https probes: the system's roots plus the PEM certificates of `ca_file`
/// (a private CA), no proxy, `timeout` for the whole request; `tls_info` keeps the peer's
/// certificate on each response.
pub(crate) fn client(
    timeout: Duration,
    ca_file: Option<&Path>,
    tls_info: bool,
) -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .tls_info(tls_info);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("probes.ca_file {}: cannot read: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            format!(
                "probes.ca_file {}: not PEM certificates: {e}",
                path.display()
            )
        })?;
        if certs.is_empty() {
            return Err(format!(
                "probes.ca_file {}: holds no certificate",
                path.display()
            ));
        }
        b = b.tls_certs_merge(certs);
    }
    b.build()
        .map_err(|e| format!("cannot build an HTTPS client: {e}"))
}
