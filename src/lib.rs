//! cutover: a terminal cockpit for blue/green cutovers of AI gateways behind nginx.

pub mod app;
pub mod audit;
pub mod cli;
pub mod collect;
pub mod config;
pub mod control;
pub mod export;
pub mod guard;
pub mod headless;
pub mod lab;
pub mod model;
pub mod nginx;
pub mod preflight;
pub mod probe;
pub mod record;
pub mod redact;
pub mod remote;
pub mod report;
pub mod run;
pub mod sanitize;
pub mod session;
pub mod sim;
pub mod tui;
pub mod ui;
