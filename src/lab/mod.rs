//! The lab: a real local fleet of nginx, sshd and gateway processes on loopback addresses.

pub mod claims;
pub mod color;
pub mod down;
pub mod fault;
pub mod gateway;
pub mod layout;
pub mod process;
pub mod prometheus;
pub mod render;
pub mod state;
pub mod tools;
pub mod up;

/// Why a lab command failed: bad usage (exit 2) or a failed operation (exit 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabError {
    /// The request itself is wrong.
    Usage(String),
    /// The request was fine; doing it failed.
    Failed(String),
}
