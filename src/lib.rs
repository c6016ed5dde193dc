//! cutover: a terminal cockpit for blue/green cutovers of AI gateways behind nginx.

pub mod app;
pub mod guard;
pub mod model;
pub mod ui;
