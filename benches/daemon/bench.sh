#!/usr/bin/env bash
# benches/daemon/bench.sh [RUNDIR]: load benchmark of `prefixd run` on this machine.
#   1. ingest with durable commit (every 2xx answer means the event is on disk):
#      a. single POST /v1/events from wrk (C, epoll; 2 threads, 128 connections, 10 s), every
#         request a new event and a new rule (benches/daemon/events.lua);
#      b. single POST from daemon_load's 64 blocking clients, and POST /v1/events/batch
#         (8 clients x 250 events);
#   2. p50/p99 from just before each POST is written to the moment the receiving BGP speaker has
#      decoded the UPDATE with its rule, at 1,000 events/s open loop (5,000 events);
#   3. restart: with >= 100,000 active rules in the store, from spawning `prefixd run` until the
#      receiving speaker holds all of them again.
# The receiving router is a prefixd `speaker` inside daemon_load (127.0.76.2); the daemon is
# 127.0.76.1 (API port 8080). Loopback only. Environment: SECONDS_PER_PHASE [5].
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
RUNDIR=${1:-$(mktemp -d)}; mkdir -p "$RUNDIR"; RUNDIR=$(cd "$RUNDIR" && pwd)
if ! command -v wrk >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || { echo "cannot install wrk"; exit 1; }
fi
(cd "$TOP" && cargo build --release -q -p prefixd -p prefixd-benches --bin prefixd --bin daemon_load)
PREFIXD=$TOP/target/release/prefixd
echo "machine: $(nproc) cores, $(uname -r), $(date -u +%F)"

# 1a. wrk against a fresh daemon (no BGP peer reachable: the speaker keeps trying; rules still
#     go to its Loc-RIB).
mkdir -p "$RUNDIR/wrk"
sed "s|@DIR@|$RUNDIR/wrk|" > "$RUNDIR/wrk/prefixd.toml" <<CONF
mode = "enforced"
[http]
listen = "127.0.76.1:8080"
[http.rate_limit]
events_per_second = 10000000
burst = 10000000
global_events_per_second = 10000000
global_burst = 10000000
[bgp]
router_id = "10.0.76.1"
local_as = 65000
[[bgp.peer]]
address = "127.0.76.2"
remote_as = 65001
local_address = "127.0.76.1"
[quotas]
max_active_per_customer = 10000000
max_active_per_pop = 10000000
max_active_global = 10000000
max_new_per_minute = 100000000
max_announcements_per_peer = 100000000
[storage]
path = "@DIR@/prefixd.redb"
[[inventory.customers]]
customer_id = "bench"
prefixes = ["10.0.0.0/8"]
[[playbooks]]
name = "udp"
match = { vector = "udp_flood" }
steps = [{ action = "discard", ttl_seconds = 1800 }]
CONF
rm -f "$RUNDIR/wrk/prefixd.redb"
"$PREFIXD" run --config "$RUNDIR/wrk/prefixd.toml" 2> "$RUNDIR/wrk/prefixd.log" &
PID=$!
for _ in $(seq 100); do curl -sf http://127.0.76.1:8080/v1/health >/dev/null && break; sleep 0.05; done
echo "== 1a. wrk: single POST /v1/events, 2 threads, 128 connections, 10 s"
wrk -t2 -c128 -d10s --latency -s "$HERE/events.lua" http://127.0.76.1:8080 | grep -E 'Requests/sec|wrk:|  50%|  99%'
curl -s http://127.0.76.1:8080/v1/health/detail | python3 -c 'import json,sys; d=json.load(sys.stdin); print("active after wrk:", d["active_mitigations"], "store:", d["store"])'
kill "$PID"; wait "$PID" || true

echo "== 1b, 2. daemon_load: ingest, then latency at 1,000 events/s"
"$TOP/target/release/daemon_load" "$PREFIXD" "$RUNDIR/load" --clients 64 --seconds "${SECONDS_PER_PHASE:-5}" \
  --batch 250 --rate 1000 --latency-events 5000 --restart-rules 0
echo "== 3. daemon_load: restart with 100,000 active rules (fresh store)"
"$TOP/target/release/daemon_load" "$PREFIXD" "$RUNDIR/restart" --seconds 0 --latency-events 0 --restart-rules 100000
