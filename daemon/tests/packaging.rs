//! The packaged example configuration is valid, the systemd unit carries its hardening, and every
//! metric the Grafana dashboard queries is one the daemon exports, and documented.

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
    // Every `prefixd_*` series in a query is declared by the daemon's registry (OpenMetrics
    // declares `foo` and exposes `foo_total`, `foo_bucket`, `foo_sum`, `foo_count`).
    let metrics = prefixd::metrics::Metrics::new();
    let text = dashboard.to_string();
    let mut queried: Vec<&str> = text
        .match_indices("prefixd_")
        .map(|(i, _)| {
            let rest = &text[i..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    queried.sort_unstable();
    queried.dedup();
    assert!(queried.len() > 10, "{queried:?}");
    for q in queried {
        let declared = |n: &str| metrics.names().contains(&n);
        let base = ["_total", "_bucket", "_sum", "_count"].iter().find_map(|s| q.strip_suffix(s));
        assert!(
            declared(q) || base.is_some_and(declared),
            "the dashboard queries {q}, which the daemon does not export"
        );
    }
    // And every metric is in the operators' list.
    let ops = std::fs::read_to_string(top.join("docs/OPERATIONS.md")).unwrap();
    for n in metrics.names() {
        assert!(ops.contains(&format!("`{n}")), "{n} is not in docs/OPERATIONS.md");
    }
}
