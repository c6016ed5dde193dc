//! The commands: the cockpit launcher (`run`), the headless commands, `watch` and `report`.

pub mod headless;
pub mod report;
pub mod run;
pub mod watch;
