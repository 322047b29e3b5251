//! Messages captured from GoBGP, BIRD, FRR and ExaBGP on loopback (`tests/vectors/real/`, made by
//! `tests/interop/capture-vectors.sh`) decode without error and encode back to the same bytes.

use std::path::PathBuf;

use bgp_core::hex;
use bgp_core::iana::MessageType;
use bgp_core::message::{Message, Received, WireContext};

fn vectors() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/real");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for path in files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "hex")) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push((name.clone(), hex::decode(line).unwrap()));
        }
    }
    out
}

#[test]
fn every_captured_message_round_trips_byte_exact() {
    let all = vectors();
    assert!(all.len() >= 150, "expected the captured corpus, found {} messages", all.len());
    let mut impls = std::collections::BTreeSet::new();
    for (name, bytes) in &all {
        impls.insert(name.split('-').next().unwrap().to_owned());
        // The captures are from 4-octet AS sessions; ExaBGP's peer was iBGP.
        let ctx = WireContext { ibgp: name.starts_with("exabgp"), ..WireContext::default() };
        let msg = Message::decode(bytes, &ctx).unwrap_or_else(|e| panic!("{name}: {e}: {}", hex::encode(bytes)));
        assert_eq!(hex::encode(&msg.to_bytes(&ctx).unwrap()), hex::encode(bytes), "{name}");
        // A session sees no RFC 7606 error either.
        match Message::decode_received(bytes, &ctx).unwrap() {
            Received::Update(u) => assert!(u.errors.is_empty(), "{name}: {:?}", u.errors),
            Received::Other(_) => {}
        }
        // The file name says what the message is.
        let kind = msg.message_type();
        let expected = match name.trim_end_matches(".hex").split('-').nth(1).unwrap() {
            "open" => MessageType::Open,
            "update" => MessageType::Update,
            "notification" => MessageType::Notification,
            "keepalive" => MessageType::Keepalive,
            "route" => MessageType::RouteRefresh,
            other => panic!("unexpected file {other}"),
        };
        assert_eq!(kind, expected, "{name}");
        if name.contains("-eor") {
            let Message::Update(u) = &msg else { panic!() };
            assert!(u.end_of_rib_family().is_some(), "{name}: not an End-of-RIB");
        }
    }
    assert_eq!(impls.into_iter().collect::<Vec<_>>(), ["bird", "exabgp", "frr", "gobgp"]);
}
