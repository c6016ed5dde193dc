//! cutover: a terminal cockpit for blue/green cutovers of AI gateways behind nginx.

// The pure layer, under the paths the rest of the cockpit has always used.
pub use cutover_core::{app, config, failures, guard, model, nginx, ramp, redact, sanitize, sim};

pub mod cli;
pub mod commands;
pub mod export;
pub mod fleet;
pub mod front;
pub mod lab;
