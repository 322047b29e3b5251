//! Codec benchmarks: an UPDATE carrying 500 IPv4 prefixes, and a typical OPEN.
//!
//! Run: `cargo bench -p prefixd-benches --bench codec`.

use std::hint::black_box;
use std::net::Ipv4Addr;

use bgp_core::attribute::{AsPath, AttributeValue, Community, Origin, PathAttribute};
use bgp_core::capability::{Capability, GracefulRestart, GracefulRestartFamily};
use bgp_core::message::{Message, Open, Update, WireContext};
use bgp_core::nlri::Prefix;
use bgp_core::Family;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ipnet::{IpNet, Ipv4Net};

fn update_500() -> Message {
    let nlri = (0..500u32)
        .map(|i| {
            let a = Ipv4Addr::from(0x0a00_0000 | (i << 8));
            Prefix::new(IpNet::V4(Ipv4Net::new(a, 24).unwrap()))
        })
        .collect();
    Message::Update(Update {
        withdrawn: vec![],
        attributes: vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::from_sequence([65001, 65002, 65003]))),
            PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
            PathAttribute::new(AttributeValue::MultiExitDisc(10)),
            PathAttribute::new(AttributeValue::Communities(vec![Community::new(65001, 100), Community::NO_EXPORT])),
        ],
        nlri,
    })
}

/// Close to what GoBGP and FRR send: six families, route refresh, GR, 4-octet AS, FQDN.
fn typical_open() -> Message {
    let families = [
        Family::IPV4_UNICAST,
        Family::IPV6_UNICAST,
        Family::IPV4_FLOWSPEC,
        Family::IPV6_FLOWSPEC,
        Family::IPV4_FLOWSPEC_VPN,
        Family::IPV6_FLOWSPEC_VPN,
    ];
    let mut caps: Vec<Capability> = families.iter().map(|f| Capability::Multiprotocol { family: *f }).collect();
    caps.push(Capability::RouteRefresh);
    caps.push(Capability::EnhancedRouteRefresh);
    caps.push(Capability::GracefulRestart(GracefulRestart {
        restart_flags: 0,
        restart_time: 120,
        families: families.iter().map(|f| GracefulRestartFamily { family: *f, flags: 0x80 }).collect(),
    }));
    caps.push(Capability::FourOctetAs { asn: 65001 });
    caps.push(Capability::Fqdn { hostname: "edge-router-1".into(), domain: "example.net".into() });
    Message::Open(Open::new(65001, 90, Ipv4Addr::new(192, 0, 2, 1), caps))
}

fn bench(c: &mut Criterion) {
    let ctx = WireContext::default();
    let update = update_500();
    let update_bytes = update.to_bytes(&ctx).unwrap();
    let mut g = c.benchmark_group("update_500_ipv4_prefixes");
    g.throughput(Throughput::Elements(500));
    g.bench_function("decode", |b| b.iter(|| Message::decode(black_box(&update_bytes), &ctx).unwrap()));
    g.bench_function("encode", |b| {
        let mut out = Vec::with_capacity(4096);
        b.iter(|| {
            out.clear();
            black_box(&update).encode(&ctx, &mut out).unwrap();
        })
    });
    g.finish();

    let open = typical_open();
    let open_bytes = open.to_bytes(&ctx).unwrap();
    let mut g = c.benchmark_group("open_typical");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode", |b| b.iter(|| Message::decode(black_box(&open_bytes), &ctx).unwrap()));
    g.bench_function("encode", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            black_box(&open).encode(&ctx, &mut out).unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
