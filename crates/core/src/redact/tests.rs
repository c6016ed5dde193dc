use super::*;
use proptest::prelude::*;

fn masked(text: &str) -> String {
    Redactor::default().apply(text).into_owned()
}

#[test]
fn bearer_tokens_are_masked_in_any_case() {
    let r = Redactor::default();
    assert_eq!(
        r.apply("curl -H 'Authorization: Bearer abc.def' x"),
        "curl -H 'Authorization: Bearer ********' x"
    );
    assert_eq!(
        r.apply("bearer\tXYZ/+=; BEARER q"),
        "bearer\t********; BEARER ********"
    );
    assert_eq!(r.apply("no token here, bearer"), "no token here, bearer");
    assert_eq!(r.apply("Bearer ********"), "Bearer ********");
    assert!(matches!(r.apply("plain text"), Cow::Borrowed(_)));
}

#[test]
fn bearer_next_to_multibyte_text_cuts_on_boundaries() {
    let r = Redactor::default();
    assert_eq!(r.apply("é Bearer tök"), "é Bearer ********ök");
    assert_eq!(
        r.apply("│Bearer│x"),
        "│Bearer│x",
        "no blank: not a credential"
    );
    assert_eq!(r.apply("│Bearer x│"), "│Bearer ********│");
}

#[test]
fn configured_secrets_are_masked_longest_first() {
    let r = Redactor::new(["s3cr3t".to_string(), "s3cr3t-long".into(), "ab".into()]);
    assert_eq!(r.apply("a s3cr3t-long b s3cr3t"), "a ******** b ********");
    assert_eq!(r.apply("ab stays"), "ab stays", "too short to be masked");
    assert_eq!(
        Redactor::new(["****".to_string()]).apply(MASK),
        MASK,
        "a secret of stars would mask the mask, again and again"
    );
}

#[test]
fn debug_never_shows_the_secrets() {
    let r = Redactor::new(["hunter2hunter2".to_string()]);
    assert_eq!(format!("{r:?}"), "Redactor(1 configured secrets)");
}

#[test]
fn secret_named_values_are_masked_and_their_names_kept() {
    assert_eq!(
        masked("env TOKEN=sk-live-abc123 DB_PASSWORD=hunter2hunter2 sh -c 'exit 3'"),
        "env TOKEN=******** DB_PASSWORD=******** sh -c 'exit 3'"
    );
    assert_eq!(
        masked("echo Authorization: Bearer abcdef0123456789 >&2"),
        "echo Authorization: Bearer ******** >&2"
    );
    assert_eq!(
        masked("Authorization: Basic dXNlcjpwYXNz"),
        "Authorization: Basic ********"
    );
    assert_eq!(masked("x-api-key: abcd1234"), "x-api-key: ********");
    assert_eq!(masked("apiKey=abcd1234&q=1"), "apiKey=********&q=1");
    assert_eq!(
        masked(r#"{"client_secret": "a b c d", "user":"x"}"#),
        r#"{"client_secret": "********", "user":"x"}"#
    );
    assert_eq!(masked("PASSWD='pa ss wd'"), "PASSWD='********'");
    assert_eq!(masked("Credentials: u1:p2p2"), "Credentials: ********");
    assert_eq!(masked("secret_key = q1w2e3r4"), "secret_key = ********");
}

#[test]
fn ordinary_assignments_stay_readable() {
    for plain in [
        "max_tokens=4096 tokens_per_sec=12 tokens: 1234",
        "keys: ] step, [ back",
        "keyboard=us author: alice",
        "-o StrictHostKeyChecking=accept-new -o HostKeyAlias=gw-a1",
        "auth-proxy:8080 token_limit=4096",
        "PASSWORD=abc",
        "KeyMap::default() Key::parse(s)",
        "tokens=1 ttft_ms=900 error_rate=0.2",
        "weights 90/10 max_fails=3 fail_timeout=10s",
    ] {
        assert_eq!(masked(plain), plain);
        assert!(matches!(Redactor::default().apply(plain), Cow::Borrowed(_)));
    }
}

#[test]
fn url_passwords_are_masked_and_user_and_host_kept() {
    assert_eq!(
        masked("GET http://user:s3cretpass@127.0.1.11:8080/health failed"),
        "GET http://user:********@127.0.1.11:8080/health failed"
    );
    assert_eq!(
        masked("redis://:p@ss@cache:6379/0"),
        "redis://:********@cache:6379/0"
    );
    assert_eq!(
        masked("https://apikey:abcd1234@gw.example/"),
        "https://apikey:********@gw.example/"
    );
    assert_eq!(
        masked("https://gw.example:8443/health"),
        "https://gw.example:8443/health"
    );
    assert_eq!(masked("https://ops@gw.example/"), "https://ops@gw.example/");
}

#[test]
fn api_keys_of_known_shapes_keep_their_prefix() {
    assert_eq!(
        masked("key sk-live-abc123 leaked"),
        "key sk-******** leaked"
    );
    assert_eq!(masked("sk_live_51Habcdefgh"), "sk_********");
    assert_eq!(
        masked("ghp_0123456789abcdefghijABCDEFGHIJ012345"),
        "ghp_********"
    );
    assert_eq!(
        masked("aws AKIAIOSFODNN7EXAMPLE done"),
        "aws AKIA******** done"
    );
    for plain in [
        "task-12345678",
        "sk-learn-docs",
        "disk_123456789",
        "AKIAIOSFODNN7EXAMPLEX",
        "ghp_short1",
    ] {
        assert_eq!(masked(plain), plain);
    }
}

#[test]
fn json_strings_are_masked_inside_and_stay_json() {
    let r = Redactor::default();
    let v = serde_json::json!({
        "cmd": "env TOKEN=sk-live-abc123 sh -c 'echo \"x\"'",
        "error": "stderr: Authorization:\tBearer abcdef0123456789\n",
        "n": 3,
        "plain": "a \"quoted\" \\ word",
    });
    let json = v.to_string();
    let out = r.apply_json(&json);
    let back: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(back["cmd"], "env TOKEN=******** sh -c 'echo \"x\"'");
    assert_eq!(
        back["error"], "stderr: Authorization:\tBearer ********\n",
        "a tab hidden behind a JSON escape"
    );
    assert_eq!(
        (back["n"].clone(), back["plain"].clone()),
        (v["n"].clone(), v["plain"].clone())
    );
    let plain = r#"{"a":"b","c":["d\"e"],"f":1}"#;
    assert!(matches!(r.apply_json(plain), Cow::Borrowed(_)));
}

#[test]
fn secrets_are_found_in_the_configuration() {
    let toml = r#"
        [[gateway]]
        name = "gw-a1"
        az = "a"
        ssh = "gw-a1"
        nginx = "nginx"
        nginx_conf = "/etc/nginx/conf.d/upstream.conf"
        upstream = "gateway"
        access_log = "/var/log/nginx/access.log"
        health_url = "http://ops:hunter22@gw-a1:8080/health"
        [gateway.blue]
        addr = "127.0.0.1:8787"
        start = "curl -H 'Authorization: Bearer tok.123' http://x"
        stop = "env AUTH_MODE=basic DB_PASSWORD=hunter2hunter2 stop"
        version = "v"
        [gateway.green]
        addr = "127.0.0.1:8788"
        start = "start"
        stop = "stop"
        version = "v"
    "#;
    let config: Config = toml::from_str(toml).unwrap();
    let mut found = secrets_in(&config);
    found.sort();
    found.dedup();
    assert_eq!(found, ["hunter22", "hunter2hunter2", "tok.123"]);
    let r = Redactor::for_config(&config);
    assert_eq!(
        r.apply("stop printed hunter2hunter2 and tok.123; basic stays"),
        "stop printed ******** and ********; basic stays"
    );
}

#[test]
fn the_token_files_secrets_are_masked() {
    let mut config = Config::default();
    config.telemetry.bearer_token = Some(crate::config::export::Secret::new("prom-b3arer-t0ken"));
    config.export.grafana_token = Some(crate::config::export::Secret::new("glsa_graf4na"));
    let mut found = secrets_in(&config);
    found.sort();
    assert_eq!(found, ["glsa_graf4na", "prom-b3arer-t0ken"]);
    assert_eq!(
        Redactor::for_config(&config).apply("401 for prom-b3arer-t0ken"),
        "401 for ********"
    );
}

#[test]
fn nothing_found_means_nothing_allocated() {
    let r = Redactor::new(["hunter2hunter2".to_string()]);
    let frame =
        "\x1b[1;1H│ gw-a1  a  90/10  Canary  ok  ttft p95 412 ms │ tokens: 1234 │".repeat(40);
    assert!(matches!(r.apply(&frame), Cow::Borrowed(_)));
    assert!(matches!(r.apply("TOKEN=********"), Cow::Borrowed(_)));
}

/// A secret planted in one of the known shapes, and the part of it that must not survive.
fn planted() -> impl Strategy<Value = (String, String, Vec<String>)> {
    let value = "[A-Za-z0-9!#$%()*+./:<=>?@^_{}~-]{8,24}";
    let name = prop::sample::select(vec![
        "TOKEN",
        "DB_PASSWORD",
        "x-api-key",
        "client_secret",
        "passwd",
        "AWS_CREDENTIALS",
        "Authorization",
        "apiKey",
    ]);
    prop_oneof![
        (name.clone(), value).prop_map(|(n, v)| (format!(" {n}={v} "), v, vec![])),
        (name, value).prop_map(|(n, v)| (format!(" {n}: {v} "), v, vec![])),
        "[A-Za-z0-9._~+/-]{8,40}".prop_map(|t| (format!(" Bearer {t} "), t, vec![])),
        ("[A-Za-z0-9._-]{1,12}", "[A-Za-z0-9._~!$*+,;=%:-]{8,20}").prop_map(|(u, p)| (
            format!(" https://{u}:{p}@gw.example:8443/health "),
            p,
            vec![]
        )),
        "[A-Za-z0-9]{7,40}".prop_map(|k| {
            let body = format!("live-{k}7");
            (format!(" sk-{body} "), body, vec![])
        }),
        "[A-Z0-9]{16}".prop_map(|k| (format!(" AKIA{k} "), k, vec![])),
        "[A-Za-z0-9]{36}".prop_map(|k| (format!(" ghp_{k} "), k, vec![])),
        "[A-Za-z0-9]{8,20}".prop_map(|s| (s.clone(), s.clone(), vec![s])),
    ]
}

/// Noise around the secret: any text, with the characters the rules care about made common.
fn noise() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~\t\n\x1b│é]{0,40}",
        "(Bearer|TOKEN|=|:| |\"|'|//|@|sk-|AKIA|\\*{8}|[a-z0-9]{1,6})*",
    ]
}

proptest! {
    #[test]
    fn planted_secrets_never_survive_and_masking_is_idempotent(
        (secret_text, secret, configured) in planted(),
        before in noise(),
        after in noise(),
    ) {
        let r = Redactor::new(configured);
        let text = format!("{before}{secret_text}{after}");
        let once = r.apply(&text).into_owned();
        prop_assert!(!once.contains(&secret), "{secret:?} survived in {once:?}");
        prop_assert_eq!(r.apply(&once).into_owned(), once.clone());
        let json = serde_json::to_string(&text).unwrap();
        let in_json = r.apply_json(&json).into_owned();
        prop_assert_eq!(serde_json::from_str::<String>(&in_json).unwrap(), once);
    }

    #[test]
    fn any_text_is_masked_without_panic_and_idempotently(
        text in noise(),
        secret in "[A-Za-z0-9*]{0,10}",
    ) {
        let r = Redactor::new([secret]);
        let once = r.apply(&text).into_owned();
        prop_assert_eq!(r.apply(&once).into_owned(), once);
        let _ = r.apply_json(&text);
    }
}
