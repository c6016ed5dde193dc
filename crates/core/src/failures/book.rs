//! Failures grouped per time window by color, status, gateway and AZ: what the cockpit's
//! failures view lists and what a digest reports. Bounded: [`MAX_GROUPS`] groups per window
//! and [`MAX_WINDOWS`] windows, whatever the input.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::clean_str;
use super::record::FailedRequest;
use crate::model::civil;
use crate::model::{Color, PerColor};
use crate::sanitize::is_clean;

/// Groups kept per window; failures with further distinct keys are only counted.
pub const MAX_GROUPS: usize = 256;
/// Windows kept; adding to a newer one drops the oldest.
pub const MAX_WINDOWS: usize = 12;
/// Example request IDs kept per group.
pub const MAX_EXAMPLES: usize = 5;
/// Longest gateway or AZ name kept, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// What failures are grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupKey {
    /// The color charged with the failures.
    pub color: Color,
    /// The status charged ([`FailedRequest::failed_status`]).
    pub status: u16,
    /// The gateway's name, sanitized.
    pub gateway: String,
    /// The gateway's availability zone, sanitized.
    pub az: String,
}

impl Ord for GroupKey {
    fn cmp(&self, other: &Self) -> Ordering {
        color_rank(self.color)
            .cmp(&color_rank(other.color))
            .then(self.status.cmp(&other.status))
            .then_with(|| self.gateway.cmp(&other.gateway))
            .then_with(|| self.az.cmp(&other.az))
    }
}

impl PartialOrd for GroupKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Blue before green.
fn color_rank(c: Color) -> u8 {
    match c {
        Color::Blue => 0,
        Color::Green => 1,
    }
}

/// The failures of one key in one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// What they share.
    pub key: GroupKey,
    /// Failed requests.
    pub count: u64,
    /// Of which nginx retried on the other color.
    pub retried: u64,
    /// Those retries by the color they went to.
    pub retried_to: PerColor<u64>,
    /// Time of the earliest failure, ms since the epoch.
    pub first_ms: u64,
    /// Time of the latest failure, ms since the epoch.
    pub last_ms: u64,
    /// Up to [`MAX_EXAMPLES`] distinct request IDs, in the order added (log order), newest
    /// last; requests without an ID are not listed.
    pub examples: Vec<String>,
    /// The newest failed request (by time; of equal times the last added).
    pub newest: FailedRequest,
}

impl Group {
    fn new(key: GroupKey, f: FailedRequest) -> Self {
        let mut g = Group {
            key,
            count: 0,
            retried: 0,
            retried_to: PerColor::default(),
            first_ms: f.time_ms,
            last_ms: f.time_ms,
            examples: Vec::new(),
            newest: f.clone(),
        };
        g.record(f);
        g
    }

    fn record(&mut self, f: FailedRequest) {
        self.count += 1;
        if let Some(c) = f.retried_to {
            self.retried += 1;
            self.retried_to[c] += 1;
        }
        self.first_ms = self.first_ms.min(f.time_ms);
        self.last_ms = self.last_ms.max(f.time_ms);
        if f.request_id != "-" {
            if let Some(i) = self.examples.iter().position(|e| *e == f.request_id) {
                self.examples.remove(i);
            } else if self.examples.len() >= MAX_EXAMPLES {
                self.examples.remove(0);
            }
            self.examples.push(f.request_id.clone());
        }
        if f.time_ms >= self.newest.time_ms {
            self.newest = f;
        }
    }
}

/// One window's groups and counts.
#[derive(Debug, Clone, Default)]
struct Window {
    groups: Vec<Group>,
    failures: u64,
    dropped: u64,
}

/// Failures grouped per window, windows aligned to multiples of the window length since the
/// epoch.
#[derive(Debug, Clone)]
pub struct FailureBook {
    window_ms: u64,
    windows: BTreeMap<u64, Window>,
    late: u64,
}

impl FailureBook {
    /// An empty book of windows `window_ms` long (at least 1 ms).
    pub fn new(window_ms: u64) -> Self {
        FailureBook {
            window_ms: window_ms.max(1),
            windows: BTreeMap::new(),
            late: 0,
        }
    }

    /// The window length in ms.
    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }

    /// The start of the window holding `t_ms`.
    pub fn window_start(&self, t_ms: u64) -> u64 {
        t_ms - t_ms % self.window_ms
    }

    /// Count one failure of `gateway` (in `az`) in the window of its time.
    ///
    /// A new key past [`MAX_GROUPS`] in its window is counted as dropped; a failure older
    /// than every window held when [`MAX_WINDOWS`] are held is counted as late. Names are
    /// sanitized and cut to [`MAX_NAME_CHARS`].
    pub fn add(&mut self, gateway: &str, az: &str, f: FailedRequest) {
        let start = self.window_start(f.time_ms);
        if self.windows.len() >= MAX_WINDOWS
            && !self.windows.contains_key(&start)
            && self
                .windows
                .first_key_value()
                .is_some_and(|(&k, _)| start < k)
        {
            self.late += 1;
            return;
        }
        let (gateway, az) = (name(gateway), name(az));
        let w = self.windows.entry(start).or_default();
        w.failures += 1;
        let found = w.groups.iter().position(|g| {
            g.key.color == f.failed
                && g.key.status == f.failed_status
                && g.key.gateway == *gateway
                && g.key.az == *az
        });
        let full = w.groups.len() >= MAX_GROUPS;
        match found.and_then(|i| w.groups.get_mut(i)) {
            Some(g) => g.record(f),
            None if !full => {
                let key = GroupKey {
                    color: f.failed,
                    status: f.failed_status,
                    gateway: gateway.into_owned(),
                    az: az.into_owned(),
                };
                w.groups.push(Group::new(key, f));
            }
            None => w.dropped += 1,
        }
        while self.windows.len() > MAX_WINDOWS {
            self.windows.pop_first();
        }
    }

    /// The starts of the windows held, oldest first.
    pub fn windows(&self) -> Vec<u64> {
        self.windows.keys().copied().collect()
    }

    /// The groups of the window starting at `window_start`: most failures first, then by key.
    pub fn groups(&self, window_start: u64) -> Vec<&Group> {
        let mut v: Vec<&Group> = self
            .windows
            .get(&window_start)
            .map(|w| w.groups.iter().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        v
    }

    /// Failures counted in a window, and how many of them are in no group (past the cap).
    pub fn total(&self, window_start: u64) -> (u64, u64) {
        self.windows
            .get(&window_start)
            .map_or((0, 0), |w| (w.failures, w.dropped))
    }

    /// Failures that arrived for a window older than all [`MAX_WINDOWS`] held.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Drop the windows that ended at or before `t_ms`.
    pub fn prune_before(&mut self, t_ms: u64) {
        let len = self.window_ms;
        self.windows
            .retain(|&start, _| start.saturating_add(len) > t_ms);
    }
}

/// A gateway or AZ name as stored: borrowed when already clean and short.
fn name(s: &str) -> Cow<'_, str> {
    if s.len() <= MAX_NAME_CHARS && is_clean(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(clean_str(s, MAX_NAME_CHARS))
    }
}

/// `HH:MM` of a time in ms since the epoch, UTC.
pub fn hhmm(ms: u64) -> String {
    let stamp = civil::rfc3339(ms / 1000, 0);
    stamp
        .split_once('T')
        .and_then(|(_, t)| t.get(..5))
        .unwrap_or("--:--")
        .to_string()
}

/// A group as one short clause, like an airline board:
/// `green 502 x14 on gw-b1 (az-b), 3 retried to blue, 13:02-13:06` (UTC; one time when the
/// first and last fall in the same minute; no retry clause without retries).
pub fn clause(g: &Group) -> String {
    let k = &g.key;
    let mut s = format!("{} {} x{} on {}", k.color, k.status, g.count, k.gateway);
    if !k.az.is_empty() {
        let _ = write!(s, " ({})", k.az);
    }
    for c in Color::BOTH {
        let n = g.retried_to[c];
        if n > 0 {
            let _ = write!(s, ", {n} retried to {c}");
        }
    }
    let (first, last) = (hhmm(g.first_ms), hhmm(g.last_ms));
    if first == last {
        let _ = write!(s, ", {first}");
    } else {
        let _ = write!(s, ", {first}-{last}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failures::record::Try;

    /// 2025-11-21T13:00:00Z.
    const T0: u64 = 1_763_730_000_000;
    const MIN: u64 = 60_000;

    fn fr(time_ms: u64, id: &str, failed: Color, status: u16, retried: bool) -> FailedRequest {
        FailedRequest {
            time_ms,
            request_id: id.to_string(),
            status: if retried { 200 } else { status },
            request_ms: Some(5),
            tries: vec![Try {
                addr: "127.0.0.1:8788".into(),
                color: Some(failed),
                status: Some(status),
                response_ms: Some(4),
            }],
            failed,
            failed_status: status,
            retried_to: retried.then_some(failed.other()),
        }
    }

    #[test]
    fn groups_by_color_status_gateway_and_az() {
        let mut b = FailureBook::new(5 * MIN);
        for i in 0..14 {
            b.add(
                "gw-b1",
                "az-b",
                fr(
                    T0 + 2 * MIN + i * 10_000,
                    &format!("r{i}"),
                    Color::Green,
                    502,
                    i % 5 == 0,
                ),
            );
        }
        b.add(
            "gw-b1",
            "az-b",
            fr(T0 + MIN, "g504", Color::Green, 504, false),
        );
        b.add(
            "gw-b2",
            "az-b",
            fr(T0 + MIN, "other-gw", Color::Green, 502, false),
        );
        b.add(
            "gw-b1",
            "az-b",
            fr(T0 + MIN, "blue", Color::Blue, 502, false),
        );
        b.add(
            "gw-b1",
            "az-c",
            fr(T0 + MIN, "other-az", Color::Green, 502, false),
        );
        assert_eq!(b.windows(), vec![T0]);
        assert_eq!(b.total(T0), (18, 0));
        let g = b.groups(T0);
        assert_eq!(g.len(), 5);
        let top = g[0];
        assert_eq!(
            top.key,
            GroupKey {
                color: Color::Green,
                status: 502,
                gateway: "gw-b1".into(),
                az: "az-b".into()
            }
        );
        assert_eq!((top.count, top.retried), (14, 3));
        assert_eq!(top.retried_to, PerColor { blue: 3, green: 0 });
        assert_eq!(
            (top.first_ms, top.last_ms),
            (T0 + 2 * MIN, T0 + 2 * MIN + 13 * 10_000)
        );
        assert_eq!(top.examples, vec!["r9", "r10", "r11", "r12", "r13"]);
        assert_eq!(top.newest.request_id, "r13");
        // Ties on count: by key, blue first, then status, gateway, AZ.
        let rest: Vec<(Color, u16, &str, &str)> = g[1..]
            .iter()
            .map(|g| (g.key.color, g.key.status, &g.key.gateway[..], &g.key.az[..]))
            .collect();
        assert_eq!(
            rest,
            vec![
                (Color::Blue, 502, "gw-b1", "az-b"),
                (Color::Green, 502, "gw-b1", "az-c"),
                (Color::Green, 502, "gw-b2", "az-b"),
                (Color::Green, 504, "gw-b1", "az-b"),
            ]
        );
        assert_eq!(
            clause(top),
            "green 502 x14 on gw-b1 (az-b), 3 retried to blue, 13:02-13:04"
        );
        assert_eq!(clause(g[4]), "green 504 x1 on gw-b1 (az-b), 13:01");
    }

    #[test]
    fn examples_are_distinct_newest_last_and_newest_is_by_time() {
        let mut b = FailureBook::new(5 * MIN);
        for id in ["a", "b", "-", "a", "c"] {
            b.add("gw", "az", fr(T0 + 10, id, Color::Blue, 500, false));
        }
        // An older request arriving late is listed but is not the newest.
        b.add("gw", "az", fr(T0 + 5, "old", Color::Blue, 500, false));
        let g = b.groups(T0)[0];
        assert_eq!(g.examples, vec!["b", "a", "c", "old"]);
        assert_eq!(g.newest.request_id, "c");
        assert_eq!((g.count, g.first_ms, g.last_ms), (6, T0 + 5, T0 + 10));
    }

    #[test]
    fn group_cap_counts_the_rest_as_dropped() {
        let mut b = FailureBook::new(5 * MIN);
        for i in 0..(MAX_GROUPS as u64 + 40) {
            b.add(
                &format!("gw-{i}"),
                "az",
                fr(T0 + i, "x", Color::Green, 503, false),
            );
        }
        // Known keys still count after the cap; new ones are dropped.
        b.add("gw-0", "az", fr(T0 + 1, "y", Color::Green, 503, false));
        b.add("gw-new", "az", fr(T0 + 1, "z", Color::Green, 503, false));
        assert_eq!(b.groups(T0).len(), MAX_GROUPS);
        assert_eq!(b.total(T0), (MAX_GROUPS as u64 + 42, 41));
        assert_eq!(b.groups(T0)[0].key.gateway, "gw-0");
        assert_eq!(b.groups(T0)[0].count, 2);
    }

    #[test]
    fn windows_are_aligned_bounded_and_pruned() {
        let w = 5 * MIN;
        let mut b = FailureBook::new(w);
        assert_eq!(b.window_start(T0 + 4 * MIN + 59_999), T0);
        assert_eq!(b.window_start(T0 + w), T0 + w);
        for i in 0..15 {
            b.add("gw", "az", fr(T0 + i * w + 7, "x", Color::Blue, 502, false));
        }
        let held = b.windows();
        assert_eq!(held.len(), MAX_WINDOWS);
        assert_eq!(held[0], T0 + 3 * w);
        assert_eq!(held[MAX_WINDOWS - 1], T0 + 14 * w);
        // Too old for any window held: counted as late, nothing dropped for it.
        b.add("gw", "az", fr(T0, "late", Color::Blue, 502, false));
        assert_eq!((b.late(), b.windows()[0]), (1, T0 + 3 * w));
        // A window in between is still welcome.
        b.prune_before(T0 + 5 * w);
        assert_eq!(b.windows()[0], T0 + 5 * w);
        b.add("gw", "az", fr(T0 + 4 * w, "gap", Color::Blue, 502, false));
        assert_eq!(b.windows()[0], T0 + 4 * w);
        // Pruning: windows that ended at or before t go; the one holding t stays.
        b.prune_before(T0 + 10 * w + 1);
        assert_eq!(b.windows()[0], T0 + 10 * w);
        assert_eq!(b.total(T0 + 9 * w), (0, 0));
        assert!(b.groups(T0 + 9 * w).is_empty());
        b.prune_before(u64::MAX);
        assert!(b.windows().is_empty());
        // A zero window length is taken as 1 ms, never a division by zero.
        let z = FailureBook::new(0);
        assert_eq!((z.window_ms(), z.window_start(12_345)), (1, 12_345));
    }

    #[test]
    fn hostile_names_are_sanitized_and_grouped_once() {
        let mut b = FailureBook::new(MIN);
        let evil = format!("gw\u{1b}]0;pwned\u{7}{}", "x".repeat(500));
        b.add(&evil, "az\u{1b}[2J", fr(T0, "a", Color::Green, 502, false));
        b.add(&evil, "az\u{1b}[2J", fr(T0, "b", Color::Green, 502, false));
        let g = b.groups(T0);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].count, 2);
        assert_eq!(g[0].key.az, "az");
        assert!(g[0].key.gateway.starts_with("gwxxx"));
        assert_eq!(g[0].key.gateway.chars().count(), MAX_NAME_CHARS);
        assert!(is_clean(&clause(g[0])));
    }

    #[test]
    fn clause_reads_like_a_board() {
        let mut b = FailureBook::new(5 * MIN);
        b.add("gw-a1", "", fr(T0 + 59_000, "a", Color::Blue, 500, true));
        let g = b.groups(T0)[0];
        assert_eq!(clause(g), "blue 500 x1 on gw-a1, 1 retried to green, 13:00");
        assert_eq!(hhmm(0), "00:00");
        assert_eq!(hhmm(T0 + 11 * 60 * MIN - 1), "23:59");
        assert_eq!(hhmm(u64::MAX).len(), 5);
    }
}
