//! FlowSpec NLRI decode and encode over a corpus of 10,000 realistic IPv4 DDoS-mitigation rules,
//! side by side with the other Rust crates that decode FlowSpec: bgpkit-parser, zettabgp,
//! routecore (which validates IPv4 NLRI and keeps them as bytes rather than building a structure)
//! and rustbgpd-wire.
//!
//! Run: `cargo bench -p prefixd-benches --bench flowspec`.

use std::hint::black_box;

use bgp_core::Afi;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flowspec::{FlowRule, FlowSpec};

/// Rules of the kinds mitigation systems send: a victim /32 (or /24), a protocol, source or
/// destination ports of the amplification vectors, packet-length bounds, TCP flags, fragments.
fn corpus() -> Vec<Vec<u8>> {
    let mut rules = Vec::with_capacity(10_000);
    let vectors = [
        "proto =17 sport =53 pkt-len >=512",
        "proto =17 sport =123 pkt-len >=468",
        "proto =17 sport =11211",
        "proto =17 sport =1900 pkt-len >=300",
        "proto =17 sport =389",
        "proto =17 sport =19",
        "proto =6 dport =443 tcp-flags =syn&!ack",
        "proto =6 dport =80|=443 tcp-flags ack",
        "proto =1 icmp-type =8",
        "proto =17 fragment is-fragment",
        "proto =17 dport >=1024&<=65535 pkt-len >1200",
        "proto =6 sport =80 port >=137&<=139|=445",
    ];
    let mut i: u32 = 0;
    while rules.len() < 10_000 {
        let victim = 0xc000_0200u32.wrapping_add(i.wrapping_mul(2_654_435_761) % 0x00ff_ffff);
        let a = std::net::Ipv4Addr::from(victim);
        let len = if i % 10 == 0 { 24 } else { 32 };
        let src = if i % 7 == 0 { format!(" src 198.51.{}.0/24", i % 250) } else { String::new() };
        let text = format!("dst {a}/{len}{src} {}", vectors[(i as usize) % vectors.len()]);
        let rule: FlowRule = text.parse().unwrap();
        rules.push(rule.spec.to_bytes().unwrap());
        i += 1;
    }
    rules
}

fn bench(c: &mut Criterion) {
    let corpus = corpus();
    let n = corpus.len() as u64;

    // Every library must read the whole corpus, or the comparison would flatter it.
    let ours: Vec<FlowSpec> = corpus.iter().map(|b| FlowSpec::decode(b, Afi::Ipv4, false).unwrap().0).collect();
    let bgpkit: Vec<_> = corpus.iter().map(|b| bgpkit_parser::models::parse_flowspec_nlri(b).unwrap()).collect();
    use zettabgp::BgpAddrItem;
    let zetta: Vec<zettabgp::afi::flowspec::BgpFlowSpec<zettabgp::afi::ipv4::BgpAddrV4>> = corpus
        .iter()
        .map(|b| zettabgp::afi::flowspec::BgpFlowSpec::decode_from(zettabgp::BgpTransportMode::IPv4, b).unwrap().0)
        .collect();
    let rustbgpd: Vec<_> = corpus
        .iter()
        .map(|b| rustbgpd_wire::flowspec::decode_flowspec_nlri(b, rustbgpd_wire::capability::Afi::Ipv4).unwrap())
        .collect();
    for b in &corpus {
        let mut p = octseq::Parser::from_ref(b);
        routecore::bgp::nlri::flowspec::FlowSpecNlri::parse(&mut p, routecore::bgp::nlri::afisafi::Afi::Ipv4).unwrap();
    }

    let mut g = c.benchmark_group("flowspec_decode_10k_ipv4");
    g.throughput(Throughput::Elements(n));
    g.bench_function("prefixd", |b| {
        b.iter(|| {
            for nlri in &corpus {
                black_box(FlowSpec::decode(black_box(nlri), Afi::Ipv4, false).unwrap());
            }
        })
    });
    g.bench_function("bgpkit-parser", |b| {
        b.iter(|| {
            for nlri in &corpus {
                black_box(bgpkit_parser::models::parse_flowspec_nlri(black_box(nlri)).unwrap());
            }
        })
    });
    g.bench_function("zettabgp", |b| {
        b.iter(|| {
            for nlri in &corpus {
                black_box(
                    zettabgp::afi::flowspec::BgpFlowSpec::<zettabgp::afi::ipv4::BgpAddrV4>::decode_from(
                        zettabgp::BgpTransportMode::IPv4,
                        black_box(nlri),
                    )
                    .unwrap(),
                );
            }
        })
    });
    g.bench_function("rustbgpd-wire", |b| {
        b.iter(|| {
            for nlri in &corpus {
                black_box(
                    rustbgpd_wire::flowspec::decode_flowspec_nlri(
                        black_box(nlri),
                        rustbgpd_wire::capability::Afi::Ipv4,
                    )
                    .unwrap(),
                );
            }
        })
    });
    g.bench_function("routecore (validate only)", |b| {
        b.iter(|| {
            for nlri in &corpus {
                let mut p = octseq::Parser::from_ref(black_box(nlri));
                black_box(
                    routecore::bgp::nlri::flowspec::FlowSpecNlri::parse(
                        &mut p,
                        routecore::bgp::nlri::afisafi::Afi::Ipv4,
                    )
                    .unwrap(),
                );
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("flowspec_encode_10k_ipv4");
    g.throughput(Throughput::Elements(n));
    g.bench_function("prefixd", |b| {
        let mut out = Vec::with_capacity(64);
        b.iter(|| {
            for r in &ours {
                out.clear();
                black_box(r).encode(&mut out).unwrap();
                black_box(&out);
            }
        })
    });
    g.bench_function("bgpkit-parser", |b| {
        b.iter(|| {
            for r in &bgpkit {
                black_box(bgpkit_parser::models::encode_flowspec_nlri(black_box(r)).unwrap());
            }
        })
    });
    g.bench_function("zettabgp", |b| {
        let mut out = vec![0u8; 4096];
        b.iter(|| {
            for r in &zetta {
                black_box(black_box(r).encode_to(zettabgp::BgpTransportMode::IPv4, &mut out).unwrap());
            }
        })
    });
    g.bench_function("rustbgpd-wire", |b| {
        let mut out = Vec::with_capacity(64);
        b.iter(|| {
            for r in &rustbgpd {
                out.clear();
                rustbgpd_wire::flowspec::try_encode_flowspec_nlri(
                    black_box(r),
                    &mut out,
                    rustbgpd_wire::capability::Afi::Ipv4,
                )
                .unwrap();
                black_box(&out);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
