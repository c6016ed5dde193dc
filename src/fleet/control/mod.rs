//! Changing real gateways: remote scripts, per-host operations, and the audited executor.

pub mod exec;
pub mod host;

pub mod master;
pub mod script;

pub use exec::{Actor, ExecHook, Executed, Executor};
pub use host::{Host, HostRead};
