//! What a key can ask for; named in the `[keys]` section of the config.
//!
//! [`TABLE`] is the one place that describes an action: a new action is an enum variant
//! plus its row (config name, default keys, help line, whether it touches a host).

use serde::{Deserialize, Serialize};

/// An operator intention, independent of the key that expressed it.
///
/// The order of the variants is the help order and must match [`TABLE`] row for row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    /// Roll the scope back to its stable color and stop the candidate (asks first).
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
    /// Show the failures view: failed requests grouped by color, status, gateway and AZ.
    Failures,
    /// Sort the rows within each AZ by the next order (config, 5xx, TTFT, burn, name).
    Sort,
    /// Describe the selected gateway: alerts, operations, lock, versions, data ages.
    Describe,
    /// Show the whole log, scrolled and searched.
    Log,
    /// Switch to the next theme.
    NextTheme,
    /// Show or hide the help overlay.
    Help,
    /// Quit the cockpit.
    Quit,
}

/// Everything the keymap and the help overlay know about one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionInfo {
    /// The action this row describes.
    pub action: Action,
    /// Its field in `[keys]`, which is also its serde name (`step_up`).
    pub field: &'static str,
    /// Its keys when the config does not set the field, in config syntax.
    pub default_keys: &'static [&'static str],
    /// Its line in the help overlay.
    pub describe: &'static str,
    /// True if it changes a host (refused in read-only sessions).
    pub mutates: bool,
}

// The `mutates` column, named so the table reads without a legend.
/// The action changes a host.
const HOST: bool = true;
/// The action only changes the cockpit.
const UI: bool = false;

const fn row(
    action: Action,
    field: &'static str,
    default_keys: &'static [&'static str],
    mutates: bool,
    describe: &'static str,
) -> ActionInfo {
    ActionInfo {
        action,
        field,
        default_keys,
        describe,
        mutates,
    }
}

/// Every action, in declaration (and help) order.
#[rustfmt::skip]
pub const TABLE: &[ActionInfo] = {
    use Action::*;
    &[
        row(SelectNext, "select_next", &["j", "Down"], UI,   "select next gateway"),
        row(SelectPrev, "select_prev", &["k", "Up"],   UI,   "select previous gateway"),
        row(CycleScope, "cycle_scope", &["s"],         UI,   "scope: gateway -> AZ -> fleet"),
        row(StepUp,     "step_up",     &["]"],         HOST, "step the candidate +10 in scope"),
        row(StepDown,   "step_down",   &["["],         HOST, "step the candidate -10 in scope"),
        row(Rollback,   "rollback",    &["R"],         HOST, "roll back to the stable color (confirm)"),
        row(Drain,      "drain",       &["D"],         HOST, "drain the color at 0 in scope (confirm)"),
        row(Veto,       "veto",        &["x"],         UI,   "veto a pending auto-rollback in scope"),
        row(Confirm,    "confirm",     &["y"],         UI,   "confirm"),
        row(Cancel,     "cancel",      &["n", "Esc"],  UI,   "cancel / close"),
        row(Override,   "override",    &["O"],         HOST, "override a guardrail refusal"),
        row(Filter,     "filter",      &["/"],         UI,   "filter gateways by name or AZ"),
        row(Command,    "command",     &[":"],         UI,   "command line (:help for commands)"),
        row(Failures,   "failures",    &["f"],         UI,   "failed requests by color and gateway"),
        row(Sort,       "sort",        &["o"],         UI,   "sort rows: config, 5xx, TTFT, burn, name"),
        row(Describe,   "describe",    &["i"],         UI,   "describe the selected gateway"),
        row(Log,        "log",         &["l"],         UI,   "the whole log: scroll, / searches"),
        row(NextTheme,  "next_theme",  &["t"],         UI,   "next theme"),
        row(Help,       "help",        &["?"],         UI,   "this help"),
        row(Quit,       "quit",        &["q"],         UI,   "quit"),
    ]
};

// Row i must be variant i, so `info` can index; a misplaced or repeated row fails the build.
// (A variant missing from the end is caught by the `table_covers_every_variant` test.)
const _: () = {
    let mut i = 0;
    while i < TABLE.len() {
        assert!(
            TABLE[i].action as usize == i,
            "action::TABLE rows must follow the order of the Action variants"
        );
        i += 1;
    }
};

impl Action {
    /// Every action, in help order.
    pub const ALL: [Action; TABLE.len()] = {
        let mut all = [Action::Quit; TABLE.len()];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].action;
            i += 1;
        }
        all
    };

    /// This action's row in [`TABLE`].
    pub fn info(self) -> &'static ActionInfo {
        &TABLE[self as usize]
    }

    /// The action whose `[keys]` field is `field` (`step_up`), if any.
    pub fn from_field_name(field: &str) -> Option<Action> {
        TABLE.iter().find(|r| r.field == field).map(|r| r.action)
    }

    /// Its field in `[keys]` (and serde name), e.g. `step_up`.
    pub fn field_name(self) -> &'static str {
        self.info().field
    }

    /// One line for the help overlay.
    pub fn describe(self) -> &'static str {
        self.info().describe
    }

    /// True for actions that change a host.
    pub fn mutates(self) -> bool {
        self.info().mutates
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::{self, Deserializer, Visitor};

    /// A deserializer that only records the variant names serde derive hands to `deserialize_enum`.
    struct VariantNames(Option<&'static [&'static str]>);

    impl<'de> Deserializer<'de> for &mut VariantNames {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not an enum"))
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            variants: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(variants);
            Err(de::Error::custom("recorded"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            struct identifier ignored_any
        }
    }

    /// Every variant, by serde name, in declaration order: taken from the derive, so it cannot go stale.
    fn serde_variants() -> &'static [&'static str] {
        let mut rec = VariantNames(None);
        let _ = Action::deserialize(&mut rec);
        rec.0.expect("Action derives Deserialize as an enum")
    }

    #[test]
    fn table_covers_every_variant() {
        let fields: Vec<&str> = TABLE.iter().map(|r| r.field).collect();
        assert_eq!(
            fields,
            serde_variants(),
            "add a row to action::TABLE for each Action variant, in order"
        );
        for r in TABLE {
            // The field is the serde name, so `[keys]` and scenario files agree.
            assert_eq!(serde_json::to_value(r.action).unwrap(), r.field, "{r:?}");
            assert_eq!(Action::from_field_name(r.field), Some(r.action));
            assert_eq!(r.action.info(), r);
            assert!(!r.describe.is_empty(), "{r:?}");
        }
        assert_eq!(Action::from_field_name("stepup"), None);
    }

    #[test]
    fn mutating_actions() {
        let host: Vec<Action> = Action::ALL.into_iter().filter(|a| a.mutates()).collect();
        assert_eq!(
            host,
            [
                Action::StepUp,
                Action::StepDown,
                Action::Rollback,
                Action::Drain,
                Action::Override
            ]
        );
    }
}
