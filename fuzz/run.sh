#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] [TARGET...]: seeds each target's corpus from tests/vectors/real, runs the
# targets one after another (one core each) for SECONDS (default 600), and prints one line per
# target: executions, seconds, and whether a crash was found. Needs `cargo install cargo-fuzz` and a
# nightly toolchain. Exit status 1 if any target crashed.
set -euo pipefail
cd "$(dirname "$0")"
SECS=${1:-600}; shift || true
TARGETS=${*:-"framer open update notification keepalive route_refresh roundtrip session"}
LOG=${FUZZ_LOG:-$(mktemp -d)}
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
