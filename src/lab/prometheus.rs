//! `lab up --prometheus`: a real Prometheus on the lab's first address, scraping every second
//! the cockpit's or `watch`'s `/metrics` (the address fleet.toml's `[export] metrics_listen`
//! names), each host's two color processes' own `/metrics` (job `gateways`, labelled with the
//! host's `gateway` and `az`; not in a `--unix-sockets` lab, whose colors Prometheus cannot
//! dial) and, when Debian's `prometheus-nginx-exporter` is installed, each host's nginx
//! stub_status through one exporter per host. Its configuration, data and log stay in
//! `DIR/prometheus/`; `lab down` stops it with the rest. fleet.toml gets the `[export]`
//! section and, commented out, the `[telemetry]` one that judges from this Prometheus.

use super::layout::{self, Layout};
use super::process;
use super::render::HostSpec;
use super::state::LabState;
use super::tools::Tool;
use crate::model::Color;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Prometheus's port on the lab's first address.
pub(crate) const PROMETHEUS_PORT: u16 = 9090;
/// The port on the lab's first address where the cockpit or `watch` serves `/metrics`.
pub(crate) const METRICS_PORT: u16 = 9464;
/// Each host's prometheus-nginx-exporter port.
pub(crate) const NGINX_EXPORTER_PORT: u16 = 9113;
/// How long Prometheus may take to be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The Prometheus server.
pub(crate) const PROMETHEUS: Tool = Tool {
    name: "prometheus",
    env: "CUTOVER_LAB_PROMETHEUS",
    package: "prometheus",
};
/// nginx's stub_status as Prometheus metrics (optional).
pub(crate) const NGINX_EXPORTER: Tool = Tool {
    name: "prometheus-nginx-exporter",
    env: "CUTOVER_LAB_NGINX_EXPORTER",
    package: "prometheus-nginx-exporter",
};

/// What `lab.json` records of the lab's Prometheus (under the key `prometheus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PrometheusState {
    /// Prometheus's URL: its HTTP API (`/api/v1/query`) and UI.
    pub(crate) url: String,
    /// Its pid, once started.
    pub(crate) pid: Option<u32>,
    /// The address it scrapes for cutover's metrics (`[export] metrics_listen`).
    pub(crate) metrics_listen: String,
    /// One nginx exporter per host; empty when the package is not installed.
    pub(crate) nginx_exporters: Vec<ExporterState>,
}

/// One host's prometheus-nginx-exporter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExporterState {
    /// The gateway whose stub_status it reads.
    pub(crate) gateway: String,
    /// Where it listens.
    pub(crate) listen: String,
    /// Its pid, once started.
    pub(crate) pid: Option<u32>,
}

/// `DIR/prometheus`.
fn home(layout: &Layout) -> PathBuf {
    layout.dir.join("prometheus")
}

/// The address cutover serves its metrics on in a lab whose first host is `first`.
pub(crate) fn metrics_listen(first: Ipv4Addr) -> SocketAddr {
    SocketAddr::from((first, METRICS_PORT))
}

/// The `[export]` section appended to the lab's fleet.toml, then a commented-out
/// `[telemetry]` section that would judge from the lab's Prometheus.
pub(crate) fn fleet_export(first: Ipv4Addr) -> String {
    format!(
        "\n# `lab up --prometheus`: the lab's Prometheus scrapes this every second; run\n\
         # `cutover -c fleet.toml watch` (or the cockpit) to serve it.\n\
         [export]\n\
         metrics_listen = \"{}\"\n\
         \n\
         # To judge from this Prometheus instead of tailing the access logs over SSH, uncomment:\n\
         # [telemetry]\n\
         # source = \"prometheus\"\n\
         # prometheus_url = \"http://{}\"\n",
        metrics_listen(first),
        SocketAddr::from((first, PROMETHEUS_PORT))
    )
}

/// prometheus.yml: cutover's metrics, each color's own (not over unix sockets) and the
/// nginx exporters, every second. Pure.
pub(crate) fn config(
    hosts: &[HostSpec],
    metrics: SocketAddr,
    exporters: bool,
    unix_sockets: bool,
) -> String {
    let mut s = format!(
        "# Written by `cutover lab up --prometheus`.\n\
         global:\n\
         \x20 scrape_interval: 1s\n\
         \x20 scrape_timeout: 1s\n\
         \x20 evaluation_interval: 1s\n\
         scrape_configs:\n\
         \x20 - job_name: cutover\n\
         \x20   static_configs:\n\
         \x20     - targets: [\"{metrics}\"]\n"
    );
    if unix_sockets {
        s.push_str(
            "  # No `gateways` job: in this --unix-sockets lab the colors listen on unix sockets,\n\
             \x20 # which Prometheus cannot scrape.\n",
        );
    } else {
        s.push_str("  - job_name: gateways\n    metrics_path: /metrics\n    static_configs:\n");
        for h in hosts {
            let targets: Vec<String> = Color::BOTH
                .iter()
                .map(|&c| format!("\"{}\"", layout::color_addr(h.ip, c)))
                .collect();
            s.push_str(&format!(
                "      - targets: [{}]\n        labels: {{gateway: \"{}\", az: \"{}\"}}\n",
                targets.join(", "),
                h.name,
                h.az
            ));
        }
    }
    if exporters {
        s.push_str("  - job_name: nginx\n    static_configs:\n");
        for h in hosts {
            s.push_str(&format!(
                "      - targets: [\"{}:{NGINX_EXPORTER_PORT}\"]\n        labels: {{gateway: \"{}\", az: \"{}\"}}\n",
                h.ip, h.name, h.az
            ));
        }
    }
    s
}

/// Start the exporters (when installed) and Prometheus, recording their pids in `state` as
/// they start; returns once Prometheus says it is ready.
pub(crate) fn start(
    layout: &Layout,
    state: &mut LabState,
    hosts: &[HostSpec],
) -> Result<(), String> {
    let prometheus = PROMETHEUS.find()?;
    let exporter = NGINX_EXPORTER.find().ok();
    let Some(first) = hosts.first() else {
        return Err("a lab needs a host for its Prometheus".into());
    };
    let dir = home(layout);
    // A fresh store for a fresh lab: series of an earlier one would mix in.
    let _ = std::fs::remove_dir_all(dir.join("data"));
    std::fs::create_dir_all(dir.join("data"))
        .map_err(|e| format!("cannot create {}: {e}", dir.join("data").display()))?;
    let metrics = metrics_listen(first.ip);
    let listen = SocketAddr::from((first.ip, PROMETHEUS_PORT));
    state.prometheus = Some(PrometheusState {
        url: format!("http://{listen}"),
        pid: None,
        metrics_listen: metrics.to_string(),
        nginx_exporters: Vec::new(),
    });
    let yml = dir.join("prometheus.yml");
    let yaml = config(hosts, metrics, exporter.is_some(), state.unix_sockets);
    std::fs::write(&yml, yaml).map_err(|e| format!("cannot write {}: {e}", yml.display()))?;

    if let Some(bin) = &exporter {
        for h in hosts {
            let at = SocketAddr::from((h.ip, NGINX_EXPORTER_PORT));
            let log = dir.join(format!("nginx-exporter-{}.log", h.name));
            let mut cmd = Command::new(bin);
            cmd.arg("-nginx.scrape-uri")
                .arg(format!(
                    "http://{}:{}/nginx_status",
                    h.ip,
                    layout::STATUS_PORT
                ))
                .arg("-web.listen-address")
                .arg(at.to_string());
            let mut child = process::spawn_detached(&mut cmd, &log)
                .map_err(|e| format!("{}: cannot start {}: {e}", h.name, bin.display()))?;
            if let Some(p) = state.prometheus.as_mut() {
                p.nginx_exporters.push(ExporterState {
                    gateway: h.name.clone(),
                    listen: at.to_string(),
                    pid: Some(child.id()),
                });
            }
            state.save(&layout.state())?;
            process::wait_listening(
                at,
                &mut child,
                Duration::from_secs(10),
                &format!("{} nginx exporter", h.name),
                &log,
            )?;
        }
    }

    let log = dir.join("prometheus.log");
    let mut cmd = Command::new(&prometheus);
    cmd.arg(format!("--config.file={}", yml.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={listen}"))
        .arg("--storage.tsdb.retention.time=2d");
    let mut child = process::spawn_detached(&mut cmd, &log)
        .map_err(|e| format!("cannot start {}: {e}", prometheus.display()))?;
    if let Some(p) = state.prometheus.as_mut() {
        p.pid = Some(child.id());
    }
    state.save(&layout.state())?;
    process::wait_listening(listen, &mut child, READY_TIMEOUT, "prometheus", &log)?;
    wait_ready(listen, &mut child, &log)
}

/// Prometheus listens before it has loaded its store: wait for `/-/ready` to answer 200.
fn wait_ready(
    at: SocketAddr,
    child: &mut std::process::Child,
    log: &std::path::Path,
) -> Result<(), String> {
    use std::io::{Read, Write};
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "prometheus exited ({status}): {}",
                process::log_tail(log)
            ));
        }
        let ready = std::net::TcpStream::connect_timeout(&at, Duration::from_millis(300))
            .and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(1)))?;
                write!(
                    s,
                    "GET /-/ready HTTP/1.1\r\nHost: {at}\r\nConnection: close\r\n\r\n"
                )?;
                let mut head = [0u8; 12];
                s.read_exact(&mut head)?;
                Ok(head.ends_with(b"200"))
            })
            .unwrap_or(false);
        if ready {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "prometheus did not become ready on {at} within {} s: {}",
                READY_TIMEOUT.as_secs(),
                process::log_tail(log)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The lab's Prometheus processes that are alive and ours, labelled, for `lab down`.
pub(crate) fn live(state: &LabState) -> Vec<(String, u32)> {
    let Some(p) = &state.prometheus else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(pid) = p.pid.filter(|&pid| process::ours(pid, &state.dir)) {
        out.push(("prometheus".to_string(), pid));
    }
    for e in &p.nginx_exporters {
        // Its command line names the host's stub_status address, which this lab owns.
        let marker = e
            .listen
            .split(':')
            .next()
            .map(|ip| format!("{ip}:{}/nginx_status", layout::STATUS_PORT));
        if let (Some(pid), Some(m)) = (e.pid, marker) {
            if process::ours(pid, &m) {
                out.push((format!("{} nginx exporter", e.gateway), pid));
            }
        }
    }
    out
}

/// The addresses the lab's Prometheus processes listen on, for `lab down`'s final check.
pub(crate) fn addresses(state: &LabState) -> Vec<SocketAddr> {
    let Some(p) = &state.prometheus else {
        return Vec::new();
    };
    std::iter::once(p.url.trim_start_matches("http://"))
        .chain(p.nginx_exporters.iter().map(|e| e.listen.as_str()))
        .filter_map(|a| a.parse().ok())
        .collect()
}

/// `fleet.toml`'s text with the commented `[telemetry]` block that `fleet_export` writes
/// switched on, as an operator would uncomment it (the tests and the sources bench use it).
pub fn with_prometheus_telemetry(fleet_toml: &str) -> String {
    let mut out: String = fleet_toml
        .lines()
        .map(|l| {
            let bare = l.strip_prefix("# ").unwrap_or(l);
            let ours = bare == "[telemetry]"
                || bare.starts_with("source = ")
                || bare.starts_with("prometheus_url = ");
            if ours { bare } else { l }
        })
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two hosts on 127.0.1.20 and .21, as `lab up --gateways 2` names them.
    fn two_hosts() -> Vec<HostSpec> {
        (0..2)
            .map(|i| {
                let (name, az) = layout::host_name(i, 2);
                HostSpec {
                    name,
                    az,
                    ip: Ipv4Addr::new(127, 0, 1, 20 + i as u8),
                }
            })
            .collect()
    }

    /// The lines of job `name` in a prometheus.yml, up to the next job or comment at its level.
    fn job<'a>(yaml: &'a str, name: &str) -> Option<&'a str> {
        let start = yaml.find(&format!("  - job_name: {name}\n"))?;
        let rest = &yaml[start..];
        let end = rest[1..]
            .find("\n  - job_name: ")
            .or_else(|| rest[1..].find("\n  # "))
            .map_or(rest.len(), |i| i + 2);
        Some(&rest[..end])
    }

    #[test]
    fn the_config_scrapes_cutover_and_each_exporter_every_second() {
        let hosts = two_hosts();
        let m = metrics_listen(hosts[0].ip);
        let y = config(&hosts, m, true, false);
        assert!(y.contains("scrape_interval: 1s"), "{y}");
        assert!(y.contains("targets: [\"127.0.1.20:9464\"]"), "{y}");
        assert!(y.contains("targets: [\"127.0.1.21:9113\"]"), "{y}");
        assert!(
            y.contains("labels: {gateway: \"gw-b1\", az: \"az-b\"}"),
            "{y}"
        );
        assert!(!config(&hosts, m, false, false).contains("job_name: nginx"));
        let toml = fleet_export(hosts[0].ip);
        let cfg = crate::config::Config::parse(&toml, std::path::Path::new("fleet.toml")).unwrap();
        assert_eq!(cfg.export.metrics_addr(), Some(m));
    }

    #[test]
    fn the_gateways_job_scrapes_both_colors_of_every_host_with_its_labels() {
        let hosts = two_hosts();
        let m = metrics_listen(hosts[0].ip);
        for exporters in [true, false] {
            let y = config(&hosts, m, exporters, false);
            let gateways = job(&y, "gateways").unwrap_or_else(|| panic!("no gateways job:\n{y}"));
            assert_eq!(
                gateways,
                "  - job_name: gateways\n\
                 \x20   metrics_path: /metrics\n\
                 \x20   static_configs:\n\
                 \x20     - targets: [\"127.0.1.20:8787\", \"127.0.1.20:8788\"]\n\
                 \x20       labels: {gateway: \"gw-a1\", az: \"az-a\"}\n\
                 \x20     - targets: [\"127.0.1.21:8787\", \"127.0.1.21:8788\"]\n\
                 \x20       labels: {gateway: \"gw-b1\", az: \"az-b\"}\n",
                "{y}"
            );
            // The addresses are the ones the colors listen on.
            for h in &hosts {
                for c in Color::BOTH {
                    let target = format!("\"{}\"", layout::color_addr(h.ip, c));
                    assert!(gateways.contains(&target), "{target} in {gateways}");
                }
            }
            assert_eq!(y.matches("job_name: gateways").count(), 1, "{y}");
            assert!(job(&y, "cutover").is_some(), "{y}");
            assert_eq!(job(&y, "nginx").is_some(), exporters, "{y}");
        }
    }

    #[test]
    fn a_unix_socket_lab_has_no_gateways_job_and_says_why() {
        let hosts = two_hosts();
        let m = metrics_listen(hosts[0].ip);
        let y = config(&hosts, m, true, true);
        assert!(job(&y, "gateways").is_none(), "{y}");
        assert!(!y.contains(":8787") && !y.contains(":8788"), "{y}");
        assert!(
            y.contains(
                "  # No `gateways` job: in this --unix-sockets lab the colors listen on unix sockets,\n\
                 \x20 # which Prometheus cannot scrape.\n"
            ),
            "{y}"
        );
        // The other jobs are still there.
        assert!(
            job(&y, "cutover").is_some() && job(&y, "nginx").is_some(),
            "{y}"
        );
    }

    #[test]
    fn fleet_export_offers_the_prometheus_telemetry_commented_out() {
        let ip = Ipv4Addr::new(127, 0, 1, 20);
        let text = fleet_export(ip);
        let block = "\n# To judge from this Prometheus instead of tailing the access logs over SSH, uncomment:\n\
                     # [telemetry]\n\
                     # source = \"prometheus\"\n\
                     # prometheus_url = \"http://127.0.1.20:9090\"\n";
        assert!(text.ends_with(block), "{text}");
        assert!(
            text.find("[export]") < text.find("# [telemetry]"),
            "after [export]: {text}"
        );
        // Commented out, the fleet.toml still has no [telemetry] section...
        let cfg = crate::config::Config::parse(&text, std::path::Path::new("fleet.toml")).unwrap();
        assert_eq!(cfg.export.metrics_addr(), Some(metrics_listen(ip)));
        // ... and uncommented it is well-formed TOML naming the lab's Prometheus.
        let uncommented = with_prometheus_telemetry(&text);
        let switched =
            crate::config::Config::parse(&uncommented, std::path::Path::new("fleet.toml")).unwrap();
        assert_eq!(switched.telemetry.source.name(), "prometheus");
        let table: toml::Table = toml::from_str(&uncommented).expect("valid TOML");
        let telemetry = table["telemetry"].as_table().expect("[telemetry]");
        assert_eq!(telemetry["source"].as_str(), Some("prometheus"));
        assert_eq!(
            telemetry["prometheus_url"].as_str(),
            Some(format!(
                "http://{}",
                SocketAddr::from((ip, PROMETHEUS_PORT))
            ))
            .as_deref()
        );
    }
}
