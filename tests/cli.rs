//! The binary against bad input: exit code 2 and a message naming the problem.

mod common;

use common::cutover;
use std::path::PathBuf;
use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_config(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cutover-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fleet.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn unknown_scenario_lists_the_known_ones() {
    let o = cutover(&["demo", "--scenario", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("unknown scenario \"nope\"") && e.contains("green-5xx"),
        "{e}"
    );
}

#[test]
fn unknown_theme_is_named() {
    let o = cutover(&["--theme", "neon", "demo"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("neon") && e.contains("default"), "{e}");
}

#[test]
fn malformed_keys_section_names_file_and_field() {
    let path = temp_config("keys", "[keys]\nstep_up = \"Ctrl-\"\n");
    let o = cutover(&["-c", path.to_str().unwrap(), "demo"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("fleet.toml") && e.contains("step_up") && e.contains("Ctrl-"),
        "{e}"
    );
}

#[test]
fn duplicate_key_binding_is_refused() {
    let path = temp_config("dup", "[keys]\nrollback = \"]\"\n");
    let o = cutover(&["-c", path.to_str().unwrap(), "demo"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("rollback") && e.contains("step_up"), "{e}");
}

#[test]
fn unknown_config_field_names_line_and_field() {
    let path = temp_config(
        "field",
        "theme = \"default\"\n\n[guardrails]\nttft_halt = 8\n",
    );
    let o = cutover(&["-c", path.to_str().unwrap(), "demo"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("fleet.toml:4") && e.contains("ttft_halt"), "{e}");
}

#[test]
fn bad_guardrail_value_names_the_field() {
    let path = temp_config("step", "[guardrails]\nstep = 7\n");
    let o = cutover(&["-c", path.to_str().unwrap(), "demo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("guardrails.step"), "{}", stderr(&o));
}

#[test]
fn missing_config_file_is_named() {
    let o = cutover(&["-c", "/nonexistent/fleet.toml", "demo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/fleet.toml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_speed_and_no_command() {
    let o = cutover(&["demo", "--speed", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--speed"), "{}", stderr(&o));
    let o = cutover(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cutover demo"), "{}", stderr(&o));
    let o = cutover(&["demo", "--bogus"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn list_scenarios_describes_each() {
    let o = cutover(&["demo", "--list-scenarios"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    for name in [
        "happy-path",
        "green-ttft-regression",
        "green-5xx",
        "host-dark",
        "nginx-test-fails",
        "slow-drain",
    ] {
        assert!(out.contains(name), "{name} missing from:\n{out}");
    }
}

#[test]
fn the_cockpit_refuses_to_run_without_a_terminal() {
    let o = cutover(&["demo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("terminal"), "{}", stderr(&o));
}
