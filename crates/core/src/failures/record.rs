//! One access-log line to a [`FailedRequest`]: which try failed, on which color, and
//! whether nginx retried it on the other color.
//!
//! nginx logs one entry per upstream try in `$upstream_addr`, `$upstream_status` and
//! `$upstream_response_time`, separated by `", "`, and by `" : "` between the upstream
//! groups of an internal redirect. An entry may be `-` (no status: the try never got a
//! response header) or empty. Timeouts and resets show up as a try's 502 or 504.

use serde::{Deserialize, Serialize};

use super::{clean_id, clean_json_value, decode_json_value};
use crate::model::Color;
use crate::nginx::accesslog::{Colors, LogLine, parse_ms, parse_status};

/// Longest request ID kept, in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 64;
/// Longest upstream address kept, in characters.
pub const MAX_ADDR_CHARS: usize = 80;
/// Tries kept per request: the first `MAX_TRIES - 1` and the last.
pub const MAX_TRIES: usize = 8;

/// One upstream try of a request, as nginx logged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Try {
    /// The entry of `$upstream_addr`, sanitized, at most [`MAX_ADDR_CHARS`] characters.
    pub addr: String,
    /// The color whose address it is; `None` for a group name, `-` or an unknown address.
    pub color: Option<Color>,
    /// The try's status; `None` for `-`, empty or unusable.
    pub status: Option<u16>,
    /// The try's `$upstream_response_time` in ms, when logged.
    pub response_ms: Option<u32>,
}

/// A request that failed, or whose try on one color failed before a retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedRequest {
    /// `$msec` in ms since the epoch.
    pub time_ms: u64,
    /// `$request_id`, sanitized, at most [`MAX_REQUEST_ID_CHARS`] characters; `-` when
    /// absent or empty.
    pub request_id: String,
    /// The status nginx returned to the client.
    pub status: u16,
    /// `$request_time` in ms.
    pub request_ms: Option<u32>,
    /// The tries, at most [`MAX_TRIES`] (of longer chains the first seven and the last).
    pub tries: Vec<Try>,
    /// The color charged with the failure.
    pub failed: Color,
    /// The status charged: the failing try's, or the final one.
    pub failed_status: u16,
    /// A later try went to this other color.
    pub retried_to: Option<Color>,
}

/// Whether a status counts as a failure of the request: a 5xx, or 499 (the client gave up,
/// usually on a slow upstream).
pub fn is_failure_status(status: u16) -> bool {
    status >= 500 || status == 499
}

/// The failure in `line`, if any, charged to a color.
///
/// The failing try is the first whose status is >= 500, or that has no status while the
/// final status is a failure ([`is_failure_status`]); without one, a failed request is
/// charged to its last try with the final status. A later try on the other color sets
/// `retried_to` (the request still counts for the color that failed it, even when the
/// retry answered 200). `None` for successes, for lines without a usable status or time,
/// and when the charged try's color is unknown (a group name, `-`, another address).
pub fn failed_request(line: &LogLine, colors: &Colors) -> Option<FailedRequest> {
    let status = line.status_code()?;
    let final_failed = is_failure_status(status);
    // The common case leaves here: a success with no try that could have answered 5xx.
    if !final_failed && memchr::memchr(b'5', line.upstream_status).is_none() {
        return None;
    }
    let time_ms = line.time_ms()?;
    let chain = scan(line, colors, Some(status));
    let (failed, failed_status) = match chain.failing {
        Some((color, st)) => (color?, st),
        None if final_failed => (chain.last_color?, status),
        None => return None,
    };
    Some(FailedRequest {
        time_ms,
        request_id: request_id(line.request_id),
        status,
        request_ms: line.request_ms(),
        tries: chain.tries,
        failed,
        failed_status,
        retried_to: chain.retried_to,
    })
}

/// The upstream tries of any request, a success too (`cutover report --request-id`): as in
/// [`FailedRequest::tries`], at most [`MAX_TRIES`], addresses sanitized.
pub fn tries(line: &LogLine, colors: &Colors) -> Vec<Try> {
    scan(line, colors, line.status_code()).tries
}

/// A request's tries and what [`failed_request`] reads from them.
struct Chain {
    tries: Vec<Try>,
    /// The failing try's color and the status charged.
    failing: Option<(Option<Color>, u16)>,
    last_color: Option<Color>,
    retried_to: Option<Color>,
}

/// Walk the three upstream lists in step; `status` is the final one.
fn scan(line: &LogLine, colors: &Colors, status: Option<u16>) -> Chain {
    let final_failed = status.is_some_and(is_failure_status);
    let mut addrs = Entries::new(line.upstream_addr);
    let mut statuses = Entries::new(line.upstream_status);
    let mut times = Entries::new(line.upstream_response_time.unwrap_or_default());
    let mut chain = Chain {
        tries: Vec::new(),
        failing: None,
        last_color: None,
        retried_to: None,
    };
    // The latest try past the first `MAX_TRIES - 1`, made a `Try` only at the end.
    let mut beyond: Option<RawTry> = None;
    loop {
        let (a, s, t) = (addrs.next(), statuses.next(), times.next());
        if a.is_none() && s.is_none() && t.is_none() {
            break;
        }
        let raw = RawTry {
            addr: a.unwrap_or_default(),
            color: colors.color_of(a.unwrap_or_default()),
            status: s.and_then(parse_status),
            response_ms: t.and_then(parse_ms),
        };
        match chain.failing {
            None => {
                if raw.status.map_or(final_failed, |c| c >= 500) {
                    let charged = raw.status.or(status).unwrap_or_default();
                    chain.failing = Some((raw.color, charged));
                }
            }
            Some((Some(fc), _)) if chain.retried_to.is_none() => {
                chain.retried_to = raw.color.filter(|&c| c != fc);
            }
            Some(_) => {}
        }
        chain.last_color = raw.color;
        if chain.tries.len() < MAX_TRIES - 1 {
            chain.tries.push(raw.to_try());
        } else {
            beyond = Some(raw);
        }
    }
    if let Some(raw) = beyond {
        chain.tries.push(raw.to_try());
    }
    chain
}

/// A try as read from the line, before its address is cleaned and stored.
struct RawTry<'a> {
    addr: &'a [u8],
    color: Option<Color>,
    status: Option<u16>,
    response_ms: Option<u32>,
}

impl RawTry<'_> {
    fn to_try(&self) -> Try {
        Try {
            addr: clean_json_value(self.addr, MAX_ADDR_CHARS),
            color: self.color,
            status: self.status,
            response_ms: self.response_ms,
        }
    }
}

/// The request ID as stored: decoded, sanitized, trimmed, cut; `-` when there is none.
fn request_id(v: Option<&[u8]>) -> String {
    clean_id(&decode_json_value(
        v.unwrap_or_default(),
        MAX_REQUEST_ID_CHARS,
    ))
}

/// The entries of an upstream list, trimmed: split at `,` and at `" : "` (a lone `:` belongs
/// to an address: `127.0.0.1:8787`, `unix:/run/x.sock`, `[::1]:80`). An empty or blank
/// value has no entries; `"a, "` has two, the second empty.
struct Entries<'a> {
    rest: &'a [u8],
    done: bool,
}

impl<'a> Entries<'a> {
    fn new(v: &'a [u8]) -> Self {
        Entries {
            rest: v,
            done: v.trim_ascii().is_empty(),
        }
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        let v = self.rest;
        let mut from = 0;
        while let Some(k) = v.get(from..).and_then(|r| memchr::memchr2(b',', b':', r)) {
            let i = from + k;
            let sep = v.get(i) == Some(&b',')
                || (i > 0 && v.get(i - 1) == Some(&b' ') && v.get(i + 1) == Some(&b' '));
            if sep {
                self.rest = v.get(i + 1..).unwrap_or_default();
                return Some(v.get(..i).unwrap_or_default().trim_ascii());
            }
            from = i + 1;
        }
        self.done = true;
        Some(v.trim_ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nginx::accesslog::parse_line;
    use crate::sanitize::is_clean;
    use proptest::prelude::*;

    const BLUE: &str = "127.0.0.1:8787";
    const GREEN: &str = "127.0.0.1:8788";

    fn colors() -> Colors {
        Colors::new(BLUE, GREEN)
    }

    /// A documented line with the given values (`id` as logged, escapes and all).
    fn line(status: &str, addr: &str, ustatus: &str, times: &str, id: &str) -> String {
        format!(
            r#"{{"time":"1763683200.500","status":"{status}","request_time":"1.250","upstream_addr":"{addr}","upstream_status":"{ustatus}","upstream_response_time":"{times}","upstream_header_time":"0.001","request_id":"{id}","request":"POST /v1/chat/completions HTTP/1.1","bytes_sent":"10"}}"#
        )
    }

    fn failed(status: &str, addr: &str, ustatus: &str, times: &str) -> Option<FailedRequest> {
        let l = line(status, addr, ustatus, times, "req-1");
        failed_request(&parse_line(l.as_bytes()).expect("parses"), &colors())
    }

    fn t(addr: &str, color: Option<Color>, status: Option<u16>, ms: Option<u32>) -> Try {
        Try {
            addr: addr.to_string(),
            color,
            status,
            response_ms: ms,
        }
    }

    #[test]
    fn retry_across_colors_counts_for_the_color_that_failed() {
        let f = failed(
            "200",
            &format!("{GREEN}, {BLUE}"),
            "502, 200",
            "0.004, 1.240",
        )
        .expect("a failed try");
        assert_eq!(
            f,
            FailedRequest {
                time_ms: 1_763_683_200_500,
                request_id: "req-1".into(),
                status: 200,
                request_ms: Some(1250),
                tries: vec![
                    t(GREEN, Some(Color::Green), Some(502), Some(4)),
                    t(BLUE, Some(Color::Blue), Some(200), Some(1240)),
                ],
                failed: Color::Green,
                failed_status: 502,
                retried_to: Some(Color::Blue),
            }
        );
        // Both colors failed: charged to the first, which was retried on the other.
        let f = failed(
            "504",
            &format!("{BLUE}, {GREEN}"),
            "504, 504",
            "60.000, 60.001",
        )
        .expect("failed");
        assert_eq!(
            (f.failed, f.failed_status, f.retried_to, f.status),
            (Color::Blue, 504, Some(Color::Green), 504)
        );
    }

    #[test]
    fn internal_redirect_groups_are_tries_too() {
        let f = failed(
            "200",
            &format!("{BLUE} : {GREEN}"),
            "503 : 200",
            "0.010 : 0.020",
        )
        .expect("failed try");
        assert_eq!(
            (f.failed, f.failed_status, f.retried_to),
            (Color::Blue, 503, Some(Color::Green))
        );
        assert_eq!(f.tries.len(), 2);
        assert_eq!(f.tries[1].response_ms, Some(20));
        // Unix sockets hold a lone colon, which is no separator.
        let c = Colors::new("unix:/run/blue.sock", "unix:/run/green.sock");
        let l = line(
            "502",
            "unix:/run/green.sock : unix:/run/blue.sock",
            "502 : 502",
            "- : -",
            "x",
        );
        let f = failed_request(&parse_line(l.as_bytes()).expect("parses"), &c).expect("failed");
        assert_eq!((f.failed, f.retried_to), (Color::Green, Some(Color::Blue)));
        assert_eq!(f.tries[0].response_ms, None);
    }

    #[test]
    fn gateway_timeout_and_client_abort() {
        // An upstream timeout: one try on green, 504 after 60 s.
        let f = failed("504", GREEN, "504", "60.001").expect("504");
        assert_eq!(
            (f.failed, f.failed_status, f.retried_to),
            (Color::Green, 504, None)
        );
        assert_eq!(
            f.tries,
            vec![t(GREEN, Some(Color::Green), Some(504), Some(60_001))]
        );
        // The client gave up while green was thinking: no upstream status.
        let f = failed("499", GREEN, "-", "-").expect("499");
        assert_eq!((f.failed, f.failed_status), (Color::Green, 499));
        // Or nginx logged 499 as the try's status too: the last try is charged.
        let f = failed("499", BLUE, "499", "2.000").expect("499");
        assert_eq!((f.failed, f.failed_status), (Color::Blue, 499));
        // 5xx made by nginx after a 200 from upstream: charged to the last try.
        let f = failed("500", GREEN, "200", "0.100").expect("500");
        assert_eq!(
            (f.failed, f.failed_status, f.retried_to),
            (Color::Green, 500, None)
        );
        // A try with no status while the request failed is the failing one.
        let f = failed("502", &format!("{BLUE}, {GREEN}"), "-, 502", "-, 0.003").expect("502");
        assert_eq!(
            (f.failed, f.failed_status, f.retried_to),
            (Color::Blue, 502, Some(Color::Green))
        );
    }

    #[test]
    fn successes_and_unattributable_failures_are_none() {
        assert_eq!(failed("200", BLUE, "200", "0.100"), None);
        assert_eq!(failed("404", GREEN, "404", "0.100"), None);
        // A 4xx after a 5xx try is still a failed try.
        assert!(failed("404", &format!("{BLUE}, {GREEN}"), "503, 404", "0.1, 0.1").is_some());
        // "-" and "" entries with a success are no failure.
        assert_eq!(
            failed("200", &format!("{BLUE}, {GREEN}"), "-, 200", "-, 0.1"),
            None
        );
        assert_eq!(failed("301", "", "", ""), None);
        // No server chosen: the group name.
        assert_eq!(failed("502", "gateway", "", ""), None);
        assert_eq!(failed("499", "-", "-", "-"), None);
        assert_eq!(failed("503", "10.0.0.9:8787", "503", "0.001"), None);
        // nginx answered 5xx itself without any upstream.
        assert_eq!(failed("503", "", "", ""), None);
        // The failing try is unknown even though the retry is green's.
        assert_eq!(
            failed(
                "200",
                &format!("10.0.0.9:80, {GREEN}"),
                "502, 200",
                "0.1, 0.1"
            ),
            None
        );
        // Unusable status or time.
        assert_eq!(failed("5xx", GREEN, "502", "0.1"), None);
        let l = line("502", GREEN, "502", "0.1", "r").replace("1763683200.500", "soon");
        assert_eq!(
            failed_request(&parse_line(l.as_bytes()).expect("parses"), &colors()),
            None
        );
    }

    #[test]
    fn long_chains_keep_the_first_seven_and_the_last() {
        let n = 20;
        let addrs: Vec<&str> = (0..n)
            .map(|i| if i % 2 == 0 { BLUE } else { GREEN })
            .collect();
        let mut statuses = vec!["200"; n];
        // Only try 11 failed, past the kept ones; the last is green's.
        statuses[11] = "503";
        let times: Vec<String> = (0..n).map(|i| format!("0.{i:03}")).collect();
        let f = failed(
            "200",
            &addrs.join(", "),
            &statuses.join(", "),
            &times.join(", "),
        )
        .expect("failed try");
        assert_eq!(f.tries.len(), MAX_TRIES);
        assert_eq!(f.tries[6].response_ms, Some(6));
        assert_eq!(f.tries[7].response_ms, Some(19));
        assert_eq!(
            (f.failed, f.failed_status, f.retried_to),
            (Color::Green, 503, Some(Color::Blue))
        );
        // Lists of unequal length: the missing entries are absent.
        let f = failed("502", &format!("{BLUE}, {GREEN}"), "502", "").expect("failed");
        assert_eq!(f.tries[1], t(GREEN, Some(Color::Green), None, None));
        assert_eq!(f.retried_to, Some(Color::Green));
    }

    #[test]
    fn tries_of_any_request() {
        let l = line(
            "200",
            &format!("{BLUE}, {GREEN}"),
            "200, -",
            "0.010, -",
            "r",
        );
        let p = parse_line(l.as_bytes()).expect("parses");
        assert_eq!(
            tries(&p, &colors()),
            vec![
                t(BLUE, Some(Color::Blue), Some(200), Some(10)),
                t(GREEN, Some(Color::Green), None, None)
            ]
        );
        let l = line("502", "gateway", "", "", "r");
        let p = parse_line(l.as_bytes()).expect("parses");
        assert_eq!(tries(&p, &colors()), vec![t("gateway", None, None, None)]);
        let l = line("301", "", "", "", "r");
        assert!(tries(&parse_line(l.as_bytes()).expect("parses"), &colors()).is_empty());
    }

    #[test]
    fn request_ids_are_decoded_sanitized_and_bounded() {
        let id = |raw: &str| {
            let l = line("502", GREEN, "502", "0.1", raw);
            failed_request(&parse_line(l.as_bytes()).expect("parses"), &colors())
                .map(|f| f.request_id)
        };
        assert_eq!(id("abc-123").as_deref(), Some("abc-123"));
        assert_eq!(id("").as_deref(), Some("-"));
        assert_eq!(id("  ").as_deref(), Some("-"));
        assert_eq!(
            id(r"a\u001b[2Jb\u001b]0;pwned\u0007c").as_deref(),
            Some("abc")
        );
        assert_eq!(id(r"\u009b31mred\n").as_deref(), Some("red"));
        assert_eq!(id(r#"q\"x"#).as_deref(), Some("q\"x"));
        let long = id(&"z".repeat(5000)).expect("failed");
        assert_eq!(long.chars().count(), MAX_REQUEST_ID_CHARS);
        assert!(long.ends_with('…'));
        // Absent key.
        let l = line("502", GREEN, "502", "0.1", "x").replace(r#""request_id":"x","#, "");
        let p = parse_line(l.as_bytes()).expect("parses");
        assert_eq!(
            failed_request(&p, &colors())
                .map(|f| f.request_id)
                .as_deref(),
            Some("-")
        );
        // Invalid UTF-8 and raw bytes in the address.
        let mut raw = line("502", GREEN, "502, 502", "0.1", "id\u{fffd}").into_bytes();
        let at = raw
            .windows(3)
            .position(|w| w == "\u{fffd}".as_bytes())
            .expect("marker");
        // 0xff is no UTF-8; C2 9B is the 8-bit CSI, introducing `1m`.
        raw.splice(at..at + 3, *b"\xff\xc2\x9b1mx");
        let f = failed_request(&parse_line(&raw).expect("parses"), &colors()).expect("failed");
        assert_eq!(f.request_id, "id\u{fffd}x");
    }

    fn hostile_value() -> impl Strategy<Value = Vec<u8>> {
        let atom = prop_oneof![
            4 => prop::sample::select(vec![
                BLUE, GREEN, ", ", " : ", ",", ":", "-", "", " ", "502", "504", "499", "200",
                "0.001", "60.000", "99999999999999999999", r"\u001b", r"\u009b", "[2J",
                r"\ud800", r"\\", r#"\""#, "unix:/run/blue.sock", "gateway",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
            1 => proptest::collection::vec(any::<u8>(), 0..8),
        ];
        proptest::collection::vec(atom, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn hostile_values_never_panic_nor_leak(
            status in prop_oneof![Just(b"502".to_vec()), Just(b"200".to_vec()), Just(b"499".to_vec()), hostile_value()],
            addr in hostile_value(),
            ustatus in hostile_value(),
            times in hostile_value(),
            id in hostile_value(),
            huge in any::<bool>(),
        ) {
            let id = if huge { id.repeat(30_000 / (id.len() + 1)) } else { id };
            let l = LogLine {
                time: b"1763683200.5",
                status: &status,
                request_time: b"0.5",
                upstream_addr: &addr,
                upstream_status: &ustatus,
                upstream_header_time: b"-",
                request: None,
                request_id: Some(&id),
                upstream_response_time: Some(&times),
            };
            if let Some(f) = failed_request(&l, &colors()) {
                prop_assert!(f.tries.len() <= MAX_TRIES);
                prop_assert!(f.request_id.chars().count() <= MAX_REQUEST_ID_CHARS);
                prop_assert!(is_clean(&f.request_id) && !f.request_id.is_empty());
                for t in &f.tries {
                    prop_assert!(t.addr.chars().count() <= MAX_ADDR_CHARS);
                    prop_assert!(is_clean(&t.addr));
                }
                prop_assert!(is_failure_status(f.status) || f.failed_status >= 500);
                prop_assert!(f.retried_to != Some(f.failed));
            }
        }
    }
}
