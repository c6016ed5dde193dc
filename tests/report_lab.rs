//! `cutover report` on the lab's own access logs: real nginx logs after real load and real
//! steps, attributed by each gateway's color addresses, with the audited steps in the minutes.
//! Needs nginx and sshd installed; without them this fails.

mod common;

use common::load::{Load, assert_none_failed};
use common::{Lab, cutover, text};
use std::time::Duration;

#[test]
fn report_attributes_each_lab_gateway_and_shows_the_steps() {
    let lab = Lab::up("report-lab", 2, &[]);
    lab.fast_answers();
    let loader = Load::new(2, 1)
        .pause(Duration::from_millis(20))
        .start(lab.chat_urls());
    std::thread::sleep(Duration::from_millis(1500));
    for _ in 0..2 {
        // A fresh lab's light load is too little for the 5xx guardrail to judge: inconclusive,
        // so the steps run with an override, as an operator would, audited.
        let o = lab.run(&[
            "step",
            "--by",
            "10",
            "--all",
            "--override",
            "report lab test: load below the 5xx window minimum",
        ]);
        assert_eq!(o.status.code(), Some(0), "step: {}", text(&o));
        std::thread::sleep(Duration::from_millis(1500));
    }
    assert_none_failed(&loader.stop());

    let gateways = &lab.config.gateway;
    assert_eq!(gateways.len(), 2);
    let logs: Vec<&str> = gateways.iter().map(|g| g.access_log.as_str()).collect();
    let mut args = vec!["report"];
    args.extend_from_slice(&logs);

    // With fleet.toml: each file by its own gateway's addresses, steps in the minute rows.
    let o = lab.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        !err.contains("WARNING") && !err.contains("disagree"),
        "{err}"
    );
    assert!(
        out.starts_with("attribution: each file by its gateway's addresses in fleet.toml\n"),
        "{out}"
    );
    for (g, log) in gateways.iter().zip(&logs) {
        let title = format!("\n== {} ({log})\n", g.name);
        let at = out
            .find(&title)
            .unwrap_or_else(|| panic!("{title:?} in\n{out}"));
        let rest = &out[at + title.len()..];
        let section = &rest[..rest.find("\n== ").unwrap_or(rest.len())];
        assert!(
            section.starts_with(&format!(
                "  colors blue {}, green {} (fleet.toml)\n",
                g.blue.addr, g.green.addr
            )),
            "{section}"
        );
        assert!(
            section.contains("\n  unattributed         0         0       -"),
            "{section}"
        );
        assert!(
            section.contains("← step 100/0→90/10 ok at "),
            "{}: {section}",
            g.name
        );
        assert!(
            section.contains("← step 90/10→80/20 ok at "),
            "{}: {section}",
            g.name
        );
    }
    // Every line but the titles (which carry the lab's long paths) fits 80 columns.
    assert!(
        out.lines()
            .filter(|l| !l.starts_with("== "))
            .all(|l| l.chars().count() <= 80),
        "{out}"
    );

    // The same as JSON: blue and green both served on each gateway, nothing unattributed.
    let mut json_args = args.clone();
    json_args.insert(1, "--json");
    let o = lab.run(&json_args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    for (i, g) in gateways.iter().enumerate() {
        let f = &v["files"][i];
        assert_eq!(f["gateway"], g.name.as_str());
        let requests = |c: &str| f["colors"][c]["requests"].as_u64().unwrap_or(0);
        assert!(
            requests("blue") > 0 && requests("green") > 0,
            "{}: {}",
            g.name,
            f["colors"]
        );
        assert_eq!(requests("unattributed"), 0, "{}", g.name);
        assert_eq!(f["colors"]["blue"]["statuses"]["5xx"], 0);
        let steps: Vec<(u64, u64)> = f["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| {
                (
                    s["before"]["green"].as_u64().unwrap_or(99),
                    s["after"]["green"].as_u64().unwrap_or(99),
                )
            })
            .collect();
        assert_eq!(steps, [(0, 10), (10, 20)], "{}", g.name);
    }

    // Without fleet.toml the defaults match none of the lab's addresses: a loud failure.
    let o = cutover(&args);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    for g in gateways {
        assert!(
            err.contains("requests are unattributed: none ended at blue 127.0.0.1:8787 (default)"),
            "{err}"
        );
        assert!(err.contains(&g.blue.addr), "{}: {err}", g.blue.addr);
    }
    assert!(
        err.contains("cutover: WARNING: not one request of the 2 files could be given a color"),
        "{err}"
    );
    lab.down();
}
