//! Themes: semantic roles mapped to styles. (Placeholder: being replaced by the full loader.)

use ratatui::style::{Color, Modifier, Style};

/// Styles per semantic role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Theme name.
    pub name: String,
    /// Ordinary text.
    pub text: Style,
    /// Secondary text (labels, units).
    pub muted: Style,
    /// Panel borders.
    pub border: Style,
    /// Panel titles.
    pub title: Style,
    /// Header bar.
    pub header: Style,
    /// Selected row.
    pub selected: Style,
    /// The blue build.
    pub blue: Style,
    /// The green build.
    pub green: Style,
    /// Healthy.
    pub ok: Style,
    /// Needs attention.
    pub warn: Style,
    /// Alarm.
    pub alarm: Style,
    /// Stale data.
    pub stale: Style,
    /// Highlights (scope, keys).
    pub accent: Style,
}

impl Theme {
    /// The built-in default.
    pub fn default_theme() -> Theme {
        Theme {
            name: "default".into(),
            text: Style::default(),
            muted: Style::default().fg(Color::Gray),
            border: Style::default().fg(Color::DarkGray),
            title: Style::default().add_modifier(Modifier::BOLD),
            header: Style::default().bg(Color::Blue).fg(Color::White),
            selected: Style::default().add_modifier(Modifier::REVERSED),
            blue: Style::default().fg(Color::LightBlue),
            green: Style::default().fg(Color::LightGreen),
            ok: Style::default().fg(Color::Green),
            warn: Style::default().fg(Color::Yellow),
            alarm: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            stale: Style::default().fg(Color::DarkGray).add_modifier(Modifier::DIM),
            accent: Style::default().fg(Color::Cyan),
        }
    }
}

/// The themes the cockpit can cycle through.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeSet {
    /// Themes in cycle order; never empty.
    pub themes: Vec<Theme>,
}

impl ThemeSet {
    /// Only the built-in themes.
    pub fn builtin() -> ThemeSet {
        ThemeSet {
            themes: vec![Theme::default_theme()],
        }
    }

    /// Index of the theme called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.themes.iter().position(|t| t.name == name)
    }
}
