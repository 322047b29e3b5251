#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] [TARGET...]: seeds each target's corpus from tests/vectors/real, runs the
# targets one after another (one core each) for SECONDS (default 600), and prints one line per
# target: executions, seconds, and whether a crash was found. Needs `cargo install cargo-fuzz` and a
# nightly toolchain. Exit status 1 if any target crashed.
set -euo pipefail
cd "$(dirname "$0")"
SECS=${1:-600}; shift || true
TARGETS=${*:-"framer open update notification keepalive route_refresh roundtrip session flowspec_nlri flowspec_action flowspec_text flowspec_roundtrip"}
LOG=${FUZZ_LOG:-$(mktemp -d)}
mkdir -p "$LOG"
python3 - <<'PY'
import glob, os
vectors = []
for path in sorted(glob.glob("../tests/vectors/real/*.hex")):
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#"):
            vectors.append(bytes.fromhex(line))
def put(target, name, data):
    d = f"corpus/{target}"
    os.makedirs(d, exist_ok=True)
    open(f"{d}/{name}", "wb").write(data)
types = {1: "open", 2: "update", 3: "notification", 4: "keepalive", 5: "route_refresh"}
for i, v in enumerate(vectors):
    t = v[18]
    put(types[t], f"real{i}", b"\x00" + v[19:])
    put("roundtrip", f"real{i}", b"\x00" + bytes([t]) + v[19:])
    put("framer", f"real{i}", b"\x00" + v)
    if t == 2:
        put("session", f"real{i}", b"\x00" + v)
# FlowSpec seeds: the public vectors (shared/notes/flowspec.md) and some rule texts.
nlri = [(0, "0b0118c00002038106048119"), (0, "120118c0000202 18cb00710403 89458b911f90"),
        (1, "1201200020010db80268401234 56789a038106"), (1, "0f01200020010db80268412468acf134"),
        (0, "250120c0a8000102200a00000903011181060401509 11f900512 1f90541f98910c38069 20400"),
        (2, "140000fdec000000010120cb00710603810605815 0")]
for i, (sel, h) in enumerate(nlri):
    b = bytes.fromhex(h.replace(" ", ""))
    put("flowspec_nlri", f"v{i}", bytes([sel]) + b)
    put("flowspec_roundtrip", f"v{i}", bytes([sel & 1]) + b)
put("flowspec_action", "v0", bytes.fromhex("8006000046160000800c0000447a00008007000000000003800900000000000a8008ffdc00003039"))
for i, t in enumerate(["dst 192.0.2.1/32 proto =17 sport =53 pkt-len >=512 then rate-bytes 125000",
                       "src 2001:db8::/48 dst ::1234:5678:9a00:0/104 offset 64 tcp-flags syn&!ack then discard",
                       "rd 65000:1 dst 203.0.113.0/24 dport >=137&<=139|=8080 then redirect 65000:100 mark 10"]):
    put("flowspec_text", f"t{i}", t.encode())
PY
crashed=0
for t in $TARGETS; do
  out="$LOG/$t.log"
  cargo +nightly fuzz run -O "$t" -- -max_total_time="$SECS" -rss_limit_mb=2048 -print_final_stats=1 >"$out" 2>&1 && rc=0 || rc=$?
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$out" | grep -Eo '[0-9]+$' || echo '?')
  secs=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$out" | grep -Eo 'in [0-9]+' | grep -Eo '[0-9]+' || echo '?')
  if [ "$rc" = 0 ]; then status="no crash"; else status="CRASH (exit $rc, see $out)"; crashed=1; fi
  printf '%-14s %12s execs %6s s  %s\n' "$t" "$runs" "$secs" "$status"
done
exit $crashed
