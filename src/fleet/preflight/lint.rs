//! The nginx lint: what the configuration nginx loads (`nginx -T`, read by the same reader
//! that judges the upstream, [`crate::nginx::upstream::loaded_directives`]) does to streams.
//!
//! For every location that proxies to the configured upstream: `proxy_buffering off` (tokens
//! reach the client as they come; the health location is exempt, its answer is not a stream),
//! `proxy_http_version 1.1` with `proxy_set_header Connection ""` (upstream keep-alive), and
//! `proxy_read_timeout` at least each color's idle ceiling (`idle_timeout_secs`). For the
//! upstream block: `max_fails` and `fail_timeout` on both server lines. For the main context:
//! `worker_shutdown_timeout` at least the drain window, or old workers cut streams at reload.
//! Every finding names the file and line. Pure.

use super::Status;
use crate::model::{Color, PerColor};
use crate::nginx::upstream::LoadedDirective;

/// What the lint needs to know about the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LintInput<'a> {
    /// The upstream block's name.
    pub(crate) upstream: &'a str,
    /// Each color's server address as written in the upstream.
    pub(crate) addrs: PerColor<&'a str>,
    /// Each color's idle ceiling in seconds, when configured.
    pub(crate) idle_secs: PerColor<Option<u64>>,
    /// The path of the health URL (its location is not a stream).
    pub(crate) health_path: Option<&'a str>,
    /// `guardrails.drain_window_secs`.
    pub(crate) drain_window_secs: u64,
}

/// One lint result: the check's name (a table row), its status and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// Short name of the check (`nginx buffering`).
    pub(crate) check: &'static str,
    /// ok, warn or FAIL.
    pub(crate) status: Status,
    /// Why, naming file and line.
    pub(crate) reason: String,
}

fn at(d: &LoadedDirective) -> String {
    format!("{}:{}", d.file, d.line)
}

/// An nginx time (`300s`, `5m`, `1m30s`, `500ms`, a bare number of seconds) in milliseconds.
pub(crate) fn parse_time_ms(s: &str) -> Option<u64> {
    if let Ok(secs) = s.parse::<u64>() {
        return secs.checked_mul(1000);
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let ms: u64 = match unit {
            "ms" => 1,
            "s" | "" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "M" => 2_592_000_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(ms)?)?;
    }
    Some(total)
}

fn secs_text(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

/// The walk over the loaded directives.
struct Conf<'a> {
    d: &'a [LoadedDirective],
}

impl<'a> Conf<'a> {
    fn name(&self, i: usize) -> &str {
        self.d[i].args.first().map_or("", String::as_str)
    }

    /// Whether directive `i` sits inside a block named `block` (at any depth).
    fn inside(&self, i: usize, block: &str) -> bool {
        let mut p = self.d[i].parent;
        while let Some(k) = p {
            if self.name(k) == block {
                return true;
            }
            p = self.d[k].parent;
        }
        false
    }

    /// Directives named `name` directly in block `parent`.
    fn children(&self, parent: Option<usize>, name: &str) -> Vec<&'a LoadedDirective> {
        self.d
            .iter()
            .filter(|x| x.parent == parent && x.args.first().is_some_and(|a| a == name))
            .collect()
    }

    /// The directives named `name` that apply at block `from`: the nearest enclosing level
    /// (itself first) that sets any, as nginx inherits proxy settings; none: the default.
    fn effective(&self, from: usize, name: &str) -> Vec<&'a LoadedDirective> {
        let mut level = Some(from);
        loop {
            let here = self.children(level, name);
            if !here.is_empty() {
                return here;
            }
            match level {
                Some(k) => level = self.d[k].parent,
                None => return Vec::new(),
            }
        }
    }

    /// The block a `proxy_pass` belongs to: the location around it (through `if` blocks).
    fn location_of(&self, i: usize) -> Option<usize> {
        let mut p = self.d[i].parent;
        while let Some(k) = p {
            if self.name(k) == "location" {
                return Some(k);
            }
            p = self.d[k].parent;
        }
        None
    }
}

/// Whether a `proxy_pass` URL names the upstream group `name`.
fn proxies_to(url: &str, name: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let host_end = rest.find(['/', '$', ':', '?']).unwrap_or(rest.len());
    rest[..host_end].eq_ignore_ascii_case(name)
}

/// `location = /health`, `location /health`, `location ^~ /health`: the health location.
fn is_health(loc: &LoadedDirective, path: Option<&str>) -> bool {
    let Some(path) = path else { return false };
    match loc.args.as_slice() {
        [_, m, p] if (m == "=" || m == "^~") => p == path,
        [_, p] => p == path,
        _ => false,
    }
}

fn label(loc: &LoadedDirective) -> String {
    format!("location {}", loc.args[1..].join(" "))
}

/// Lint `directives` (the loaded configuration) for the gateway described by `input`.
pub(crate) fn lint(directives: &[LoadedDirective], input: &LintInput<'_>) -> Vec<Finding> {
    let conf = Conf { d: directives };
    let mut out = Vec::new();
    let mut locations: Vec<usize> = Vec::new();
    for (i, d) in directives.iter().enumerate() {
        if d.args.first().is_some_and(|a| a == "proxy_pass")
            && d.args.get(1).is_some_and(|u| proxies_to(u, input.upstream))
            && !conf.inside(i, "stream")
        {
            if let Some(loc) = conf.location_of(i) {
                if !locations.contains(&loc) {
                    locations.push(loc);
                }
            }
        }
    }
    if locations.is_empty() {
        out.push(Finding {
            check: "nginx proxy",
            status: Status::Fail,
            reason: format!(
                "no location proxies to upstream {} (proxy_pass http://{}) in the configuration nginx loads",
                input.upstream, input.upstream
            ),
        });
    } else {
        out.push(buffering(&conf, &locations, input));
        out.push(keepalive(&conf, &locations));
        out.push(read_timeout(&conf, &locations, input));
    }
    out.push(server_params(&conf, input));
    out.push(shutdown(&conf, input));
    out
}

fn buffering(conf: &Conf<'_>, locations: &[usize], input: &LintInput<'_>) -> Finding {
    let mut bad = Vec::new();
    let mut good = Vec::new();
    for &loc in locations {
        let l = &conf.d[loc];
        if is_health(l, input.health_path) {
            continue;
        }
        let set = conf.effective(loc, "proxy_buffering");
        match set.last() {
            Some(d) if d.args.get(1).is_some_and(|v| v == "off") => {
                good.push(label(l));
            }
            Some(d) => bad.push(format!(
                "{} ({}) has proxy_buffering {} at {}",
                label(l),
                at(l),
                d.args.get(1).map_or("", String::as_str),
                at(d)
            )),
            None => bad.push(format!(
                "{} ({}) has no proxy_buffering off (nginx buffers by default)",
                label(l),
                at(l)
            )),
        }
    }
    if !bad.is_empty() {
        return Finding {
            check: "nginx buffering",
            status: Status::Fail,
            reason: format!(
                "{}: streams stall while buffers fill; add `proxy_buffering off;`",
                bad.join("; ")
            ),
        };
    }
    Finding {
        check: "nginx buffering",
        status: Status::Ok,
        reason: if good.is_empty() {
            "only the health location proxies to the upstream".into()
        } else {
            format!("proxy_buffering off: {}", good.join(", "))
        },
    }
}

fn keepalive(conf: &Conf<'_>, locations: &[usize]) -> Finding {
    let mut bad = Vec::new();
    for &loc in locations {
        let l = &conf.d[loc];
        let version = conf.effective(loc, "proxy_http_version");
        let v11 = version
            .last()
            .is_some_and(|d| d.args.get(1).is_some_and(|v| v == "1.1"));
        let headers = conf.effective(loc, "proxy_set_header");
        let cleared = headers.iter().any(|d| {
            d.args
                .get(1)
                .is_some_and(|h| h.eq_ignore_ascii_case("connection"))
                && d.args.get(2).is_some_and(String::is_empty)
        });
        let mut missing = Vec::new();
        if !v11 {
            missing.push("proxy_http_version 1.1");
        }
        if !cleared {
            missing.push("proxy_set_header Connection \"\"");
        }
        if !missing.is_empty() {
            bad.push(format!(
                "{} ({}) lacks {}",
                label(l),
                at(l),
                missing.join(" and ")
            ));
        }
    }
    if bad.is_empty() {
        Finding {
            check: "nginx keepalive",
            status: Status::Ok,
            reason: "HTTP/1.1 with Connection \"\" to the upstream in every proxying location"
                .into(),
        }
    } else {
        Finding {
            check: "nginx keepalive",
            status: Status::Warn,
            reason: format!(
                "{}: every request opens a new upstream connection",
                bad.join("; ")
            ),
        }
    }
}

fn read_timeout(conf: &Conf<'_>, locations: &[usize], input: &LintInput<'_>) -> Finding {
    let unknown: Vec<&str> = Color::BOTH
        .into_iter()
        .filter(|&c| input.idle_secs[c].is_none())
        .map(Color::name)
        .collect();
    let mut status = Status::Ok;
    let mut notes = Vec::new();
    let mut shortest: Option<(u64, String)> = None;
    for &loc in locations {
        let l = &conf.d[loc];
        if is_health(l, input.health_path) {
            continue;
        }
        let set = conf.effective(loc, "proxy_read_timeout");
        let (ms, where_) = match set.last() {
            Some(d) => match d.args.get(1).and_then(|v| parse_time_ms(v)) {
                Some(ms) => (ms, at(d)),
                None => {
                    status = Status::Fail;
                    notes.push(format!(
                        "{} has an unreadable proxy_read_timeout at {}",
                        label(l),
                        at(d)
                    ));
                    continue;
                }
            },
            None => (60_000, format!("the default, {} has none", label(l))),
        };
        if shortest.as_ref().is_none_or(|(s, _)| ms < *s) {
            shortest = Some((ms, format!("{} ({where_})", label(l))));
        }
        for c in Color::BOTH {
            if let Some(idle) = input.idle_secs[c] {
                if ms < idle.saturating_mul(1000) {
                    status = Status::Fail;
                    notes.push(format!(
                        "proxy_read_timeout {} in {} ({where_}) is below {c}'s idle ceiling {idle} s: nginx cuts streams the gateway keeps",
                        secs_text(ms),
                        label(l)
                    ));
                }
            }
        }
    }
    let Some((ms, what)) = shortest else {
        return Finding {
            check: "nginx timeout",
            status: Status::Ok,
            reason: "only the health location proxies to the upstream".into(),
        };
    };
    if status == Status::Ok && !unknown.is_empty() {
        status = Status::Unknown;
        notes.push(format!(
            "proxy_read_timeout {} ({what}); {} idle ceiling unknown: set idle_timeout_secs in fleet.toml",
            secs_text(ms),
            unknown.join(" and ")
        ));
    }
    let reason = if notes.is_empty() {
        format!(
            "proxy_read_timeout {} covers the idle ceilings (blue {} s, green {} s)",
            secs_text(ms),
            input.idle_secs.blue.unwrap_or(0),
            input.idle_secs.green.unwrap_or(0)
        )
    } else {
        notes.join("; ")
    };
    Finding {
        check: "nginx timeout",
        status,
        reason,
    }
}

fn server_params(conf: &Conf<'_>, input: &LintInput<'_>) -> Finding {
    let block = (0..conf.d.len()).find(|&i| {
        let d = &conf.d[i];
        d.block
            && d.args.first().is_some_and(|a| a == "upstream")
            && d.args
                .get(1)
                .is_some_and(|n| n.eq_ignore_ascii_case(input.upstream))
            && !conf.inside(i, "stream")
    });
    let Some(block) = block else {
        return Finding {
            check: "nginx max_fails",
            status: Status::Fail,
            reason: format!(
                "no http upstream {} in the configuration nginx loads",
                input.upstream
            ),
        };
    };
    let servers = conf.children(Some(block), "server");
    let mut bad = Vec::new();
    for c in Color::BOTH {
        let Some(s) = servers
            .iter()
            .find(|s| s.args.get(1).is_some_and(|a| a == input.addrs[c]))
        else {
            bad.push(format!("{c} ({}) has no server line", input.addrs[c]));
            continue;
        };
        let has = |p: &str| s.args.iter().skip(2).any(|a| a.starts_with(p));
        let missing: Vec<&str> = ["max_fails=", "fail_timeout="]
            .into_iter()
            .filter(|p| !has(p))
            .map(|p| p.trim_end_matches('='))
            .collect();
        if !missing.is_empty() {
            bad.push(format!(
                "{c} server at {} lacks {}",
                at(s),
                missing.join(" and ")
            ));
        }
    }
    if bad.is_empty() {
        Finding {
            check: "nginx max_fails",
            status: Status::Ok,
            reason: "max_fails and fail_timeout on both server lines".into(),
        }
    } else {
        Finding {
            check: "nginx max_fails",
            status: Status::Warn,
            reason: format!(
                "{} (nginx's defaults, max_fails=1 fail_timeout=10s, then apply)",
                bad.join("; ")
            ),
        }
    }
}

fn shutdown(conf: &Conf<'_>, input: &LintInput<'_>) -> Finding {
    let window = input.drain_window_secs;
    let set = conf.children(None, "worker_shutdown_timeout");
    let Some(d) = set.last() else {
        return Finding {
            check: "nginx shutdown",
            status: Status::Warn,
            reason: format!(
                "worker_shutdown_timeout is not set: old workers live as long as their longest stream after each reload (set it to at least the {window} s drain window)"
            ),
        };
    };
    match d.args.get(1).and_then(|v| parse_time_ms(v)) {
        Some(ms) if ms >= window.saturating_mul(1000) => Finding {
            check: "nginx shutdown",
            status: Status::Ok,
            reason: format!(
                "worker_shutdown_timeout {} covers the {window} s drain window",
                secs_text(ms)
            ),
        },
        Some(ms) => Finding {
            check: "nginx shutdown",
            status: Status::Fail,
            reason: format!(
                "worker_shutdown_timeout {} at {} is below the {window} s drain window: old workers cut streams at reload",
                secs_text(ms),
                at(d)
            ),
        },
        None => Finding {
            check: "nginx shutdown",
            status: Status::Fail,
            reason: format!("worker_shutdown_timeout at {} is not a time", at(d)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nginx::upstream::loaded_directives;

    const MAIN: &str = "/etc/nginx/nginx.conf";

    fn dump(main: &str, gateway: &str) -> String {
        format!(
            "nginx: the configuration file {MAIN} syntax is ok\n# configuration file {MAIN}:\n{main}\n# configuration file /etc/nginx/gateway.conf:\n{gateway}\n"
        )
    }

    const GOOD_MAIN: &str = "worker_shutdown_timeout 300s;\nevents {}\nhttp {\n    proxy_http_version 1.1;\n    include gateway.conf;\n}";
    const GOOD_GATEWAY: &str = "upstream gateway {\n    server 127.0.0.1:8787 weight=100 max_fails=3 fail_timeout=10s;\n    server 127.0.0.1:8788 down max_fails=3 fail_timeout=10s;\n}\nserver {\n    listen 80;\n    location = /v1/chat/completions {\n        proxy_pass http://gateway;\n        proxy_set_header Connection \"\";\n        proxy_set_header X-Request-Id $request_id;\n        proxy_buffering off;\n        proxy_read_timeout 300s;\n    }\n    location = /health {\n        proxy_pass http://gateway;\n        proxy_set_header Connection \"\";\n    }\n}";

    fn input(idle: Option<u64>) -> LintInput<'static> {
        LintInput {
            upstream: "gateway",
            addrs: PerColor {
                blue: "127.0.0.1:8787",
                green: "127.0.0.1:8788",
            },
            idle_secs: PerColor {
                blue: idle,
                green: idle,
            },
            health_path: Some("/health"),
            drain_window_secs: 120,
        }
    }

    fn run(main: &str, gateway: &str, idle: Option<u64>) -> Vec<Finding> {
        let d = loaded_directives(&dump(main, gateway)).unwrap();
        lint(&d, &input(idle))
    }

    fn find<'a>(f: &'a [Finding], check: &str) -> &'a Finding {
        f.iter()
            .find(|x| x.check == check)
            .unwrap_or_else(|| panic!("{check}: {f:?}"))
    }

    #[test]
    fn a_good_configuration_passes_every_rule() {
        let f = run(GOOD_MAIN, GOOD_GATEWAY, Some(120));
        for x in &f {
            assert_eq!(x.status, Status::Ok, "{x:?}");
        }
        // The health location is not a stream: no buffering rule for it.
        assert!(!find(&f, "nginx buffering").reason.contains("/health"));
        // proxy_http_version comes from the http level, inherited.
        assert_eq!(find(&f, "nginx keepalive").status, Status::Ok);
    }

    #[test]
    fn missing_buffering_off_names_file_and_line() {
        let gw = GOOD_GATEWAY.replace("        proxy_buffering off;\n", "");
        let f = run(GOOD_MAIN, &gw, Some(120));
        let b = find(&f, "nginx buffering");
        assert_eq!(b.status, Status::Fail);
        assert!(
            b.reason
                .contains("location = /v1/chat/completions (/etc/nginx/gateway.conf:7)"),
            "{}",
            b.reason
        );
        let gw = GOOD_GATEWAY.replace("proxy_buffering off;", "proxy_buffering on;");
        let b = run(GOOD_MAIN, &gw, Some(120));
        assert!(
            find(&b, "nginx buffering")
                .reason
                .contains("on at /etc/nginx/gateway.conf:11")
        );
        // Set at the server level, inherited by the location: fine.
        let gw = GOOD_GATEWAY
            .replace("        proxy_buffering off;\n", "")
            .replace(
                "    listen 80;\n",
                "    listen 80;\n    proxy_buffering off;\n",
            );
        assert_eq!(
            find(&run(GOOD_MAIN, &gw, Some(120)), "nginx buffering").status,
            Status::Ok
        );
    }

    #[test]
    fn read_timeout_against_idle_ceilings() {
        let f = run(GOOD_MAIN, GOOD_GATEWAY, Some(600));
        let t = find(&f, "nginx timeout");
        assert_eq!(t.status, Status::Fail);
        assert!(
            t.reason.contains("300 s") && t.reason.contains("600 s"),
            "{}",
            t.reason
        );
        let f = run(GOOD_MAIN, GOOD_GATEWAY, None);
        let t = find(&f, "nginx timeout");
        assert_eq!(t.status, Status::Unknown, "unknown says so: {}", t.reason);
        assert!(t.reason.contains("idle ceiling unknown"), "{}", t.reason);
        // No proxy_read_timeout: nginx's 60 s default, judged as such.
        let gw = GOOD_GATEWAY.replace("        proxy_read_timeout 300s;\n", "");
        let t = run(GOOD_MAIN, &gw, Some(120));
        assert_eq!(find(&t, "nginx timeout").status, Status::Fail);
        assert!(find(&t, "nginx timeout").reason.contains("60 s"));
    }

    #[test]
    fn keepalive_server_params_and_shutdown() {
        let main = GOOD_MAIN
            .replace("    proxy_http_version 1.1;\n", "")
            .replace(
                "worker_shutdown_timeout 300s;",
                "worker_shutdown_timeout 30s;",
            );
        let gw = GOOD_GATEWAY.replace("weight=100 max_fails=3 fail_timeout=10s", "weight=100");
        let f = run(&main, &gw, Some(120));
        let k = find(&f, "nginx keepalive");
        assert_eq!(k.status, Status::Warn);
        assert!(
            k.reason.contains("lacks proxy_http_version 1.1"),
            "{}",
            k.reason
        );
        let m = find(&f, "nginx max_fails");
        assert_eq!(m.status, Status::Warn);
        assert!(
            m.reason.contains(
                "blue server at /etc/nginx/gateway.conf:2 lacks max_fails and fail_timeout"
            ),
            "{}",
            m.reason
        );
        let s = find(&f, "nginx shutdown");
        assert_eq!(s.status, Status::Fail);
        assert!(
            s.reason.contains("30 s at /etc/nginx/nginx.conf:1"),
            "{}",
            s.reason
        );
        let main = GOOD_MAIN.replace("worker_shutdown_timeout 300s;\n", "");
        assert_eq!(
            find(&run(&main, GOOD_GATEWAY, Some(1)), "nginx shutdown").status,
            Status::Warn
        );
    }

    #[test]
    fn no_proxying_location_fails() {
        let gw = GOOD_GATEWAY.replace("http://gateway", "http://elsewhere");
        let f = run(GOOD_MAIN, &gw, Some(1));
        assert_eq!(find(&f, "nginx proxy").status, Status::Fail);
    }

    #[test]
    fn times_parse_as_nginx_reads_them() {
        assert_eq!(parse_time_ms("300"), Some(300_000));
        assert_eq!(parse_time_ms("300s"), Some(300_000));
        assert_eq!(parse_time_ms("5m"), Some(300_000));
        assert_eq!(parse_time_ms("1m30s"), Some(90_000));
        assert_eq!(parse_time_ms("500ms"), Some(500));
        assert_eq!(parse_time_ms("1h"), Some(3_600_000));
        assert_eq!(parse_time_ms("x"), None);
        assert_eq!(parse_time_ms("5q"), None);
        assert!(proxies_to("http://gateway", "gateway"));
        assert!(proxies_to("https://GATEWAY/v1$uri", "gateway"));
        assert!(!proxies_to("http://gateway2", "gateway"));
        assert!(!proxies_to("http://unix:/x.sock", "gateway"));
    }
}
