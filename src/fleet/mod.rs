//! The fleet side: everything that talks to the hosts. SSH (`remote`), the probes, the
//! collectors that turn what hosts say into messages, the executor that changes them
//! (`control`), the audit log, preflight checks, and the fleet service the live cockpit and
//! the headless commands share.

pub(crate) mod audit;
pub(crate) mod collect;
pub mod control;
pub mod live;
pub(crate) mod preflight;
pub mod probe;
pub(crate) mod remote;
pub mod service;
