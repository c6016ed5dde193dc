//! The nginx configuration read as nginx loads it, against the lab (real sshd, real nginx):
//! a symlinked upstream file stays a link, servers added by an `include` are seen, and the
//! operator's hand-written server lines come back byte for byte. Needs nginx and sshd
//! installed (`scripts/test` installs them); without them these fail.

mod common;

use common::load::{Conn, colors_through_nginx};
use common::{Lab, text};
use cutover::config::GatewayConfig;
use cutover::model::Weights;
use cutover::nginx::upstream::Upstream;
use std::path::{Path, PathBuf};

/// The weights an upstream file says, for gateway `g`.
fn weights_in(text: &str, g: &GatewayConfig) -> Weights {
    Upstream::parse(text, &g.upstream, &g.blue.addr, &g.green.addr)
        .and_then(|u| u.weights())
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Files whose name holds "cutover" in `dir` (what a change leaves beside a file).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("cutover"))
        .collect()
}

#[test]
fn a_symlinked_upstream_file_is_edited_at_its_target_and_stays_a_link() {
    let lab = Lab::up("symlink", 1, &[]);
    let g = lab.config.gateway[0].clone();
    let link = PathBuf::from(&g.nginx_conf);
    // The file lives elsewhere (a config repository, say); the configured path links to it.
    let elsewhere = lab.dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let target = elsewhere.join("gateway.conf");
    std::fs::rename(&link, &target).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let o = lab.run(&[
        "step",
        "--to",
        "50",
        "--gateway",
        &g.name,
        "--override",
        "test",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("100/0 -> 50/50"), "{}", text(&o));

    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(
        meta.file_type().is_symlink(),
        "{} was replaced by a regular file",
        link.display()
    );
    assert_eq!(std::fs::read_link(&link).unwrap(), target);
    let now = std::fs::read_to_string(&target).unwrap();
    assert_eq!(weights_in(&now, &g), Weights::with_green(50).unwrap());
    assert!(
        leftovers(&elsewhere).is_empty(),
        "{:?}",
        leftovers(&elsewhere)
    );
    assert!(
        leftovers(link.parent().unwrap()).is_empty(),
        "{:?}",
        leftovers(link.parent().unwrap())
    );

    // nginx serves what the target says: 50/50 (smooth round robin alternates).
    lab.fast_answers();
    let colors = colors_through_nginx(lab.state.hosts[0].ip, 40, Conn::Fresh);
    let green = colors.iter().filter(|c| *c == "green").count();
    assert!((15..=25).contains(&green), "50/50 in force: {colors:?}");

    // The read-back through the link says the same.
    let s = lab.run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&s.stdout).expect("status --json");
    assert_eq!(v["gateways"][0]["weights"]["green"], 50, "{}", text(&s));
    lab.down();
}

#[test]
fn servers_from_an_include_in_the_upstream_fail_check_and_refuse_the_step() {
    let lab = Lab::up("include", 1, &[]);
    let g = lab.config.gateway[0].clone();
    let conf = PathBuf::from(&g.nginx_conf);
    let conf_dir = conf.parent().unwrap();
    // nginx reads a relative include from the main file's directory, the lab's conf/.
    let extra = conf_dir.join("extra.inc");
    std::fs::write(&extra, format!("server {} max_fails=3;\n", g.blue.addr)).unwrap();
    let original = std::fs::read_to_string(&conf).unwrap();
    let with_include = original.replacen(
        "    keepalive 16;\n",
        "    include extra.inc;\n    keepalive 16;\n",
        1,
    );
    assert_ne!(with_include, original);
    std::fs::write(&conf, &with_include).unwrap();

    let named = format!("{} (from {})", g.blue.addr, extra.display());
    // JSON: the table wraps long reasons (paths) to 80 columns.
    let c = lab.run(&["check", "--json"]);
    assert_eq!(c.status.code(), Some(1), "{}", text(&c));
    assert!(text(&c).contains(&named), "{}", text(&c));

    let s = lab.run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&s.stdout).expect("status --json");
    let guardrails = v["gateways"][0]["guardrails"].to_string();
    assert!(guardrails.contains(&named), "{}", text(&s));

    let o = lab.run(&[
        "step",
        "--to",
        "10",
        "--gateway",
        &g.name,
        "--override",
        "test",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("refused"), "{}", text(&o));
    assert!(text(&o).contains(&named), "{}", text(&o));
    assert!(!text(&o).contains("-> 90/10"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), with_include);

    // A configured file that nginx does not load at all: its weights are not in force.
    std::fs::write(&conf, &original).unwrap();
    let live = conf_dir.join("gateway-live.conf");
    std::fs::write(&live, &original).unwrap();
    let main = conf_dir.join("nginx.conf");
    let main_text = std::fs::read_to_string(&main).unwrap();
    let moved = main_text.replace(
        &format!("include {};", conf.display()),
        &format!("include {};", live.display()),
    );
    assert_ne!(moved, main_text);
    std::fs::write(&main, moved).unwrap();
    // JSON: the table wraps long reasons (paths) to 80 columns.
    let c = lab.run(&["check", "--json"]);
    assert_eq!(c.status.code(), Some(1), "{}", text(&c));
    assert!(
        text(&c).contains("is not in the configuration nginx loads"),
        "{}",
        text(&c)
    );
    let o = lab.run(&[
        "step",
        "--to",
        "10",
        "--gateway",
        &g.name,
        "--override",
        "test",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("is not in the configuration nginx loads"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), original);
    lab.down();
}

#[test]
fn hand_written_server_lines_come_back_byte_for_byte() {
    let lab = Lab::up("roundtrip", 1, &[]);
    let g = lab.config.gateway[0].clone();
    let conf = PathBuf::from(&g.nginx_conf);
    let rendered = std::fs::read_to_string(&conf).unwrap();
    let blue = format!(
        "    server {} weight=100 max_fails=3 fail_timeout=10s;\n",
        g.blue.addr
    );
    let green = format!(
        "    server {} down max_fails=3 fail_timeout=10s;\n",
        g.green.addr
    );
    assert!(
        rendered.contains(&blue) && rendered.contains(&green),
        "{rendered}"
    );
    // What an operator may write: a cap, quotes, `down` after other parameters, a line break
    // inside the directive, comments.
    let hand = rendered
        .replace(
            &blue,
            &format!(
                "    server {} max_conns=100 weight=100 \"max_fails=3\"\n        fail_timeout=10s;  # blue, by hand\n",
                g.blue.addr
            ),
        )
        .replace(
            &green,
            &format!(
                "    server {} max_conns=100 'max_fails=3' down fail_timeout=10s; # parked\n",
                g.green.addr
            ),
        );
    std::fs::write(&conf, &hand).unwrap();

    for (to, expect) in [("10", 10), ("30", 30), ("0", 0)] {
        let o = lab.run(&[
            "step",
            "--to",
            to,
            "--gateway",
            &g.name,
            "--override",
            "test",
        ]);
        assert_eq!(o.status.code(), Some(0), "step --to {to}: {}", text(&o));
        let now = std::fs::read_to_string(&conf).unwrap();
        assert_eq!(weights_in(&now, &g), Weights::with_green(expect).unwrap());
        if expect == 30 {
            assert!(
                now.contains(&format!(
                    "server {} max_conns=100 'max_fails=3' weight=30 fail_timeout=10s; # parked",
                    g.green.addr
                )),
                "{now}"
            );
            assert!(
                now.contains(&format!(
                    "server {} max_conns=100 weight=70 \"max_fails=3\"\n        fail_timeout=10s;  # blue, by hand",
                    g.blue.addr
                )),
                "{now}"
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        hand,
        "back at 100/0, the file must be the hand-written one, byte for byte"
    );
    lab.down();
}
