//! Listener check: both colors must be bound to loopback only.

use crate::model::{Color, PerColor};
use std::net::IpAddr;

/// A color bound somewhere other than loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerAlarm {
    /// The color at fault.
    pub color: Color,
    /// The offending address as reported.
    pub addr: String,
}

/// True when `addr` (`ip:port`, `[v6]:port` or `unix:/path`) is loopback-only.
pub fn is_loopback(addr: &str) -> bool {
    if addr.starts_with("unix:") || addr.starts_with('/') {
        return true;
    }
    let host = match addr.rsplit_once(':') {
        Some((h, _)) => h,
        None => addr,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        // "localhost" is loopback; "*" and anything else is not.
        Err(_) => host == "localhost",
    }
}

/// Every listener of either color that is not loopback.
pub fn check(listeners: &PerColor<Vec<String>>) -> Vec<ListenerAlarm> {
    Color::BOTH
        .iter()
        .flat_map(|&c| {
            listeners[c]
                .iter()
                .filter(|a| !is_loopback(a))
                .map(move |a| ListenerAlarm {
                    color: c,
                    addr: a.clone(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_forms() {
        for a in [
            "127.0.0.1:8787",
            "127.0.1.5:8788",
            "[::1]:8787",
            "unix:/run/gw.sock",
            "localhost:80",
        ] {
            assert!(is_loopback(a), "{a}");
        }
        for a in ["0.0.0.0:8788", "*:8788", "[::]:8787", "10.0.0.5:8787"] {
            assert!(!is_loopback(a), "{a}");
        }
    }

    #[test]
    fn wildcard_green_is_an_alarm() {
        let l = PerColor {
            blue: vec!["127.0.0.1:8787".into()],
            green: vec!["0.0.0.0:8788".into()],
        };
        assert_eq!(
            check(&l),
            vec![ListenerAlarm {
                color: Color::Green,
                addr: "0.0.0.0:8788".into()
            }]
        );
    }
}
