//! Key bindings: each action's default keys (from [`action::TABLE`](super::action::TABLE)),
//! remappable from `[keys]` in the config.
//!
//! Key syntax (see `docs/configuration.md`): a single character, case-sensitive
//! (`"R"` is shift-r), or a name (`Esc`, `Enter`, `Tab`, `BackTab`, `Backspace`,
//! `Delete`, `Insert`, `Up`, `Down`, `Left`, `Right`, `Home`, `End`, `PageUp`,
//! `PageDown`, `Space`, `F1`..`F12`, case-insensitive), optionally prefixed by
//! `Ctrl-` and/or `Alt-`. `Ctrl-c` always quits and cannot be bound elsewhere.

use super::action::{Action, TABLE};
use super::keys::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// One key with its modifiers, as written in the config (`"]"`, `"Ctrl-r"`, `"PageDown"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// The key itself; characters keep their case, except under Ctrl (always lowercase).
    pub code: KeyCode,
    /// Only CONTROL and ALT (SHIFT is carried by the character's case).
    pub mods: KeyModifiers,
}

/// Named keys accepted in the config, with their canonical display name.
const NAMED: &[(&str, KeyCode)] = &[
    ("Esc", KeyCode::Esc),
    ("Enter", KeyCode::Enter),
    ("Tab", KeyCode::Tab),
    ("BackTab", KeyCode::BackTab),
    ("Backspace", KeyCode::Backspace),
    ("Delete", KeyCode::Delete),
    ("Insert", KeyCode::Insert),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Space", KeyCode::Char(' ')),
];

impl Key {
    /// A plain key without modifiers.
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    /// The always-on quit key.
    pub const CTRL_C: Key = Key {
        code: KeyCode::Char('c'),
        mods: KeyModifiers::CONTROL,
    };

    /// Parse the config syntax; the error is `unknown key "..."`.
    pub fn parse(s: &str) -> Result<Key, String> {
        let unknown = || format!("unknown key {s:?}");
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            // A lone "-" or "+" is a key, not a separator.
            if rest.chars().count() <= 1 {
                break;
            }
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = strip_prefix_sep(&lower, "ctrl") {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = strip_prefix_sep(&lower, "alt") {
                mods |= KeyModifiers::ALT;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (None, _) => return Err(unknown()),
            (Some(c), None) if c.is_control() => return Err(unknown()),
            (Some(c), None) => KeyCode::Char(c),
            _ => named(rest).ok_or_else(unknown)?,
        };
        Ok(Key::new(code, mods))
    }

    /// Normalise: under Ctrl, letters are lowercase (terminals cannot tell Ctrl-x from Ctrl-X).
    fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        let mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Key { code, mods }
    }

    /// The key a terminal event stands for, or `None` for releases and keys that cannot be bound.
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        let mods = match ev.code {
            // SHIFT is already in the character ('R', '?', ']' on some layouts): ignore it.
            KeyCode::Char(_) => ev.modifiers - KeyModifiers::SHIFT,
            // Shift-Tab arrives as BackTab, sometimes with SHIFT set.
            KeyCode::BackTab => ev.modifiers - KeyModifiers::SHIFT,
            _ => ev.modifiers,
        };
        // Shift on a named key (Shift-Up) is not bindable; do not let it match plain Up.
        if mods.contains(KeyModifiers::SHIFT) {
            return None;
        }
        let known = mods - (KeyModifiers::CONTROL | KeyModifiers::ALT);
        if !known.is_empty() {
            // Super, Hyper, Meta: never bound.
            return None;
        }
        Some(Key::new(ev.code, mods))
    }
}

/// `rest` after `prefix` followed by `-` or `+`, matched case-insensitively (input is lowercase).
fn strip_prefix_sep<'a>(lower: &'a str, prefix: &str) -> Option<&'a str> {
    let r = lower.strip_prefix(prefix)?;
    r.strip_prefix('-').or_else(|| r.strip_prefix('+'))
}

fn named(name: &str) -> Option<KeyCode> {
    if let Some((_, code)) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return Some(*code);
    }
    let aliases: &[(&str, KeyCode)] = &[
        ("Escape", KeyCode::Esc),
        ("Return", KeyCode::Enter),
        ("Del", KeyCode::Delete),
        ("PgUp", KeyCode::PageUp),
        ("PgDn", KeyCode::PageDown),
    ];
    if let Some((_, code)) = aliases.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return Some(*code);
    }
    let digits = name.strip_prefix(['F', 'f'])?;
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match digits.parse::<u8>() {
        Ok(n @ 1..=12) => Some(KeyCode::F(n)),
        _ => None,
    }
}

impl fmt::Display for Key {
    /// The config syntax, e.g. `]`, `R`, `Esc`, `Up`, `Ctrl-c`, `Space`, `F5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if let Some((name, _)) = NAMED.iter().find(|(_, c)| *c == self.code) {
            return f.write_str(name);
        }
        match self.code {
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The keys of one action in the config: a single key name or a list (`[]` unbinds).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyList(pub Vec<String>);

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a key like "]" or a list of keys like ["j", "Down"]"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyList, E> {
                Ok(KeyList(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyList, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = seq.next_element::<String>()? {
                    keys.push(k);
                }
                Ok(KeyList(keys))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `[keys]` section: the keys of each action it names; absent actions keep their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeysConfig(BTreeMap<Action, KeyList>);

impl KeysConfig {
    /// The configured keys of `action`, if its field is set.
    pub fn get(&self, action: Action) -> Option<&KeyList> {
        self.0.get(&action)
    }
}

impl FromIterator<(Action, KeyList)> for KeysConfig {
    fn from_iter<I: IntoIterator<Item = (Action, KeyList)>>(iter: I) -> Self {
        KeysConfig(iter.into_iter().collect())
    }
}

/// The `[keys]` field names in table order: the "expected one of" list of an unknown field.
static FIELDS: [&str; TABLE.len()] = {
    let mut fields = [""; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        fields[i] = TABLE[i].field;
        i += 1;
    }
    fields
};

// Hand-written so the fields come from the table, yet the errors read as they did when
// `KeysConfig` was a struct with `deny_unknown_fields` (users see them with file and line).
impl<'de> Deserialize<'de> for KeysConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// A `[keys]` field name; rejected while deserializing the key so the error points at it.
        struct Field(Action);

        impl<'de> Deserialize<'de> for Field {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = Field;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("field identifier")
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                        Action::from_field_name(v)
                            .map(Field)
                            .ok_or_else(|| E::unknown_field(v, &FIELDS))
                    }
                }
                d.deserialize_identifier(V)
            }
        }

        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeysConfig;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("struct KeysConfig")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeysConfig, A::Error> {
                let mut keys = BTreeMap::new();
                while let Some(Field(action)) = map.next_key()? {
                    if keys.contains_key(&action) {
                        return Err(de::Error::duplicate_field(action.field_name()));
                    }
                    keys.insert(action, map.next_value()?);
                }
                Ok(KeysConfig(keys))
            }
        }
        d.deserialize_struct("KeysConfig", &FIELDS, V)
    }
}

/// Resolves key presses to actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    /// In `Action::ALL` order, then the order the keys were given in.
    bindings: Vec<(Key, Action)>,
}

impl Default for KeyMap {
    fn default() -> Self {
        KeyMap::from_config(&KeysConfig::default()).expect("default keys are valid and distinct")
    }
}

impl KeyMap {
    /// The defaults with the fields set in `cfg` replaced; errors name the field
    /// (`keys.step_up: unknown key "Ctrl-"`) and, for clashes, both actions.
    pub fn from_config(cfg: &KeysConfig) -> Result<KeyMap, String> {
        let mut bindings: Vec<(Key, Action)> = Vec::new();
        for action in Action::ALL {
            let field = action.field_name();
            let configured = cfg.get(action);
            let names: Vec<&str> = match configured {
                Some(list) => list.0.iter().map(String::as_str).collect(),
                None => action.info().default_keys.to_vec(),
            };
            for name in names {
                let key = Key::parse(name).map_err(|e| format!("keys.{field}: {e}"))?;
                if key == Key::CTRL_C && action != Action::Quit {
                    return Err(format!(
                        "keys.{field}: \"Ctrl-c\" always quits and cannot be bound to {field}"
                    ));
                }
                if let Some(&(_, other)) = bindings.iter().find(|(k, _)| *k == key) {
                    let other_field = other.field_name();
                    if other == action {
                        return Err(format!("keys.{field}: key \"{key}\" is listed twice"));
                    }
                    // Name the field the user wrote first, so the error points at their change.
                    let (culprit, victim) = if configured.is_some() || cfg.get(other).is_none() {
                        (field, other_field)
                    } else {
                        (other_field, field)
                    };
                    let hint = if cfg.get(other).is_none() || configured.is_none() {
                        format!(" (its default); rebind keys.{victim} too")
                    } else {
                        String::new()
                    };
                    return Err(format!(
                        "keys.{culprit}: key \"{key}\" is bound to both {other_field} and {field}{hint}"
                    ));
                }
                bindings.push((key, action));
            }
        }
        Ok(KeyMap { bindings })
    }

    /// The action bound to `key`, if any. `Ctrl-c` always quits; key releases are ignored.
    pub fn action(&self, key: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(key)?;
        if key == Key::CTRL_C {
            return Some(Action::Quit);
        }
        self.bindings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, a)| *a)
    }

    /// Display names of the keys bound to `action`, in binding order (`Quit` ends with `Ctrl-c`).
    pub fn keys_for(&self, action: Action) -> Vec<String> {
        let mut keys: Vec<Key> = self
            .bindings
            .iter()
            .filter(|(_, a)| *a == action)
            .map(|(k, _)| *k)
            .collect();
        if action == Action::Quit && !keys.contains(&Key::CTRL_C) {
            keys.push(Key::CTRL_C);
        }
        keys.iter().map(Key::to_string).collect()
    }

    /// Every binding, in help order: each action with its keys.
    pub fn bindings(&self) -> impl Iterator<Item = (Key, Action)> + '_ {
        self.bindings.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    fn ch(c: char) -> KeyEvent {
        // What crossterm reports: uppercase letters carry SHIFT.
        let mods = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        ev(KeyCode::Char(c), mods)
    }

    fn keys(list: &[&str]) -> Option<KeyList> {
        Some(KeyList(list.iter().map(|s| s.to_string()).collect()))
    }

    fn keys_cfg(fields: &[(Action, &[&str])]) -> KeysConfig {
        fields
            .iter()
            .map(|&(a, list)| (a, keys(list).unwrap()))
            .collect()
    }

    #[test]
    fn defaults_resolve() {
        let km = KeyMap::default();
        let cases = [
            ('j', Action::SelectNext),
            ('k', Action::SelectPrev),
            ('s', Action::CycleScope),
            (']', Action::StepUp),
            ('[', Action::StepDown),
            ('R', Action::Rollback),
            ('D', Action::Drain),
            ('x', Action::Veto),
            ('y', Action::Confirm),
            ('n', Action::Cancel),
            ('O', Action::Override),
            ('/', Action::Filter),
            (':', Action::Command),
            ('t', Action::NextTheme),
            ('?', Action::Help),
            ('q', Action::Quit),
        ];
        for (c, a) in cases {
            assert_eq!(km.action(&ch(c)), Some(a), "{c}");
        }
        assert_eq!(
            km.action(&ev(KeyCode::Down, KeyModifiers::NONE)),
            Some(Action::SelectNext)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Up, KeyModifiers::NONE)),
            Some(Action::SelectPrev)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Esc, KeyModifiers::NONE)),
            Some(Action::Cancel)
        );
        // Lowercase r is not rollback; every action has a key.
        assert_eq!(km.action(&ch('r')), None);
        for a in Action::ALL {
            assert!(!km.keys_for(a).is_empty(), "{a:?} unbound");
        }
        assert_eq!(km.keys_for(Action::SelectNext), ["j", "Down"]);
        assert_eq!(km.keys_for(Action::Cancel), ["n", "Esc"]);
        assert_eq!(km.keys_for(Action::Quit), ["q", "Ctrl-c"]);
        assert_eq!(km.keys_for(Action::StepUp), ["]"]);
    }

    #[test]
    fn shift_is_ignored_on_chars() {
        let km = KeyMap::default();
        // Some terminals report ']' or '?' with SHIFT, some without.
        assert_eq!(
            km.action(&ev(KeyCode::Char(']'), KeyModifiers::SHIFT)),
            Some(Action::StepUp)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(Action::Help)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('R'), KeyModifiers::NONE)),
            Some(Action::Rollback)
        );
        // But not on named keys, and not with Ctrl or Alt added.
        assert_eq!(km.action(&ev(KeyCode::Up, KeyModifiers::SHIFT)), None);
        assert_eq!(
            km.action(&ev(KeyCode::Char('j'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(km.action(&ev(KeyCode::Char('j'), KeyModifiers::ALT)), None);
    }

    #[test]
    fn releases_are_ignored() {
        let km = KeyMap::default();
        let mut e = ch('q');
        e.kind = KeyEventKind::Release;
        assert_eq!(km.action(&e), None);
        e.kind = KeyEventKind::Repeat;
        assert_eq!(km.action(&e), Some(Action::Quit));
    }

    #[test]
    fn remap_works() {
        let cfg = keys_cfg(&[
            (Action::StepUp, &["+", "Ctrl-Up"]),
            (Action::StepDown, &["-"]),
            (Action::Quit, &["Ctrl-q", "F10"]),
            (Action::Help, &["F1", "Alt-h"]),
        ]);
        let km = KeyMap::from_config(&cfg).unwrap();
        assert_eq!(km.action(&ch('+')), Some(Action::StepUp));
        assert_eq!(
            km.action(&ev(KeyCode::Up, KeyModifiers::CONTROL)),
            Some(Action::StepUp)
        );
        assert_eq!(km.action(&ch(']')), None, "old key is released");
        assert_eq!(km.action(&ch('-')), Some(Action::StepDown));
        assert_eq!(km.action(&ch('q')), None);
        assert_eq!(
            km.action(&ev(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            km.action(&ev(KeyCode::F(10), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('h'), KeyModifiers::ALT)),
            Some(Action::Help)
        );
        // Untouched fields keep their defaults.
        assert_eq!(km.action(&ch('R')), Some(Action::Rollback));
        assert_eq!(km.keys_for(Action::StepUp), ["+", "Ctrl-Up"]);
        assert_eq!(km.keys_for(Action::Quit), ["Ctrl-q", "F10", "Ctrl-c"]);
        assert_eq!(km.keys_for(Action::Help), ["F1", "Alt-h"]);
    }

    #[test]
    fn empty_list_unbinds() {
        let cfg = keys_cfg(&[(Action::Quit, &[])]);
        let km = KeyMap::from_config(&cfg).unwrap();
        assert_eq!(km.action(&ch('q')), None);
        assert_eq!(km.keys_for(Action::Quit), ["Ctrl-c"]);
    }

    #[test]
    fn key_syntax() {
        let ok = [
            ("]", "]"),
            ("R", "R"),
            ("esc", "Esc"),
            ("ESCAPE", "Esc"),
            ("Space", "Space"),
            (" ", "Space"),
            ("pagedown", "PageDown"),
            ("F12", "F12"),
            ("Ctrl-c", "Ctrl-c"),
            ("ctrl+C", "Ctrl-c"),
            ("Alt-X", "Alt-X"),
            ("Ctrl-Alt-Del", "Ctrl-Alt-Delete"),
            ("-", "-"),
            ("+", "+"),
            ("Ctrl--", "Ctrl--"),
            ("c", "c"),
        ];
        for (input, shown) in ok {
            assert_eq!(
                Key::parse(input).map(|k| k.to_string()).as_deref(),
                Ok(shown),
                "{input}"
            );
        }
        for bad in [
            "", "Ctrl-", "F0", "F13", "F01", "Shift-Up", "jj", "Hyper-x", "C-x", "\t",
        ] {
            assert_eq!(
                Key::parse(bad),
                Err(format!("unknown key {bad:?}")),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_key_string_error_names_field_and_value() {
        let cfg = keys_cfg(&[(Action::StepUp, &["Ctrl-"])]);
        assert_eq!(
            KeyMap::from_config(&cfg).unwrap_err(),
            r#"keys.step_up: unknown key "Ctrl-""#
        );
    }

    #[test]
    fn duplicate_binding_is_an_error_naming_both() {
        // Remapped onto another action's default.
        let cfg = keys_cfg(&[(Action::Veto, &["n"])]);
        let err = KeyMap::from_config(&cfg).unwrap_err();
        assert!(err.starts_with("keys.veto: "), "{err}");
        assert!(
            err.contains("veto") && err.contains("cancel") && err.contains("\"n\""),
            "{err}"
        );
        // Two configured fields on the same key.
        let cfg = keys_cfg(&[(Action::StepUp, &["+"]), (Action::StepDown, &["+"])]);
        let err = KeyMap::from_config(&cfg).unwrap_err();
        assert_eq!(
            err,
            r#"keys.step_down: key "+" is bound to both step_up and step_down"#
        );
        // The same key twice in one list.
        let cfg = keys_cfg(&[(Action::Help, &["?", "?"])]);
        assert!(KeyMap::from_config(&cfg).unwrap_err().contains("twice"));
        // Confirm and cancel on the same key is rejected like any other clash.
        let cfg = keys_cfg(&[(Action::Confirm, &["Enter"]), (Action::Cancel, &["Enter"])]);
        assert!(KeyMap::from_config(&cfg).is_err());
    }

    #[test]
    fn ctrl_c_always_quits() {
        let c = |mods| ev(KeyCode::Char('c'), mods);
        let km = KeyMap::default();
        assert_eq!(km.action(&c(KeyModifiers::CONTROL)), Some(Action::Quit));
        // Caps lock or Ctrl-Shift-c.
        assert_eq!(
            km.action(&ev(
                KeyCode::Char('C'),
                KeyModifiers::CONTROL | KeyModifiers::SHIFT
            )),
            Some(Action::Quit)
        );
        // Even with quit unbound.
        let km = KeyMap::from_config(&keys_cfg(&[(Action::Quit, &[])])).unwrap();
        assert_eq!(km.action(&c(KeyModifiers::CONTROL)), Some(Action::Quit));
        // And it cannot be given away.
        let err = KeyMap::from_config(&keys_cfg(&[(Action::Help, &["Ctrl-c"])])).unwrap_err();
        assert!(err.starts_with("keys.help: "), "{err}");
        // Binding it to quit explicitly is fine and not listed twice.
        let km = KeyMap::from_config(&keys_cfg(&[(Action::Quit, &["Ctrl-c"])])).unwrap();
        assert_eq!(km.keys_for(Action::Quit), ["Ctrl-c"]);
        // Plain c is not quit.
        assert_eq!(KeyMap::default().action(&ch('c')), None);
    }

    #[test]
    fn keys_config_parses_string_or_list() {
        let cfg: KeysConfig = toml::from_str(
            r#"
            step_up = "]"
            select_next = ["j", "Down"]
            override = "O"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.get(Action::StepUp), keys(&["]"]).as_ref());
        assert_eq!(cfg.get(Action::SelectNext), keys(&["j", "Down"]).as_ref());
        assert_eq!(cfg.get(Action::Override), keys(&["O"]).as_ref());
        assert_eq!(cfg.get(Action::StepDown), None);
        // The same words as when `KeysConfig` was a derived struct with `deny_unknown_fields`.
        let err = toml::from_str::<KeysConfig>("stepup = \"]\"").unwrap_err();
        assert_eq!(
            err.message(),
            "unknown field `stepup`, expected one of `select_next`, `select_prev`, \
             `cycle_scope`, `step_up`, `step_down`, `rollback`, `drain`, `veto`, `confirm`, \
             `cancel`, `override`, `filter`, `command`, `failures`, `sort`, `describe`, `log`, `next_theme`, \
             `help`, `quit`"
        );
        assert_eq!(err.span(), Some(0..6), "the error points at the field name");
        let err = toml::from_str::<crate::config::Config>("keys = 5").unwrap_err();
        assert_eq!(
            err.message(),
            "invalid type: integer `5`, expected struct KeysConfig"
        );
        let err = toml::from_str::<KeysConfig>("step_up = 5").unwrap_err();
        assert!(err.message().contains("a key like"), "{err}");
    }
}
