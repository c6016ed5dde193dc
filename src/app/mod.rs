//! The application layer: state, actions, keymap, update, and the loop.

pub mod action;
pub mod keymap;
pub mod msg;
pub mod plan;
pub mod state;
