//! The commands: the dispatcher (`run`) with the cockpit launcher (`cockpit`), the headless
//! commands, `watch` and `report`, all failing with the one `error::CommandError`.

mod cockpit;
pub(crate) mod digest;
pub(crate) mod error;
pub(crate) mod headless;
pub(crate) mod ramp;
pub(crate) mod report;
pub mod run;
pub(crate) mod watch;

use crate::cli::GlobalFlags;
use error::CommandError;

/// A runtime on this thread for a command's async part; `what` names it in the error, as
/// each command always has ("the runtime", "the async runtime").
pub(crate) fn runtime(what: &str) -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CommandError::failed(format!("cannot start {what}: {e}")))
}

/// The login name from the environment, else from the user database.
fn login_user() -> Option<String> {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(crate::lab::process::user_name)
}

/// The operator's name: `--actor`, else the login user; sanitized (it reaches screens and hosts).
pub(crate) fn session_actor(global: &GlobalFlags) -> String {
    let actor = global
        .actor
        .clone()
        .or_else(login_user)
        .unwrap_or_else(|| "unknown".into());
    crate::sanitize::sanitize(&actor)
}
