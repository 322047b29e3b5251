//! A peer that sends a malformed attribute gets treat-as-withdraw (RFC 7606), not a reset. The peer
//! here is raw bytes from a test socket: 127.0.64.2 connects to the speaker on 127.0.64.1:179.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bgp_core::attribute::{AsPath, AttributeValue, MpNlri, MpReach, Origin, PathAttribute};
use bgp_core::capability::Capability;
use bgp_core::fsm::State;
use bgp_core::message::{Message, Open, Update, WireContext};
use bgp_core::{Family, Safi};
use flowspec::FlowRule;
use speaker::{Event, PeerConfig, Speaker, SpeakerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

mod common;
use common::next_event;

fn update_for(rule: &str, origin_value: u8) -> Vec<u8> {
    let rule: FlowRule = rule.parse().unwrap();
    let u = Update {
        attributes: vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::from_sequence([65001]))),
            PathAttribute::new(AttributeValue::MpReachNlri(MpReach {
                family: Family::new(rule.spec.afi(), Safi::FlowSpec),
                next_hop: vec![],
                nlri: MpNlri::Raw(rule.spec.to_bytes().unwrap()),
            })),
        ],
        ..Update::default()
    };
    let mut bytes = Message::Update(u).to_bytes(&WireContext::default()).unwrap();
    // ORIGIN's value sits right after the 23-byte UPDATE head and the 3-byte attribute header.
    bytes[26] = origin_value;
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_attribute_is_treat_as_withdraw_not_a_reset() {
    let us: IpAddr = "127.0.64.1".parse().unwrap();
    let peer: IpAddr = "127.0.64.2".parse().unwrap();
    let config = SpeakerConfig {
        local_as: 65000,
        router_id: "10.0.64.1".parse().unwrap(),
        listen: vec![SocketAddr::new(us, 179)],
    };
    let (speaker, mut events) = Speaker::start(config).await.unwrap();
    let mut pc = PeerConfig::new(peer, 65001);
    pc.passive = true;
    pc.families = vec![Family::IPV4_FLOWSPEC];
    speaker.add_peer(pc).unwrap();

    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(peer, 0)).unwrap();
    let mut s = socket.connect(SocketAddr::new(us, 179)).await.unwrap();
    let ctx = WireContext::default();
    let open = Open::new(
        65001,
        90,
        "10.0.64.2".parse().unwrap(),
        vec![Capability::Multiprotocol { family: Family::IPV4_FLOWSPEC }, Capability::FourOctetAs { asn: 65001 }],
    );
    s.write_all(&Message::Open(open).to_bytes(&ctx).unwrap()).await.unwrap();
    s.write_all(&Message::Keepalive.to_bytes(&ctx).unwrap()).await.unwrap();
    next_event(&mut events, 5, |e| matches!(e, Event::PeerUp { .. })).await.expect("established");

    s.write_all(&update_for("dst 192.0.2.1/32 proto =17", 0)).await.unwrap();
    s.write_all(&update_for("dst 192.0.2.2/32 proto =17", 0)).await.unwrap();
    // The first rule again, with ORIGIN 5: malformed (RFC 7606 §7.1) -> treat-as-withdraw.
    s.write_all(&update_for("dst 192.0.2.1/32 proto =17", 5)).await.unwrap();
    let mut errors = Vec::new();
    let mut withdrawn = 0;
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(e) = events.recv().await {
            match e {
                Event::UpdateErrors { errors: e, .. } => errors.extend(e),
                Event::RoutesReceived { withdrawn: w, .. } if !w.is_empty() => {
                    withdrawn += w.len();
                    return;
                }
                Event::PeerDown { reason, .. } => panic!("session reset: {reason:?}"),
                _ => {}
            }
        }
    })
    .await
    .expect("the malformed UPDATE's route was withdrawn");
    assert_eq!(withdrawn, 1);
    assert!(errors.iter().any(|e| e.contains("invalid ORIGIN 5")), "{errors:?}");
    let rib = speaker.adj_rib_in(peer, Family::IPV4_FLOWSPEC).await.unwrap();
    assert_eq!(rib.iter().map(|r| r.nlri.to_string()).collect::<Vec<_>>(), ["dst 192.0.2.2/32 proto =17"]);
    let status = speaker.peer_status(peer).await.unwrap();
    assert_eq!(status.state, State::Established);
    assert_eq!(status.counters.sent[2], 0, "no NOTIFICATION sent");

    // The socket is still open: nothing but the speaker's OPEN, KEEPALIVE and End-of-RIB came.
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await.map(|r| r.unwrap()).unwrap_or(0);
    let mut framer = bgp_core::framer::Framer::default();
    framer.extend(&buf[..n]);
    while let Some(m) = framer.next_message().unwrap() {
        assert_ne!(m[18], 3, "a NOTIFICATION arrived");
    }
    speaker.shutdown(None).await;
}
