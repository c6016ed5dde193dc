//! A settings value that fails validation, shared by every part that checks its own settings.

use std::fmt;

/// A value that fails validation: the dotted field (`guardrails.step`) and what is wrong,
/// kept apart so the field's line is found without parsing the sentence again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted field path from the top of the file, e.g. `export.grafana_url`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// `field` is wrong because of `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    /// `guardrails.step: must divide 100 (e.g. 5, 10, 20, 25, 50)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}
