//! Reproducible nginx access-log lines for benchmarks and comparisons: the same requests in
//! the documented JSON format and in nginx's `combined` format (what GoAccess reads natively).

/// Blue's address in the synthetic lines (the spec's default).
pub const BLUE: &str = "127.0.0.1:8787";
/// Green's address in the synthetic lines.
pub const GREEN: &str = "127.0.0.1:8788";

/// One synthetic request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `$msec` in ms since the epoch.
    pub time_ms: u64,
    /// Final status.
    pub status: &'static str,
    /// Whole request time, ms.
    pub total_ms: u64,
    /// `$upstream_addr` (a list on retries, the group name when none was chosen).
    pub upstream_addr: String,
    /// `$upstream_status`.
    pub upstream_status: &'static str,
    /// `$upstream_header_time` as logged.
    pub header_time: String,
    /// Request path.
    pub path: &'static str,
    /// Response bytes.
    pub bytes: u64,
    /// Request id.
    pub id: (u64, u64),
}

/// A deterministic stream of requests (xorshift64*; no dependency).
#[derive(Debug, Clone)]
pub struct Synth {
    state: u64,
    n: u64,
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

impl Synth {
    /// A stream for `seed` (0 is replaced by a fixed odd constant).
    pub fn new(seed: u64) -> Synth {
        Synth {
            state: if seed == 0 {
                0x9e37_79b9_7f4a_7c15
            } else {
                seed
            },
            n: 0,
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// The next request: 70/30 blue/green, mostly 200s, some retries, upstream failures,
    /// requests with no upstream chosen, and client aborts; one per ms from 2025-11-21.
    pub fn request(&mut self) -> Request {
        let roll = self.below(1000);
        let (color, other) = if self.below(10) < 7 {
            (BLUE, GREEN)
        } else {
            (GREEN, BLUE)
        };
        let header = 20 + self.below(400);
        let total = header + self.below(8000);
        let (status, addr, ustatus, htime) = match roll {
            0..=939 => ("200", color.to_string(), "200", secs(header)),
            940..=969 => (
                "200",
                format!("{other}, {color}"),
                "502, 200",
                format!("0.001, {}", secs(header)),
            ),
            970..=989 => (
                ["500", "502", "503", "504"][self.below(4) as usize],
                color.to_string(),
                "502",
                "-".to_string(),
            ),
            990..=994 => ("502", "gateway".to_string(), "", String::new()),
            _ => ("499", "-".to_string(), "-", "-".to_string()),
        };
        let path = if self.below(20) == 0 {
            "/v1/embeddings"
        } else {
            "/v1/chat/completions"
        };
        let time_ms = 1_763_683_200_000 + self.n;
        self.n += 1;
        Request {
            time_ms,
            status,
            total_ms: total,
            upstream_addr: addr,
            upstream_status: ustatus,
            header_time: htime,
            path,
            bytes: 200 + self.below(20_000),
            id: (self.next_u64(), self.next_u64()),
        }
    }

    /// The next request as a line of the documented JSON format, newline included.
    pub fn json_line(&mut self, out: &mut Vec<u8>) {
        let r = self.request();
        out.extend_from_slice(json(&r).as_bytes());
        out.push(b'\n');
    }
}

/// `r` as nginx writes it with `log_format cutover` (no newline).
pub fn json(r: &Request) -> String {
    format!(
        r#"{{"time":"{}","status":"{}","request_time":"{}","upstream_addr":"{}","upstream_status":"{}","upstream_response_time":"{}","upstream_header_time":"{}","request_id":"{:016x}{:016x}","request":"POST {} HTTP/1.1","bytes_sent":"{}"}}"#,
        secs(r.time_ms),
        r.status,
        secs(r.total_ms),
        r.upstream_addr,
        r.upstream_status,
        secs(r.total_ms),
        r.header_time,
        r.id.0,
        r.id.1,
        r.path,
        r.bytes
    )
}

/// `r` in nginx's `combined` format (no newline), as GoAccess reads it natively.
pub fn combined(r: &Request) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs_total = r.time_ms / 1000;
    let (days, rem) = (secs_total / 86_400, secs_total % 86_400);
    let (y, m, d) = crate::model::civil::civil_from_days(days as i64);
    format!(
        "10.0.{}.{} - - [{:02}/{}/{}:{:02}:{:02}:{:02} +0000] \"POST {} HTTP/1.1\" {} {} \"-\" \"cutover-synth/1.0\"",
        r.id.0 % 256,
        r.id.1 % 256,
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        r.path,
        r.status,
        r.bytes
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nginx::accesslog::{Colors, parse_line, record};

    #[test]
    fn json_lines_parse_and_are_reproducible() {
        let (mut a, mut b) = (Synth::new(7), Synth::new(7));
        let colors = Colors::new(BLUE, GREEN);
        for _ in 0..2_000 {
            let (ra, rb) = (a.request(), b.request());
            assert_eq!(ra, rb);
            let line = json(&ra);
            let parsed = parse_line(line.as_bytes()).expect("synthetic lines parse");
            assert_eq!(parsed.time_ms(), Some(ra.time_ms));
            assert!(record(&parsed, &colors).is_some());
        }
    }

    #[test]
    fn combined_lines_carry_the_same_request() {
        let r = Request {
            time_ms: 1_763_683_200_123,
            status: "502",
            total_ms: 10,
            upstream_addr: "gateway".into(),
            upstream_status: "",
            header_time: String::new(),
            path: "/v1/chat/completions",
            bytes: 512,
            id: (1, 2),
        };
        assert_eq!(
            combined(&r),
            "10.0.1.2 - - [21/Nov/2025:00:00:00 +0000] \"POST /v1/chat/completions HTTP/1.1\" 502 512 \"-\" \"cutover-synth/1.0\""
        );
        assert_eq!(crate::model::civil::civil_from_days(0), (1970, 1, 1));
        assert_eq!(crate::model::civil::civil_from_days(19_723), (2024, 1, 1));
    }
}
