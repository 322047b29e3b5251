//! `prefixdctl` against a running daemon with bearer authentication: output and exit codes for
//! success, usage, connection, auth, not-found and refusal. Address: 127.0.75.1:8080 (API only,
//! no BGP peers, dry-run).

mod common;

use std::process::Command;

use common::{event, Daemon};

const CONFIG: &str = r#"
[http]
listen = "127.0.75.1:8080"
[http.auth]
mode = "bearer"
bearer_token_env = "PREFIXD_TEST_TOKEN_75"
[storage]
path = "@DIR@/prefixd.redb"
[[inventory.customers]]
customer_id = "c1"
prefixes = ["203.0.113.0/24"]
"#;

fn ctl(token: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_prefixdctl"));
    c.env_remove("PREFIXD_API_TOKEN").env("PREFIXD_API", "http://127.0.75.1:8080");
    if let Some(t) = token {
        c.env("PREFIXD_API_TOKEN", t);
    }
    let out = c.args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn commands_and_exit_codes() {
    // The daemon reads its token from the environment variable the config names.
    std::env::set_var("PREFIXD_TEST_TOKEN_75", "s3cret-75-abcdefgh");
    let d = Daemon::start("ctl", "127.0.75.1:8080", CONFIG);
    let tok = Some("s3cret-75-abcdefgh");

    let (code, out, err) = ctl(tok, &["status"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("dry-run") && out.contains("healthy"), "{out}");

    // Auth: no token, wrong token.
    assert_eq!(ctl(None, &["status"]).0, 4);
    assert_eq!(ctl(Some("wrong"), &["mitigations", "list"]).0, 4);
    // Connection.
    let (code, _, err) = ctl(tok, &["--api", "http://127.0.75.1:1", "status"]);
    assert_eq!(code, 3, "{err}");
    // Usage.
    assert_eq!(ctl(tok, &["frobnicate"]).0, 2);
    assert_eq!(ctl(tok, &["safelist", "add", "10.0.0.0/33"]).0, 2);

    // A mitigation through the API, seen by the CLI as a table and as JSON.
    let agent = common::agent();
    let mut r = agent
        .post(format!("{}/v1/events", d.api))
        .header("authorization", "Bearer s3cret-75-abcdefgh")
        .send_json(event("203.0.113.5", "udp_flood", &[53], "ctl-1"))
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: serde_json::Value = r.body_mut().read_json().unwrap();
    let id = v["mitigation_id"].as_str().unwrap().to_string();
    let (code, out, _) = ctl(tok, &["mitigations", "list"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("MITIGATION_ID") && out.contains(&id) && out.contains("dst 203.0.113.5/32"), "{out}");
    let (code, out, _) = ctl(tok, &["--format", "json", "mitigations", "get", &id]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "active");
    let (code, out, _) = ctl(tok, &["events", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("ctl-1") && out.contains("accepted"), "{out}");

    // Not found, then withdraw, then refused (no longer active).
    assert_eq!(ctl(tok, &["mitigations", "get", "no-such-id"]).0, 5);
    let (code, out, err) = ctl(tok, &["mitigations", "withdraw", &id, "-r", "test over"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("withdrawn"), "{out}");
    let (code, _, err) = ctl(tok, &["mitigations", "withdraw", &id, "-r", "again"]);
    assert_eq!(code, 6, "{err}");

    // Safelist round trip.
    assert_eq!(ctl(tok, &["safelist", "add", "198.51.100.0/24", "-r", "partner", "--ttl", "600"]).0, 0);
    let (_, out, _) = ctl(tok, &["safelist", "list"]);
    assert!(out.contains("198.51.100.0/24") && out.contains("partner"), "{out}");
    assert_eq!(ctl(tok, &["safelist", "remove", "198.51.100.0/24"]).0, 0);
    assert_eq!(ctl(tok, &["safelist", "remove", "198.51.100.0/24"]).0, 5);

    // Reload from the file, and a local config check.
    let (code, out, err) = ctl(tok, &["reload"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("inventory"), "{out}");
    let cfg = d.dir().join("prefixd.toml");
    assert_eq!(ctl(None, &["config", "check", cfg.to_str().unwrap()]).0, 0);
    let bad = d.dir().join("bad.toml");
    std::fs::write(&bad, "[guardrails]\nmax_portz = 3\n").unwrap();
    let (code, _, err) = ctl(None, &["config", "check", bad.to_str().unwrap()]);
    assert_eq!(code, 6);
    assert!(err.contains("line 2") && err.contains("max_portz"), "{err}");
}
