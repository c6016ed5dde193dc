//! Whole-screen tests: snapshots at 80x24 and 120x40, and explicit checks of the styles that matter.

use super::fixtures::{self, draw, find, find_in_row, row_text};
use super::spans::{BAR_BLUE, BAR_GREEN};
use super::theme::ThemeSet;
use crate::app::plan::{Plan, PlanItem, PlanKind, Scope};
use crate::app::rules::Refusal;
use crate::app::state::{Input, Level, Notice, Popup, State};
use crate::model::Weights;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;

fn w(green: u8) -> Weights {
    Weights::with_green(green).expect("valid weights")
}

fn item(gateway: usize, from: u8, to: u8) -> PlanItem {
    PlanItem {
        gateway,
        before: w(from),
        after: w(to),
    }
}

/// An AZ step for eu-west-1a: both of its gateways move.
fn confirm_state() -> State {
    let mut s = fixtures::state();
    s.scope = Scope::Az;
    s.popup = Some(Popup::Confirm(Plan {
        kind: PlanKind::Step {
            delta: 10,
            toward: crate::model::Color::Green,
        },
        scope: Scope::Az,
        scope_label: "AZ eu-west-1a".into(),
        items: vec![item(0, 10, 20), item(1, 20, 30)],
        skipped: vec![],
        holds: vec![],
        jumps: vec![],
        overridden: false,
        reason: None,
    }));
    s
}

/// A fleet step refused by the TTFT halt and the 5xx breach, with skipped gateways.
fn refused_state() -> State {
    let mut s = fixtures::state();
    s.scope = Scope::Fleet;
    let plan = Plan {
        kind: PlanKind::Step {
            delta: 10,
            toward: crate::model::Color::Green,
        },
        scope: Scope::Fleet,
        scope_label: "fleet (6 gateways)".into(),
        items: vec![item(0, 10, 20), item(1, 20, 30), item(3, 50, 60)],
        skipped: vec![
            (2, Refusal::Draining),
            (4, Refusal::Stale(Some(20_000))),
            (5, Refusal::Busy),
        ],
        holds: vec![],
        jumps: vec![],
        overridden: false,
        reason: None,
    };
    let reasons = vec![
        "gw-b2: TTFT halt: green p50 310ms vs blue 250ms (+24.0 % > 8 %)".into(),
        "gw-a2: green 5xx 4.9 pp above blue; auto-rollback in 2:41".into(),
    ];
    s.popup = Some(Popup::Refused { plan, reasons });
    s
}

fn buffer(state: &State, w: u16, h: u16) -> Buffer {
    draw(state, w, h).backend().buffer().clone()
}

#[test]
fn normal_80x24() {
    insta::assert_snapshot!(draw(&fixtures::state(), 80, 24).backend());
}

#[test]
fn normal_120x40() {
    insta::assert_snapshot!(draw(&fixtures::state(), 120, 40).backend());
}

#[test]
fn confirm_az_step_80x24() {
    insta::assert_snapshot!(draw(&confirm_state(), 80, 24).backend());
}

#[test]
fn confirm_az_step_120x40() {
    insta::assert_snapshot!(draw(&confirm_state(), 120, 40).backend());
}

#[test]
fn help_80x24() {
    let mut s = fixtures::state();
    s.popup = Some(Popup::Help);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn help_120x40() {
    let mut s = fixtures::state();
    s.popup = Some(Popup::Help);
    insta::assert_snapshot!(draw(&s, 120, 40).backend());
}

#[test]
fn refused_80x24() {
    insta::assert_snapshot!(draw(&refused_state(), 80, 24).backend());
}

#[test]
fn refused_120x40() {
    insta::assert_snapshot!(draw(&refused_state(), 120, 40).backend());
}

#[test]
fn every_gateway_weight_and_panel_title_is_on_an_80x24_screen() {
    let buf = buffer(&fixtures::state(), 80, 24);
    let expected = [
        ("gw-a1", "90/10"),
        ("gw-a2", "80/20"),
        ("gw-b1", "100/0"),
        ("gw-b2", "50/50"),
        ("gw-c1", "100/0"),
        ("gw-c2", "70/30"),
    ];
    for (name, weights) in expected {
        let row = (0..24)
            .map(|y| row_text(&buf, y))
            .find(|r| r.contains(&format!("{name} ")) && !r.contains("scope"));
        let row = row.unwrap_or_else(|| panic!("{name} has no row"));
        assert!(row.contains(weights), "{name} row lacks {weights}: {row}");
    }
    for title in [
        "Fleet",
        "Weights",
        "Burn",
        "TTFT",
        "Log",
        "eu-west-1a",
        "eu-west-1b",
        "eu-west-1c",
    ] {
        assert!(find(&buf, title).is_some(), "{title} missing");
    }
}

#[test]
fn a_breaching_gateway_shows_its_countdown_in_the_alarm_style() {
    let s = fixtures::state();
    let set = ThemeSet::builtin();
    let t = &set.themes[0];
    for (w, h) in [(80, 24), (120, 40)] {
        let buf = buffer(&s, w, h);
        let (x, y) = find(&buf, "5xx 2:41").expect("countdown shown");
        for dx in 0..8 {
            assert_eq!(
                buf[(x + dx, y)].fg,
                t.alarm.fg.expect("alarm has a color"),
                "at {w}x{h}"
            );
            assert!(buf[(x + dx, y)].modifier.contains(Modifier::BOLD));
        }
        assert!(row_text(&buf, y).contains("gw-a2"));
    }
}

#[test]
fn a_stale_gateway_row_is_drawn_in_the_stale_style() {
    let s = fixtures::state();
    let set = ThemeSet::builtin();
    let t = &set.themes[0];
    let buf = buffer(&s, 80, 24);
    let (x, y) = find(&buf, "gw-c1").expect("stale gateway shown");
    let stale_fg = t.stale.fg.expect("stale has a color");
    let age = find_in_row(&buf, y, "20s", x).expect("age of the stale data shown");
    let weights = find_in_row(&buf, y, "100/0", x).expect("weights shown");
    for cx in [x, x + 4, weights, weights + 4, age] {
        assert_eq!(
            buf[(cx, y)].fg,
            stale_fg,
            "cell {cx} of {}",
            row_text(&buf, y)
        );
        assert!(buf[(cx, y)].modifier.contains(Modifier::DIM));
    }
}

#[test]
fn the_weights_bar_is_blue_and_green() {
    let s = fixtures::state();
    let set = ThemeSet::builtin();
    let t = &set.themes[0];
    let buf = buffer(&s, 80, 24);
    let (x, y) = find(&buf, "gw-b2").expect("half-way gateway shown");
    let blue = find_in_row(&buf, y, BAR_BLUE, x).expect("blue part");
    let green = find_in_row(&buf, y, BAR_GREEN, x).expect("green part");
    assert_eq!(buf[(blue, y)].fg, t.blue.fg.expect("blue has a color"));
    assert_eq!(buf[(green, y)].fg, t.green.fg.expect("green has a color"));
    let half = u16::try_from(super::Density::Narrow.bar_width() / 2).expect("small");
    assert_eq!(green - blue, half, "50/50 splits the bar evenly");
}

#[test]
fn remote_text_reaches_the_screen_without_control_characters() {
    let buf = buffer(&fixtures::state(), 120, 40);
    assert!(find(&buf, "lock bob @ops-2").is_some());
    assert!(find(&buf, "fail gpu").is_some());
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(char::is_control),
            "control character drawn"
        );
    }
}

#[test]
fn the_footer_shows_the_line_being_typed_with_a_cursor() {
    let mut s = fixtures::state();
    s.input = Input::Filter("gw-a".into());
    s.filter = "gw-a".into();
    let buf = buffer(&s, 80, 24);
    assert!(
        row_text(&buf, 23).starts_with("/gw-a█  Enter apply  Esc cancel"),
        "{}",
        row_text(&buf, 23)
    );
    assert!(find(&buf, "gw-b1").is_none(), "the filter hides other AZs");
    assert!(find(&buf, "2/6 match /gw-a").is_some());
}

#[test]
fn the_footer_shows_the_latest_notice_in_its_level_style() {
    let mut s = fixtures::state();
    let t = ThemeSet::builtin().themes[0].clone();
    s.notice = Some(Notice {
        text: "gw-a2: rollback fired".into(),
        level: Level::Alarm,
        at: 0,
    });
    let buf = buffer(&s, 80, 24);
    assert!(row_text(&buf, 23).starts_with("gw-a2: rollback fired"));
    assert_eq!(buf[(0, 23)].fg, t.alarm.fg.expect("alarm color"));
    assert!(row_text(&buf, 23).contains("? help"));
}

#[test]
fn dialog_keys_come_from_the_keymap() {
    let s = refused_state();
    let buf = buffer(&s, 80, 24);
    assert!(find(&buf, "O override").is_some());
    assert!(find(&buf, "n/Esc cancel").is_some());
}

#[test]
fn a_tiny_terminal_says_so() {
    let buf = buffer(&fixtures::state(), 40, 10);
    assert!(find(&buf, "terminal too small").is_some());
}

#[test]
fn the_selected_row_is_highlighted_across_the_table() {
    let s = fixtures::state();
    let buf = buffer(&s, 80, 24);
    let (_, y) = find(&buf, "▸gw-a1").expect("selected row");
    for x in [1, 40, 79] {
        assert!(
            buf[(x, y)].modifier.contains(Modifier::REVERSED),
            "cell {x} of the selected row"
        );
    }
}

/// The fixture and five copies of its six gateways (named `-0` to `-4`), each copy changed
/// by `copy`: 36 gateways.
fn long_fleet(copy: impl Fn(&mut crate::app::state::Gateway)) -> State {
    let mut s = fixtures::state();
    let base = s.gateways.clone();
    for k in 0..5 {
        for g in &base {
            let mut g = g.clone();
            g.name = format!("{}-{k}", g.name);
            copy(&mut g);
            s.gateways.push(g);
        }
    }
    s
}

#[test]
fn a_long_fleet_scrolls_to_keep_the_selection_visible() {
    let mut s = long_fleet(|_| {});
    s.selected = s.gateways.len() - 1;
    let buf = buffer(&s, 80, 24);
    assert!(
        find(&buf, "▸gw-c2-4").is_some(),
        "the last gateway is in view"
    );
    assert!(
        find(&buf, "36 gateways · ↑").is_some(),
        "the title says rows are above"
    );
}

#[test]
fn any_size_and_any_popup_draws_without_panicking() {
    let states = [fixtures::state(), confirm_state(), refused_state(), {
        let mut s = fixtures::state();
        s.popup = Some(Popup::Help);
        s
    }];
    for s in &states {
        for (w, h) in [
            (60, 16),
            (80, 24),
            (100, 30),
            (119, 35),
            (120, 40),
            (200, 60),
            (10, 3),
            (0, 0),
        ] {
            let buf = buffer(s, w, h);
            if w >= 80 && s.popup.is_none() {
                for g in &s.gateways {
                    assert!(
                        find(&buf, &g.name).is_some(),
                        "{} missing at {w}x{h}",
                        g.name
                    );
                }
            }
        }
    }
}

#[test]
fn an_empty_fleet_draws() {
    let s = State::new(
        crate::app::state::Mode::Live,
        Vec::new(),
        crate::guard::GuardConfig::default(),
        crate::app::keymap::KeyMap::default(),
        crate::front::ui::theme::ThemeSet::builtin().owned_names(),
    );
    let buf = buffer(&s, 80, 24);
    assert!(find(&buf, "no gateways configured").is_some());
    assert!(find(&buf, "LIVE").is_some());
}

#[test]
fn the_selected_gateway_alerts_show_in_full_above_the_log() {
    let mut s = fixtures::state();
    s.selected = 4;
    let buf = buffer(&s, 80, 24);
    let (_, y) = find(&buf, " Log ").expect("log panel");
    let line = row_text(&buf, y);
    assert!(
        line.contains("gw-c1: UNREACH timeout ERR ssh: connect timed out STALE"),
        "{line}"
    );
}

#[test]
fn a_pinned_row_is_drawn_with_its_marker() {
    let mut s = fixtures::state();
    s.filter = "gw-a".into();
    for theme in ["default", "mono"] {
        let set = ThemeSet::builtin();
        s.theme = set.index_of(theme).expect("built-in theme");
        let t = &set.themes[s.theme];
        let buf = buffer(&s, 80, 24);
        // gw-b2 (TTFT halt) and gw-c1 (stale, unreachable) do not match but stay, marked.
        for name in ["gw-b2", "gw-c1"] {
            let (x, y) = find(&buf, &format!("*{name}")).expect("pinned row with its marker");
            assert_eq!(buf[(x, y)].fg, t.warn.fg.unwrap_or_default(), "{theme}");
        }
        let (_, y) = find(&buf, "gw-a2").expect("matching row");
        assert!(
            !row_text(&buf, y).contains('*'),
            "a matching row is not pinned"
        );
        assert!(find(&buf, "gw-b1").is_none(), "no match, no alarm: hidden");
        assert!(
            find(&buf, "2/6 match /gw-a · 2 pinned *").is_some(),
            "{theme}"
        );
    }
}

#[test]
fn a_filter_matching_nothing_says_so_above_the_pinned_rows() {
    let mut s = fixtures::state();
    s.filter = "zzz".into();
    let buf = buffer(&s, 80, 24);
    let (_, y) = find(
        &buf,
        "no gateway matches the filter \"zzz\"; alarmed rows stay (*)",
    )
    .expect("no-match line");
    let (_, pinned) = find(&buf, "*gw-b2").expect("pinned row");
    assert!(y < pinned);
    assert!(find(&buf, "0/6 match /zzz · 3 pinned *").is_some());
}

#[test]
fn a_burn_that_cannot_page_for_lack_of_requests_says_so() {
    // gw-a1's green holds about 400 requests: too few to page, and the panel says so.
    let s = fixtures::state();
    let set = ThemeSet::builtin();
    let t = &set.themes[0];
    for (w, h) in [(80, 24), (120, 40)] {
        let buf = buffer(&s, w, h);
        let (x, y) = find(&buf, "n<500").expect("note shown");
        let line = row_text(&buf, y);
        assert!(line.contains("│g ") || line.contains("│green "), "{line}");
        assert_eq!(buf[(x, y)].fg, t.muted.fg.expect("muted has a color"));
        assert_eq!(find_in_row(&buf, y + 1, "n<500", 0), None, "{w}x{h}");
    }
}

mod hostile {
    //! Whatever a host sends (sampler answers, health bodies, lock holders, error text)
    //! reaches the screen without a single control character.
    use super::*;
    use crate::app::msg::Msg;
    use crate::model::Telemetry;
    use proptest::prelude::*;

    /// Pieces a hostile host would mix into its strings.
    fn hostile() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("\u{1b}[2J".to_string()),
            Just("\u{1b}]0;PWNED\u{7}".to_string()),
            Just("\u{1b}[38;5;196m".to_string()),
            Just("\u{1b}P1;2|x\u{1b}\\".to_string()),
            Just("\u{9b}31m".to_string()),
            Just("\u{202e}rtl".to_string()),
            Just("\r\n\t\u{8}\u{7f}".to_string()),
            "[a-z0-9 .:-]{0,12}",
            any::<char>().prop_map(String::from),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    /// No control character, and no leftover of an escape sequence: the terminal itself
    /// drops a bare ESC, so what must not survive is the sequence's payload.
    fn clean(buf: &Buffer) -> Result<(), String> {
        for y in 0..buf.area.height {
            let row = row_text(buf, y);
            if row.contains("PWNED") || row.contains(";5;196m") || row.contains("[2J") {
                return Err(format!("escape payload on row {y}: {row:?}"));
            }
        }
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                let sym = buf[(x, y)].symbol();
                if let Some(c) = sym
                    .chars()
                    .find(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(c))
                {
                    return Err(format!("{c:?} at {x},{y}: {:?}", row_text(buf, y)));
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn remote_strings_never_reach_the_screen_raw(
            version in hostile(),
            listener in hostile(),
            holder in hostile(),
            check in hostile(),
            reason in hostile(),
            raw in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let mut s = fixtures::state();
            let answer = format!(
                "@clock 1\n@conns blue 1\n@listen green {listener}\n@version blue 0 {version}\n@workers 1\n@read\n{holder}\nupstream x {{}}\n"
            );
            let mut sample = crate::fleet::collect::sampler::parse_sample(answer.as_bytes())
                .expect("a well-framed answer parses");
            // Random bytes into the same parser must not panic either.
            let _ = crate::fleet::collect::sampler::parse_sample(&raw);
            sample.host.versions.green = Some(String::from_utf8_lossy(&raw).into_owned());
            let now = s.now;
            let body = serde_json::json!({ check.clone(): false, "status": reason.clone() }).to_string();
            let (status, failing) = crate::fleet::probe::health::judge_health(200, body.as_bytes());
            let g = &mut s.gateways[0].model;
            g.apply(now, &Telemetry::Host(sample.host));
            g.apply(now, &Telemetry::Health(crate::model::HealthReport { status, failing, latency_ms: 5 }));
            crate::app::update::update(&mut s, Msg::Lock { gateway: 0, holder: sample.read.lock }, now);
            crate::app::update::update(&mut s, Msg::Telemetry { gateway: 1, data: Telemetry::Unreachable { reason } }, now);
            for (w, h) in [(120, 40), (80, 24)] {
                let term = draw(&s, w, h);
                prop_assert!(clean(term.backend().buffer()).is_ok(), "{:?}", clean(term.backend().buffer()));
            }
        }

        #[test]
        fn failed_requests_and_color_logs_never_reach_the_screen_raw(
            id in hostile(),
            addr in hostile(),
            message in hostile(),
            raw in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            use crate::app::keys::{KeyCode, KeyEvent};
            let mut s = fixtures::state();
            let now = s.now;
            // As nginx logs them: JSON-escaped values in one line.
            let line = format!(
                r#"{{"time":"1796216400.000","status":"502","request_time":"0.010","upstream_addr":{},"upstream_status":"502","upstream_header_time":"-","request_id":{},"request":"POST / HTTP/1.1"}}"#,
                serde_json::to_string(&format!("127.0.0.1:8788, {addr}")).unwrap(),
                serde_json::to_string(&id).unwrap()
            );
            let colors = crate::nginx::accesslog::Colors::new("127.0.0.1:8787", "127.0.0.1:8788");
            let l = crate::nginx::accesslog::parse_line(line.as_bytes()).expect("the line parses");
            let f = crate::failures::failed_request(&l, &colors).expect("a 502 from green");
            crate::app::update::update(&mut s, Msg::Failures { gateway: 0, failures: vec![f.clone()] }, now);
            crate::app::update::update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('f'))), now);
            for (w, h) in [(120, 40), (80, 24)] {
                let term = draw(&s, w, h);
                prop_assert!(clean(term.backend().buffer()).is_ok(), "{:?}", clean(term.backend().buffer()));
            }
            crate::app::update::update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Enter)), now);
            let mut log = format!(
                "{}\n",
                serde_json::json!({"request_id": f.request_id, "msg": message, "level": message})
            )
            .into_bytes();
            log.extend_from_slice(&raw);
            let lines = crate::failures::lines_for(&log, &f.request_id, 10);
            let ask = crate::app::msg::ColorLogAsk { gateway: 0, color: f.failed, request_id: f.request_id.clone() };
            crate::app::update::update(&mut s, Msg::ColorLog(crate::app::msg::ColorLogAnswer { ask, result: Ok(lines) }), now);
            for (w, h) in [(120, 40), (80, 24)] {
                let term = draw(&s, w, h);
                prop_assert!(clean(term.backend().buffer()).is_ok(), "{:?}", clean(term.backend().buffer()));
            }
        }
    }
}

#[test]
fn the_command_list_names_every_command() {
    let mut s = fixtures::state();
    s.popup = Some(crate::app::state::Popup::Commands);
    let screen = draw(&s, 120, 40);
    let text: String = (0..40)
        .map(|y| row_text(screen.backend().buffer(), y))
        .collect::<Vec<_>>()
        .join("\n");
    for (form, _) in crate::app::command::COMMANDS {
        assert!(
            text.contains(&format!(":{form}")),
            "{form} missing:\n{text}"
        );
    }
}

/// Every row of the screen `s` draws at `w`x`h`, joined.
fn screen(s: &State, w: u16, h: u16) -> String {
    let term = draw(s, w, h);
    (0..h)
        .map(|y| row_text(term.backend().buffer(), y))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_describe_view_puts_failing_verdicts_first_with_the_lock_and_the_last_operations() {
    let mut s = fixtures::state();
    // gw-c2 holds a lock (with a bell in its name) and had an operation fail.
    s.gateways[5].lock_since = Some(s.now - 65_000);
    s.gateways[5].recent_ops.push_back((
        s.now - 5_000,
        "setting weights 70/30: failed: nginx -t failed".into(),
    ));
    s.selected = 5;
    s.popup = Some(Popup::Describe(5));
    let text = screen(&s, 120, 40);
    assert!(text.contains("Describe gw-c2"), "{text}");
    assert!(
        text.contains("held by bob @ops-2 (seen 65 s ago)"),
        "the bell in the name is a space: {text}"
    );
    assert!(text.contains("setting weights 70/30: failed"), "{text}");
    assert!(text.contains("data       host sample"), "{text}");
    // Failing and inconclusive verdicts come before passing ones.
    let verdicts: Vec<&str> = text.lines().filter_map(|l| l.split("• ").nth(1)).collect();
    let rank = |v: &str| {
        if v.contains(" fail:") {
            0
        } else if v.contains(" inconclusive:") {
            1
        } else {
            2
        }
    };
    assert!(!verdicts.is_empty(), "{text}");
    assert!(
        verdicts.windows(2).all(|p| rank(p[0]) <= rank(p[1])),
        "{verdicts:?}"
    );
}

#[test]
fn the_describe_view_names_prometheus_as_the_source_with_its_problems_and_streams() {
    use crate::model::{MetricsSample, PerColor, Telemetry};
    let mut s = fixtures::state();
    let now = s.now;
    let poll = MetricsSample {
        streams: PerColor {
            blue: Some(7),
            green: None,
        },
        problems: vec!["streams: no series for green".into()],
        ..MetricsSample::default()
    };
    s.gateways[0]
        .model
        .apply(now, &Telemetry::Metrics(Box::new(poll)));
    s.popup = Some(Popup::Describe(0));
    let text = screen(&s, 160, 40);
    assert!(
        text.contains("prometheus counts never · TTFT histograms never")
            && text.contains("streams in flight blue 7, green ?"),
        "{text}"
    );
    assert!(
        text.contains("prometheus streams: no series for green"),
        "{text}"
    );
    assert!(!text.contains("access log"), "{text}");
}

#[test]
fn the_log_view_shows_the_newest_lines_and_a_search_narrows_them() {
    use crate::app::msg::{LogLevel, LogLine, LogTarget};
    let mut s = fixtures::state();
    for i in 0..100u64 {
        s.log_history.push_back((
            i * 1000,
            LogLine {
                level: if i == 97 {
                    LogLevel::Error
                } else {
                    LogLevel::Info
                },
                target: LogTarget::Guard,
                text: if i == 97 {
                    "gw-b1: AUTO-ROLLBACK: green 5xx +3 pp".into()
                } else {
                    format!("line {i}")
                },
            },
        ));
    }
    s.popup = Some(Popup::Log(crate::app::log_view::LogView::default()));
    let text = screen(&s, 120, 40);
    assert!(
        text.contains("line 99") && text.contains("00:01:37 E gw-b1: AUTO-ROLLBACK"),
        "{text}"
    );
    assert!(!text.contains("line 10 "), "only the newest fit: {text}");
    s.popup = Some(Popup::Log(crate::app::log_view::LogView {
        search: "rollback".into(),
        ..Default::default()
    }));
    let text = screen(&s, 80, 24);
    assert!(
        text.contains("\"rollback\": lines 1-1 of 1 matching"),
        "{text}"
    );
    assert!(!text.contains("line 99"), "{text}");
}

#[test]
fn alarmed_rows_scrolled_off_stay_in_view_at_the_edges() {
    // Only the fixture's own rows keep their alarms.
    let mut s = long_fleet(|g| {
        g.verdicts = Default::default();
        g.breach = Default::default();
        g.model.unreachable = None;
        g.last_error = None;
        g.drift = None;
    });
    // The fixture's alarmed rows (gw-a2's 5xx countdown, gw-b2's halt, ...) are near the top;
    // the selection is the last row, so the window scrolls far below them.
    s.selected = s.gateways.len() - 1;
    let text = (0..24)
        .map(|y| row_text(&buffer(&s, 80, 24), y))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("▸gw-c2-4"),
        "the selection is in view:\n{text}"
    );
    assert!(
        text.contains(" gw-a2 ") && text.contains("5xx"),
        "gw-a2's alarm stays in view though its row scrolled off:\n{text}"
    );
    assert!(text.contains(" gw-b2 ") && text.contains("HALT"), "{text}");
    assert!(
        !text.contains(" gw-a1 "),
        "a calm row above is not pinned:\n{text}"
    );
}

#[test]
fn a_wide_screen_shows_each_colors_version_in_the_rows() {
    let s = fixtures::state();
    let wide = (0..12)
        .map(|y| row_text(&buffer(&s, 170, 40), y))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(wide.contains("version b/g"), "{wide}");
    assert!(
        wide.contains("4f2c9e1a/9b7d03c2"),
        "up to 8 cells each:\n{wide}"
    );
    let narrow = (0..12)
        .map(|y| row_text(&buffer(&s, 120, 40), y))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        !narrow.contains("version") && !narrow.contains("hidden"),
        "no room: left out quietly, the alerts keep theirs:\n{narrow}"
    );
}

#[test]
fn pins_take_at_most_a_third_and_the_selection_stays_in_the_window() {
    use super::fleet::scrolled;
    // 30 lines, every third alarmed; the selection at line 29; 12 rows.
    let gateway_of: Vec<Option<usize>> = (0..30).map(Some).collect();
    let v = scrolled(&gateway_of, Some(29), 12, |i| i % 3 == 0);
    assert!(v.above.len() + v.below.len() <= 4, "{v:?}");
    assert!(v.scroll <= 29 && 29 < v.scroll + v.rows, "{v:?}");
    assert_eq!(v.above.len() + v.rows + v.below.len(), 12, "{v:?}");
    assert!(v.above.iter().all(|&l| l < v.scroll && l % 3 == 0), "{v:?}");
    // Nothing alarmed: the plain window.
    let v = scrolled(&gateway_of, Some(29), 12, |_| false);
    assert_eq!((v.scroll, v.rows, v.above.len()), (18, 12, 0));
    // Everything fits: nothing pinned, no scroll.
    let v = scrolled(&gateway_of[..8], Some(7), 12, |_| true);
    assert_eq!((v.scroll, v.above.len(), v.below.len()), (0, 0, 0));
}

#[test]
fn each_panel_names_its_source_and_its_age() {
    use crate::model::Telemetry;
    let screen = |s: &State| {
        let buf = buffer(s, 140, 40);
        (0..40)
            .map(|y| fixtures::row_text(&buf, y))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut s = fixtures::state();
    let ssh = screen(&s);
    assert!(
        ssh.contains("Weights gw-a1 · ssh 0s")
            && ssh.contains("Burn gw-a1 · log 0s")
            && ssh.contains("· probes 0s"),
        "{ssh}"
    );
    // Prometheus answered 7 s ago (the histograms and counts both): its panels say so, and
    // the host's own age stays the SSH one.
    let now = s.now;
    s.gateways[s.selected]
        .model
        .apply(now - 7_000, &Telemetry::Metrics(Box::default()));
    let g = &mut s.gateways[s.selected].model;
    let m = g.metrics.as_mut().unwrap();
    m.counts_at = Some(now - 7_000);
    m.ttft_at.green = Some(now - 7_000);
    let prom = screen(&s);
    assert!(
        prom.contains("Burn gw-a1 · prometheus 7s") && prom.contains("· prometheus 7s"),
        "{prom}"
    );
    assert!(prom.contains("Weights gw-a1 · ssh 0s"), "{prom}");
}
