//! Changing real gateways: remote scripts, per-host operations, and the audited executor.

pub mod exec;
pub(crate) mod host;

pub(crate) mod master;
pub(crate) mod script;

pub use exec::Actor;
pub(crate) use exec::{ExecHook, Executed, Executor, OpStatus};
pub(crate) use host::{Host, HostRead};
