//! A six-gateway fleet in three AZs fed with telemetry by hand (no simulator), for UI tests.

use crate::app::keymap::KeyMap;
use crate::app::plan::OpKind;
use crate::app::state::{Draining, Gateway, InFlight, Mode, Session, State};
use crate::front::ui::theme::ThemeSet;
use crate::guard::GuardConfig;
use crate::guard::drain::DrainStatus;
use crate::guard::fivexx::FivexxState;
use crate::guard::{burn, ttft};
use crate::model::gateway::Windows;
use crate::model::{
    Color, HealthReport, HealthStatus, HostSample, Ms, PerColor, RequestRecord, Telemetry, Weights,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

/// The fixture's session clock.
pub(crate) const NOW: Ms = 120_000;

/// How one gateway behaves in the fixture.
struct Profile {
    name: &'static str,
    az: &'static str,
    /// Weight changes (time, green).
    weights: &'static [(Ms, u8)],
    /// Requests per 5 s batch.
    batch: usize,
    /// Errors per 100 requests on each color.
    errors_pct: (usize, usize),
    /// TTFT medians per color, ms.
    ttft_ms: (u32, u32),
    /// TTFT samples per batch on green.
    green_probes: usize,
    health: HealthStatus,
    conns: (u32, u32),
    /// Last time telemetry arrived.
    last: Ms,
}

const PROFILES: [Profile; 6] = [
    Profile {
        name: "gw-a1",
        az: "eu-west-1a",
        weights: &[(0, 0), (40_000, 10)],
        batch: 240,
        errors_pct: (0, 0),
        ttft_ms: (250, 262),
        green_probes: 2,
        health: HealthStatus::Ok,
        conns: (412, 38),
        last: NOW,
    },
    Profile {
        name: "gw-a2",
        az: "eu-west-1a",
        weights: &[(0, 0), (20_000, 10), (60_000, 20)],
        batch: 200,
        errors_pct: (0, 5),
        ttft_ms: (250, 255),
        green_probes: 2,
        health: HealthStatus::Ok,
        conns: (350, 71),
        last: NOW,
    },
    Profile {
        name: "gw-b1",
        az: "eu-west-1b",
        weights: &[(0, 10), (70_000, 0)],
        batch: 150,
        errors_pct: (0, 0),
        ttft_ms: (240, 300),
        green_probes: 0,
        health: HealthStatus::Degraded,
        conns: (290, 3),
        last: NOW,
    },
    Profile {
        name: "gw-b2",
        az: "eu-west-1b",
        weights: &[(0, 20), (50_000, 50)],
        batch: 5000,
        errors_pct: (0, 0),
        ttft_ms: (250, 310),
        green_probes: 2,
        health: HealthStatus::Ok,
        conns: (1180, 1230),
        last: NOW,
    },
    Profile {
        name: "gw-c1",
        az: "eu-west-1c",
        weights: &[(0, 0)],
        batch: 100,
        errors_pct: (0, 0),
        ttft_ms: (1250, 1300),
        green_probes: 2,
        health: HealthStatus::Ok,
        conns: (80, 0),
        last: 100_000,
    },
    Profile {
        name: "gw-c2",
        az: "eu-west-1c",
        weights: &[(0, 0), (30_000, 10), (80_000, 30)],
        batch: 180,
        errors_pct: (0, 0),
        ttft_ms: (260, 250),
        green_probes: 2,
        health: HealthStatus::Ok,
        conns: (300, 120),
        last: NOW,
    },
];

/// `n` requests of `color`, `errors_pct` of them 502s.
fn requests(color: Color, n: usize, errors_pct: usize) -> Vec<RequestRecord> {
    (0..n)
        .map(|k| RequestRecord {
            color: Some(color),
            status: if k * 100 < n * errors_pct { 502 } else { 200 },
            request_ms: 900,
            header_ms: Some(200),
        })
        .collect()
}

/// Green's weight at `t` per the profile.
fn green_at(p: &Profile, t: Ms) -> u8 {
    p.weights
        .iter()
        .take_while(|(at, _)| *at <= t)
        .last()
        .map_or(0, |(_, g)| *g)
}

/// Feed one profile from 0 to its last time, every 5 s.
fn feed(g: &mut Gateway, p: &Profile) {
    let m = &mut g.model;
    for t in (0..=p.last).step_by(5_000) {
        let w = Weights::with_green(green_at(p, t)).expect("fixture weights are valid");
        m.apply(t, &Telemetry::Weights(w));
        let green = p.batch * usize::from(w.green) / 100;
        m.apply(
            t,
            &Telemetry::Requests {
                records: requests(Color::Blue, p.batch - green, p.errors_pct.0),
            },
        );
        m.apply(
            t,
            &Telemetry::Requests {
                records: requests(Color::Green, green, p.errors_pct.1),
            },
        );
        for k in 0..2u32 {
            m.apply(
                t,
                &Telemetry::Ttft {
                    color: Color::Blue,
                    ms: Some(p.ttft_ms.0 + k * 4),
                },
            );
        }
        let green_probes = if t >= p.last.saturating_sub(10_000) {
            p.green_probes.max(1)
        } else {
            p.green_probes
        };
        for k in 0..green_probes as u32 {
            m.apply(
                t,
                &Telemetry::Ttft {
                    color: Color::Green,
                    ms: Some(p.ttft_ms.1 + k * 4),
                },
            );
        }
        let failing = if p.health == HealthStatus::Ok {
            vec![]
        } else {
            vec!["gpu\u{1b}".to_string()]
        };
        m.apply(
            t,
            &Telemetry::Health(HealthReport {
                status: p.health,
                failing,
                latency_ms: 12,
            }),
        );
        let host = HostSample {
            conns: PerColor {
                blue: p.conns.0,
                green: p.conns.1,
            },
            listeners: PerColor {
                blue: vec!["127.0.0.1:8787".into()],
                green: vec!["127.0.0.1:8788".into()],
            },
            running: PerColor {
                blue: true,
                green: true,
            },
            versions: PerColor {
                blue: Some("4f2c9e1a".into()),
                green: Some("9b7d03c2".into()),
            },
            clock_skew_ms: 0,
            ..HostSample::default()
        };
        m.apply(t, &Telemetry::Host(host));
        m.apply(
            t,
            &Telemetry::Preflight {
                findings: vec![crate::model::Finding {
                    check: "nginx buffering".into(),
                    status: crate::model::CheckStatus::Ok,
                    reason: "proxy_buffering off in every proxying location".into(),
                }],
            },
        );
        m.refresh(t, 10_000);
    }
    m.refresh(NOW, 10_000);
}

/// Guardrail verdicts computed from the model, as the app would.
fn judge(g: &mut Gateway, cfg: &GuardConfig) {
    let s = g.model.summary;
    g.verdicts.ttft = ttft::evaluate(
        PerColor {
            blue: &g.model.ttft_values(crate::model::Color::Blue),
            green: &g.model.ttft_values(crate::model::Color::Green),
        },
        PerColor {
            blue: s.blue.ttft,
            green: s.green.ttft,
        },
        cfg,
    );
    g.verdicts.burn = PerColor::from_fn(|c| burn::evaluate(s[c].burn_short, s[c].burn_long, cfg));
}

/// Six gateways: a canary, a 5xx breach with its countdown, a drain, a TTFT halt, a stale host and a step in flight.
pub(crate) fn state() -> State {
    let cfg = GuardConfig::default();
    let mut gateways: Vec<Gateway> = PROFILES
        .iter()
        .map(|p| {
            let mut g = Gateway::new(p.name, p.az, Windows::default());
            feed(&mut g, p);
            judge(&mut g, &cfg);
            g
        })
        .collect();
    special_cases(&mut gateways);
    let mut s = State::new(
        Mode::Demo,
        gateways,
        cfg,
        KeyMap::default(),
        ThemeSet::builtin().owned_names(),
    );
    s.now = NOW;
    s.clock = "12:00:00Z".into();
    s.session = Session {
        actor: "alice".into(),
        ticket: Some("CHG-1234".into()),
        read_only: false,
        recording: true,
        detail: Some("scenario canary-5xx · seed 42".into()),
    };
    s
}

/// Alarms, stale data, a drain and an operation that the telemetry alone does not produce.
fn special_cases(g: &mut [Gateway]) {
    g[1].verdicts.fivexx = FivexxState::Breaching {
        delta_pp: 4.9,
        since: NOW - 19_000,
        fires_at: NOW + 161_000,
        vetoed: false,
        alarm_only: false,
    };
    g[2].drain = Some(Draining {
        color: Color::Green,
        started: NOW - 78_000,
        window_ms: 120_000,
        rollback: false,
        origin: crate::app::plan::Origin::Operator,
        status: DrainStatus::Waiting {
            conns: Some(3),
            remaining_ms: 42_000,
        },
    });
    g[4].verdicts.stale = true;
    g[4].model.apply(
        NOW - 2_000,
        &Telemetry::Unreachable {
            reason: "ssh: connect timed out".into(),
        },
    );
    g[4].last_error = Some("ssh: connect\ttimed out\u{7}".into());
    g[5].op = Some(InFlight {
        id: 7,
        kind: OpKind::SetWeights {
            to: Weights::with_green(40).expect("valid"),
        },
        started: NOW - 1_000,
    });
    g[5].lock = Some("bob\u{7}@ops-2".into());
    g[5].verdicts.clock_skew_ms = Some(3_100);
}

/// Draw `state` on a `w`x`h` test terminal.
pub(crate) fn draw(state: &State, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| crate::front::ui::view(f, state, &ThemeSet::builtin()))
        .expect("draw");
    term
}

/// Position of the first cell of `text` in `buf`, searching row by row.
pub(crate) fn find(buf: &Buffer, text: &str) -> Option<(u16, u16)> {
    (0..buf.area.height).find_map(|y| find_in_row(buf, y, text, 0).map(|x| (x, y)))
}

/// Column of the first `text` in row `y` at or after column `from`.
pub(crate) fn find_in_row(buf: &Buffer, y: u16, text: &str, from: u16) -> Option<u16> {
    let mut row = String::new();
    let mut starts = Vec::new();
    for x in from..buf.area.width {
        starts.push((row.len(), x));
        row.push_str(buf[(x, y)].symbol());
    }
    let off = row.find(text)?;
    starts
        .iter()
        .rev()
        .find(|(o, _)| *o <= off)
        .map(|(_, x)| *x)
}

/// Text of row `y`.
pub(crate) fn row_text(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}
