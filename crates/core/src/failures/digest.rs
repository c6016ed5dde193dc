//! One window's failure digest: the JSON body the notifier posts (its `text` is what a
//! Slack-compatible incoming webhook shows) and spools.
//!
//! Bounded whatever the window held: the text lists at most [`MAX_TEXT_GROUPS`] clauses in
//! at most [`MAX_TEXT_BYTES`], `groups` at most [`MAX_DIGEST_GROUPS`] groups, and the whole
//! body, serialized compactly, at most [`MAX_DIGEST_BYTES`] (groups past the budget are
//! counted in `omitted_groups`). Every string in it was sanitized on the way in, so the
//! JSON carries no control character but the `\n` escapes between the text's lines.

use serde::{Deserialize, Serialize};

use super::book::{FailureBook, Group, clause, hhmm};
use super::clean_str;
use super::record::{FailedRequest, Try};
use crate::model::Color;
use crate::model::civil;

/// Group clauses listed in `text` at most.
pub const MAX_TEXT_GROUPS: usize = 20;
/// Bytes of `text` past which no further clause is added.
pub const MAX_TEXT_BYTES: usize = 2500;
/// Groups in `groups` at most.
pub const MAX_DIGEST_GROUPS: usize = 50;
/// Bytes of the compact JSON body at most.
pub const MAX_DIGEST_BYTES: usize = 12 * 1024;
/// Longest fleet name kept, in characters.
pub const MAX_FLEET_CHARS: usize = 64;
/// Reasons shown at most, and the characters of each.
const MAX_REASONS: usize = 8;
const MAX_REASON_CHARS: usize = 200;
/// The whole `CRITICAL:` line at most, in characters.
const MAX_CRITICAL_CHARS: usize = 400;

/// How loudly a digest speaks: `critical` (page-level burn, green's 5xx alarm) adds each
/// group's newest request in detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Counts and clauses only.
    Info,
    /// With the reasons and each group's newest request.
    Critical,
}

/// One window's digest, as posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// Stable for (fleet, window start), `"{fleet}/{window_start_ms}"`: receivers deduplicate.
    pub id: String,
    /// The fleet's name, sanitized.
    pub fleet: String,
    /// The window's start, RFC 3339 UTC.
    pub window_start: String,
    /// The window's end (exclusive), RFC 3339 UTC.
    pub window_end: String,
    /// `info` or `critical`.
    pub severity: Severity,
    /// Short clauses, one per line, for humans and chat.
    pub text: String,
    /// Failures in the window, those past the group cap included.
    pub failures: u64,
    /// The largest groups, most failures first.
    pub groups: Vec<DigestGroup>,
    /// Groups of the window left out of `groups` (past the count or the size budget).
    pub omitted_groups: u64,
    /// Failures in no group (past the book's group cap).
    pub dropped: u64,
}

/// One group of a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestGroup {
    /// The color charged.
    pub color: Color,
    /// The status charged.
    pub status: u16,
    /// The gateway.
    pub gateway: String,
    /// Its availability zone.
    pub az: String,
    /// Failed requests.
    pub count: u64,
    /// Of which retried on the other color.
    pub retried: u64,
    /// Where most retries went; `None` without retries.
    pub retried_to: Option<Color>,
    /// The earliest failure, RFC 3339 UTC.
    pub first: String,
    /// The latest failure, RFC 3339 UTC.
    pub last: String,
    /// A few request IDs, newest last.
    pub request_ids: Vec<String>,
    /// The newest request, in critical digests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Detail>,
}

/// One request in detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    /// Its request ID.
    pub request_id: String,
    /// When nginx logged it, RFC 3339 UTC.
    pub time: String,
    /// The status nginx returned.
    pub status: u16,
    /// Each upstream try.
    pub tries: Vec<TryDetail>,
    /// The whole request time, ms.
    pub request_ms: Option<u32>,
}

/// One upstream try in a [`Detail`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TryDetail {
    /// The upstream address.
    pub addr: String,
    /// Its color, when known.
    pub color: Option<Color>,
    /// Its status, when it had one.
    pub status: Option<u16>,
    /// Its response time, ms.
    pub response_ms: Option<u32>,
}

/// RFC 3339 UTC of a time in ms since the epoch.
fn stamp(ms: u64) -> String {
    civil::rfc3339(ms / 1000, (ms % 1000) as u32)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The digest of the window of `book` holding `window_start` (aligned to the book's
/// windows). `reasons` say why a digest is critical and are shown only then. A window with
/// no failures still has a digest (`no failures`): whether to send it is the caller's call.
pub fn build(
    fleet: &str,
    book: &FailureBook,
    window_start: u64,
    severity: Severity,
    reasons: &[String],
) -> Digest {
    let start = book.window_start(window_start);
    let end = start.saturating_add(book.window_ms());
    let fleet = match clean_str(fleet, MAX_FLEET_CHARS) {
        f if f.trim().is_empty() => "-".to_string(),
        f => f,
    };
    let groups = book.groups(start);
    let (failures, dropped) = book.total(start);
    let critical = severity == Severity::Critical;

    // Windows shorter than a minute would read "13:02-13:02": say the seconds.
    let at = |ms: u64| {
        if book.window_ms() % 60_000 == 0 {
            hhmm(ms)
        } else {
            crate::model::civil::rfc3339(ms / 1000, 0)
                .get(11..19)
                .unwrap_or("--:--:--")
                .to_string()
        }
    };
    let mut text = format!("cutover {fleet} {}-{} UTC: ", at(start), at(end));
    if failures == 0 {
        text.push_str("no failures");
    } else {
        text.push_str(&plural(failures, "failure", "failures"));
        text.push_str(" in ");
        text.push_str(&plural(groups.len() as u64, "group", "groups"));
        if dropped > 0 {
            text.push_str(&format!(", {dropped} beyond the group cap"));
        }
    }
    if critical {
        let why: Vec<String> = reasons
            .iter()
            .take(MAX_REASONS)
            .map(|r| clean_str(r, MAX_REASON_CHARS))
            .collect();
        let line = if why.is_empty() {
            "CRITICAL".to_string()
        } else {
            format!("CRITICAL: {}", why.join("; "))
        };
        text.push('\n');
        text.push_str(&clean_str(&line, MAX_CRITICAL_CHARS));
    }
    // Room kept for the `+N more groups` line.
    const MORE_LINE: usize = 32;
    let mut listed = 0;
    for g in groups.iter().take(MAX_TEXT_GROUPS) {
        let c = clause(g);
        if text.len() + 1 + c.len() + MORE_LINE > MAX_TEXT_BYTES {
            break;
        }
        text.push('\n');
        text.push_str(&c);
        listed += 1;
    }
    if listed < groups.len() {
        let more = (groups.len() - listed) as u64;
        text.push('\n');
        text.push_str(&format!("+{}", plural(more, "more group", "more groups")));
    }

    let mut digest = Digest {
        id: format!("{fleet}/{start}"),
        fleet,
        window_start: stamp(start),
        window_end: stamp(end),
        severity,
        text,
        failures,
        groups: Vec::new(),
        omitted_groups: groups.len() as u64,
        dropped,
    };
    // The compact body is exactly the empty one plus each group and a comma between two.
    let mut size = json_len(&digest);
    for g in groups.iter().take(MAX_DIGEST_GROUPS) {
        let dg = digest_group(g, critical);
        let len = json_len(&dg) + usize::from(!digest.groups.is_empty());
        if size + len > MAX_DIGEST_BYTES {
            break;
        }
        size += len;
        digest.groups.push(dg);
    }
    digest.omitted_groups = (groups.len() - digest.groups.len()) as u64;
    digest
}

/// Bytes of the compact JSON of `v`.
fn json_len<T: Serialize>(v: &T) -> usize {
    serde_json::to_vec(v).map_or(usize::MAX / 2, |b| b.len())
}

fn digest_group(g: &Group, detail: bool) -> DigestGroup {
    let retried_to = match (g.retried_to.blue, g.retried_to.green) {
        (0, 0) => None,
        (b, gr) if b >= gr => Some(Color::Blue),
        _ => Some(Color::Green),
    };
    DigestGroup {
        color: g.key.color,
        status: g.key.status,
        gateway: g.key.gateway.clone(),
        az: g.key.az.clone(),
        count: g.count,
        retried: g.retried,
        retried_to,
        first: stamp(g.first_ms),
        last: stamp(g.last_ms),
        request_ids: g.examples.clone(),
        detail: detail.then(|| request_detail(&g.newest)),
    }
}

fn request_detail(f: &FailedRequest) -> Detail {
    Detail {
        request_id: f.request_id.clone(),
        time: stamp(f.time_ms),
        status: f.status,
        tries: f.tries.iter().map(try_detail).collect(),
        request_ms: f.request_ms,
    }
}

fn try_detail(t: &Try) -> TryDetail {
    TryDetail {
        addr: t.addr.clone(),
        color: t.color,
        status: t.status,
        response_ms: t.response_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failures::record::failed_request;
    use crate::nginx::accesslog::{Colors, parse_line};

    /// 2025-11-21T13:00:00Z.
    const T0: u64 = 1_763_730_000_000;
    const W: u64 = 5 * 60_000;
    const BLUE: &str = "127.0.0.1:8787";
    const GREEN: &str = "127.0.0.1:8788";

    /// A failure through the real parser, from a line as nginx writes it.
    fn from_line(t: u64, status: &str, addr: &str, ustatus: &str, id: &str) -> FailedRequest {
        let times = if addr.contains(',') {
            "0.004, 0.240"
        } else {
            "0.240"
        };
        let l = format!(
            r#"{{"time":"{}.{:03}","status":"{status}","request_time":"0.250","upstream_addr":"{addr}","upstream_status":"{ustatus}","upstream_response_time":"{times}","upstream_header_time":"0.001","request_id":"{id}"}}"#,
            t / 1000,
            t % 1000
        );
        let p = parse_line(l.as_bytes()).expect("parses");
        failed_request(&p, &Colors::new(BLUE, GREEN)).expect("a failure")
    }

    fn sample_book() -> FailureBook {
        let mut b = FailureBook::new(W);
        let retry = format!("{GREEN}, {BLUE}");
        for i in 0..14 {
            let (addr, ust, status) = if i < 3 {
                (&retry[..], "502, 200", "200")
            } else {
                (GREEN, "502", "502")
            };
            let f = from_line(
                T0 + 120_000 + i * 10_000,
                status,
                addr,
                ust,
                &format!("g{i:02}"),
            );
            b.add("gw-b1", "az-b", f);
        }
        b.add(
            "gw-a1",
            "az-a",
            from_line(T0 + 60_000, "504", BLUE, "504", "b1"),
        );
        b
    }

    fn json(d: &Digest) -> String {
        serde_json::to_string(d).expect("serializes")
    }

    /// No control character, raw or escaped, but the `\n` between the text's lines.
    fn assert_no_controls(s: &str) {
        assert!(!s.chars().any(|c| c.is_control()), "{s}");
        let unescaped = s.replace("\\n", "");
        assert!(
            !unescaped.contains("\\u00")
                && !unescaped.contains("\\t")
                && !unescaped.contains("\\r"),
            "{s}"
        );
    }

    #[test]
    fn info_digest_reads_like_a_board() {
        let b = sample_book();
        let d = build("prod-eu", &b, T0 + 42, Severity::Info, &["ignored".into()]);
        assert_eq!(d.id, format!("prod-eu/{T0}"));
        assert_eq!(d.window_start, "2025-11-21T13:00:00.000Z");
        assert_eq!(d.window_end, "2025-11-21T13:05:00.000Z");
        assert_eq!(
            d.text,
            "cutover prod-eu 13:00-13:05 UTC: 15 failures in 2 groups\n\
             green 502 x14 on gw-b1 (az-b), 3 retried to blue, 13:02-13:04\n\
             blue 504 x1 on gw-a1 (az-a), 13:01"
        );
        assert_eq!((d.failures, d.omitted_groups, d.dropped), (15, 0, 0));
        let g = &d.groups[0];
        assert_eq!(
            (
                g.color,
                g.status,
                &g.gateway[..],
                &g.az[..],
                g.count,
                g.retried,
                g.retried_to
            ),
            (Color::Green, 502, "gw-b1", "az-b", 14, 3, Some(Color::Blue))
        );
        assert_eq!(g.request_ids, vec!["g09", "g10", "g11", "g12", "g13"]);
        assert_eq!(
            (&g.first[..], &g.last[..]),
            ("2025-11-21T13:02:00.000Z", "2025-11-21T13:04:10.000Z")
        );
        assert_eq!(d.groups[1].retried_to, None);
        let v: serde_json::Value = serde_json::from_str(&json(&d)).expect("json");
        assert_eq!(v["severity"], "info");
        assert_eq!(v["groups"][0]["color"], "green");
        assert!(v["groups"][0].get("detail").is_none(), "{v}");
        // Stable per (fleet, window), whatever is in it; another window has another ID.
        let again = build("prod-eu", &FailureBook::new(W), T0, Severity::Critical, &[]);
        assert_eq!(again.id, d.id);
        assert_ne!(build("prod-eu", &b, T0 + W, Severity::Info, &[]).id, d.id);
        // A round trip for the spool.
        assert_eq!(
            serde_json::from_str::<Digest>(&json(&d)).expect("reads back"),
            d
        );
    }

    #[test]
    fn critical_digest_adds_reasons_and_detail() {
        let b = sample_book();
        let reasons = vec![
            "green 5xx alarm on gw-b1".to_string(),
            "page-level burn".to_string(),
        ];
        let d = build("prod-eu", &b, T0, Severity::Critical, &reasons);
        let lines: Vec<&str> = d.text.lines().collect();
        assert_eq!(
            lines[1],
            "CRITICAL: green 5xx alarm on gw-b1; page-level burn"
        );
        assert_eq!(lines.len(), 4);
        let detail = d.groups[0].detail.as_ref().expect("critical has detail");
        assert_eq!(detail.request_id, "g13");
        assert_eq!(detail.time, "2025-11-21T13:04:10.000Z");
        assert_eq!((detail.status, detail.request_ms), (502, Some(250)));
        assert_eq!(
            detail.tries,
            vec![TryDetail {
                addr: GREEN.into(),
                color: Some(Color::Green),
                status: Some(502),
                response_ms: Some(240),
            }]
        );
        let v: serde_json::Value = serde_json::from_str(&json(&d)).expect("json");
        assert_eq!(v["severity"], "critical");
        assert_eq!(v["groups"][1]["detail"]["tries"][0]["color"], "blue");
    }

    #[test]
    fn empty_window_says_no_failures() {
        let d = build("prod", &FailureBook::new(W), T0 + W, Severity::Info, &[]);
        assert_eq!(d.text, "cutover prod 13:05-13:10 UTC: no failures");
        assert_eq!((d.failures, d.groups.len(), d.omitted_groups), (0, 0, 0));
        let d = build("", &FailureBook::new(W), T0, Severity::Critical, &[]);
        assert_eq!(d.text, "cutover - 13:00-13:05 UTC: no failures\nCRITICAL");
        assert_eq!(d.id, format!("-/{T0}"));
    }

    #[test]
    fn ten_thousand_failures_make_a_few_kilobytes() {
        let id = |i: u64| format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        // The lab's case: green fails on one gateway (four statuses, some retried to blue).
        let mut one = FailureBook::new(W);
        let retry = format!("{GREEN}, {BLUE}");
        for i in 0..10_000u64 {
            let status = ["500", "502", "503", "504"][(i % 4) as usize];
            let f = if i % 10 == 0 {
                from_line(
                    T0 + i * 29,
                    "200",
                    &retry,
                    &format!("{status}, 200"),
                    &id(i),
                )
            } else {
                from_line(T0 + i * 29, status, GREEN, status, &id(i))
            };
            one.add("gw-b1", "az-b", f);
        }
        // A fleet-wide bad window: two colors, four statuses, 16 gateways in 4 AZs.
        let mut fleet = FailureBook::new(W);
        for i in 0..10_000u64 {
            let color = [BLUE, GREEN][(i % 2) as usize];
            let status = ["500", "502", "503", "504"][(i / 3 % 4) as usize];
            let gw = i / 7 % 16;
            let f = from_line(T0 + i * 29, status, color, status, &id(i));
            fleet.add(&format!("gw-{gw}"), &format!("az-{}", gw % 4), f);
        }
        // And the worst case: every failure its own key, long names, long IDs.
        let mut worst = FailureBook::new(W);
        for i in 0..10_000u64 {
            let f = from_line(
                T0 + i,
                "502",
                GREEN,
                "502, 502, 502",
                &format!("{i}-{}", "i".repeat(100)),
            );
            worst.add(&format!("gw-{i}-{}", "g".repeat(100)), &"\"".repeat(100), f);
        }
        for (book, groups) in [(&one, 4usize), (&fleet, 128), (&worst, 256)] {
            assert_eq!(book.groups(T0).len(), groups);
            for sev in [Severity::Info, Severity::Critical] {
                let d = build("prod", book, T0, sev, &["x".repeat(10_000)]);
                let s = json(&d);
                assert!(s.len() < 16 * 1024, "{} bytes for {sev:?}", s.len());
                assert!(s.len() <= MAX_DIGEST_BYTES);
                assert_eq!(d.failures, 10_000);
                assert!(!d.groups.is_empty() && d.groups.len() <= MAX_DIGEST_GROUPS);
                assert_eq!(d.groups.len() as u64 + d.omitted_groups, groups as u64);
                let lines: Vec<&str> = d.text.lines().collect();
                assert!(lines.len() <= MAX_TEXT_GROUPS + 3, "{}", d.text);
                assert!(d.text.len() <= MAX_TEXT_BYTES, "{}", d.text.len());
                if groups > MAX_TEXT_GROUPS {
                    let last = lines.last().copied().unwrap_or_default();
                    assert!(
                        last.starts_with('+') && last.ends_with("more groups"),
                        "{}",
                        d.text
                    );
                }
            }
        }
        // The lab's case: every group in full, in a few KB.
        let d = build(
            "prod",
            &one,
            T0,
            Severity::Critical,
            &["green 5xx alarm".into()],
        );
        assert_eq!((d.groups.len(), d.omitted_groups), (4, 0));
        assert_eq!(d.groups.iter().map(|g| g.retried).sum::<u64>(), 1000);
        assert!(json(&d).len() < 4 * 1024, "{}", json(&d).len());
        let d = build("prod", &fleet, T0, Severity::Info, &[]);
        assert!(d.text.ends_with("\n+108 more groups"), "{}", d.text);
        let d = build("prod", &worst, T0, Severity::Info, &[]);
        assert_eq!(d.dropped, 10_000 - 256);
        assert!(
            d.text.starts_with("cutover prod 13:00-13:05 UTC: 10000 failures in 256 groups, 9744 beyond the group cap\n"),
            "{}",
            d.text
        );
    }

    #[test]
    fn hostile_input_never_reaches_the_json_raw() {
        let mut b = FailureBook::new(W);
        let evil_id = r"id\u001b[2J\u001b]0;pwned\u0007\u009b31m\ud800\n\t";
        b.add(
            "gw\u{1b}[31m",
            "az\u{7}\u{202e}",
            from_line(T0, "502", GREEN, "502", evil_id),
        );
        let mut raw = br#"{"time":"1763730000.5","status":"502","request_time":"1","upstream_addr":"127.0.0.1:8788","upstream_status":"502","upstream_header_time":"-","request_id":"x"#.to_vec();
        raw.extend_from_slice(b"\xff\xfe\xc2\x9b2J");
        raw.extend_from_slice(&b"y".repeat(1 << 20));
        raw.extend_from_slice(br#""}"#);
        let f = failed_request(
            &parse_line(&raw).expect("parses"),
            &Colors::new(BLUE, GREEN),
        )
        .expect("failed");
        b.add("gw", "az", f);
        let reasons = vec![
            "burn\u{1b}]8;;http://x\u{7}link".to_string(),
            "\u{9b}2J".to_string(),
        ];
        let d = build("fleet\u{1b}[H\r\nX", &b, T0, Severity::Critical, &reasons);
        let s = json(&d);
        assert_no_controls(&s);
        assert!(s.len() < 16 * 1024);
        assert!(
            !s.contains("pwned") && !s.contains("[2J") && !s.contains("[31m"),
            "{s}"
        );
        assert_eq!(d.fleet, "fleet  X");
        assert!(d.text.lines().all(|l| !l.chars().any(|c| c.is_control())));
        let ids: Vec<&str> = d
            .groups
            .iter()
            .flat_map(|g| g.request_ids.iter().map(|s| &s[..]))
            .collect();
        assert!(ids.contains(&"id\u{fffd}"), "{ids:?}");
        assert!(
            ids.iter()
                .any(|i| i.starts_with("x\u{fffd}\u{fffd}yyy") && i.chars().count() == 64),
            "{ids:?}"
        );
    }
}
