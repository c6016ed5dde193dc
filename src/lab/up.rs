//! `cutover lab up`: keys, configs and processes for N hosts; all of it or none of it.

use super::LabError;
use super::claims;
use super::color;
use super::layout::{self, Layout, check_path_chars};
use super::process;
use super::render::{self, HostSpec};
use super::state::{HostState, LabState};
use super::tools::{self, Tool};
use crate::model::{Color, Weights};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Most gateways one lab may have (addresses 127.0.1.2-254 are shared by all labs).
pub(crate) const MAX_GATEWAYS: usize = 100;
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// What `lab up` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct UpOptions {
    /// Number of gateway hosts.
    pub(crate) gateways: usize,
    /// The lab directory (created if missing).
    pub(crate) dir: PathBuf,
    /// Upstream weights every host starts with.
    pub(crate) weights: Weights,
    /// Also start a real Prometheus scraping the exports (`--prometheus`).
    pub(crate) prometheus: bool,
    /// The public listeners speak https, signed by a CA made for the lab (`--tls`).
    pub(crate) tls: bool,
    /// Days the hosts' certificates are valid (`--tls-days`): a short one tests the TLS row.
    pub(crate) tls_days: u32,
    /// The colors listen on unix sockets (`--unix-sockets`).
    pub(crate) unix_sockets: bool,
}

/// The programs `lab up` runs.
struct Bins {
    nginx: PathBuf,
    sshd: PathBuf,
    keygen: PathBuf,
    cutover: PathBuf,
}

fn find_bins() -> Result<Bins, LabError> {
    let find = |t: Tool| t.find().map_err(LabError::Failed);
    let cutover = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| LabError::Failed(format!("cannot locate the cutover binary: {e}")))?;
    check_path_chars(&cutover).map_err(|e| {
        LabError::Failed(format!(
            "the cutover binary is written into fleet.toml commands: {e}"
        ))
    })?;
    Ok(Bins {
        nginx: find(tools::NGINX)?,
        sshd: find(tools::SSHD)?,
        keygen: find(tools::SSH_KEYGEN)?,
        cutover,
    })
}

/// Create, canonicalize and check the lab directory.
fn prepare_dir(dir: &Path) -> Result<PathBuf, LabError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        LabError::Failed(format!(
            "cannot create the lab directory {}: {e}",
            dir.display()
        ))
    })?;
    let dir = dir.canonicalize().map_err(|e| {
        LabError::Failed(format!(
            "cannot resolve the lab directory {}: {e}",
            dir.display()
        ))
    })?;
    check_path_chars(&dir).map_err(LabError::Usage)?;
    let probe = dir.join(".cutover-write-test");
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            LabError::Failed(format!(
                "the lab directory {} is not writable: {e}",
                dir.display()
            ))
        })?;
    Ok(dir)
}

/// Every process a lab's state says it started that is still alive and ours, with a label.
pub(crate) fn live_processes(layout: &Layout, state: &LabState) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for h in &state.hosts {
        for c in Color::BOTH {
            if let Some(pid) = color::running_pid(layout, state, &h.name, c) {
                out.push((format!("{} {}", h.name, c.name()), pid));
            }
        }
        let nginx_file = std::fs::read_to_string(layout.nginx_pid(&h.name))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let mut nginx: Vec<u32> = h.nginx_pid.into_iter().chain(nginx_file).collect();
        nginx.dedup();
        for pid in nginx {
            if process::ours(pid, &state.dir) {
                out.push((format!("{} nginx", h.name), pid));
            }
        }
        if let Some(pid) = h.sshd_pid.filter(|&p| process::ours(p, &state.dir)) {
            // Connection processes start their own sessions, so the group kill misses them.
            for child in process::descendants(pid) {
                out.push((format!("{} sshd session", h.name), child));
            }
            out.push((format!("{} sshd", h.name), pid));
        }
    }
    out.extend(super::prometheus::live(state));
    out
}

fn run_checked(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    Err(format!(
        "{what} failed ({}): {}",
        out.status,
        crate::sanitize::sanitize(text.trim())
    ))
}

fn keygen(bin: &Path, path: &Path, comment: &str) -> Result<(), String> {
    for p in [path.to_path_buf(), path.with_extension("pub")] {
        let _ = std::fs::remove_file(p);
    }
    run_checked(
        Command::new(bin)
            .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
            .arg(path),
        &format!("ssh-keygen for {}", path.display()),
    )
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn login_user() -> String {
    process::user_name()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "root".into())
}

/// Bring a lab up; on any failure, everything started so far is stopped again.
pub(crate) fn up(opts: &UpOptions) -> Result<LabState, LabError> {
    if opts.gateways == 0 || opts.gateways > MAX_GATEWAYS {
        return Err(LabError::Usage(format!(
            "--gateways {}: a lab has 1 to {MAX_GATEWAYS} gateways",
            opts.gateways
        )));
    }
    let bins = find_bins()?;
    let dir = prepare_dir(&opts.dir)?;
    let layout = Layout::new(&dir);
    if layout.state().exists() {
        let old = LabState::load(&layout.state()).map_err(LabError::Failed)?;
        let live = live_processes(&layout, &old);
        if !live.is_empty() {
            let names: Vec<String> = live.iter().map(|(w, p)| format!("{w} (pid {p})")).collect();
            return Err(LabError::Failed(format!(
                "a lab is already up in {}: {} processes running ({}); stop it first with `cutover lab down --dir {}`",
                dir.display(),
                live.len(),
                names.join(", "),
                dir.display()
            )));
        }
        // A lab that died without `lab down`: its addresses go back before we claim ours.
        claims::release(&old.hosts.iter().map(|h| h.ip).collect::<Vec<_>>());
        let _ = std::fs::remove_file(layout.state());
    }
    let ips = claims::claim(opts.gateways, &dir).map_err(LabError::Failed)?;
    let hosts: Vec<HostSpec> = ips
        .iter()
        .enumerate()
        .map(|(i, &ip)| {
            let (name, az) = layout::host_name(i, opts.gateways);
            HostSpec { name, az, ip }
        })
        .collect();
    let mut state = LabState {
        dir: dir.display().to_string(),
        binary: bins.cutover.display().to_string(),
        hosts: hosts
            .iter()
            .map(|h| HostState {
                name: h.name.clone(),
                az: h.az.clone(),
                ip: h.ip,
                nginx_pid: None,
                sshd_pid: None,
            })
            .collect(),
        prometheus: None,
        tls: opts.tls,
        unix_sockets: opts.unix_sockets,
    };
    let started = start_all(&layout, &bins, &hosts, &mut state, opts).and_then(|()| {
        if !opts.prometheus {
            return Ok(());
        }
        let first = hosts.first().map(|h| h.ip);
        if let Some(ip) = first {
            let fleet = layout.fleet_toml();
            let mut text = std::fs::read_to_string(&fleet)
                .map_err(|e| format!("cannot read {}: {e}", fleet.display()))?;
            text.push_str(&super::prometheus::fleet_export(ip));
            write(&fleet, &text)?;
        }
        super::prometheus::start(&layout, &mut state, &hosts)
    });
    match started {
        Ok(()) => Ok(state),
        Err(e) => {
            let pids: Vec<u32> = live_processes(&layout, &state)
                .iter()
                .map(|x| x.1)
                .collect();
            process::terminate(&pids, Duration::from_secs(5));
            claims::release(&ips);
            let _ = std::fs::remove_file(layout.state());
            Err(LabError::Failed(e))
        }
    }
}

fn start_all(
    layout: &Layout,
    bins: &Bins,
    hosts: &[HostSpec],
    state: &mut LabState,
    opts: &UpOptions,
) -> Result<(), String> {
    let user = login_user();
    let weights = opts.weights;
    let flavor = render::Flavor {
        tls: opts.tls,
        unix_sockets: opts.unix_sockets,
    };
    state.save(&layout.state())?;
    if opts.tls {
        make_certificates(layout, hosts, opts.tls_days)?;
    }

    // Keys: one client key for the lab, one host key per host.
    write(&layout.authorized_keys(), "")?;
    keygen(&bins.keygen, &layout.client_key(), "cutover-lab-client")?;
    let client_pub = std::fs::read_to_string(layout.client_key().with_extension("pub"))
        .map_err(|e| format!("cannot read the client public key: {e}"))?;
    write(&layout.authorized_keys(), &client_pub)?;

    let mut known_hosts = String::new();
    for h in hosts {
        let name = &h.name;
        for sub in ["conf", "logs", "temp"] {
            let d = layout.nginx_prefix(name).join(sub);
            std::fs::create_dir_all(&d)
                .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        }
        keygen(
            &bins.keygen,
            &layout.host_key(name),
            &format!("cutover-lab-{name}"),
        )?;
        let host_pub = std::fs::read_to_string(layout.host_key(name).with_extension("pub"))
            .map_err(|e| format!("cannot read the host key of {name}: {e}"))?;
        known_hosts.push_str(&render::known_hosts_line(h, &host_pub)?);
        write(&layout.nginx_conf(name), &render::nginx_conf(layout, h))?;
        write(
            &layout.gateway_conf(name),
            &render::gateway_conf(layout, h, weights, flavor),
        )?;
        write(
            &layout.sshd_config(name),
            &render::sshd_config(layout, h, &user),
        )?;
        for c in Color::BOTH {
            let _ = std::fs::remove_file(layout.color_behaviour(name, c));
        }
    }

    // Both colors of every host first: nginx starts with live upstreams.
    for host in state.hosts.clone() {
        for c in Color::BOTH {
            color::start(layout, state, &host, c)?;
        }
    }

    if unsafe { libc::geteuid() } == 0 {
        // sshd running as root insists on its privilege-separation directory.
        std::fs::create_dir_all("/run/sshd")
            .map_err(|e| format!("cannot create /run/sshd for sshd: {e}"))?;
    }
    let mut children = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let name = &h.name;
        let prefix = layout.nginx_prefix(name);
        let nginx_args = |cmd: &mut Command| {
            cmd.arg("-p")
                .arg(&prefix)
                .args(["-c", "conf/nginx.conf", "-e", "logs/error.log"]);
        };
        let mut test = Command::new(&bins.nginx);
        nginx_args(&mut test);
        run_checked(test.arg("-t"), &format!("{name}: nginx -t"))?;
        run_checked(
            Command::new(&bins.sshd)
                .arg("-t")
                .arg("-f")
                .arg(layout.sshd_config(name)),
            &format!("{name}: sshd -t"),
        )?;

        let mut nginx = Command::new(&bins.nginx);
        nginx_args(&mut nginx);
        let nginx_log = layout.host(name).join("nginx.out");
        let nginx_child = process::spawn_detached(&mut nginx, &nginx_log)
            .map_err(|e| format!("{name}: cannot start nginx: {e}"))?;
        state.hosts[i].nginx_pid = Some(nginx_child.id());
        state.save(&layout.state())?;

        let sshd_child = spawn_sshd(layout, &bins.sshd, name)?;
        state.hosts[i].sshd_pid = Some(sshd_child.id());
        state.save(&layout.state())?;
        children.push((h, nginx_child, nginx_log, sshd_child));
    }
    for (h, nginx_child, nginx_log, sshd_child) in &mut children {
        let name = &h.name;
        let error_log = layout.error_log(name);
        for port in [layout::HTTP_PORT, layout::STATUS_PORT] {
            let log = if error_log.exists() {
                &error_log
            } else {
                &*nginx_log
            };
            process::wait_listening(
                SocketAddr::from((h.ip, port)),
                nginx_child,
                LISTEN_TIMEOUT,
                &format!("{name} nginx"),
                log,
            )?;
        }
        process::wait_listening(
            SocketAddr::from((h.ip, layout::SSH_PORT)),
            sshd_child,
            LISTEN_TIMEOUT,
            &format!("{name} sshd"),
            &layout.sshd_log(name),
        )?;
    }

    write(&layout.known_hosts(), &known_hosts)?;
    write(
        &layout.ssh_config(),
        &render::ssh_config(layout, hosts, &user),
    )?;
    write(
        &layout.fleet_toml(),
        &render::fleet_toml(layout, hosts, &bins.cutover, &bins.nginx, flavor),
    )?;
    Ok(())
}

/// A new P-256 key, for `openssl req`.
const EC_KEY: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

/// The lab's CA and one certificate per host for its public address, made with `openssl`:
/// the CA for 10 years, the hosts' for `days` (a short one is what the TLS row must catch).
fn make_certificates(layout: &Layout, hosts: &[HostSpec], days: u32) -> Result<(), String> {
    let openssl = tools::OPENSSL.find()?;
    let ca = layout.tls_ca();
    let ca_key = layout.tls_ca_key();
    if let Some(d) = ca.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    run_checked(
        Command::new(&openssl)
            .args(["req", "-x509"])
            .args(EC_KEY)
            .args(["-nodes", "-days", "3650", "-subj", "/CN=cutover lab CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(&ca_key)
            .arg("-out")
            .arg(&ca),
        "openssl: the lab CA",
    )?;
    for h in hosts {
        let (cert, key) = (layout.tls_cert(&h.name), layout.tls_key(&h.name));
        let dir = cert.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let csr = dir.join("server.csr");
        let ext = dir.join("server.ext");
        write(
            &ext,
            &format!(
                "subjectAltName=IP:{}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
                h.ip
            ),
        )?;
        run_checked(
            Command::new(&openssl)
                .args(["req", "-new"])
                .args(EC_KEY)
                .args(["-nodes", "-subj"])
                .arg(format!("/CN={}", h.name))
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&csr),
            &format!("openssl: {} key", h.name),
        )?;
        run_checked(
            Command::new(&openssl)
                .args(["x509", "-req", "-in"])
                .arg(&csr)
                .arg("-CA")
                .arg(&ca)
                .arg("-CAkey")
                .arg(&ca_key)
                .args(["-CAcreateserial", "-days", &days.to_string(), "-extfile"])
                .arg(&ext)
                .arg("-out")
                .arg(&cert),
            &format!("openssl: {} certificate", h.name),
        )?;
    }
    Ok(())
}

/// Start a host's sshd in the foreground of its own session (`-D`), logging to its file.
fn spawn_sshd(layout: &Layout, sshd: &Path, name: &str) -> Result<std::process::Child, String> {
    let mut cmd = Command::new(sshd);
    cmd.arg("-D")
        .arg("-E")
        .arg(layout.sshd_log(name))
        .arg("-f")
        .arg(layout.sshd_config(name));
    process::spawn_detached(&mut cmd, &layout.sshd_log(name))
        .map_err(|e| format!("{name}: cannot start sshd: {e}"))
}

/// A lab's state and the index of its host `gateway`.
fn load_host(dir: &Path, gateway: &str) -> Result<(Layout, LabState, usize), LabError> {
    let (layout, state) = color::load(dir).map_err(LabError::Failed)?;
    state.host(gateway).map_err(LabError::Usage)?;
    let i = state
        .hosts
        .iter()
        .position(|h| h.name == gateway)
        .unwrap_or(0);
    Ok((layout, state, i))
}

/// Take a host's sshd down with every session on it: the host goes dark for SSH.
pub(crate) fn sshd_stop(dir: &Path, gateway: &str) -> Result<String, LabError> {
    let (layout, mut state, i) = load_host(dir, gateway)?;
    let Some(pid) = state.hosts[i]
        .sshd_pid
        .filter(|&p| process::ours(p, &state.dir))
    else {
        return Ok(format!("{gateway} sshd is not running"));
    };
    let mut pids = process::descendants(pid);
    pids.push(pid);
    let left = process::terminate(&pids, Duration::from_secs(5));
    if !left.is_empty() {
        return Err(LabError::Failed(format!(
            "{gateway} sshd: pids {left:?} did not exit"
        )));
    }
    state.hosts[i].sshd_pid = None;
    state.save(&layout.state()).map_err(LabError::Failed)?;
    Ok(format!("{gateway} sshd stopped ({} processes)", pids.len()))
}

/// Start a host's sshd again.
pub(crate) fn sshd_start(dir: &Path, gateway: &str) -> Result<String, LabError> {
    let (layout, mut state, i) = load_host(dir, gateway)?;
    if let Some(pid) = state.hosts[i]
        .sshd_pid
        .filter(|&p| process::ours(p, &state.dir))
    {
        return Ok(format!("{gateway} sshd already running (pid {pid})"));
    }
    let sshd = tools::SSHD.find().map_err(LabError::Failed)?;
    let mut child = spawn_sshd(&layout, &sshd, gateway).map_err(LabError::Failed)?;
    let ip = state.hosts[i].ip;
    process::wait_listening(
        SocketAddr::from((ip, layout::SSH_PORT)),
        &mut child,
        LISTEN_TIMEOUT,
        &format!("{gateway} sshd"),
        &layout.sshd_log(gateway),
    )
    .map_err(LabError::Failed)?;
    state.hosts[i].sshd_pid = Some(child.id());
    state.save(&layout.state()).map_err(LabError::Failed)?;
    Ok(format!("{gateway} sshd started (pid {})", child.id()))
}

/// What `lab up` prints: where everything is and what to type next.
pub(crate) fn summary(layout: &Layout, state: &LabState, weights: Weights) -> String {
    let dir = &state.dir;
    let mut s = format!("lab up: {} gateways in {dir}\n", state.hosts.len());
    for h in &state.hosts {
        s.push_str(&format!(
            "  {:<7} {:<5} {:<12} ssh :{}  {}://{}:{}  weights {}\n",
            h.name,
            h.az,
            h.ip.to_string(),
            layout::SSH_PORT,
            if state.tls { "https" } else { "http" },
            h.ip,
            layout::HTTP_PORT,
            weights
        ));
    }
    if let Some(p) = &state.prometheus {
        s.push_str(&format!(
            "\n  prometheus {} (scrapes http://{}/metrics every second: run `cutover -c {} watch`){}\n",
            p.url,
            p.metrics_listen,
            layout.fleet_toml().display(),
            if p.nginx_exporters.is_empty() {
                "; prometheus-nginx-exporter is not installed, so nginx's stub_status is not scraped"
            } else {
                ""
            }
        ));
    }
    let first = state.hosts.first().map_or("gw-a1", |h| h.name.as_str());
    s.push_str(&format!(
        "\n  cockpit  cutover -c {fleet}\n  ssh      ssh -F {ssh} {first} true\n  fault    cutover lab fault --dir {dir} --gateway {first} --color green ttft_ms=900\n  stop     cutover lab down --dir {dir}\n",
        fleet = layout.fleet_toml().display(),
        ssh = layout.ssh_config().display(),
    ));
    s
}
