//! The one error every command returns: what to say on stderr and the process exit code.

use crate::fleet::service::FleetError;
use crate::lab::LabError;
use std::fmt;
use std::process::ExitCode;

/// A failed command's exit code (success is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// The operation failed or was refused.
    Failed = 1,
    /// Bad usage or configuration.
    Usage = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// A failed command: its exit code and the message for stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandError {
    /// The process exit code.
    pub(crate) exit: Exit,
    /// What went wrong, naming the file, field or value at fault.
    pub(crate) message: String,
}

impl CommandError {
    /// Bad usage or configuration (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> CommandError {
        CommandError {
            exit: Exit::Usage,
            message: message.into(),
        }
    }

    /// The operation failed or was refused (exit 1).
    pub(crate) fn failed(message: impl Into<String>) -> CommandError {
        CommandError {
            exit: Exit::Failed,
            message: message.into(),
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CommandError {}

impl From<LabError> for CommandError {
    fn from(e: LabError) -> CommandError {
        match e {
            LabError::Usage(m) => CommandError::usage(m),
            LabError::Failed(m) => CommandError::failed(m),
        }
    }
}

impl From<FleetError> for CommandError {
    fn from(e: FleetError) -> CommandError {
        match e {
            FleetError::Invalid(m) => CommandError::usage(m),
            FleetError::Setup(m) => CommandError::failed(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_codes_are_the_documented_ones() {
        assert_eq!(CommandError::failed("x").exit as u8, 1);
        assert_eq!(CommandError::usage("x").exit as u8, 2);
        let lab: CommandError = LabError::Usage("bad".into()).into();
        assert_eq!(lab, CommandError::usage("bad"));
        let fleet: CommandError = FleetError::Setup("ssh".into()).into();
        assert_eq!(fleet, CommandError::failed("ssh"));
    }
}
