//! The application layer: state, actions, keymap, plans, update, and the loop.

pub mod action;
pub mod command;
pub mod complete;
pub mod driver;
pub mod failures_view;
pub mod keymap;
pub mod keys;
pub mod log_view;
pub mod msg;
pub mod plan;
pub mod planner;
pub mod ramp;
pub mod rules;
pub mod state;
pub mod update;
pub mod world;
