//! A simulated fleet implementing `World`.

use super::rng::Rng;
use super::scenario::{Event, Profile, Scenario};
use crate::app::msg::{AuditNote, LogLevel, LogLine, LogTarget, Msg};
use crate::app::plan::{Op, OpKind, OpOutcome};
use crate::app::world::World;
use crate::failures::{FailedRequest, Try};
use crate::model::{
    CheckStatus, Color, Finding, HealthReport, HealthStatus, HostSample, Ms, PerColor,
    RequestRecord, Telemetry, Weights,
};

/// Simulation step.
const TICK_MS: Ms = 100;
/// How often finished requests are shipped as one batch (like a log tail read).
const BATCH_MS: Ms = 500;
/// How often the cockpit re-evaluates.
const EVAL_MS: Ms = 500;
/// Health, host sample and weight read-back interval.
const SAMPLE_MS: Ms = 2_000;
/// TTFT probe interval per color: four a second, so the judge has its samples in seconds.
const PROBE_MS: Ms = 200;
/// Preflight rounds: once a minute, as the live collectors run them.
const PREFLIGHT_MS: Ms = 60_000;
/// How long an operation on a dark host waits before its SSH connection times out.
const SSH_TIMEOUT_MS: Ms = 10_000;

/// One simulated host.
#[derive(Debug, Clone)]
struct SimHost {
    rng: Rng,
    weights: Weights,
    running: PerColor<bool>,
    profile: PerColor<Profile>,
    /// End time and log record of each request in flight, per color.
    in_flight: PerColor<Vec<(Ms, RequestRecord)>>,
    finished: Vec<RequestRecord>,
    dark: bool,
    /// Colors that accept connections but never answer (probes time out, requests hit 504).
    hung: PerColor<bool>,
    nginx_broken: bool,
    /// Whether `nginx -t` failed in the last preflight round sent (None: none sent yet).
    preflight_sent: Option<bool>,
    /// Failed requests reported so far (their IDs count up).
    failed_count: u64,
    health: HealthStatus,
    green_listen: String,
    clock_skew_ms: i64,
}

/// The simulated fleet.
#[derive(Debug, Clone)]
pub struct SimFleet {
    scenario: Scenario,
    rps: f64,
    hosts: Vec<SimHost>,
    names: Vec<String>,
    now: Ms,
    next_event: usize,
    pending: Vec<(Ms, Op)>,
    /// Every operation asked of the fleet, as asked (the simulator's audit log of operations).
    pub executed: Vec<(Ms, Op)>,
    /// Every decision record (veto, abandoned work) the cockpit wrote.
    pub notes: Vec<(Ms, AuditNote)>,
    logs: Vec<(Ms, LogLine)>,
}

impl SimFleet {
    /// A fleet for `scenario`, deterministic for `seed`.
    pub fn new(scenario: Scenario, seed: u64) -> Self {
        let names: Vec<String> = scenario
            .gateway_names()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let weights = Weights::with_green(scenario.fleet.initial_green).unwrap_or(Weights::STEADY);
        let hosts = (0..names.len())
            .map(|i| SimHost {
                rng: Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(i as u64)),
                weights,
                running: PerColor {
                    blue: true,
                    green: true,
                },
                profile: PerColor {
                    blue: scenario.blue.clone(),
                    green: scenario.green.clone(),
                },
                in_flight: PerColor::default(),
                finished: Vec::new(),
                dark: false,
                hung: PerColor::default(),
                nginx_broken: false,
                preflight_sent: None,
                failed_count: 0,
                health: HealthStatus::Ok,
                green_listen: "127.0.0.1:8788".into(),
                clock_skew_ms: 0,
            })
            .collect();
        SimFleet {
            rps: scenario.fleet.rps,
            scenario,
            hosts,
            names,
            now: 0,
            next_event: 0,
            pending: Vec::new(),
            executed: Vec::new(),
            notes: Vec::new(),
            logs: Vec::new(),
        }
    }

    /// The gateways as (name, AZ), in display order.
    pub fn gateways(&self) -> Vec<(String, String)> {
        self.scenario.gateway_names()
    }

    /// Weights actually in force on gateway `i` (the simulator's truth).
    pub fn true_weights(&self, i: usize) -> Weights {
        self.hosts[i].weights
    }

    fn apply_event(&mut self, e: &Event) {
        if let Some(note) = &e.note {
            self.logs.push((
                self.now,
                LogLine {
                    level: LogLevel::Info,
                    target: LogTarget::Scenario,
                    text: format!("scenario: {note}"),
                },
            ));
        }
        for (i, h) in self.hosts.iter_mut().enumerate() {
            if !e.gateways.is_empty() && !e.gateways.contains(&self.names[i]) {
                continue;
            }
            let set = |v: Option<f64>, into: &mut f64| {
                if let Some(v) = v {
                    *into = v;
                }
            };
            set(e.green_error_rate, &mut h.profile.green.error_rate);
            set(e.blue_error_rate, &mut h.profile.blue.error_rate);
            set(e.green_ttft_ms, &mut h.profile.green.ttft_ms);
            set(e.blue_ttft_ms, &mut h.profile.blue.ttft_ms);
            if let Some(s) = e.stream_secs {
                h.profile.blue.stream_secs = s;
                h.profile.green.stream_secs = s;
            }
            if let Some(d) = e.dark {
                h.dark = d;
            }
            if let Some(hang) = e.green_hang {
                h.hung.green = hang;
            }
            if let Some(b) = e.nginx_test_fails {
                h.nginx_broken = b;
            }
            if let Some(s) = &e.health {
                h.health = match s.as_str() {
                    "degraded" => HealthStatus::Degraded,
                    "down" => HealthStatus::Down,
                    _ => HealthStatus::Ok,
                };
            }
            if let Some(g) = e.set_green.and_then(Weights::with_green) {
                h.weights = g;
            }
            if let Some(l) = &e.green_listen {
                h.green_listen = l.clone();
            }
            if let Some(s) = e.clock_skew_ms {
                h.clock_skew_ms = s;
            }
        }
    }

    fn step(&mut self, t: Ms, out: &mut Vec<(Ms, Msg)>) {
        while let Some(e) = self.scenario.events.get(self.next_event) {
            if (e.at_secs * 1000.0) as Ms > t {
                break;
            }
            let e = e.clone();
            self.apply_event(&e);
            self.next_event += 1;
        }
        self.finish_ops(t, out);
        let lambda = self.rps * TICK_MS as f64 / 1000.0;
        for (i, h) in self.hosts.iter_mut().enumerate() {
            h.serve(t, lambda);
            if h.dark {
                // A dark host still serves (or not), but nobody hears from it.
                h.finished.clear();
                continue;
            }
            if t % BATCH_MS == 0 && !h.finished.is_empty() {
                let records = std::mem::take(&mut h.finished);
                let failures = h.failures_of(i, t, &records);
                out.push((
                    t,
                    Msg::Telemetry {
                        gateway: i,
                        data: Telemetry::Requests { records },
                    },
                ));
                if !failures.is_empty() {
                    out.push((
                        t,
                        Msg::Failures {
                            gateway: i,
                            failures,
                        },
                    ));
                }
            }
            if t % PROBE_MS == 0 {
                for c in Color::BOTH {
                    let ms = (h.running[c] && !h.hung[c])
                        .then(|| h.rng.lognormal(h.profile[c].ttft_ms, 0.12).round() as u32);
                    out.push((
                        t,
                        Msg::Telemetry {
                            gateway: i,
                            data: Telemetry::Ttft { color: c, ms },
                        },
                    ));
                }
            }
            // A new round at once when `nginx -t` changed, as an operator rerunning the checks
            // would see it.
            if t % PREFLIGHT_MS == 0 || h.preflight_sent != Some(h.nginx_broken) {
                h.preflight_sent = Some(h.nginx_broken);
                out.push((
                    t,
                    Msg::Telemetry {
                        gateway: i,
                        data: h.preflight(),
                    },
                ));
            }
            if t % SAMPLE_MS == 0 {
                for data in h.samples() {
                    out.push((t, Msg::Telemetry { gateway: i, data }));
                }
            }
        }
        if t % EVAL_MS == 0 {
            out.push((t, Msg::Tick));
        }
    }

    fn finish_ops(&mut self, t: Ms, out: &mut Vec<(Ms, Msg)>) {
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].0 > t {
                i += 1;
                continue;
            }
            let (_, op) = self.pending.remove(i);
            let h = &mut self.hosts[op.gateway];
            let outcome = h.complete(&op);
            out.push((t, Msg::OpDone(outcome)));
        }
    }
}

impl SimHost {
    /// Start this tick's requests and finish the ones whose stream ended.
    fn serve(&mut self, t: Ms, lambda: f64) {
        let n = self.rng.poisson(lambda);
        for _ in 0..n {
            let color = if self.rng.chance(f64::from(self.weights.green) / 100.0) {
                Color::Green
            } else {
                Color::Blue
            };
            let p = &self.profile[color];
            let (status, duration) = if !self.running[color] {
                (502, 1.0) // nginx cannot connect to a stopped color
            } else if self.hung[color] {
                (504, 60_000.0) // proxy_read_timeout ends the wait
            } else if self.rng.chance(p.error_rate) {
                (
                    if self.rng.chance(0.5) { 502 } else { 503 },
                    self.rng.lognormal(p.ttft_ms * 0.5, 0.3),
                )
            } else {
                let ttft = self.rng.lognormal(p.ttft_ms, 0.12);
                (200, ttft + self.rng.lognormal(p.stream_secs * 1000.0, 0.35))
            };
            let record = RequestRecord {
                color: Some(color),
                status,
                request_ms: duration.round().max(1.0) as u32,
                header_ms: Some(self.rng.lognormal(4.0, 0.3).round() as u32),
            };
            self.in_flight[color].push((t + duration as Ms, record));
        }
        for c in Color::BOTH {
            let finished = &mut self.finished;
            self.in_flight[c].retain(|(end, r)| {
                let done = *end <= t;
                if done {
                    finished.push(*r);
                }
                !done
            });
        }
    }

    /// The failed requests among `records` (gateway `i`, finished by `t`), as the access-log
    /// tail would report them: IDs made from the gateway, the time and a count (no draw from
    /// the random stream, so seeds keep their stories).
    fn failures_of(&mut self, i: usize, t: Ms, records: &[RequestRecord]) -> Vec<FailedRequest> {
        let mut out = Vec::new();
        for r in records.iter().filter(|r| r.is_error()) {
            let Some(color) = r.color else { continue };
            self.failed_count += 1;
            let addr = match color {
                Color::Blue => "127.0.0.1:8787",
                Color::Green => self.green_listen.as_str(),
            };
            out.push(FailedRequest {
                time_ms: t,
                request_id: format!("sim{i:02}{:08x}", self.failed_count),
                status: r.status,
                request_ms: Some(r.request_ms),
                tries: vec![Try {
                    addr: addr.to_string(),
                    color: Some(color),
                    status: Some(r.status),
                    response_ms: Some(r.request_ms),
                }],
                failed: color,
                failed_status: r.status,
                retried_to: None,
            });
        }
        out
    }

    /// The simulated host's preflight round: its nginx is set up for streaming, its colors'
    /// limits are ample, and `nginx -t` fails while the scenario breaks it.
    fn preflight(&self) -> Telemetry {
        let ok = |check: &str, reason: &str| Finding {
            check: check.into(),
            status: CheckStatus::Ok,
            reason: reason.into(),
        };
        let nginx_test = if self.nginx_broken {
            Finding {
                check: "nginx -t".into(),
                status: CheckStatus::Fail,
                reason: "nginx: [emerg] unexpected \"}\" in /etc/nginx/conf.d/gateway.conf:31"
                    .into(),
            }
        } else {
            ok("nginx -t", "the configuration is valid")
        };
        Telemetry::Preflight {
            findings: vec![
                nginx_test,
                ok(
                    "nginx buffering",
                    "proxy_buffering off in every proxying location",
                ),
                ok(
                    "nginx read timeout",
                    "proxy_read_timeout 300 s, at least both colors' idle ceilings",
                ),
                ok("nofile", "blue 65536, green 65536 (min 4096)"),
            ],
        }
    }

    fn samples(&mut self) -> Vec<Telemetry> {
        let serving = Color::BOTH
            .iter()
            .any(|&c| self.running[c] && self.weights.of(c) > 0);
        let status = if serving {
            self.health
        } else {
            HealthStatus::Down
        };
        let failing = match status {
            HealthStatus::Ok => vec![],
            HealthStatus::Degraded => vec!["webhook".into()],
            _ => vec!["upstream".into()],
        };
        let host = HostSample {
            conns: PerColor::from_fn(|c| self.in_flight[c].len() as u32),
            listeners: PerColor {
                blue: if self.running.blue {
                    vec!["127.0.0.1:8787".into()]
                } else {
                    vec![]
                },
                green: if self.running.green {
                    vec![self.green_listen.clone()]
                } else {
                    vec![]
                },
            },
            running: self.running,
            versions: PerColor {
                blue: self.running.blue.then(|| "4f2a9c1".into()),
                green: self.running.green.then(|| "b7e03d5".into()),
            },
            clock_skew_ms: self.clock_skew_ms,
            // Both builds run one configuration revision, as a healthy cutover has them.
            revisions: Some(Box::new(crate::model::Revisions {
                of: PerColor {
                    blue: self.running.blue.then(|| "r42".into()),
                    green: self.running.green.then(|| "r42".into()),
                },
                expected: None,
            })),
            ..HostSample::default()
        };
        vec![
            Telemetry::Health(HealthReport {
                status,
                failing,
                latency_ms: self.rng.lognormal(12.0, 0.3) as u32,
            }),
            Telemetry::Host(host),
            Telemetry::Weights(self.weights),
        ]
    }

    /// Carry out an operation that has reached its completion time.
    fn complete(&mut self, op: &Op) -> OpOutcome {
        let mut outcome = OpOutcome {
            id: op.id,
            gateway: op.gateway,
            weights: Some(self.weights),
            error: None,
        };
        if self.dark {
            outcome.weights = None;
            outcome.error = Some("ssh: connect to host: Connection timed out".into());
            return outcome;
        }
        let needs_nginx = matches!(op.kind, OpKind::SetWeights { .. } | OpKind::Rollback { .. });
        if needs_nginx && self.nginx_broken {
            outcome.error = Some(
                "nginx -t failed: [emerg] open() \"/etc/nginx/conf.d/extra.conf\" failed (2: No such file or directory); previous file restored".into(),
            );
            return outcome;
        }
        match op.kind {
            OpKind::SetWeights { to } => self.weights = to,
            OpKind::Rollback { to } => {
                self.weights = Weights::all_on(to);
                self.running[to.other()] = false;
            }
            OpKind::Stop { color } => self.running[color] = false,
            OpKind::Start { color } | OpKind::Restart { color } => {
                // A hung color starts but never answers: the readiness wait fails.
                self.running[color] = true;
                if self.hung[color] {
                    outcome.error = Some(format!(
                        "{color} started but gave no first token within 60 s: not ready"
                    ));
                }
            }
        }
        outcome.weights = Some(self.weights);
        outcome
    }
}

impl World for SimFleet {
    fn advance(&mut self, until: Ms, out: &mut Vec<(Ms, Msg)>) {
        while self.now + TICK_MS <= until {
            self.now += TICK_MS;
            let t = self.now;
            self.step(t, out);
        }
    }

    fn audit(&mut self, now: Ms, note: AuditNote) {
        self.notes.push((now, note));
    }

    fn drain_logs(&mut self, out: &mut Vec<(Ms, LogLine)>) {
        out.append(&mut self.logs);
    }

    fn execute(&mut self, now: Ms, op: Op) {
        self.executed.push((now, op.clone()));
        let h = &mut self.hosts[op.gateway];
        // ssh round trips, nginx -t, reload and read-back take a moment.
        let base = match op.kind {
            OpKind::SetWeights { .. } => 400.0,
            OpKind::Rollback { .. } => 900.0,
            OpKind::Stop { .. } => 500.0,
            // The start command, then the first probe that answers.
            OpKind::Start { .. } => 2_500.0,
            OpKind::Restart { .. } => 3_000.0,
        };
        let delay = if h.dark {
            SSH_TIMEOUT_MS
        } else {
            h.rng.lognormal(base, 0.25) as Ms
        };
        self.pending.push((now + delay.max(TICK_MS), op));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::plan::Origin;

    fn run(fleet: &mut SimFleet, until: Ms) -> Vec<(Ms, Msg)> {
        let mut out = Vec::new();
        fleet.advance(until, &mut out);
        out
    }

    #[test]
    fn deterministic_for_a_seed() {
        let s = Scenario::find("green-5xx").unwrap();
        let a = run(&mut SimFleet::new(s.clone(), 42), 30_000);
        let b = run(&mut SimFleet::new(s.clone(), 42), 30_000);
        let c = run(&mut SimFleet::new(s, 43), 30_000);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn traffic_follows_weights() {
        let mut s = Scenario::find("happy-path").unwrap();
        s.fleet.initial_green = 30;
        let mut f = SimFleet::new(s, 1);
        let mut per = PerColor::<u64>::default();
        for (_, m) in run(&mut f, 120_000) {
            if let Msg::Telemetry {
                data: Telemetry::Requests { records },
                ..
            } = m
            {
                for r in records {
                    per[r.color.unwrap()] += 1;
                }
            }
        }
        let share = per.green as f64 / (per.blue + per.green) as f64;
        assert!((share - 0.30).abs() < 0.02, "green share {share}");
    }

    #[test]
    fn operations_change_weights_and_report_back() {
        let mut f = SimFleet::new(Scenario::find("happy-path").unwrap(), 1);
        run(&mut f, 1_000);
        let to = Weights::with_green(10).unwrap();
        f.execute(
            1_000,
            Op {
                id: 7,
                gateway: 2,
                kind: OpKind::SetWeights { to },
                before: Some(Weights::STEADY),
                origin: Origin::Operator,
                reason: None,
                candidate: Color::Green,
            },
        );
        let done: Vec<_> = run(&mut f, 5_000)
            .into_iter()
            .filter_map(|(_, m)| match m {
                Msg::OpDone(o) => Some(o),
                _ => None,
            })
            .collect();
        assert_eq!(
            done,
            vec![OpOutcome {
                id: 7,
                gateway: 2,
                weights: Some(to),
                error: None
            }]
        );
        assert_eq!(f.true_weights(2), to);
        assert_eq!(f.true_weights(0), Weights::STEADY);
    }

    #[test]
    fn broken_nginx_keeps_old_weights() {
        let mut f = SimFleet::new(Scenario::find("nginx-test-fails").unwrap(), 1);
        run(&mut f, 1_000);
        let to = Weights::with_green(20).unwrap();
        f.execute(
            1_000,
            Op {
                id: 1,
                gateway: 1,
                kind: OpKind::SetWeights { to },
                before: None,
                origin: Origin::Operator,
                reason: None,
                candidate: Color::Green,
            },
        );
        let out = run(&mut f, 5_000);
        let o = out
            .iter()
            .find_map(|(_, m)| {
                if let Msg::OpDone(o) = m {
                    Some(o.clone())
                } else {
                    None
                }
            })
            .unwrap();
        assert!(o.error.unwrap().contains("nginx -t failed"));
        assert_eq!(o.weights, Weights::with_green(10));
    }
}
