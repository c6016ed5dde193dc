//! Drain completion: a color at weight 0 is drained when its connections reach
//! zero or the drain window passes.

use crate::model::Ms;

/// Where a drain stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainStatus {
    /// Still waiting for connections to close.
    Waiting {
        /// Connections still open (None: not sampled yet).
        conns: Option<u32>,
        /// Time left in the window, ms.
        remaining_ms: Ms,
    },
    /// Every connection closed.
    Idle,
    /// The window passed with connections still open.
    TimedOut {
        /// Connections that will be cut.
        conns: u32,
    },
}

impl DrainStatus {
    /// True when the color may now be stopped.
    pub fn done(&self) -> bool {
        !matches!(self, DrainStatus::Waiting { .. })
    }
}

/// Evaluate a drain that began at `started` with a window of `window_ms`.
pub fn evaluate(started: Ms, now: Ms, conns: Option<u32>, window_ms: Ms) -> DrainStatus {
    if conns == Some(0) {
        return DrainStatus::Idle;
    }
    let elapsed = now.saturating_sub(started);
    if elapsed >= window_ms {
        return DrainStatus::TimedOut {
            conns: conns.unwrap_or(0),
        };
    }
    DrainStatus::Waiting {
        conns,
        remaining_ms: window_ms - elapsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_completes_at_once() {
        assert_eq!(evaluate(0, 1, Some(0), 120_000), DrainStatus::Idle);
    }

    #[test]
    fn window_boundary() {
        assert_eq!(
            evaluate(0, 119_999, Some(3), 120_000),
            DrainStatus::Waiting {
                conns: Some(3),
                remaining_ms: 1
            }
        );
        assert_eq!(
            evaluate(0, 120_000, Some(3), 120_000),
            DrainStatus::TimedOut { conns: 3 }
        );
        assert!(!evaluate(0, 10, None, 120_000).done());
    }
}
