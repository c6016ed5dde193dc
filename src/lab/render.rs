//! The text of every file a lab writes: nginx, sshd and ssh configs, and `fleet.toml`. Pure.

use super::layout::{self, Layout};
use crate::fleet::remote::shell_quote;
use crate::model::{Color, Weights};
use crate::nginx::{self, upstream};
use std::net::Ipv4Addr;
use std::path::Path;

/// One host of a lab, as the renderers need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostSpec {
    /// Gateway name (`gw-a1`).
    pub(crate) name: String,
    /// Availability zone (`az-a`).
    pub(crate) az: String,
    /// The host's own loopback address.
    pub(crate) ip: Ipv4Addr,
}

/// How a lab's hosts differ from the plain one: https on the public listener (`--tls`),
/// colors on unix sockets (`--unix-sockets`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flavor {
    /// The public listener speaks https with the lab's CA.
    pub(crate) tls: bool,
    /// The colors listen on unix sockets in the host's directory.
    pub(crate) unix_sockets: bool,
}

/// The idle ceiling the lab's colors declare (`idle_timeout_secs`): under the 300 s
/// `proxy_read_timeout` of the lab's nginx, so the lint passes.
pub(crate) const IDLE_TIMEOUT_SECS: u64 = 120;

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// A color's upstream address on a host: `ip:port`, or `unix:PATH` in a unix-socket lab.
pub(crate) fn color_upstream(layout: &Layout, host: &HostSpec, c: Color, flavor: Flavor) -> String {
    if flavor.unix_sockets {
        format!("unix:{}", p(&layout.color_socket(&host.name, c)))
    } else {
        layout::color_addr(host.ip, c).to_string()
    }
}

/// The main nginx.conf of a host: foreground master, logs in its prefix, the cutover log format.
pub(crate) fn nginx_conf(layout: &Layout, host: &HostSpec) -> String {
    let name = &host.name;
    format!(
        "# Written by `cutover lab up` for lab host {name}.\n\
         daemon off;\n\
         worker_processes 1;\n\
         pid {pid};\n\
         error_log {error_log} notice;\n\
         # Old workers finish in-flight streams after a reload; this bounds how long.\n\
         worker_shutdown_timeout 300s;\n\
         \n\
         events {{\n    worker_connections 1024;\n}}\n\
         \n\
         http {{\n\
         \x20   {log_format}\n\
         \x20   access_log {access_log} {fmt};\n\
         \x20   client_body_buffer_size 1m;\n\
         \x20   client_body_temp_path temp/client_body;\n\
         \x20   proxy_temp_path temp/proxy;\n\
         \x20   fastcgi_temp_path temp/fastcgi;\n\
         \x20   uwsgi_temp_path temp/uwsgi;\n\
         \x20   scgi_temp_path temp/scgi;\n\
         \x20   include {gateway_conf};\n\
         }}\n",
        pid = p(&layout.nginx_pid(name)),
        error_log = p(&layout.error_log(name)),
        log_format = nginx::log_format_directive(),
        access_log = p(&layout.access_log(name)),
        fmt = nginx::LOG_FORMAT_NAME,
        gateway_conf = p(&layout.gateway_conf(name)),
    )
}

/// The included file with the weighted upstream, the public listener and stub_status, for a
/// lab of `flavor` (socket and certificate paths in `layout`).
pub(crate) fn gateway_conf(layout: &Layout, host: &HostSpec, w: Weights, flavor: Flavor) -> String {
    let ip = host.ip;
    let block = upstream::render_block(
        layout::UPSTREAM,
        &color_upstream(layout, host, Color::Blue, flavor),
        &color_upstream(layout, host, Color::Green, flavor),
        w,
    );
    let tls = if flavor.tls {
        format!(
            " ssl;\n    ssl_certificate {};\n    ssl_certificate_key {}",
            p(&layout.tls_cert(&host.name)),
            p(&layout.tls_key(&host.name))
        )
    } else {
        String::new()
    };
    format!(
        "# The cutover cockpit rewrites only the two server lines of this upstream.\n\
         {block}\n\
         server {{\n\
         \x20   listen {ip}:{http}{tls};\n\
         \x20   location = /v1/chat/completions {{\n\
         \x20       proxy_pass http://{up};\n\
         \x20       proxy_http_version 1.1;\n\
         \x20       proxy_set_header Connection \"\";\n\
         \x20       proxy_set_header X-Request-Id $request_id;\n\
         \x20       # Stream tokens as they come (SSE).\n\
         \x20       proxy_buffering off;\n\
         \x20       proxy_read_timeout 300s;\n\
         \x20   }}\n\
         \x20   location = /health {{\n\
         \x20       proxy_pass http://{up};\n\
         \x20       proxy_http_version 1.1;\n\
         \x20       proxy_set_header Connection \"\";\n\
         \x20       proxy_set_header X-Request-Id $request_id;\n\
         \x20   }}\n\
         \x20   location / {{\n\
         \x20       return 404;\n\
         \x20   }}\n\
         }}\n\
         \n\
         server {{\n\
         \x20   listen {ip}:{status};\n\
         \x20   # Status polls are not traffic: keep them out of the access log.\n\
         \x20   access_log off;\n\
         \x20   location = /nginx_status {{\n\
         \x20       stub_status;\n\
         \x20       allow 127.0.0.0/8;\n\
         \x20       deny all;\n\
         \x20   }}\n\
         }}\n",
        http = layout::HTTP_PORT,
        status = layout::STATUS_PORT,
        up = layout::UPSTREAM,
    )
}

/// A host's sshd_config: its own address, host key and pid file; public keys only.
pub(crate) fn sshd_config(layout: &Layout, host: &HostSpec, user: &str) -> String {
    let name = &host.name;
    format!(
        "# Written by `cutover lab up` for lab host {name}.\n\
         ListenAddress {ip}:{port}\n\
         HostKey {host_key}\n\
         PidFile {pid}\n\
         AuthorizedKeysFile {authorized}\n\
         AuthenticationMethods publickey\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         # The lab directory may live anywhere (a test's temp dir); its modes are not checked.\n\
         StrictModes no\n\
         PermitRootLogin prohibit-password\n\
         AllowUsers {user}\n\
         AllowTcpForwarding local\n\
         X11Forwarding no\n\
         PermitUserEnvironment no\n\
         # The cockpit multiplexes many sessions over one connection per host.\n\
         MaxSessions 64\n\
         MaxStartups 64:30:128\n\
         LogLevel INFO\n",
        ip = host.ip,
        port = layout::SSH_PORT,
        host_key = p(&layout.host_key(name)),
        pid = p(&layout.host(name).join("sshd.pid")),
        authorized = p(&layout.authorized_keys()),
    )
}

/// The ssh client configuration: one `Host` per gateway, strict host keys, batch mode.
pub(crate) fn ssh_config(layout: &Layout, hosts: &[HostSpec], user: &str) -> String {
    let mut s = format!(
        "# Written by `cutover lab up`. Use: ssh -F {} gw-a1 ...\n",
        p(&layout.ssh_config())
    );
    for h in hosts {
        s.push_str(&format!(
            "\nHost {}\n    HostName {}\n    Port {}\n",
            h.name,
            h.ip,
            layout::SSH_PORT
        ));
    }
    s.push_str(&format!(
        "\nHost *\n\
         \x20   User {user}\n\
         \x20   IdentityFile {key}\n\
         \x20   IdentitiesOnly yes\n\
         \x20   IdentityAgent none\n\
         \x20   UserKnownHostsFile {known}\n\
         \x20   GlobalKnownHostsFile /dev/null\n\
         \x20   StrictHostKeyChecking yes\n\
         \x20   UpdateHostKeys no\n\
         \x20   BatchMode yes\n\
         \x20   ConnectTimeout 5\n\
         \x20   ServerAliveInterval 5\n\
         \x20   ServerAliveCountMax 3\n\
         \x20   LogLevel ERROR\n",
        key = p(&layout.client_key()),
        known = p(&layout.known_hosts()),
    ));
    s
}

/// One known_hosts line for a host, from its public key file's contents (`type base64 comment`).
pub(crate) fn known_hosts_line(host: &HostSpec, public_key: &str) -> Result<String, String> {
    let mut parts = public_key.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(kind), Some(key)) => Ok(format!("[{}]:{} {kind} {key}\n", host.ip, layout::SSH_PORT)),
        _ => Err(format!(
            "host key of {}: the public key file is not `type key comment`",
            host.name
        )),
    }
}

/// The `cutover lab color ...` command that stands in for a service manager on a lab host.
fn color_command(binary: &Path, layout: &Layout, host: &str, c: Color, verb: &str) -> String {
    format!(
        "{} lab color {verb} --dir {} --gateway {host} --color {}",
        shell_quote(&p(binary)),
        shell_quote(&p(&layout.dir)),
        c.name()
    )
}

/// `fleet.toml` for the lab: `cutover -c DIR/fleet.toml` drives it unchanged. A lab of another
/// [`Flavor`] gets https health URLs and the lab's CA file, or `unix:` color addresses.
pub(crate) fn fleet_toml(
    layout: &Layout,
    hosts: &[HostSpec],
    binary: &Path,
    nginx_bin: &Path,
    flavor: Flavor,
) -> String {
    let ca = if flavor.tls {
        format!(
            "# The lab's own CA signs every host's certificate (`lab up --tls`).\nca_file = \"{}\"\n",
            p(&layout.tls_ca())
        )
    } else {
        String::new()
    };
    let scheme = if flavor.tls { "https" } else { "http" };
    let mut s = format!(
        "# Written by `cutover lab up` for the lab in {dir}.\n\
         # Use: cutover -c {fleet}\n\
         \n\
         [ssh]\n\
         config = \"ssh_config\"\n\
         \n\
         # A rehearsal starts in seconds: TTFT probes every second, a verdict after 5 per\n\
         # color. Production keeps the defaults (every 2 s, 20 samples per color).\n\
         [probes]\n\
         ttft_every_secs = 1\n\
         {ca}\
         \n\
         [guardrails]\n\
         ttft_min_samples = 5\n",
        dir = p(&layout.dir),
        fleet = p(&layout.fleet_toml()),
    );
    for h in hosts {
        let name = &h.name;
        s.push_str(&format!(
            "\n[[gateway]]\n\
             name = \"{name}\"\n\
             az = \"{az}\"\n\
             ssh = \"{name}\"\n\
             nginx = \"{nginx} -p {prefix} -c conf/nginx.conf -e logs/error.log\"\n\
             nginx_conf = \"{conf}\"\n\
             nginx_pid = \"{pid}\"\n\
             nginx_error_log = \"{error_log}\"\n\
             upstream = \"{up}\"\n\
             access_log = \"{access}\"\n\
             health_url = \"{scheme}://{ip}:{http}/health\"\n\
             stub_status_url = \"http://{ip}:{status}/nginx_status\"\n",
            az = h.az,
            nginx = p(nginx_bin),
            prefix = p(&layout.nginx_prefix(name)),
            conf = p(&layout.gateway_conf(name)),
            pid = p(&layout.nginx_pid(name)),
            error_log = p(&layout.error_log(name)),
            up = layout::UPSTREAM,
            access = p(&layout.access_log(name)),
            ip = h.ip,
            http = layout::HTTP_PORT,
            status = layout::STATUS_PORT,
        ));
        for c in Color::BOTH {
            s.push_str(&format!(
                "\n[gateway.{color}]\n\
                 addr = \"{addr}\"\n\
                 start = \"{start}\"\n\
                 stop = \"{stop}\"\n\
                 version = \"{version}\"\n\
                 idle_timeout_secs = {IDLE_TIMEOUT_SECS}\n\
                 log = \"{log}\"\n",
                color = c.name(),
                addr = color_upstream(layout, h, c, flavor),
                start = color_command(binary, layout, name, c, "start"),
                stop = color_command(binary, layout, name, c, "stop"),
                version = color_command(binary, layout, name, c, "version"),
                log = p(&layout.color_request_log(name, c)),
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::PathBuf;

    fn hosts() -> Vec<HostSpec> {
        (0..3)
            .map(|i| {
                let (name, az) = layout::host_name(i, 3);
                HostSpec {
                    name,
                    az,
                    ip: Ipv4Addr::new(127, 0, 1, 10 + i as u8),
                }
            })
            .collect()
    }

    #[test]
    fn fleet_toml_loads_and_points_at_the_lab() {
        let layout = Layout::new(Path::new("/tmp/lab-x"));
        let text = fleet_toml(
            &layout,
            &hosts(),
            Path::new("/opt/cutover/bin/cutover"),
            Path::new("/usr/sbin/nginx"),
            Flavor::default(),
        );
        let cfg = Config::parse(&text, Path::new("/tmp/lab-x/fleet.toml")).unwrap();
        assert_eq!(cfg.gateway.len(), 3);
        let g = &cfg.gateway[1];
        assert_eq!((g.name.as_str(), g.az.as_str()), ("gw-b1", "az-b"));
        assert_eq!(g.blue.addr, "127.0.1.11:8787");
        assert_eq!(g.green.addr, "127.0.1.11:8788");
        assert_eq!(g.health_url, "http://127.0.1.11:8080/health");
        assert_eq!(
            g.nginx_conf,
            "/tmp/lab-x/hosts/gw-b1/nginx/conf/gateway.conf"
        );
        assert_eq!(
            g.green.stop,
            "'/opt/cutover/bin/cutover' lab color stop --dir '/tmp/lab-x' --gateway gw-b1 --color green"
        );
        assert_eq!(cfg.ssh.config, Some(PathBuf::from("ssh_config")));
        // Each color's own log, where `lab serve` writes it.
        assert_eq!(
            g.green.log.as_deref(),
            Some("/tmp/lab-x/hosts/gw-b1/green.requests.jsonl")
        );
        assert_eq!(
            g.blue.log.as_deref(),
            Some("/tmp/lab-x/hosts/gw-b1/blue.requests.jsonl")
        );
    }

    #[test]
    fn gateway_conf_has_the_weighted_upstream_and_unbuffered_proxy() {
        let h = &hosts()[0];
        let text = gateway_conf(
            &Layout::new(Path::new("/")),
            h,
            Weights {
                blue: 70,
                green: 30,
            },
            Flavor::default(),
        );
        let up = upstream::Upstream::parse(&text, "gateway", "127.0.1.10:8787", "127.0.1.10:8788")
            .unwrap();
        assert_eq!(
            up.weights().unwrap(),
            Weights {
                blue: 70,
                green: 30
            }
        );
        assert!(text.contains("proxy_buffering off;"));
        assert!(text.contains("listen 127.0.1.10:8080;"));
        assert!(text.contains("stub_status;"));
        // The colors' logs carry nginx's request ID for chat and health alike.
        for location in ["location = /v1/chat/completions {", "location = /health {"] {
            let block = &text[text.find(location).unwrap()..];
            let block = &block[..block.find('}').unwrap()];
            assert!(
                block.contains("proxy_set_header X-Request-Id $request_id;"),
                "{block}"
            );
        }
    }

    #[test]
    fn tls_and_unix_socket_flavors_reach_nginx_and_fleet_toml() {
        let layout = Layout::new(Path::new("/tmp/lab-x"));
        let flavor = Flavor {
            tls: true,
            unix_sockets: true,
        };
        let h = &hosts()[0];
        let conf = gateway_conf(&layout, h, Weights::STEADY, flavor);
        assert!(
            conf.contains("server unix:/tmp/lab-x/hosts/gw-a1/green.sock down max_fails=3"),
            "{conf}"
        );
        assert!(conf.contains("listen 127.0.1.10:8080 ssl;"), "{conf}");
        assert!(conf.contains("ssl_certificate /tmp/lab-x/hosts/gw-a1/tls/server.crt;"));
        let text = fleet_toml(
            &layout,
            &hosts(),
            Path::new("/opt/cutover"),
            Path::new("/usr/sbin/nginx"),
            flavor,
        );
        let cfg = Config::parse(&text, Path::new("/tmp/lab-x/fleet.toml")).unwrap();
        let g = &cfg.gateway[0];
        assert_eq!(g.green.addr, "unix:/tmp/lab-x/hosts/gw-a1/green.sock");
        assert_eq!(g.health_url, "https://127.0.1.10:8080/health");
        assert_eq!(g.green.idle_timeout_secs, Some(IDLE_TIMEOUT_SECS));
        assert_eq!(
            cfg.probes.ca_file.as_deref(),
            Some(Path::new("/tmp/lab-x/tls/ca.pem"))
        );
        // The plain lab is unchanged: TCP colors, plain HTTP, no CA.
        let plain = Config::parse(
            &fleet_toml(
                &layout,
                &hosts(),
                Path::new("/x"),
                Path::new("/n"),
                Flavor::default(),
            ),
            Path::new("/tmp/lab-x/fleet.toml"),
        )
        .unwrap();
        assert_eq!(plain.gateway[0].green.addr, "127.0.1.10:8788");
        assert_eq!(plain.probes.ca_file, None);
    }

    #[test]
    fn ssh_config_is_strict_and_batch() {
        let layout = Layout::new(Path::new("/tmp/lab-x"));
        let text = ssh_config(&layout, &hosts(), "root");
        assert!(text.contains("Host gw-c1\n    HostName 127.0.1.12\n    Port 2222\n"));
        for line in [
            "StrictHostKeyChecking yes",
            "BatchMode yes",
            "UserKnownHostsFile /tmp/lab-x/known_hosts",
            "IdentitiesOnly yes",
        ] {
            assert!(text.contains(line), "{line}");
        }
        // Host-specific blocks come before `Host *`: ssh takes the first value it sees.
        assert!(text.find("Host gw-a1").unwrap() < text.find("Host *").unwrap());
    }

    #[test]
    fn known_hosts_line_uses_the_bracketed_port_form() {
        let h = &hosts()[0];
        let line = known_hosts_line(h, "ssh-ed25519 AAAAC3Nz root@lab\n").unwrap();
        assert_eq!(line, "[127.0.1.10]:2222 ssh-ed25519 AAAAC3Nz\n");
        assert!(known_hosts_line(h, "garbage").is_err());
    }
}
