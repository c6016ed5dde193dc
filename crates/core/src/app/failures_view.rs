//! The failures view (`f`, `:failures`): the current window's failure groups as short
//! clauses; Enter opens a group's newest request with its tries and the serving color's own
//! log lines for its ID, read from the host. Pure: the book is in the state, the log read is
//! an effect.

use super::action::Action;
use super::msg::{ColorLogAnswer, ColorLogAsk, Effect};
use super::state::{Popup, State};
use crate::failures::{ColorLogLine, FailedRequest, Group, GroupKey};
use crate::model::Ms;

/// The view's state, kept in its popup.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FailuresView {
    /// The window shown (its start on the hosts' clocks); `None` follows the newest.
    pub window: Option<Ms>,
    /// The selected group (in the order shown: most failures first).
    pub selected: usize,
    /// The request opened from the selected group, if any.
    pub open: Option<FailureDetail>,
}

/// One request opened from a group: copied when opened, so that new failures do not move it.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureDetail {
    /// Gateway index.
    pub gateway: usize,
    /// The group it came from.
    pub key: GroupKey,
    /// The request.
    pub request: FailedRequest,
    /// The charged color's own log lines for its ID.
    pub log: ColorLogState,
}

/// Where the color's log lines are.
#[derive(Debug, Clone, PartialEq)]
pub enum ColorLogState {
    /// Asked of the host; not answered yet.
    Fetching,
    /// The lines (newest last; empty: the log has none for this ID).
    Lines(Vec<ColorLogLine>),
    /// Why there are none (no log configured, no ID, the host did not answer).
    Unavailable(String),
}

/// Open the view on the newest window.
pub fn open(s: &mut State) {
    s.popup = Some(Popup::Failures(FailuresView::default()));
}

/// The window `v` shows: its own, or the newest the book holds.
pub fn window(s: &State, v: &FailuresView) -> Option<Ms> {
    v.window.or_else(|| s.failures.windows().last().copied())
}

/// The groups `v` shows, most failures first.
pub fn groups<'a>(s: &'a State, v: &FailuresView) -> Vec<&'a Group> {
    window(s, v).map_or_else(Vec::new, |w| s.failures.groups(w))
}

/// A key in the view (Enter comes as `Action::Confirm`). The view stays open unless closed.
pub fn key(s: &mut State, mut v: FailuresView, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::Cancel if v.open.is_some() => v.open = None,
        Action::Cancel | Action::Quit | Action::Failures => return,
        Action::SelectNext if v.open.is_none() => {
            let n = groups(s, &v).len();
            // Pinned to the window in view once the operator moves in it.
            v.window = window(s, &v);
            v.selected = (v.selected + 1).min(n.saturating_sub(1));
        }
        Action::SelectPrev if v.open.is_none() => {
            v.window = window(s, &v);
            v.selected = v.selected.saturating_sub(1);
        }
        Action::Confirm if v.open.is_none() => {
            v.window = window(s, &v);
            v.open = open_selected(s, &v, fx);
        }
        _ => {}
    }
    s.popup = Some(Popup::Failures(v));
}

/// The selected group's newest request, and the effect that reads its color's log.
fn open_selected(s: &State, v: &FailuresView, fx: &mut Vec<Effect>) -> Option<FailureDetail> {
    let g = *groups(s, v).get(v.selected)?;
    let gateway = s.gateways.iter().position(|x| x.name == g.key.gateway)?;
    let request = g.newest.clone();
    let log = if request.request_id == "-" {
        ColorLogState::Unavailable(
            "nginx logged no request ID for it (log_format needs \"request_id\":\"$request_id\")"
                .into(),
        )
    } else {
        fx.push(Effect::FetchColorLog(ColorLogAsk {
            gateway,
            color: request.failed,
            request_id: request.request_id.clone(),
        }));
        ColorLogState::Fetching
    };
    Some(FailureDetail {
        gateway,
        key: g.key.clone(),
        request,
        log,
    })
}

/// Failed requests from gateway `gateway`'s access log, into the book.
pub fn on_failures(s: &mut State, gateway: usize, failures: Vec<FailedRequest>) {
    let Some(g) = s.gateways.get(gateway) else {
        return;
    };
    let (name, az) = (g.name.clone(), g.az.clone());
    for f in failures {
        s.failures.add(&name, &az, f);
    }
}

/// A color's log lines arrived: shown if the request they are about is still open.
pub fn on_color_log(s: &mut State, answer: ColorLogAnswer) {
    let Some(Popup::Failures(v)) = &mut s.popup else {
        return;
    };
    let Some(d) = &mut v.open else {
        return;
    };
    if d.gateway != answer.ask.gateway
        || d.request.request_id != answer.ask.request_id
        || d.request.failed != answer.ask.color
    {
        return;
    }
    d.log = match answer.result {
        Ok(lines) => ColorLogState::Lines(lines),
        Err(why) => ColorLogState::Unavailable(crate::sanitize::sanitize(&why)),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keys::{KeyCode, KeyEvent};
    use crate::app::msg::Msg;
    use crate::app::state::{Gateway, Mode};
    use crate::app::update::update;
    use crate::failures::Try;
    use crate::model::Color;

    /// 2026-12-02T13:00:00Z.
    const T0: Ms = 1_796_216_400_000;

    fn failed(id: &str, t: Ms, color: Color, status: u16) -> FailedRequest {
        FailedRequest {
            time_ms: t,
            request_id: id.into(),
            status,
            request_ms: Some(3),
            tries: vec![Try {
                addr: "127.0.0.1:8788".into(),
                color: Some(color),
                status: Some(status),
                response_ms: Some(2),
            }],
            failed: color,
            failed_status: status,
            retried_to: None,
        }
    }

    fn state() -> State {
        let w = crate::model::gateway::Windows::default();
        State::new(
            Mode::Live,
            vec![
                Gateway::new("gw-a1", "az-a", w),
                Gateway::new("gw-b1", "az-b", w),
            ],
            Default::default(),
            Default::default(),
            vec!["default".into()],
        )
    }

    fn key(s: &mut State, code: KeyCode) -> Vec<Effect> {
        update(s, Msg::Key(KeyEvent::from(code)), s.now)
    }

    fn view(s: &State) -> FailuresView {
        match &s.popup {
            Some(Popup::Failures(v)) => v.clone(),
            other => panic!("not the failures view: {other:?}"),
        }
    }

    #[test]
    fn groups_open_their_newest_request_and_its_log_lines_arrive() {
        let mut s = state();
        let mut fx = update(
            &mut s,
            Msg::Failures {
                gateway: 1,
                failures: vec![
                    failed("a1", T0 + 1_000, Color::Green, 502),
                    failed("a2", T0 + 2_000, Color::Green, 502),
                ],
            },
            0,
        );
        fx.extend(update(
            &mut s,
            Msg::Failures {
                gateway: 0,
                failures: vec![failed("b1", T0 + 3_000, Color::Blue, 500)],
            },
            0,
        ));
        assert!(fx.is_empty());
        assert!(key(&mut s, KeyCode::Char('f')).is_empty());
        let v = view(&s);
        let shown: Vec<String> = groups(&s, &v)
            .iter()
            .map(|g| crate::failures::clause(g))
            .collect();
        assert_eq!(
            shown,
            [
                "green 502 x2 on gw-b1 (az-b), 13:00",
                "blue 500 x1 on gw-a1 (az-a), 13:00"
            ]
        );
        // Enter opens the selected group's newest request and asks for green's log.
        let fx = key(&mut s, KeyCode::Enter);
        let ask = ColorLogAsk {
            gateway: 1,
            color: Color::Green,
            request_id: "a2".into(),
        };
        assert_eq!(fx, vec![Effect::FetchColorLog(ask.clone())]);
        let d = view(&s).open.unwrap();
        assert_eq!(d.request.request_id, "a2");
        assert_eq!(d.log, ColorLogState::Fetching);
        // An answer about another request is not this one's.
        let other = ColorLogAsk {
            request_id: "a1".into(),
            ..ask.clone()
        };
        update(
            &mut s,
            Msg::ColorLog(ColorLogAnswer {
                ask: other,
                result: Ok(vec![]),
            }),
            0,
        );
        assert_eq!(view(&s).open.unwrap().log, ColorLogState::Fetching);
        update(
            &mut s,
            Msg::ColorLog(ColorLogAnswer {
                ask,
                result: Err("green's log: no answer\u{1b}[2J within 5 s".into()),
            }),
            0,
        );
        assert_eq!(
            view(&s).open.unwrap().log,
            ColorLogState::Unavailable("green's log: no answer within 5 s".into()),
            "a host's words are sanitized"
        );
        // Esc goes back to the list, then closes; j moves within the list.
        key(&mut s, KeyCode::Esc);
        assert!(view(&s).open.is_none());
        key(&mut s, KeyCode::Char('j'));
        assert_eq!(view(&s).selected, 1);
        key(&mut s, KeyCode::Char('j'));
        assert_eq!(view(&s).selected, 1, "the last group stays selected");
        key(&mut s, KeyCode::Esc);
        assert!(s.popup.is_none());
    }

    #[test]
    fn a_request_without_an_id_asks_nothing_of_the_host() {
        let mut s = state();
        update(
            &mut s,
            Msg::Failures {
                gateway: 0,
                failures: vec![failed("-", T0, Color::Green, 504)],
            },
            0,
        );
        crate::app::command::run(&mut s, "failures", &mut Vec::new());
        let fx = key(&mut s, KeyCode::Enter);
        assert!(fx.is_empty(), "{fx:?}");
        assert!(matches!(
            view(&s).open.unwrap().log,
            ColorLogState::Unavailable(why) if why.contains("no request ID")
        ));
    }
}
