#!/usr/bin/env bash
# capture-vectors.sh [RUNDIR]            capture real BGP messages and write tests/vectors/real/*.hex
# capture-vectors.sh --from-pcap PCAP [RUNDIR]   only re-extract the vectors from an earlier capture
#                                        (same NET/PORT as when it was captured)
#
# gobgpd plays the speaker (NET.1:PORT, AS 65000, graceful restart on so it sends End-of-RIB) and peers
# with four real implementations, each on its own loopback address (lib.sh, configs/):
#   BIRD 2 NET.2 AS 65001 (eBGP) | GoBGP NET.3 AS 65002 (eBGP) | FRR NET.4 AS 65003 (eBGP)
#   ExaBGP NET.5 AS 65000 (iBGP, so LOCAL_PREF is sent both ways)
# tshark records everything on lo (capture filter: those addresses only). The speaker announces IPv4/IPv6
# unicast routes (communities, large communities, MED, LOCAL_PREF) and FlowSpec rules (v4, v6, VPN v4/v6);
# BIRD, FRR, ExaBGP and the GoBGP peer announce their own; then withdraws, ROUTE-REFRESH (BIRD, FRR,
# ExaBGP; GoBGP 3.10 never sends one) and session resets/shutdowns (NOTIFICATION Cease, some with an
# RFC 8203 shutdown communication). Every process started here is stopped by its PID.
# The TCP streams are reassembled per direction and split into BGP messages, which are written to
# OUT/<impl>-<type>.hex (see tests/vectors/real/README.md).
# Environment: NET [127.0.50] (addresses NET.1-NET.5), PORT [179] (BGP port of all five),
#   OUT [tests/vectors/real], SETTLE [3] (seconds to let each phase settle).
# Needs root and the packages of tests/interop/install.sh. Exits non-zero if an implementation sent no OPEN.
set -u   # no pipefail: "grep -q" closes pipes early
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"

NET=${NET:-127.0.50}
PORT=${PORT:-179}
OUT=${OUT:-$ROOT/tests/vectors/real}
SETTLE=${SETTLE:-3}
export SPEAKER_ADDR=$NET.1 SPEAKER_AS=65000 SPEAKER_PORT=$PORT SPEAKER_API=$NET.1:50051
BIRD_ADDR=$NET.2 GOBGP_ADDR=$NET.3 FRR_ADDR=$NET.4 EXA_ADDR=$NET.5
BIRD_AS=65001 GOBGP_AS=65002 FRR_AS=65003 EXA_AS=65000
GOBGP_PEER_API=$GOBGP_ADDR:50051

PCAP_IN=""
if [ "${1:-}" = --from-pcap ]; then
  PCAP_IN=${2:?usage: $0 --from-pcap PCAP [RUNDIR]}
  RUNDIR=${3:-$(mktemp -d /tmp/prefixd-vectors.XXXXXX)}
else
  RUNDIR=${1:-$(mktemp -d /tmp/prefixd-vectors.XXXXXX)}
fi
mkdir -p "$RUNDIR"; RUNDIR=$(cd "$RUNDIR" && pwd)
echo "rundir: $RUNDIR"

# ---- versions (for the file headers) ----
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
V_GOBGP="GoBGP $(gobgpd --version 2>&1 | awk '{print $NF; exit}') (Debian gobgpd $(pkgver gobgpd))"
V_BIRD="BIRD $(bird --version 2>&1 | awk '{print $NF; exit}') (Debian bird2 $(pkgver bird2))"
V_FRR="FRR bgpd $(/usr/lib/frr/bgpd --version 2>&1 | awk '/version/ {print $NF; exit}') (Debian frr $(pkgver frr))"
V_EXA="ExaBGP $(exabgp --version 2>&1 | awk -F': *' '/ExaBGP/ {print $2; exit}') (Debian exabgp $(pkgver exabgp))"
V_TSHARK="TShark $(tshark --version 2>&1 | awk '/^TShark/ {print $3; exit}')"

capture() {
  [ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
  for c in gobgpd gobgp bird birdc /usr/lib/frr/bgpd vtysh exabgp tshark text2pcap python3 ss; do
    command -v "$c" >/dev/null || { echo "missing $c: run tests/interop/install.sh" >&2; exit 1; }
  done
  ports_free "$SPEAKER_ADDR:$PORT" "$BIRD_ADDR:$PORT" "$GOBGP_ADDR:$PORT" "$FRR_ADDR:$PORT" "$EXA_ADDR:$PORT" \
    "$SPEAKER_API" "$GOBGP_PEER_API" || exit 1

  cleanup() {
    stop_pid "$RUNDIR/speaker.pid"
    for p in bird gobgp frr exabgp; do peer_stop "$p" "$RUNDIR"; done
    stop_pid "$RUNDIR/tshark.pid"
  }
  trap cleanup EXIT

  local hosts="host $SPEAKER_ADDR or host $BIRD_ADDR or host $GOBGP_ADDR or host $FRR_ADDR or host $EXA_ADDR"
  tshark -i lo -f "tcp port $PORT and ($hosts)" -w "$RUNDIR/cap.pcapng" -q >"$RUNDIR/tshark.out" 2>"$RUNDIR/tshark.err" &
  echo $! > "$RUNDIR/tshark.pid"
  wait_for 15 grep -q Capturing "$RUNDIR/tshark.err" || { echo "tshark did not start" >&2; cat "$RUNDIR/tshark.err" >&2; exit 1; }

  # ExaBGP API process. ExaBGP respawns an API process that exits, so each step runs once (marker files)
  # and the script then waits (bounded) while ExaBGP lives. Step 1 (RUNDIR/exabgp.refresh): ROUTE-REFRESH
  # and route changes; step 2 (RUNDIR/exabgp.teardown): NOTIFICATION Cease/administrative shutdown.
  cat > "$RUNDIR/exabgp-api.sh" <<EOF
#!/bin/sh
R="$RUNDIR"
i=0
while [ \$i -lt 1800 ] && kill -0 \$PPID 2>/dev/null; do
  if [ -e "\$R/exabgp.refresh" ] && [ ! -e "\$R/exabgp.refresh.done" ]; then
    touch "\$R/exabgp.refresh.done"
    echo "announce route-refresh ipv4 unicast"
    echo "announce route-refresh ipv6 unicast"
    echo "announce route-refresh ipv4 flow"
    echo "announce route 198.51.102.0/24 next-hop 192.0.2.5 origin egp as-path [ 65100 65101 ] atomic-aggregate aggregator ( 65100:192.0.2.100 ) community [ no-export ]"
    echo "announce flow route { match { destination 2001:db8:a::/48/0; source 2001:db8:b::/48/0; next-header tcp; flow-label >100&<2000; } then { redirect 65000:1000; } }"
    sleep 1
    echo "withdraw route 198.51.100.0/24 next-hop 192.0.2.5"
    echo "withdraw flow route { match { destination 203.0.113.5/32; protocol udp; source-port =53; } then { rate-limit 9600; } }"
  fi
  if [ -e "\$R/exabgp.teardown" ] && [ ! -e "\$R/exabgp.teardown.done" ]; then
    touch "\$R/exabgp.teardown.done"
    echo "neighbor $SPEAKER_ADDR teardown 2"
  fi
  sleep 0.2; i=\$((i + 1))
done
EOF
  chmod 700 "$RUNDIR/exabgp-api.sh"

  SPEAKER_GR=1 speaker_gobgp_start "$RUNDIR" "$BIRD_ADDR:$BIRD_AS:$PORT" "$GOBGP_ADDR:$GOBGP_AS:$PORT" \
    "$FRR_ADDR:$FRR_AS:$PORT" "$EXA_ADDR:$EXA_AS:$PORT" || { echo "cannot start the gobgpd speaker" >&2; exit 1; }
  PEER_ADDR=$BIRD_ADDR PEER_AS=$BIRD_AS PEER_PORT=$PORT peer_start bird "$RUNDIR" || exit 1
  PEER_ADDR=$GOBGP_ADDR PEER_AS=$GOBGP_AS PEER_PORT=$PORT GOBGP_API=$GOBGP_PEER_API peer_start gobgp "$RUNDIR" || exit 1
  PEER_ADDR=$FRR_ADDR PEER_AS=$FRR_AS PEER_PORT=$PORT FRR_ORIGINATE=1 peer_start frr "$RUNDIR" || exit 1
  PEER_ADDR=$EXA_ADDR PEER_AS=$EXA_AS PEER_PORT=$PORT EXABGP_PROCESS=$RUNDIR/exabgp-api.sh peer_start exabgp "$RUNDIR" || exit 1

  pgobgp() { gobgp -u "${GOBGP_PEER_API%:*}" -p "${GOBGP_PEER_API##*:}" "$@"; }
  birdctl() { birdc -s "$RUNDIR/bird/bird.ctl" "$@"; }
  frr() { vtysh --vty_socket "$RUNDIR/frr" "$@"; }
  established() { [ "$(sgobgp neighbor 2>/dev/null | grep -c Establ)" = "$1" ]; }
  phase() { echo "== $*"; }
  # ctl CMD...: a control command; output goes to RUNDIR/control.log, a failure is reported.
  ctl() { echo "\$ $*" >>"$RUNDIR/control.log"; "$@" >>"$RUNDIR/control.log" 2>&1 || echo "WARNING: failed: $*" >&2; }

  phase "waiting for 4 sessions (speaker view, up to 60 s)"
  wait_for 60 established 4 || { echo "WARNING: not all sessions Established:"; sgobgp neighbor; }
  sleep "$SETTLE"

  phase "speaker announces unicast and FlowSpec"
  ctl sgobgp global rib -a ipv4 add 10.50.0.0/24 nexthop 192.0.2.1 origin igp med 10 local-pref 200 \
    community 65000:100,65000:200 large-community 65000:1:1,65000:1:2
  ctl sgobgp global rib -a ipv4 add 10.50.1.0/24 nexthop 192.0.2.1 origin incomplete aspath 64512,64513
  ctl sgobgp global rib -a ipv6 add 2001:db8:50::/48 nexthop 2001:db8::1 med 5 community 65000:600 large-community 65000:6:6
  ctl sgobgp global rib -a ipv6 add 2001:db8:51::/48 nexthop 2001:db8::1
  ctl sgobgp global rib -a ipv4-flowspec add match destination 10.0.0.1/32 protocol udp source-port 53 then discard
  ctl sgobgp global rib -a ipv4-flowspec add match destination 10.0.1.0/24 source 192.0.2.0/24 protocol tcp \
    destination-port '>=80&<=100' packet-length '>1000' tcp-flags '=S' fragment is-fragment dscp 10 then rate-limit 10000
  ctl sgobgp global rib -a ipv4-flowspec add match destination 10.0.2.0/24 protocol icmp icmp-type 8 icmp-code 0 \
    then redirect 65000:300
  ctl sgobgp global rib -a ipv4-flowspec add match destination 10.0.3.0/24 protocol udp port '==123' then mark 5
  ctl sgobgp global rib -a ipv6-flowspec add match destination 2001:db8:1::/48 protocol tcp destination-port 443 then rate-limit 1000
  ctl sgobgp global rib -a ipv6-flowspec add match destination 2001:db8:1:1::/64 source 2001:db8:2::/48 label 10 then discard
  ctl sgobgp global rib -a ipv4-l3vpn-flowspec add rd 65000:100 match destination 10.0.0.2/32 then discard
  ctl sgobgp global rib -a ipv6-l3vpn-flowspec add rd 65000:200 match destination 2001:db8:9::/48 then discard

  phase "GoBGP peer announces"
  ctl pgobgp global rib -a ipv4 add 10.52.0.0/24 nexthop 192.0.2.3 community 65002:1
  ctl pgobgp global rib -a ipv4-flowspec add match destination 10.52.1.0/24 then discard

  phase "BIRD enables its static routes"
  ctl birdctl enable flowstatic; ctl birdctl enable flowstatic6
  ctl birdctl enable unistatic4; ctl birdctl enable unistatic6
  wait_for 15 eval 'sgobgp global rib -a ipv4-flowspec 2>/dev/null | grep 192.0.2.0/24 >/dev/null' ||
    echo "WARNING: speaker did not get BIRD's flow route"
  sleep "$SETTLE"

  phase "withdraws"
  ctl sgobgp global rib -a ipv4 del 10.50.1.0/24
  ctl sgobgp global rib -a ipv6 del 2001:db8:51::/48
  ctl sgobgp global rib -a ipv4-flowspec del match destination 10.0.0.1/32 protocol udp source-port 53 then discard
  ctl sgobgp global rib -a ipv6-flowspec del match destination 2001:db8:1:1::/64 source 2001:db8:2::/48 label 10 then discard
  ctl sgobgp global rib -a ipv4-l3vpn-flowspec del rd 65000:100 match destination 10.0.0.2/32 then discard
  ctl birdctl disable unistatic6; ctl birdctl disable flowstatic
  ctl frr -c 'configure terminal' -c "router bgp $FRR_AS" -c 'address-family ipv6 unicast' \
    -c 'no network 2001:db8:7::/48 route-map ORIGINATE'
  ctl pgobgp global rib -a ipv4-flowspec del match destination 10.52.1.0/24 then discard
  sleep "$SETTLE"

  phase "route refresh from every implementation"
  # GoBGP 3.10 never sends ROUTE-REFRESH: "gobgp neighbor X softresetin" re-reads its own Adj-RIB-In.
  ctl birdctl reload in speaker
  ctl frr -c "clear bgp ipv4 unicast $SPEAKER_ADDR in" -c "clear bgp ipv6 flowspec $SPEAKER_ADDR in"
  touch "$RUNDIR/exabgp.refresh"
  sleep $((SETTLE + 2))

  phase "NOTIFICATIONs: session resets and shutdowns"
  ctl frr -c "clear bgp $SPEAKER_ADDR"                          # Cease / administrative reset
  ctl birdctl 'disable speaker "prefixd interop: BIRD shutdown"'   # Cease / shutdown + message
  ctl pgobgp neighbor "$SPEAKER_ADDR" reset --reason "prefixd interop: GoBGP peer reset"   # Cease / reset + message
  touch "$RUNDIR/exabgp.teardown"                                       # Cease / shutdown (API)
  wait_for 20 eval 'frr -c "show bgp neighbors $SPEAKER_ADDR" | grep "BGP state = Established" >/dev/null' ||
    echo "WARNING: FRR session did not come back"
  sleep 1
  # "shutdown" (deprecated in favour of "disable", which sends no message) sends Cease / shutdown + message.
  ctl sgobgp neighbor "$FRR_ADDR" shutdown --reason "prefixd interop: GoBGP speaker shutdown"
  sleep 2

  phase "stopping"
  cleanup
  trap - EXIT
  PCAP_IN=$RUNDIR/cap.pcapng
}

[ -n "$PCAP_IN" ] || capture
[ -s "$PCAP_IN" ] || { echo "no capture: $PCAP_IN" >&2; exit 1; }

# ---- extraction ----
mkdir -p "$OUT"
export VEC_PEERS="$SPEAKER_ADDR|gobgp|speaker $SPEAKER_ADDR AS $SPEAKER_AS|$V_GOBGP
$BIRD_ADDR|bird|peer $BIRD_ADDR AS $BIRD_AS (eBGP)|$V_BIRD
$GOBGP_ADDR|gobgp|peer $GOBGP_ADDR AS $GOBGP_AS (eBGP)|$V_GOBGP
$FRR_ADDR|frr|peer $FRR_ADDR AS $FRR_AS (eBGP)|$V_FRR
$EXA_ADDR|exabgp|peer $EXA_ADDR AS $EXA_AS (iBGP)|$V_EXA"
export VEC_PORT=$PORT VEC_TSHARK=$V_TSHARK
python3 - "$PCAP_IN" "$OUT" "$RUNDIR" <<'PYEOF'
import collections, os, re, subprocess, sys
import xml.etree.ElementTree as ET

pcap, out, work = sys.argv[1:4]
peers = {}
for line in os.environ["VEC_PEERS"].splitlines():
    addr, impl, role, version = line.split("|")
    peers[addr] = dict(impl=impl, role=role, version=version)
port = os.environ["VEC_PORT"]
decode_as = [] if port == "179" else ["-d", "tcp.port==%s,bgp" % port]

def tshark(*args):
    return subprocess.run(["tshark", "-n", *args], capture_output=True, text=True, check=True).stdout

# 1. TCP segments in capture order, reassembled per stream and direction (by sequence number).
fields = ["frame.number", "tcp.stream", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tcp.seq_raw", "tcp.payload"]
rows = tshark("-r", pcap, *decode_as, "-Y", "tcp.len > 0", "-T", "fields", "-E", "separator=\t",
              *sum([["-e", f] for f in fields], []))
flows = collections.OrderedDict()
for line in rows.splitlines():
    p = line.split("\t")
    if len(p) != 8 or not p[7]:
        continue
    key = (int(p[1]), p[2], p[3], p[4], p[5])
    flows.setdefault(key, []).append((int(p[0]), int(p[6]), bytes.fromhex(p[7])))

msgs = []  # (frame, src, dst, bytes)
warnings = []
for key, segs in flows.items():
    stream, src, sport, dst, dport = key
    base, data, ends = segs[0][1], bytearray(), []
    for frame, seq, payload in segs:
        off = (seq - base) % (1 << 32)
        if off > len(data):
            warnings.append("stream %d %s->%s: gap at offset %d, rest ignored" % (stream, src, dst, len(data)))
            break
        if off + len(payload) > len(data):
            data.extend(payload[len(data) - off:])
            ends.append((len(data), frame))
    pos = 0
    while pos + 19 <= len(data):
        if data[pos:pos + 16] != b"\xff" * 16:
            warnings.append("stream %d %s->%s: no BGP marker at offset %d" % (stream, src, dst, pos))
            break
        length = int.from_bytes(data[pos + 16:pos + 18], "big")
        if length < 19 or pos + length > len(data):
            if length >= 19:
                warnings.append("stream %d %s->%s: truncated message at the end" % (stream, src, dst))
            break
        frame = next(f for e, f in ends if e >= pos + length)
        msgs.append((frame, src, dst, bytes(data[pos:pos + length])))
        pos += length
msgs.sort(key=lambda m: m[0])

# 2. Classification.
FAM = {(1, 1): "unicast4", (2, 1): "unicast6", (1, 133): "flowspec4", (2, 133): "flowspec6",
       (1, 134): "flowspec4-vpn", (2, 134): "flowspec6-vpn"}
def fam(afi, safi):
    return FAM.get((afi, safi), "afi%d-safi%d" % (afi, safi))

def kind(m):
    t = m[18]
    if t == 1: return "open"
    if t == 3: return "notification"
    if t == 4: return "keepalive"
    if t == 5: return "route-refresh"
    if t != 2: return "type%d" % t
    b = m[19:]
    wlen = int.from_bytes(b[0:2], "big")
    alen = int.from_bytes(b[2 + wlen:4 + wlen], "big")
    attrs, nlri = b[4 + wlen:4 + wlen + alen], b[4 + wlen + alen:]
    i, reach, unreach, codes = 0, None, None, []
    while i + 3 <= len(attrs):
        flags, code = attrs[i], attrs[i + 1]
        if flags & 0x10:
            ln, h = int.from_bytes(attrs[i + 2:i + 4], "big"), 4
        else:
            ln, h = attrs[i + 2], 3
        val = attrs[i + h:i + h + ln]
        codes.append(code)
        if code == 14: reach = val
        if code == 15: unreach = val
        i += h + ln
    if wlen == 0 and alen == 0 and not nlri:
        return "update-eor"
    if codes == [15] and len(unreach) == 3:
        return "update-eor"
    if reach is not None:
        return "update-" + fam(int.from_bytes(reach[0:2], "big"), reach[2])
    if nlri:
        return "update-unicast4"
    if unreach is not None:
        return "update-withdraw-" + fam(int.from_bytes(unreach[0:2], "big"), unreach[2])
    return "update-withdraw-unicast4"

# 3. tshark decode of every distinct message: one synthetic TCP packet per message (text2pcap).
uniq = list(dict.fromkeys(m[3] for m in msgs))
with open(os.path.join(work, "vectors.txt"), "w") as f:
    for m in uniq:
        for off in range(0, len(m), 16):
            f.write("%06x %s\n" % (off, " ".join("%02x" % x for x in m[off:off + 16])))
synth = os.path.join(work, "vectors.pcapng")
r = subprocess.run(["text2pcap", "-q", "-T", "179,179", os.path.join(work, "vectors.txt"), synth],
                   capture_output=True, text=True)
if r.returncode != 0:
    sys.exit("text2pcap failed: " + r.stderr)
pdml = ET.fromstring(tshark("-r", synth, "-T", "pdml"))

BITS = re.compile(r"^[.01 ]+ = ")
def sh(f):
    return " ".join((f.get("showname") or f.get("show") or "").split())
def kids(f):
    return f.findall("field")
def short(s):
    s = s.replace("Address family identifier (AFI)", "AFI").replace("Subsequent address family identifier (SAFI)", "SAFI")
    return s
def leaves(node, skip=()):
    """Shownames of the leaf fields under node, without lengths, flags, bit lines and expert info."""
    out = []
    for f in kids(node):
        n = f.get("name", "")
        if (n.startswith("_ws") or n in skip or ".flags" in n or n.endswith(".opflags")
                or n.endswith((".len", ".length", ".type_code", ".filter_type", ".reserved", ".nbr_snpa"))
                or n in ("bgp.marker", "bgp.type", "bgp.cap.type")):
            continue
        if kids(f):
            sub = leaves(f, skip)
            out += sub if sub else [short(sh(f))]
            continue
        s = sh(f)
        if BITS.match(s):
            s = s.split(" = ", 1)[1]
        if not s:
            continue
        out.append(short(s))
    return out
def nlri_list(node):
    out = []
    for f in kids(node):
        n = f.get("name", "")
        if n == "bgp.flowspec_nlri":
            parts = []
            for g in kids(f):
                gn = g.get("name", "")
                if gn == "bgp.flowspec_route_distinguisher":
                    v = [c.get("show", "") for c in kids(g) if not c.get("name", "").endswith("_type")]
                    parts.append("RD " + ":".join(v))
                elif gn == "bgp.flowspec_nlri.filter":
                    parts.append(sh(g).replace("Filter: ", ""))
            out.append("{" + ", ".join(parts) + "}")
        elif not n and f.get("show"):
            out.append(f.get("show"))
        elif kids(f):
            out += nlri_list(f)
    return out
def summarize(proto):
    fields = kids(proto)
    typ = next((f.get("showname", "") for f in fields if f.get("name") == "bgp.type"), "?")
    typ = typ.replace("Type: ", "").split(" Message")[0]
    length = next((f.get("show", "") for f in fields if f.get("name") == "bgp.length"), "?")
    head = "%s (%s bytes)" % (typ, length)
    if typ == "OPEN":
        o = {f.get("name"): f.get("show") for f in fields}
        caps = []
        for c in proto.iter("field"):
            if c.get("name") == "bgp.cap":
                name = sh(c).replace("Capability: ", "")
                name = re.sub(r" [Cc]apability$", "", name)
                v = leaves(c)
                caps.append(name + (" [" + ", ".join(v) + "]" if v else ""))
        return "%s version %s, AS %s, hold %s, id %s; capabilities: %s" % (
            head, o.get("bgp.open.version"), o.get("bgp.open.myas"), o.get("bgp.open.holdtime"),
            o.get("bgp.open.identifier"), "; ".join(caps) or "none")
    if typ == "UPDATE":
        out = [head]
        for f in fields:
            n = f.get("name", "")
            if n == "bgp.update.withdrawn_routes":
                out.append("withdrawn: " + " ".join(nlri_list(f)))
            elif n == "bgp.update.path_attributes":
                attrs = []
                for a in kids(f):
                    label = sh(a).replace("Path Attribute - ", "")
                    if "EXTENDED_COMMUNITIES" in label:
                        label += " " + ", ".join(sh(e) for e in a.iter("field") if e.get("name") == "bgp.ext_community")
                    elif "MP_REACH_NLRI" in label or "MP_UNREACH_NLRI" in label:
                        v = leaves(a, skip=("bgp.update.path_attribute.mp_reach_nlri", "bgp.update.path_attribute.mp_unreach_nlri"))
                        nl = []
                        for c in kids(a):
                            if c.get("name") in ("bgp.update.path_attribute.mp_reach_nlri", "bgp.update.path_attribute.mp_unreach_nlri"):
                                nl += nlri_list(c)
                        label += " " + ", ".join(v) + ("; NLRI: " + " ".join(nl) if nl else "; no NLRI")
                    attrs.append("[" + label + "]")
                out.append("attributes: " + " ".join(attrs))
            elif n == "bgp.update.nlri":
                out.append("NLRI: " + " ".join(nlri_list(f)))
        if len(out) == 1:
            out.append("empty (End-of-RIB IPv4 unicast)")
        return "; ".join(out)
    v = leaves(proto, skip=("bgp.length",))
    return head + (": " + ", ".join(v) if v else "")

summaries, bad = {}, 0
packets = pdml.findall("packet")
for m, pkt in zip(uniq, packets):
    bgp = [p for p in pkt.findall("proto") if p.get("name") == "bgp"]
    if not bgp:
        summaries[m] = "(tshark: not decoded as BGP)"; bad += 1; continue
    summaries[m] = summarize(bgp[0])
    if any(p.get("name") == "_ws.malformed" for p in pkt.findall("proto")):
        summaries[m] += " (tshark: MALFORMED)"; bad += 1
if len(packets) != len(uniq):
    print("WARNING: tshark decoded %d of %d messages" % (len(packets), len(uniq)))

# 4. Files: <impl>-<kind>.hex, vectors in first-seen order, identical messages merged. Written to
#    WORK/hex first; OUT is replaced only if every implementation sent an OPEN and tshark decoded all.
def who(addr):
    p = peers.get(addr)
    return "%s %s" % (p["impl"], p["role"]) if p else addr
files = collections.OrderedDict()
for frame, src, dst, m in msgs:
    if src not in peers:
        continue
    impl = peers[src]["impl"]
    files.setdefault((impl, kind(m)), collections.OrderedDict()).setdefault(m, []).append((src, dst, frame))

hexdir = os.path.join(work, "hex")
os.makedirs(hexdir, exist_ok=True)
counts = collections.defaultdict(dict)
for (impl, k), vecs in files.items():
    senders = list(dict.fromkeys(s for v in vecs.values() for s, _, _ in v))
    receivers = list(dict.fromkeys(d for v in vecs.values() for _, d, _ in v))
    name = "%s-%s.hex" % (impl, k)
    with open(os.path.join(hexdir, name), "w") as f:
        f.write("# %s: %s messages sent by %s\n" % (name, k, peers[senders[0]]["version"]))
        f.write("# from: %s\n" % "; ".join(who(x) for x in senders))
        f.write("# to: %s\n" % "; ".join(who(x) + (" = " + peers[x]["version"] if x in peers else "") for x in receivers))
        f.write("# %d distinct messages, one per line: lowercase hex of the whole message (marker to end). Lines\n"
                "# starting with '#' are comments; the one above each vector gives sender -> receivers, how often it\n"
                "# was seen, and its decode by %s.\n" % (len(vecs), os.environ["VEC_TSHARK"]))
        f.write("# Regenerate: bash tests/interop/capture-vectors.sh (real daemons on loopback, see README.md)\n")
        for m, seen in vecs.items():
            by_src = collections.OrderedDict()
            for s_, d_, _ in seen:
                by_src.setdefault(s_, [])
                if d_ not in by_src[s_]:
                    by_src[s_].append(d_)
            route = "; ".join("%s -> %s" % (who(s_), ", ".join(peers[d_]["impl"] + " " + d_ if d_ in peers else d_ for d_ in ds))
                              for s_, ds in by_src.items())
            f.write("# %s; seen %dx: %s\n" % (route, len(seen), summaries[m]))
            f.write(m.hex() + "\n")
    counts[impl][k] = len(vecs)

for w in warnings:
    print("WARNING:", w)
missing = [p["impl"] + " " + p["role"] for a, p in peers.items()
           if not any(src == a and m[18] == 1 for _, src, _, m in msgs)]
ok = True
if missing:
    print("ERROR: no OPEN from: " + ", ".join(missing))
    ok = False
if bad:
    print("ERROR: %d vectors not decoded cleanly by tshark" % bad)
    ok = False
if not ok:
    print("%s left unchanged; this run's files are in %s" % (out, hexdir))
    sys.exit(1)
for name in os.listdir(out):
    if name.endswith(".hex"):
        os.remove(os.path.join(out, name))
for name in sorted(os.listdir(hexdir)):
    with open(os.path.join(hexdir, name)) as src, open(os.path.join(out, name), "w") as dst:
        dst.write(src.read())
print("vectors written to %s (distinct messages per file):" % out)
for impl in sorted(counts):
    print("  %-7s %s" % (impl, ", ".join("%s %d" % kv for kv in sorted(counts[impl].items()))))
PYEOF
