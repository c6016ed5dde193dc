//! What a key can ask for; named in the `[keys]` section of the config.

use serde::{Deserialize, Serialize};

/// An operator intention, independent of the key that expressed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Select the next gateway.
    SelectNext,
    /// Select the previous gateway.
    SelectPrev,
    /// Cycle the scope gateway -> AZ -> fleet.
    CycleScope,
    /// Step green up one step in scope.
    StepUp,
    /// Step green down one step in scope.
    StepDown,
    /// Roll the scope back to 100/0 and stop green (asks first).
    Rollback,
    /// Drain the color at weight 0 in scope (asks first).
    Drain,
    /// Veto pending auto-rollbacks in scope.
    Veto,
    /// Answer yes in a dialog.
    Confirm,
    /// Answer no, close a dialog or leave an input line.
    Cancel,
    /// Override a guardrail refusal (only inside the refusal dialog).
    Override,
    /// Open the filter line.
    Filter,
    /// Open the command line.
    Command,
    /// Switch to the next theme.
    NextTheme,
    /// Show or hide the help overlay.
    Help,
    /// Quit the cockpit.
    Quit,
}

impl Action {
    /// Every action, in help order.
    pub const ALL: [Action; 16] = [
        Action::SelectNext,
        Action::SelectPrev,
        Action::CycleScope,
        Action::StepUp,
        Action::StepDown,
        Action::Rollback,
        Action::Drain,
        Action::Veto,
        Action::Confirm,
        Action::Cancel,
        Action::Override,
        Action::Filter,
        Action::Command,
        Action::NextTheme,
        Action::Help,
        Action::Quit,
    ];

    /// One line for the help overlay.
    pub fn describe(self) -> &'static str {
        match self {
            Action::SelectNext => "select next gateway",
            Action::SelectPrev => "select previous gateway",
            Action::CycleScope => "scope: gateway -> AZ -> fleet",
            Action::StepUp => "step green +10 in scope",
            Action::StepDown => "step green -10 in scope",
            Action::Rollback => "roll back scope to 100/0, stop green (confirm)",
            Action::Drain => "drain the color at 0 in scope (confirm)",
            Action::Veto => "veto a pending auto-rollback in scope",
            Action::Confirm => "confirm",
            Action::Cancel => "cancel / close",
            Action::Override => "override a guardrail refusal",
            Action::Filter => "filter gateways by name or AZ",
            Action::Command => "command line (:help for commands)",
            Action::NextTheme => "next theme",
            Action::Help => "this help",
            Action::Quit => "quit",
        }
    }

    /// True for actions that change a host.
    pub fn mutates(self) -> bool {
        matches!(
            self,
            Action::StepUp | Action::StepDown | Action::Rollback | Action::Drain | Action::Override
        )
    }
}
