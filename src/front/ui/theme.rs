//! Themes: semantic roles mapped to styles, loaded from `themes/*.toml`.
//!
//! The shipped themes are embedded in the binary; user themes come from extra
//! directories and replace a built-in of the same name. A role missing from a file
//! falls back to the built-in default theme's role. See `docs/configuration.md`.

use crate::config::ConfigError;
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use toml::Spanned;

/// The embedded theme files, default first: (path shown in errors, contents).
pub(crate) const BUILTIN_FILES: [(&str, &str); 4] = [
    (
        "themes/default.toml",
        include_str!("../../../themes/default.toml"),
    ),
    (
        "themes/colorblind.toml",
        include_str!("../../../themes/colorblind.toml"),
    ),
    (
        "themes/high-contrast.toml",
        include_str!("../../../themes/high-contrast.toml"),
    ),
    (
        "themes/mono.toml",
        include_str!("../../../themes/mono.toml"),
    ),
];

/// The role names a theme file may set under `[roles]`, in display order.
pub(crate) const ROLES: [&str; 13] = [
    "text", "muted", "border", "title", "header", "selected", "blue", "green", "ok", "warn",
    "alarm", "stale", "accent",
];

/// Styles per semantic role.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Theme {
    /// Theme name.
    pub(crate) name: String,
    /// One line about the theme (for help and `:theme`).
    pub(crate) description: String,
    /// Ordinary text.
    pub(crate) text: Style,
    /// Secondary text (labels, units).
    pub(crate) muted: Style,
    /// Panel borders.
    pub(crate) border: Style,
    /// Panel titles.
    pub(crate) title: Style,
    /// Header bar.
    pub(crate) header: Style,
    /// Selected row.
    pub(crate) selected: Style,
    /// The blue build.
    pub(crate) blue: Style,
    /// The green build.
    pub(crate) green: Style,
    /// Healthy.
    pub(crate) ok: Style,
    /// Needs attention.
    pub(crate) warn: Style,
    /// Alarm.
    pub(crate) alarm: Style,
    /// Stale data.
    pub(crate) stale: Style,
    /// Highlights (scope, keys).
    pub(crate) accent: Style,
}

/// A theme file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    roles: RolesFile,
}

/// The `[roles]` table: one optional entry per role.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RolesFile {
    text: Option<RoleFile>,
    muted: Option<RoleFile>,
    border: Option<RoleFile>,
    title: Option<RoleFile>,
    header: Option<RoleFile>,
    selected: Option<RoleFile>,
    blue: Option<RoleFile>,
    green: Option<RoleFile>,
    ok: Option<RoleFile>,
    warn: Option<RoleFile>,
    alarm: Option<RoleFile>,
    stale: Option<RoleFile>,
    accent: Option<RoleFile>,
}

impl RolesFile {
    fn into_entries(self) -> [(&'static str, Option<RoleFile>); 13] {
        [
            ("text", self.text),
            ("muted", self.muted),
            ("border", self.border),
            ("title", self.title),
            ("header", self.header),
            ("selected", self.selected),
            ("blue", self.blue),
            ("green", self.green),
            ("ok", self.ok),
            ("warn", self.warn),
            ("alarm", self.alarm),
            ("stale", self.stale),
            ("accent", self.accent),
        ]
    }
}

/// One role as written: colors and modifiers.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    fg: Option<Spanned<String>>,
    bg: Option<Spanned<String>>,
    bold: Option<bool>,
    dim: Option<bool>,
    italic: Option<bool>,
    underline: Option<bool>,
    reversed: Option<bool>,
}

impl Theme {
    /// The built-in default (parsed once from the embedded `themes/default.toml`).
    pub(crate) fn default_theme() -> Theme {
        static DEFAULT: OnceLock<Theme> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                let (path, src) = BUILTIN_FILES[0];
                let bare = Theme::bare("default");
                Theme::parse_over(src, Path::new(path), &bare)
                    .expect("embedded default theme is valid")
            })
            .clone()
    }

    /// A theme with every role unstyled.
    fn bare(name: &str) -> Theme {
        let s = Style::default();
        Theme {
            name: name.into(),
            description: String::new(),
            text: s,
            muted: s,
            border: s,
            title: s,
            header: s,
            selected: s,
            blue: s,
            green: s,
            ok: s,
            warn: s,
            alarm: s,
            stale: s,
            accent: s,
        }
    }

    /// Parse a theme file; `path` names it in errors and its stem is the name when `name` is absent.
    /// Missing roles take the default theme's style.
    pub(crate) fn parse(src: &str, path: &Path) -> Result<Theme, String> {
        Theme::parse_over(src, path, &Theme::default_theme())
    }

    fn parse_over(src: &str, path: &Path, base: &Theme) -> Result<Theme, String> {
        let err = |span, msg: &str| ConfigError::at_span(path, src, span, msg).to_string();
        let file: ThemeFile =
            toml::from_str(src).map_err(|e| ConfigError::from_toml(path, src, &e).to_string())?;
        let name = match file.name {
            Some(n) => n,
            None => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        if name.trim().is_empty() {
            return Err(err(Some(0..0), "the theme needs a name"));
        }
        let mut theme = base.clone();
        theme.name = name;
        theme.description = file.description;
        for (role, entry) in file.roles.into_entries() {
            let Some(entry) = entry else { continue };
            let color = |c: &Option<Spanned<String>>,
                         what: &str|
             -> Result<Option<Color>, String> {
                let Some(c) = c else { return Ok(None) };
                Color::from_str(c.get_ref()).map(Some).map_err(|_| {
                    let e = ConfigError {
                        field: Some(format!("roles.{role}.{what}")),
                        ..ConfigError::at_span(
                            path,
                            src,
                            Some(c.span()),
                            &format!(
                                "invalid color {:?} (use a name like \"red\" or \"darkgray\", \"#rrggbb\", or 0-255)",
                                c.get_ref()
                            ),
                        )
                    };
                    e.to_string()
                })
            };
            let mut style = Style::default();
            if let Some(c) = color(&entry.fg, "fg")? {
                style = style.fg(c);
            }
            if let Some(c) = color(&entry.bg, "bg")? {
                style = style.bg(c);
            }
            for (flag, m) in [
                (entry.bold, Modifier::BOLD),
                (entry.dim, Modifier::DIM),
                (entry.italic, Modifier::ITALIC),
                (entry.underline, Modifier::UNDERLINED),
                (entry.reversed, Modifier::REVERSED),
            ] {
                style = match flag {
                    Some(true) => style.add_modifier(m),
                    // Explicitly off: also switches it off when patched over a parent style.
                    Some(false) => style.remove_modifier(m),
                    None => style,
                };
            }
            *theme.role_mut(role).expect("role names come from ROLES") = style;
        }
        Ok(theme)
    }

    /// The style of a role by name (see [`ROLES`]), to set it.
    fn role_mut(&mut self, name: &str) -> Option<&mut Style> {
        let t = self;
        Some(match name {
            "text" => &mut t.text,
            "muted" => &mut t.muted,
            "border" => &mut t.border,
            "title" => &mut t.title,
            "header" => &mut t.header,
            "selected" => &mut t.selected,
            "blue" => &mut t.blue,
            "green" => &mut t.green,
            "ok" => &mut t.ok,
            "warn" => &mut t.warn,
            "alarm" => &mut t.alarm,
            "stale" => &mut t.stale,
            "accent" => &mut t.accent,
            _ => return None,
        })
    }

    /// The same theme with every foreground, background and underline color removed.
    pub(crate) fn without_colors(&self) -> Theme {
        let mut t = self.clone();
        for role in ROLES {
            let s = t.role_mut(role).expect("known role");
            s.fg = None;
            s.bg = None;
            s.underline_color = None;
        }
        t
    }
}

/// The themes the cockpit can cycle through.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeSet {
    /// Themes in cycle order; never empty.
    pub(crate) themes: Vec<Theme>,
}

impl ThemeSet {
    /// Only the built-in themes: default, colorblind, high-contrast, mono.
    pub fn builtin() -> ThemeSet {
        let themes = BUILTIN_FILES
            .iter()
            .enumerate()
            .map(|(i, (path, src))| {
                if i == 0 {
                    Theme::default_theme()
                } else {
                    Theme::parse(src, Path::new(path)).expect("embedded themes are valid")
                }
            })
            .collect();
        ThemeSet { themes }
    }

    /// The built-ins plus every `*.toml` in each of `extra_dirs` (missing dirs are skipped).
    /// A user theme replaces a theme of the same name; later dirs win over earlier ones.
    /// With `no_color`, the `mono` theme is guaranteed colorless even if a user file replaced it.
    pub fn load(extra_dirs: &[PathBuf], no_color: bool) -> Result<ThemeSet, String> {
        let mut set = ThemeSet::builtin();
        for dir in extra_dirs {
            if !dir.exists() {
                continue;
            }
            let entries = std::fs::read_dir(dir)
                .map_err(|e| format!("{}: cannot read theme directory: {e}", dir.display()))?;
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry
                    .map_err(|e| format!("{}: cannot read theme directory: {e}", dir.display()))?;
                let path = entry.path();
                if path.extension().is_some_and(|x| x == "toml") {
                    files.push(path);
                }
            }
            files.sort();
            let mut seen: Vec<(String, PathBuf)> = Vec::new();
            for path in files {
                let src = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
                let theme = Theme::parse(&src, &path)?;
                if let Some((_, first)) = seen.iter().find(|(n, _)| *n == theme.name) {
                    return Err(format!(
                        "{}: theme {:?} is already defined by {}",
                        path.display(),
                        theme.name,
                        first.display()
                    ));
                }
                seen.push((theme.name.clone(), path));
                match set.index_of(&theme.name) {
                    Some(i) => set.themes[i] = theme,
                    None => set.themes.push(theme),
                }
            }
        }
        if no_color {
            if let Some(i) = set.index_of("mono") {
                set.themes[i] = set.themes[i].without_colors();
            }
        }
        Ok(set)
    }

    /// Index of the theme called `name`.
    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.themes.iter().position(|t| t.name == name)
    }

    /// Names of all themes, in cycle order.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.themes.iter().map(|t| t.name.as_str()).collect()
    }

    /// Names of all themes, in cycle order, for the cockpit state.
    pub fn owned_names(&self) -> Vec<String> {
        self.themes.iter().map(|t| t.name.clone()).collect()
    }

    /// The theme to start with: `requested` (from `--theme` or the config) wins,
    /// else `mono` when `no_color`, else `default`.
    pub(crate) fn select(&self, requested: Option<&str>, no_color: bool) -> Result<usize, String> {
        if let Some(name) = requested {
            return self.index_of(name).ok_or_else(|| {
                format!(
                    "unknown theme {name:?}; available: {}",
                    self.names().join(", ")
                )
            });
        }
        let fallback = if no_color { "mono" } else { "default" };
        Ok(self.index_of(fallback).unwrap_or(0))
    }
}

/// True when `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
pub(crate) fn no_color_from_env() -> bool {
    no_color_value(std::env::var_os("NO_COLOR"))
}

fn no_color_value(v: Option<std::ffi::OsString>) -> bool {
    v.is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn styles(t: &Theme) -> Vec<(&'static str, Style)> {
        let mut t = t.clone();
        ROLES
            .iter()
            .map(|r| (*r, *t.role_mut(r).unwrap()))
            .collect()
    }

    /// A fresh, empty directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let name = format!(
                "cutover-theme-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            );
            let p = std::env::temp_dir().join(name);
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn write(&self, file: &str, contents: &str) -> PathBuf {
            let p = self.0.join(file);
            std::fs::write(&p, contents).unwrap();
            p
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn every_embedded_theme_parses_and_sets_every_role() {
        for (path, src) in BUILTIN_FILES {
            let file: ThemeFile = toml::from_str(src).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(file.name.is_some(), "{path} names itself");
            assert!(!file.description.is_empty(), "{path} has a description");
            for (role, entry) in file.roles.into_entries() {
                assert!(entry.is_some(), "{path} sets {role} explicitly");
            }
            Theme::parse(src, Path::new(path)).unwrap();
        }
        let set = ThemeSet::builtin();
        assert_eq!(
            set.names(),
            ["default", "colorblind", "high-contrast", "mono"]
        );
        assert_eq!(set.themes[0], Theme::default_theme());
    }

    #[test]
    fn default_theme_keeps_the_signals() {
        let t = Theme::default_theme();
        assert_eq!(t.alarm.fg, Some(Color::Red));
        assert!(t.alarm.add_modifier.contains(Modifier::BOLD));
        assert!(t.stale.add_modifier.contains(Modifier::DIM));
        assert_ne!(t.blue, t.green);
    }

    #[test]
    fn colorblind_builds_differ_from_default_and_from_each_other() {
        let set = ThemeSet::builtin();
        let d = &set.themes[set.index_of("default").unwrap()];
        let cb = &set.themes[set.index_of("colorblind").unwrap()];
        assert_ne!(cb.blue, d.blue);
        assert_ne!(cb.green, d.green);
        assert_eq!(cb.blue.fg, Some(Color::Rgb(0x00, 0x72, 0xB2)));
        assert_eq!(cb.green.fg, Some(Color::Rgb(0xE6, 0x9F, 0x00)));
        assert_eq!(cb.alarm.fg, Some(Color::Rgb(0xD5, 0x5E, 0x00)));
        // Not by hue alone: the builds and the alarm differ in modifiers too.
        assert_ne!(cb.blue.add_modifier, cb.green.add_modifier);
        assert!(
            cb.alarm
                .add_modifier
                .contains(Modifier::BOLD | Modifier::UNDERLINED)
        );
        assert_ne!(cb.ok.add_modifier, cb.alarm.add_modifier);
        assert!(cb.description.contains("orange"), "{}", cb.description);
    }

    #[test]
    fn mono_has_no_colors() {
        let set = ThemeSet::builtin();
        let mono = &set.themes[set.index_of("mono").unwrap()];
        for (role, s) in styles(mono) {
            assert_eq!(
                (s.fg, s.bg, s.underline_color),
                (None, None, None),
                "mono.{role}"
            );
        }
        // Still distinguishes the signals that matter.
        assert_ne!(mono.blue, mono.green);
        assert_ne!(mono.alarm, mono.text);
        assert_ne!(mono.stale, mono.text);
        assert_ne!(mono.warn, mono.alarm);
    }

    #[test]
    fn high_contrast_sets_a_background_with_every_foreground() {
        let set = ThemeSet::builtin();
        let hc = &set.themes[set.index_of("high-contrast").unwrap()];
        for (role, s) in styles(hc) {
            assert!(
                s.fg.is_some() && s.bg.is_some(),
                "high-contrast.{role}: {s:?}"
            );
        }
    }

    #[test]
    fn missing_roles_fall_back_to_default() {
        let t = Theme::parse(
            "[roles]\nalarm = { fg = \"magenta\" }\n",
            Path::new("x/neon.toml"),
        )
        .unwrap();
        let d = Theme::default_theme();
        assert_eq!(t.name, "neon", "name from the file stem");
        assert_eq!(t.alarm, Style::default().fg(Color::Magenta));
        assert_eq!(t.blue, d.blue);
        assert_eq!(t.header, d.header);
    }

    #[test]
    fn role_table_parses_every_attribute() {
        let src = r##"
name = "t"
[roles]
header = { fg = "white", bg = "#102030", bold = true, dim = true, italic = true, underline = true, reversed = true }
muted = { fg = "244", bold = false }
"##;
        let t = Theme::parse(src, Path::new("t.toml")).unwrap();
        assert_eq!(t.header.fg, Some(Color::White));
        assert_eq!(t.header.bg, Some(Color::Rgb(0x10, 0x20, 0x30)));
        let all = Modifier::BOLD
            | Modifier::DIM
            | Modifier::ITALIC
            | Modifier::UNDERLINED
            | Modifier::REVERSED;
        assert_eq!(t.header.add_modifier, all);
        assert_eq!(t.muted.fg, Some(Color::Indexed(244)));
        assert!(t.muted.sub_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn bad_color_error_names_file_role_and_value() {
        let src = "name = \"neon\"\n[roles]\nok = { fg = \"green\" }\nalarm = { fg = \"redd\", bold = true }\n";
        let err = Theme::parse(src, Path::new("themes/neon.toml")).unwrap_err();
        assert!(err.starts_with("themes/neon.toml:4:"), "{err}");
        assert!(err.contains("roles.alarm.fg"), "{err}");
        assert!(err.contains("\"redd\""), "{err}");
    }

    #[test]
    fn unknown_role_or_attribute_is_an_error_with_line() {
        let err = Theme::parse(
            "[roles]\nok = {}\nalarms = { fg = \"red\" }\n",
            Path::new("a.toml"),
        )
        .unwrap_err();
        assert!(
            err.starts_with("a.toml:3:1: roles.alarms: unknown field `alarms`"),
            "{err}"
        );
        let err = Theme::parse(
            "[roles]\nalarm = { fg = \"red\", blink = true }\n",
            Path::new("a.toml"),
        )
        .unwrap_err();
        assert!(err.starts_with("a.toml:2:"), "{err}");
        assert!(err.contains("roles.alarm.blink"), "{err}");
        let err = Theme::parse("colour = 1\n", Path::new("a.toml")).unwrap_err();
        assert!(
            err.starts_with("a.toml:1:1: colour: unknown field"),
            "{err}"
        );
    }

    #[test]
    fn unknown_theme_error_lists_names() {
        let set = ThemeSet::builtin();
        assert_eq!(
            set.select(Some("neon"), false).unwrap_err(),
            "unknown theme \"neon\"; available: default, colorblind, high-contrast, mono"
        );
        assert_eq!(set.select(Some("colorblind"), false), Ok(1));
    }

    #[test]
    fn no_color_selection() {
        let set = ThemeSet::builtin();
        let mono = set.index_of("mono").unwrap();
        assert_eq!(set.select(None, true), Ok(mono));
        assert_eq!(set.select(None, false), Ok(0));
        // An explicit choice wins over NO_COLOR (no-color.org).
        assert_eq!(set.select(Some("high-contrast"), true), Ok(2));
        assert!(!no_color_value(None));
        assert!(!no_color_value(Some("".into())));
        assert!(no_color_value(Some("1".into())));
        assert!(no_color_value(Some("0".into())));
    }

    #[test]
    fn load_adds_and_replaces_user_themes() {
        let dir = TempDir::new();
        dir.write(
            "neon.toml",
            "name = \"neon\"\n[roles]\nalarm = { fg = \"magenta\" }\n",
        );
        dir.write("mine.toml", "name = \"default\"\ndescription = \"mine\"\n");
        dir.write(
            "mono.toml",
            "name = \"mono\"\n[roles]\nalarm = { fg = \"red\", bold = true }\n",
        );
        dir.write("README.md", "not a theme");
        let missing = dir.0.join("nope");
        let set = ThemeSet::load(&[missing.clone(), dir.0.clone()], false).unwrap();
        assert_eq!(
            set.names(),
            ["default", "colorblind", "high-contrast", "mono", "neon"]
        );
        assert_eq!(set.themes[0].description, "mine");
        assert_eq!(set.themes[3].alarm.fg, Some(Color::Red));
        // Under NO_COLOR a user "mono" still has no colors.
        let set = ThemeSet::load(std::slice::from_ref(&dir.0), true).unwrap();
        let mono = &set.themes[set.index_of("mono").unwrap()];
        assert!(
            styles(mono)
                .iter()
                .all(|(_, s)| s.fg.is_none() && s.bg.is_none())
        );
        assert!(mono.alarm.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn load_error_names_the_file() {
        let dir = TempDir::new();
        let bad = dir.write(
            "bad.toml",
            "name = \"bad\"\n[roles]\nwarn = { bg = \"yelow\" }\n",
        );
        let err = ThemeSet::load(std::slice::from_ref(&dir.0), false).unwrap_err();
        assert!(err.starts_with(&format!("{}:3:", bad.display())), "{err}");
        assert!(
            err.contains("roles.warn.bg") && err.contains("\"yelow\""),
            "{err}"
        );
        let dir = TempDir::new();
        dir.write("a.toml", "name = \"x\"\n");
        dir.write("b.toml", "name = \"x\"\n");
        let err = ThemeSet::load(std::slice::from_ref(&dir.0), false).unwrap_err();
        assert!(err.contains("b.toml") && err.contains("a.toml"), "{err}");
    }
}
