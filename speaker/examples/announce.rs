//! Announce one FlowSpec rule to one router and print what happens.
//!
//! ```sh
//! cargo run -p speaker --example announce -- 192.0.2.2 65001 192.0.2.1 65000
//! ```
//! (peer address, peer AS, our address, our AS). Stop with Ctrl-C: the rule is withdrawn and the
//! session closed with Cease / Administrative Shutdown.

use std::net::{IpAddr, SocketAddr};

use flowspec::FlowRule;
use speaker::{Event, PeerConfig, Route, Speaker, SpeakerConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, peer, peer_as, local, local_as] = args.as_slice() else {
        eprintln!("usage: announce PEER_ADDR PEER_AS LOCAL_ADDR LOCAL_AS");
        std::process::exit(2);
    };
    let peer: IpAddr = peer.parse()?;
    let local: IpAddr = local.parse()?;
    let router_id = match local {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => "192.0.2.1".parse()?,
    };

    // The speaker: our AS, our BGP identifier, and where we accept connections.
    let config = SpeakerConfig { local_as: local_as.parse()?, router_id, listen: vec![SocketAddr::new(local, 179)] };
    let (speaker, mut events) = Speaker::start(config).await?;

    // One peer: IPv4 and IPv6 FlowSpec by default; connect from our address.
    let mut router = PeerConfig::new(peer, peer_as.parse()?);
    router.local_address = Some(local);
    speaker.add_peer(router)?;

    // A rule in the text syntax: drop DNS amplification towards one host.
    let rule: FlowRule = "dst 203.0.113.7/32 proto =17 sport =53 pkt-len >=512 then discard".parse()?;
    let route = Route::flowspec(&rule)?;
    speaker.announce([route.clone()]);

    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            Some(event) = events.recv() => match event {
                Event::PeerUp { peer, negotiated } => println!("{peer} up, families {:?}", negotiated.families),
                Event::PeerDown { peer, reason } => println!("{peer} down: {reason:?}"),
                Event::RoutesReceived { peer, announced, withdrawn } => {
                    for r in announced {
                        println!("{peer} announced {}", r.nlri);
                    }
                    for n in withdrawn {
                        println!("{peer} withdrew {n}");
                    }
                }
                other => println!("{other:?}"),
            },
        }
    }
    speaker.withdraw([route.nlri]);
    speaker.shutdown(Some("example stopped")).await;
    Ok(())
}
