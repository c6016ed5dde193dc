//! cutover-core: the pure layer of cutover. Telemetry goes in as messages, `update` changes
//! the state, and effects come out; time is always passed in. Nothing here does IO on a
//! network or a terminal, so tests, benches, the simulator and replays run it as it is.

pub mod app;
pub mod config;
pub mod failures;
pub mod field;
pub mod guard;
pub mod model;
pub mod nginx;
pub mod ramp;
pub mod redact;
pub mod sanitize;
pub mod sim;
