#!/usr/bin/env bash
# benches/interop/bench.sh [RUNDIR]: push N distinct FlowSpec rules into BIRD from prefixd and from
# GoBGP (loaded the fastest way it allows: gRPC AddPathStream with wire-format paths), and report:
#   load_s    from the session being Established until BIRD's flowtab4 holds N rules
#             (prefixd: the table is sent on establishment; GoBGP: injection starts then)
#   reconn_s  after `birdc restart speaker`: until the session is Established again
#   resend_s  then until BIRD holds N rules again (the full-table resend)
#   updates   UPDATE messages the sender sent in all (initial load and resend)
#   spk_MiB   peak RSS (VmHWM) of the sender
# Everything runs on loopback: BIRD 127.0.70.2 AS 65001, the sender 127.0.70.1 AS 65000, port 179.
# Environment: NS ["1000 10000 100000"], METHODS ["prefixd gobgp"], TIMEOUT [120] s per phase.
# Needs: bash tests/interop/install.sh; for GoBGP also python3-grpcio python3-protobuf protobuf-compiler
# (installed here when missing), and a release build of prefixd (built here).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
RUNDIR=${1:-$(mktemp -d)}; mkdir -p "$RUNDIR"; RUNDIR=$(cd "$RUNDIR" && pwd)
NS=${NS:-1000 10000 100000}
METHODS=${METHODS:-prefixd gobgp}
TIMEOUT=${TIMEOUT:-120}
PY=/usr/bin/python3
BIRD_ADDR=127.0.70.2 SPK_ADDR=127.0.70.1 API=127.0.70.1:50051

for p in bird2 gobgpd python3-grpcio python3-protobuf protobuf-compiler libprotobuf-dev; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || MISSING="${MISSING:-} $p"
done
if [ -n "${MISSING:-}" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends $MISSING >/dev/null || { echo "cannot install:$MISSING"; exit 1; }
fi
(cd "$TOP" && cargo build --release -q -p prefixd) || exit 1
PREFIXD=$TOP/target/release/prefixd

# GoBGP's API .proto files from Debian's golang-github-osrg-gobgp-dev (downloaded, not installed).
PROTO=$RUNDIR/proto
if [ ! -f "$PROTO/gobgp.proto" ]; then
  mkdir -p "$PROTO" "$RUNDIR/deb"
  (cd "$RUNDIR/deb" && apt-get download -q golang-github-osrg-gobgp-dev >/dev/null 2>&1 && dpkg-deb -x golang-github-osrg-gobgp-dev_*.deb x) \
    || { echo "cannot fetch golang-github-osrg-gobgp-dev"; exit 1; }
  cp "$RUNDIR"/deb/x/usr/share/gocode/src/github.com/osrg/gobgp/api/*.proto "$PROTO"/
fi
mkdir -p "$RUNDIR/pb2"
protoc -I "$PROTO" -I /usr/include --python_out="$RUNDIR/pb2" "$PROTO"/*.proto || exit 1

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
wait_for() { local i; for ((i = 0; i < $1 * 100; i++)); do "${@:2}" && return 0; sleep 0.01; done; return 1; }
count() { birdc -s "$R/bird.ctl" show route table flowtab4 count 2>/dev/null | awk '/routes for/ {print $1; f=1} END {if (!f) print 0}'; }
has() { [ "$(count)" -ge "$1" ]; }
below() { [ "$(count)" -lt "$1" ]; }
established() { birdc -s "$R/bird.ctl" show protocols speaker 2>/dev/null | grep -q Established; }
rss() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }
stop() { kill "$1" 2>/dev/null; wait_for 5 eval "! kill -0 $1 2>/dev/null" || kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

start_bird() {
  cat > "$R/bird.conf" <<CONF
log "$R/bird.log" { warning, error, fatal };
router id $BIRD_ADDR;
protocol device { }
flow4 table flowtab4;
protocol bgp speaker {
  local $BIRD_ADDR port 179 as 65001;
  neighbor $SPK_ADDR port 179 as 65000;
  strict bind yes;
  multihop;
  passive on;
  error wait time 1, 10;
  flow4 { table flowtab4; import all; export none; };
}
CONF
  bird -c "$R/bird.conf" -s "$R/bird.ctl" -P "$R/bird.pid"
  wait_for 5 test -S "$R/bird.ctl"
}

run_one() {  # run_one METHOD N
  local m=$1 n=$2 t0 load=timeout reconn=- resend=- updates=- pid i
  R=$RUNDIR/$m-$n; mkdir -p "$R"
  start_bird
  if [ "$m" = prefixd ]; then
    for ((i = 0; i < n; i++)); do
      echo "dst 10.$((i >> 16 & 255)).$((i >> 8 & 255)).$((i & 255))/32 proto =17 sport =53 then discard"
    done > "$R/rules.txt"
    RUST_LOG=info "$PREFIXD" announce --local-as 65000 --router-id "$SPK_ADDR" --peer "$BIRD_ADDR" \
      --peer-as 65001 --local-address "$SPK_ADDR" --rules "$R/rules.txt" </dev/null >"$R/sender.log" 2>&1 &
    pid=$!
    wait_for 30 established || { echo "$m $n: no session"; stop "$pid"; return 1; }
    t0=$(now)
  else
    cat > "$R/gobgpd.toml" <<CONF
[global.config]
  as = 65000
  router-id = "$SPK_ADDR"
  port = 179
  local-address-list = ["$SPK_ADDR"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$BIRD_ADDR"
    peer-as = 65001
  [neighbors.transport.config]
    local-address = "$SPK_ADDR"
  [neighbors.timers.config]
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-flowspec"
CONF
    gobgpd -f "$R/gobgpd.toml" -t toml --api-hosts "$API" --pprof-disable </dev/null >"$R/sender.log" 2>&1 &
    pid=$!
    wait_for 30 established || { echo "$m $n: no session"; stop "$pid"; return 1; }
    t0=$(now)
    "$PY" "$HERE/gobgp_inject.py" "$RUNDIR/pb2" "$API" "$n" binary 1000 >/dev/null
  fi
  if wait_for "$TIMEOUT" has "$n"; then load=$(since "$t0"); fi
  if [ "$load" != timeout ]; then
    t0=$(now)
    birdc -s "$R/bird.ctl" restart speaker >/dev/null
    wait_for 10 below "$n"
    if wait_for "$TIMEOUT" established; then
      reconn=$(since "$t0"); t0=$(now)
      if wait_for "$TIMEOUT" has "$n"; then resend=$(since "$t0"); else resend=timeout; fi
    fi
  fi
  local mib; mib=$(rss "$pid")
  if [ "$m" = gobgp ]; then
    updates=$(gobgp -u "${API%:*}" -p "${API#*:}" neighbor "$BIRD_ADDR" 2>/dev/null | awk '/Updates:/ {print $2; exit}')
    stop "$pid"
  else
    stop "$pid"
    updates=$(grep -o 'updates_sent=[0-9]*' "$R/sender.log" | tail -1 | cut -d= -f2)
  fi
  stop "$(cat "$R/bird.pid")"
  printf "%-8s %7d %8s %8s %8s %8s %8s\n" "$m" "$n" "$load" "$reconn" "$resend" "${updates:--}" "$mib"
}

echo "rundir: $RUNDIR   ($(nproc) CPUs; $(bird --version 2>&1 | head -1); gobgpd $(gobgpd --version | awk '{print $3}'))"
printf "%-8s %7s %8s %8s %8s %8s %8s\n" method N load_s reconn_s resend_s updates spk_MiB
for n in $NS; do
  for m in $METHODS; do
    run_one "$m" "$n"
  done
done
