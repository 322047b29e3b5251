#!/usr/bin/env python3
# Copied from the project lab (shared/lab/bench); used by benches/interop/bench.sh for the GoBGP baseline.
"""Stream N distinct IPv4 FlowSpec rules into gobgpd's global RIB over gRPC AddPathStream (GoBGP v3 API).

usage: gobgp_inject.py PB2_DIR HOST:PORT N [any|binary] [BATCH]
  PB2_DIR  directory with gobgp_pb2.py/attribute_pb2.py (protoc --python_out, as bench.sh makes it)
  any      paths built from the API's protobuf messages packed in Any (what the gobgp CLI does)
  binary   paths given as wire bytes in Path.nlri_binary / Path.pattrs_binary (faster to build)
Rule i: match destination 10.<i>/32 protocol =udp source-port =53 then discard (traffic-rate 0).
Prints the seconds spent building and sending.
"""
import struct
import sys
import time

pb2_dir, api, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
mode = sys.argv[4] if len(sys.argv) > 4 else "binary"
batch = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
sys.path.insert(0, pb2_dir)
import grpc  # noqa: E402
import attribute_pb2 as attr  # noqa: E402
import gobgp_pb2 as gobgp  # noqa: E402
from google.protobuf.any_pb2 import Any  # noqa: E402
from google.protobuf.empty_pb2 import Empty  # noqa: E402

FAMILY = gobgp.Family(afi=gobgp.Family.AFI_IP, safi=gobgp.Family.SAFI_FLOW_SPEC_UNICAST)
ORIGIN_IGP = bytes([0x40, 1, 1, 0])
DISCARD = bytes([0xC0, 16, 8, 0x80, 0x06, 0, 0, 0, 0, 0, 0])  # traffic-rate 0 (RFC 8955 7.3)


def addr(i):
    return bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])


def path_binary(i):
    comps = bytes([1, 32]) + addr(i) + bytes([3, 0x81, 17, 6, 0x81, 53])  # dst, proto =17, sport =53
    nlri = bytes([len(comps)]) + comps
    body = struct.pack("!HBBB", 1, 133, 0, 0) + nlri  # AFI 1, SAFI 133, no next hop, reserved
    mp_reach = bytes([0x80, 14, len(body)]) + body
    return gobgp.Path(family=FAMILY, nlri_binary=nlri, pattrs_binary=[ORIGIN_IGP, mp_reach, DISCARD])


def pack(msg):
    a = Any()
    a.Pack(msg)
    return a


def item(v):
    return attr.FlowSpecComponentItem(op=0x81, value=v)  # end-of-list | '='


def path_any(i):
    dst = "10.%d.%d.%d" % tuple(addr(i)[1:])
    nlri = pack(attr.FlowSpecNLRI(rules=[
        pack(attr.FlowSpecIPPrefix(type=1, prefix_len=32, prefix=dst)),
        pack(attr.FlowSpecComponent(type=3, items=[item(17)])),
        pack(attr.FlowSpecComponent(type=6, items=[item(53)]))]))
    pattrs = [
        pack(attr.OriginAttribute(origin=0)),
        pack(attr.MpReachNLRIAttribute(family=FAMILY, next_hops=["0.0.0.0"], nlris=[nlri])),
        pack(attr.ExtendedCommunitiesAttribute(communities=[pack(attr.TrafficRateExtended(asn=0, rate=0.0))])),
    ]
    return gobgp.Path(family=FAMILY, nlri=nlri, pattrs=pattrs)


def requests():
    make = path_binary if mode == "binary" else path_any
    for start in range(0, n, batch):
        yield gobgp.AddPathStreamRequest(table_type=gobgp.GLOBAL,
                                         paths=[make(i) for i in range(start, min(n, start + batch))])


t0 = time.monotonic()
channel = grpc.insecure_channel(api)
add_path_stream = channel.stream_unary("/apipb.GobgpApi/AddPathStream",
                                       request_serializer=gobgp.AddPathStreamRequest.SerializeToString,
                                       response_deserializer=Empty.FromString)
add_path_stream(requests(), timeout=600)
print("%.3f" % (time.monotonic() - t0))
