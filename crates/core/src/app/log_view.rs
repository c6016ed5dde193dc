//! The log view (`l`, `:log`): every log line the cockpit kept (guardrail raises and clears,
//! operations, collectors), scrolled and searched. The panel on the main screen shows the
//! last dozen; this shows the last 2,000. Pure: the lines are in the state.

use super::keys::{KeyCode, KeyEvent};
use super::msg::LogLine;
use super::state::{Popup, State};
use crate::model::Ms;

/// The view's state, kept in its popup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogView {
    /// Lines scrolled up from the newest (0: the newest line is at the bottom).
    pub back: usize,
    /// Only lines containing this (any case) are shown; empty: all.
    pub search: String,
    /// The search text is being typed.
    pub typing: bool,
}

/// Lines a page key moves.
pub const PAGE: usize = 10;

/// Open the view at the newest line.
pub fn open(s: &mut State) {
    s.popup = Some(Popup::Log(LogView::default()));
}

/// The lines `v` shows, oldest first: every kept line, or those matching its search.
pub fn lines<'a>(s: &'a State, v: &LogView) -> Vec<&'a (Ms, LogLine)> {
    let needle = v.search.to_lowercase();
    s.log_history
        .iter()
        .filter(|(_, l)| needle.is_empty() || l.text.to_lowercase().contains(&needle))
        .collect()
}

/// A key in the view. While the search is typed, keys edit it (Enter keeps it, Esc drops
/// it); otherwise j/k and the arrows scroll a line, PageUp/PageDown (or u/d) a page, g/G go
/// to the oldest/newest, `/` searches, Esc clears a search and then closes.
pub fn key(s: &mut State, mut v: LogView, k: KeyEvent) {
    let total = lines(s, &v).len();
    if v.typing {
        match k.code {
            KeyCode::Enter => v.typing = false,
            KeyCode::Esc => {
                v.typing = false;
                v.search.clear();
            }
            KeyCode::Backspace => {
                v.search.pop();
            }
            KeyCode::Char(c) if !c.is_control() && v.search.chars().count() < 80 => {
                v.search.push(c);
            }
            _ => {}
        }
        v.back = 0;
        s.popup = Some(Popup::Log(v));
        return;
    }
    let last = total.saturating_sub(1);
    match k.code {
        KeyCode::Char('k') | KeyCode::Up => v.back = (v.back + 1).min(last),
        KeyCode::Char('j') | KeyCode::Down => v.back = v.back.saturating_sub(1),
        KeyCode::PageUp | KeyCode::Char('u') => v.back = (v.back + PAGE).min(last),
        KeyCode::PageDown | KeyCode::Char('d') => v.back = v.back.saturating_sub(PAGE),
        KeyCode::Char('g') | KeyCode::Home => v.back = last,
        KeyCode::Char('G') | KeyCode::End => v.back = 0,
        KeyCode::Char('/') => {
            v.typing = true;
            v.search.clear();
        }
        KeyCode::Esc if !v.search.is_empty() => {
            v.search.clear();
            v.back = 0;
        }
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('l') => return,
        _ => {}
    }
    s.popup = Some(Popup::Log(v));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::msg::{LogLevel, LogTarget, Msg};
    use crate::app::state::{Gateway, Mode};
    use crate::app::update::update;

    fn state_with(lines: &[&str]) -> State {
        let mut s = State::new(
            Mode::Live,
            vec![Gateway::new("gw-a1", "a", Default::default())],
            Default::default(),
            Default::default(),
            vec!["default".into()],
        );
        for (i, text) in lines.iter().enumerate() {
            s.log_history.push_back((
                i as Ms,
                LogLine {
                    level: LogLevel::Info,
                    target: LogTarget::Guard,
                    text: text.to_string(),
                },
            ));
        }
        s
    }

    fn press(s: &mut State, code: KeyCode) {
        update(s, Msg::Key(KeyEvent::from(code)), 0);
    }

    fn view(s: &State) -> LogView {
        match &s.popup {
            Some(Popup::Log(v)) => v.clone(),
            other => panic!("not the log view: {other:?}"),
        }
    }

    #[test]
    fn it_scrolls_within_the_lines_and_searches_them() {
        let texts: Vec<String> = (0..30).map(|i| format!("line {i}")).collect();
        let mut all: Vec<&str> = texts.iter().map(String::as_str).collect();
        all.push("gw-b1: green 5xx +2.1 pp over blue: auto-rollback in 180 s");
        all.push("gw-b1: 5xx delta cleared");
        let mut s = state_with(&all);
        press(&mut s, KeyCode::Char('l'));
        assert_eq!(view(&s), LogView::default());
        press(&mut s, KeyCode::Char('k'));
        press(&mut s, KeyCode::PageUp);
        assert_eq!(view(&s).back, 11);
        press(&mut s, KeyCode::Char('g'));
        assert_eq!(view(&s).back, 31, "the oldest line, not past it");
        press(&mut s, KeyCode::Char('k'));
        assert_eq!(view(&s).back, 31);
        press(&mut s, KeyCode::Char('G'));
        assert_eq!(view(&s).back, 0);
        press(&mut s, KeyCode::Char('j'));
        assert_eq!(view(&s).back, 0, "not below the newest");
        // Search: typed keys go into the search, not to the cockpit (q does not quit).
        press(&mut s, KeyCode::Char('/'));
        for c in "5XX q".chars() {
            press(&mut s, KeyCode::Char(c));
        }
        press(&mut s, KeyCode::Backspace);
        press(&mut s, KeyCode::Backspace);
        press(&mut s, KeyCode::Enter);
        let v = view(&s);
        assert_eq!((v.search.as_str(), v.typing), ("5XX", false));
        let shown: Vec<&str> = lines(&s, &v).iter().map(|(_, l)| l.text.as_str()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(!s.quit);
        // Esc clears the search, then closes.
        press(&mut s, KeyCode::Esc);
        assert_eq!(view(&s).search, "");
        press(&mut s, KeyCode::Esc);
        assert!(s.popup.is_none());
    }
}
