//! Tab completion of the `:` line: the word under the cursor (the line's last word) is
//! completed from what `command::run` accepts at its position. Pure: file paths (`:plan
//! FILE`) are never completed, the core does no IO.

use super::command;
use super::state::{Level, State};
use super::update::notify;

/// Longest line Tab may produce: the line editor's own limit.
const MAX_LINE: usize = 200;

/// What one position of a command line accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepts {
    /// Words Tab can complete there, in the order they are offered.
    pub words: Vec<String>,
    /// Free text also accepted there (e.g. `+N, -N`), described, never completed.
    pub free: Option<&'static str>,
}

impl Accepts {
    fn words(words: &[&str]) -> Accepts {
        Accepts {
            words: words.iter().map(|w| w.to_string()).collect(),
            free: None,
        }
    }

    /// "blue, green or auto", "to or +N, -N", "nothing more".
    fn describe(&self) -> String {
        match (self.words.is_empty(), self.free) {
            (true, None) => "nothing more".to_string(),
            (true, Some(free)) => free.to_string(),
            (false, None) => self.words.join(", "),
            (false, Some(free)) => format!("{} or {free}", self.words.join(", ")),
        }
    }
}

/// What is accepted after the words `done` (the words before the cursor's); `None` when the
/// verb is unknown, so nothing after it can be.
pub fn accepts(s: &State, done: &[&str]) -> Option<Accepts> {
    let Some((&verb, args)) = done.split_first() else {
        return Some(Accepts::words(&command::verbs()));
    };
    let none = Accepts::words(&[]);
    let first = args.is_empty();
    Some(match verb {
        "step" if first => Accepts {
            free: Some("+N, -N"),
            ..Accepts::words(&["to"])
        },
        "step" if args == ["to"] => Accepts {
            free: Some("a weight N in 0..100"),
            ..none
        },
        "candidate" if first => Accepts::words(&["blue", "green", "auto"]),
        "drain" | "start" | "restart" if first => Accepts::words(&["blue", "green"]),
        "scope" if first => Accepts::words(&["gateway", "az", "fleet"]),
        "sort" if first => Accepts::words(&["config", "5xx", "ttft", "burn", "name"]),
        "plan" if first => Accepts {
            free: Some("a plan FILE (paths are not completed)"),
            ..Accepts::words(&["pause", "resume", "promote", "abort", "veto"])
        },
        "theme" if first => Accepts {
            words: dedup(s.themes.iter().cloned()),
            free: None,
        },
        "filter" if first => Accepts {
            // What the filter matches: gateway names and AZs.
            words: dedup(
                s.gateways
                    .iter()
                    .map(|g| g.name.clone())
                    .chain(s.azs().into_iter().map(String::from)),
            ),
            free: Some("any TEXT of a name or AZ"),
        },
        "step" | "candidate" | "drain" | "start" | "restart" | "scope" | "sort" | "plan"
        | "theme" | "filter" | "rollback" | "veto" | "failures" | "describe" | "log" | "help"
        | "quit" | "q" => none,
        _ => return None,
    })
}

fn dedup(words: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// What Tab makes of a line: the new line, and what to tell the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The line after Tab (the same line when nothing could be added).
    pub line: String,
    /// The candidates, or why there are none, for the notice line.
    pub notice: Option<String>,
}

/// Complete the last word of `line` (the cursor is always at the end of the `:` line). One
/// candidate: completed and followed by a space. Several: completed to their longest
/// common prefix, and listed. None: a notice saying what is accepted there.
pub fn complete(s: &State, line: &str) -> Completion {
    let start = line
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let (head, word) = line.split_at(start);
    let done: Vec<&str> = head.split_whitespace().collect();
    let unchanged = |notice: String| Completion {
        line: line.to_string(),
        notice: Some(notice),
    };
    let Some(acc) = accepts(s, &done) else {
        return unchanged(format!(
            "nothing matches: unknown command {} (commands: {})",
            done[0],
            command::verbs().join(", ")
        ));
    };
    let matches: Vec<&str> = acc
        .words
        .iter()
        .map(String::as_str)
        .filter(|w| w.starts_with(word))
        .collect();
    // With free text accepted too, an empty word may be meant as that text: list, do not pick.
    let pick = !(acc.free.is_some() && word.is_empty());
    match matches[..] {
        [] if acc.words.is_empty() && acc.free.is_none() => unchanged(format!(
            "nothing to complete: {} takes nothing more",
            done.join(" ")
        )),
        [] if word.is_empty() => unchanged(format!(
            "nothing to complete; accepted here: {}",
            acc.describe()
        )),
        [] => unchanged(format!(
            "nothing matches {word}; accepted here: {}",
            acc.describe()
        )),
        [only] if pick => Completion {
            line: format!("{head}{only} "),
            notice: None,
        },
        _ => {
            let prefix = if pick { common_prefix(&matches) } else { word };
            let mut notice = format!("candidates: {}", matches.join(" "));
            if let Some(free) = acc.free {
                notice.push_str(&format!(" (or {free})"));
            }
            Completion {
                line: format!("{head}{prefix}"),
                notice: Some(notice),
            }
        }
    }
}

/// The longest prefix all `words` share (whole characters).
fn common_prefix<'a>(words: &[&'a str]) -> &'a str {
    let Some((first, rest)) = words.split_first() else {
        return "";
    };
    let mut end = first.len();
    for w in rest {
        let mut shared = 0;
        for ((i, a), b) in first.char_indices().zip(w.chars()) {
            if a != b {
                break;
            }
            shared = i + a.len_utf8();
        }
        end = end.min(shared);
    }
    &first[..end]
}

/// Tab on the `:` line: the completed line; the candidates, or why there are none, go to
/// the notice line.
pub fn tab(s: &mut State, line: &str) -> String {
    let c = complete(s, line);
    if let Some(text) = c.notice {
        notify(s, Level::Info, text);
    }
    if c.line.chars().count() > MAX_LINE {
        return line.to_string();
    }
    c.line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gw-a1, gw-a2 in eu-1a; gw-b1 in eu-1b; themes default, solar-dark, solar-light.
    fn state() -> State {
        crate::app::state::test_state(
            &[("gw-a1", "eu-1a"), ("gw-a2", "eu-1a"), ("gw-b1", "eu-1b")],
            &["default", "solar-dark", "solar-light"],
        )
    }

    fn done(line: &str, notice: Option<&str>) -> Completion {
        Completion {
            line: line.to_string(),
            notice: notice.map(String::from),
        }
    }

    #[test]
    fn a_verb_completes_alone_lists_several_or_says_none() {
        let s = state();
        assert_eq!(complete(&s, "ca"), done("candidate ", None));
        assert_eq!(
            complete(&s, "  th"),
            done("  theme ", None),
            "leading blanks kept"
        );
        assert_eq!(
            complete(&s, "f"),
            done("f", Some("candidates: filter failures"))
        );
        assert_eq!(complete(&s, "fa"), done("failures ", None));
        let c = complete(&s, "");
        assert_eq!(c.line, "");
        let listed = c.notice.unwrap();
        for verb in command::verbs() {
            assert!(listed.contains(verb), "{verb} in {listed}");
        }
        let c = complete(&s, "zz");
        assert_eq!(c.line, "zz");
        let notice = c.notice.unwrap();
        assert!(
            notice.starts_with("nothing matches zz; accepted here: step, rollback, candidate"),
            "{notice}"
        );
    }

    #[test]
    fn arguments_complete_per_verb() {
        let s = state();
        assert_eq!(complete(&s, "candidate g"), done("candidate green ", None));
        assert_eq!(complete(&s, "scope  a"), done("scope  az ", None));
        assert_eq!(complete(&s, "drain b"), done("drain blue ", None));
        assert_eq!(complete(&s, "plan res"), done("plan resume ", None));
        assert_eq!(complete(&s, "step t"), done("step to ", None));
        // Several: listed, the line unchanged when they share nothing more.
        assert_eq!(
            complete(&s, "candidate "),
            done("candidate ", Some("candidates: blue green auto"))
        );
        assert_eq!(
            complete(&s, "plan p"),
            done(
                "plan p",
                Some("candidates: pause promote (or a plan FILE (paths are not completed))")
            )
        );
        // None: what is accepted there.
        assert_eq!(
            complete(&s, "scope x"),
            done(
                "scope x",
                Some("nothing matches x; accepted here: gateway, az, fleet")
            )
        );
        assert_eq!(
            complete(&s, "candidate blue "),
            done(
                "candidate blue ",
                Some("nothing to complete: candidate blue takes nothing more")
            )
        );
        assert_eq!(
            complete(&s, "rollback n"),
            done(
                "rollback n",
                Some("nothing to complete: rollback takes nothing more")
            )
        );
        assert_eq!(
            complete(&s, "step to "),
            done(
                "step to ",
                Some("nothing to complete; accepted here: a weight N in 0..100")
            )
        );
        let c = complete(&s, "stpe x");
        assert!(
            c.notice
                .unwrap()
                .starts_with("nothing matches: unknown command stpe"),
            "no argument of an unknown verb"
        );
    }

    #[test]
    fn free_text_positions_list_words_without_picking_one() {
        let s = state();
        // `step ` may go on with +N or -N: "to" is offered, not forced.
        assert_eq!(
            complete(&s, "step "),
            done("step ", Some("candidates: to (or +N, -N)"))
        );
        assert_eq!(
            complete(&s, "step +"),
            done(
                "step +",
                Some("nothing matches +; accepted here: to or +N, -N")
            )
        );
        // A path is never completed: the core does no IO.
        assert_eq!(
            complete(&s, "plan plans/ra"),
            done(
                "plan plans/ra",
                Some(
                    "nothing matches plans/ra; accepted here: pause, resume, promote, abort, veto or a plan FILE (paths are not completed)"
                )
            )
        );
    }

    #[test]
    fn theme_names_complete_from_the_state() {
        let s = state();
        assert_eq!(complete(&s, "theme d"), done("theme default ", None));
        assert_eq!(
            complete(&s, "theme s"),
            done("theme solar-", Some("candidates: solar-dark solar-light")),
            "several: up to their common prefix"
        );
        assert_eq!(
            complete(&s, "theme solar-l"),
            done("theme solar-light ", None)
        );
        assert_eq!(
            complete(&s, "theme n"),
            done(
                "theme n",
                Some("nothing matches n; accepted here: default, solar-dark, solar-light")
            )
        );
    }

    #[test]
    fn filter_completes_gateway_names_and_azs() {
        let s = state();
        assert_eq!(complete(&s, "filter gw-b"), done("filter gw-b1 ", None));
        assert_eq!(complete(&s, "filter eu-1b"), done("filter eu-1b ", None));
        assert_eq!(
            complete(&s, "filter g"),
            done(
                "filter gw-",
                Some("candidates: gw-a1 gw-a2 gw-b1 (or any TEXT of a name or AZ)")
            )
        );
        assert_eq!(
            complete(&s, "filter e"),
            done(
                "filter eu-1",
                Some("candidates: eu-1a eu-1b (or any TEXT of a name or AZ)")
            ),
            "each AZ once"
        );
        assert_eq!(
            complete(&s, "filter x"),
            done(
                "filter x",
                Some(
                    "nothing matches x; accepted here: gw-a1, gw-a2, gw-b1, eu-1a, eu-1b or any TEXT of a name or AZ"
                )
            )
        );
    }

    #[test]
    fn every_verb_of_the_help_has_its_arguments_known() {
        let s = state();
        for verb in command::verbs() {
            assert!(accepts(&s, &[verb]).is_some(), "{verb}");
        }
    }

    #[test]
    fn common_prefix_is_whole_characters() {
        assert_eq!(common_prefix(&["solar-dark", "solar-light"]), "solar-");
        assert_eq!(common_prefix(&["été", "étui"]), "ét");
        assert_eq!(common_prefix(&["ab", "abc"]), "ab");
        assert_eq!(common_prefix(&["abc", "ab"]), "ab");
        assert_eq!(common_prefix(&["x"]), "x");
    }

    #[test]
    fn tab_on_the_command_line_completes_and_shows_candidates() {
        use crate::app::keys::{KeyCode, KeyEvent, KeyModifiers};
        use crate::app::msg::Msg;
        use crate::app::state::Input;
        use crate::app::update::update;
        let mut s = state();
        let press = |s: &mut State, code: KeyCode| {
            update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), 0);
        };
        press(&mut s, KeyCode::Char(':'));
        for c in "theme s".chars() {
            press(&mut s, KeyCode::Char(c));
        }
        press(&mut s, KeyCode::Tab);
        assert_eq!(s.input, Input::Command("theme solar-".into()));
        assert_eq!(
            s.notice.as_ref().map(|n| n.text.as_str()),
            Some("candidates: solar-dark solar-light")
        );
        press(&mut s, KeyCode::Char('d'));
        press(&mut s, KeyCode::Tab);
        assert_eq!(s.input, Input::Command("theme solar-dark ".into()));
        press(&mut s, KeyCode::Enter);
        assert_eq!(s.theme, 1);
        // The filter line takes no completion: Tab there is not typed either.
        press(&mut s, KeyCode::Char('/'));
        press(&mut s, KeyCode::Char('g'));
        press(&mut s, KeyCode::Tab);
        assert_eq!(s.input, Input::Filter("g".into()));
    }
}
