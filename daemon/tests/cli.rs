//! `prefixd decode` and `prefixd encode` as an operator runs them.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn prefixd(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_prefixd"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn real_vectors() -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/real");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "hex"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn decode_then_encode_gives_back_every_captured_message() {
    let input = real_vectors();
    let expected: Vec<&str> = input.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let decoded = prefixd(&["decode"], &input);
    assert!(decoded.status.success(), "{}", String::from_utf8_lossy(&decoded.stdout));
    let json = String::from_utf8(decoded.stdout).unwrap();
    assert_eq!(json.lines().count(), expected.len());
    for line in json.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v.get("type").is_some(), "{line}");
    }
    let encoded = prefixd(&["encode"], &json);
    assert!(encoded.status.success(), "{}", String::from_utf8_lossy(&encoded.stderr));
    let hex = String::from_utf8(encoded.stdout).unwrap();
    assert_eq!(hex.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn malformed_message_reports_offset_notification_and_action() {
    let ok = "ffffffffffffffffffffffffffffffff001304";
    let bad = "ffffffffffffffffffffffffffffffff002202000000074001010340020018c00002";
    let out = prefixd(&["decode", ok, bad], "");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["type"], "keepalive");
    let e = &lines[1]["error"];
    // ORIGIN's value sits at byte 26 of the UPDATE, which starts after the 19-byte KEEPALIVE.
    assert_eq!(e["offset"], 19 + 26);
    assert_eq!(e["notification"]["code"], 3);
    assert_eq!(e["notification"]["subcode"], 6);
    assert_eq!(e["notification"]["data"], "40010103");
    assert_eq!(e["action"], "treat-as-withdraw");
}

#[test]
fn framing_errors_and_bad_input() {
    // A bad marker: the stream cannot be framed past it.
    let out = prefixd(&["decode", "fffffffffffffffffffffffffffffffe001304"], "");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["offset"], 15);
    assert_eq!(v["error"]["notification"]["code"], 1);
    assert_eq!(v["error"]["action"], "session-reset");
    // A truncated message.
    let out = prefixd(&["decode", "ffffffffffffffffffffffffffffffff0014"], "");
    assert_eq!(out.status.code(), Some(1));
    // Not hex at all: a usage error.
    assert_eq!(prefixd(&["decode", "xyz"], "").status.code(), Some(2));
    // Bad JSON to encode.
    assert_eq!(prefixd(&["encode", "{\"type\":\"nonsense\"}"], "").status.code(), Some(1));
    // An UPDATE too large for a session without extended messages is refused, not truncated.
    let prefixes: Vec<String> =
        (0..1100).map(|i| format!("{{\"prefix\":\"10.{}.{}.0/24\"}}", i / 256, i % 256)).collect();
    let json = format!(
        "{{\"type\":\"update\",\"attributes\":[{{\"flags\":64,\"type\":\"origin\",\"value\":\"igp\"}},{{\"flags\":64,\"type\":\"as_path\",\"value\":[]}},{{\"flags\":64,\"type\":\"next_hop\",\"value\":\"192.0.2.1\"}}],\"nlri\":[{}]}}",
        prefixes.join(",")
    );
    let out = prefixd(&["encode"], &json);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exceeds the maximum of 4096"));
    assert!(prefixd(&["encode", "--extended"], &json).status.success());
}
