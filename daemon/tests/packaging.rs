//! The packaged example configuration is valid, and the systemd unit carries its hardening.

use std::process::Command;

#[test]
fn example_config_checks_and_unit_is_hardened() {
    let top = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO_BIN_EXE_prefixd"))
        .arg("check-config")
        .arg(top.join("packaging/prefixd.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let unit = std::fs::read_to_string(top.join("packaging/prefixd.service")).unwrap();
    for line in [
        "User=prefixd",
        "StateDirectory=prefixd",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.lines().any(|l| l.trim() == line), "{line} missing from the unit");
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(top.join("packaging/grafana-dashboard.json")).unwrap()).unwrap();
    assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() > 5));
}
