//! Key bindings: one named field per action, remappable from `[keys]` in the config.
//! (Placeholder: being replaced by the full keymap.)

use super::action::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Resolves key presses to actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    bindings: Vec<(KeyCode, KeyModifiers, Action)>,
}

impl Default for KeyMap {
    fn default() -> Self {
        use Action::*;
        let c = |ch| KeyCode::Char(ch);
        let none = KeyModifiers::NONE;
        let bindings = vec![
            (c('j'), none, SelectNext),
            (KeyCode::Down, none, SelectNext),
            (c('k'), none, SelectPrev),
            (KeyCode::Up, none, SelectPrev),
            (c('s'), none, CycleScope),
            (c(']'), none, StepUp),
            (c('['), none, StepDown),
            (c('R'), none, Rollback),
            (c('D'), none, Drain),
            (c('x'), none, Veto),
            (c('y'), none, Confirm),
            (c('n'), none, Cancel),
            (KeyCode::Esc, none, Cancel),
            (c('O'), none, Override),
            (c('/'), none, Filter),
            (c(':'), none, Command),
            (c('t'), none, NextTheme),
            (c('?'), none, Help),
            (c('q'), none, Quit),
        ];
        KeyMap { bindings }
    }
}

impl KeyMap {
    /// The action bound to `key`, if any.
    pub fn action(&self, key: &KeyEvent) -> Option<Action> {
        let mods = key.modifiers - KeyModifiers::SHIFT;
        self.bindings
            .iter()
            .find(|(c, m, _)| *c == key.code && *m == mods)
            .map(|(_, _, a)| *a)
    }

    /// Display names of the keys bound to `action`, in binding order.
    pub fn keys_for(&self, action: Action) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|(_, _, a)| *a == action)
            .map(|(c, _, _)| match c {
                KeyCode::Char(ch) => ch.to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }
}
