//! Reaching gateway hosts: OpenSSH with multiplexed connections, shell quoting, checksums.

pub(crate) mod cksum;
pub(crate) mod quote;
pub(crate) mod session;
pub(crate) mod ssh;

pub(crate) use quote::shell_quote;
pub(crate) use ssh::{Output, Ssh, SshError, SshOptions};
