//! The lab: a real local fleet of nginx, sshd and gateway processes on loopback addresses.

pub(crate) mod claims;
pub(crate) mod color;
pub(crate) mod down;
pub(crate) mod fault;
pub mod gateway;
pub(crate) mod layout;
pub mod process;
pub mod prometheus;
pub(crate) mod render;
pub mod state;
pub(crate) mod tools;
pub(crate) mod up;

/// Why a lab command failed: bad usage (exit 2) or a failed operation (exit 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LabError {
    /// The request itself is wrong.
    Usage(String),
    /// The request was fine; doing it failed.
    Failed(String),
}
