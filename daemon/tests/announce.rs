//! `prefixd announce` end to end against BIRD: the rules of the file appear in BIRD with their
//! components; on stop they are withdrawn and the session closes with our shutdown message.
//! Addresses: prefixd 127.0.67.1, BIRD 127.0.67.2 (port 179).

use std::process::{Command, Stdio};
use std::time::Duration;

use interop_harness::{wait_for, Bird};

#[test]
fn announce_a_rules_file_to_bird_then_withdraw() {
    let conf = r#"log "@DIR@/bird.log" all;
router id 10.0.67.2;
protocol device { }
flow4 table flowtab4;
flow6 table flowtab6;
protocol bgp speaker {
  local 127.0.67.2 port 179 as 65001;
  neighbor 127.0.67.1 port 179 as 65000;
  strict bind yes;
  multihop;
  passive on;
  flow4 { table flowtab4; import all; export none; };
  flow6 { table flowtab6; import all; export none; };
}
"#;
    let Some(bird) = Bird::start("announce-bird", conf) else { return };
    let rules = bird.dir().join("rules.txt");
    std::fs::write(
        &rules,
        "# DNS reflection towards one host\n\
         dst 203.0.113.7/32 proto =17 sport =53 pkt-len >=512 then discard\n\
         dst 203.0.113.8/32 proto =6 dport =443 tcp-flags syn&!ack then rate-bytes 125000  # SYN flood\n\
         \n\
         dst 2001:db8::7/128 proto =17 sport =123 then discard\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_prefixd"))
        .args([
            "announce",
            "--local-as",
            "65000",
            "--router-id",
            "10.0.67.1",
            "--peer",
            "127.0.67.2",
            "--peer-as",
            "65001",
        ])
        .args(["--local-address", "127.0.67.1", "--duration", "4", "--rules"])
        .arg(&rules)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let shown = wait_for(Duration::from_secs(10), || {
        let t = format!("{}{}", bird.birdc("show route table flowtab4"), bird.birdc("show route table flowtab6"));
        (t.matches(" { ").count() == 3).then_some(t)
    });
    let status = child.wait().unwrap();
    let log = std::io::read_to_string(child.stderr.take().unwrap()).unwrap_or_default();
    let shown = shown.unwrap_or_else(|| panic!("BIRD did not get the three rules; prefixd said:\n{log}"));
    assert!(shown.contains("flow4 { dst 203.0.113.7/32; proto 17; sport 53; length >= 512; }"), "{shown}");
    assert!(
        shown.contains("flow4 { dst 203.0.113.8/32; proto 6; dport 443; tcp flags !0x0/0x2 && 0x0/0x10; }"),
        "{shown}"
    );
    assert!(shown.contains("flow6 { dst 2001:db8::7/128; next header 17; sport 123; }"), "{shown}");
    assert!(status.success(), "{log}");
    // Stopped: withdrawn, and the session closed with our message.
    assert_eq!(bird.count("flowtab4") + bird.count("flowtab6"), 0, "{log}");
    let protocols = bird.birdc("show protocols all speaker");
    assert!(protocols.contains("prefixd announce stopped"), "{protocols}");
}

#[test]
fn a_bad_rule_names_its_line_and_column() {
    let dir = std::env::temp_dir().join(format!("prefixd-announce-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("rules.txt");
    std::fs::write(&rules, "dst 192.0.2.1/32 proto =17\ndst 192.0.2.2/32 dport =80&<x\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prefixd"))
        .args([
            "announce",
            "--local-as",
            "65000",
            "--router-id",
            "10.0.67.1",
            "--peer",
            "127.0.67.9",
            "--peer-as",
            "65001",
            "--rules",
        ])
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rules.txt:2: column 29"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
