//! Reaching gateway hosts: OpenSSH with multiplexed connections, shell quoting, checksums.

pub mod cksum;
pub mod quote;
pub mod session;
pub mod ssh;

pub use quote::shell_quote;
pub use ssh::{Output, Ssh, SshError, SshOptions};
