# tests/interop/lib.sh: shell helpers for prefixd's interop tests (source it; not an entry point).
# Real BGP daemons (BIRD 2, GoBGP, FRR bgpd, ExaBGP) run by hand as root on loopback, each on its own
# address, with the config templates in configs/. No systemd, no network, no wildcard listeners: every
# test picks its own 127.x.y.z addresses (never 127.0.0.1:179) so tests can run side by side.
#
#   peer_start NAME RUNDIR    NAME: bird | gobgp | frr | exabgp. Files go to PEERDIR=RUNDIR/INSTANCE.
#   peer_stop NAME RUNDIR     kills the PID saved by peer_start (TERM, then KILL after 5 s)
#   peer_alive NAME RUNDIR
# Environment of peer_start (defaults in brackets):
#   PEER_ADDR (required)   the peer's own address; it listens there only and connects from there
#   PEER_AS [bird 65001, gobgp 65002, frr 65003, exabgp 65004]   PEER_PORT [179] its listen port
#   SPEAKER_ADDR (required) SPEAKER_AS [65000] SPEAKER_PORT [179]   the speaker under test
#   PASSIVE [0]      1: the peer only waits for the speaker to connect
#   INSTANCE [NAME]  name of the peer's directory under RUNDIR (two BIRDs in one RUNDIR: bird-a, bird-b)
#   GOBGP_API [PEER_ADDR:50051]   gRPC address of a gobgp peer
#   FRR_ORIGINATE [0]  1: FRR announces 203.0.113.128/25 and 2001:db8:7::/48 (route-map ORIGINATE)
#   EXABGP_PROCESS []  executable run by ExaBGP as an API process (text encoder) for this neighbor
#   EXABGP_ENV []      extra VAR=value words for ExaBGP's environment
# Peer control: birdc -s "$(peer_dir bird R)/bird.ctl" ..., vtysh --vty_socket "$(peer_dir frr R)" ...,
# gobgp -u ADDR -p PORT ... (GOBGP_API), ExaBGP's log is PEERDIR/exabgp.log.
#
#   speaker_gobgp_start RUNDIR ADDR:AS[:PORT]...   gobgpd in the role of the speaker under test on
#       SPEAKER_ADDR:SPEAKER_PORT AS SPEAKER_AS, gRPC SPEAKER_API [SPEAKER_ADDR:50051]; one neighbor per
#       ADDR:AS[:PORT], all six families. SPEAKER_GR=1: graceful restart on (GoBGP sends End-of-RIB only then).
#   sgobgp ARGS...   the gobgp CLI pointed at that gobgpd
INTEROP=${INTEROP:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
FAMILIES="ipv4-unicast ipv6-unicast ipv4-flowspec ipv6-flowspec l3vpn-ipv4-flowspec l3vpn-ipv6-flowspec"

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; fails after SECONDS.
wait_for() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do "${@:2}" && return 0; sleep 0.1; done
  return 1
}

# stop_pid FILE: TERM the pid in FILE, KILL after 5 s; reaps it if it is our child.
stop_pid() {
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1"); rm -f "$1"
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  wait_for 5 eval "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

# ports_free ADDR:PORT...: fail (with a message) if something already listens on one of them.
ports_free() {
  local a busy=0
  for a in "$@"; do
    if ss -Hltn "src $a" 2>/dev/null | grep . >/dev/null; then echo "busy: $a (a daemon left running?)" >&2; busy=1; fi
  done
  return $busy
}

# peer_dir NAME RUNDIR: the peer's directory (config, pid, log, control socket).
peer_dir() { echo "$2/${INSTANCE:-$1}"; }

peer_alive() {
  local f; f=$(peer_dir "$1" "$2")/pid
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# render_config TEMPLATE OUT: fill in the @NAME@ placeholders (environment as for peer_start).
render_config() {
  local bp=off pb=false fp="!" fo="! " pdef="" puse=""
  if [ "${PASSIVE:-0}" = 1 ]; then bp=on pb=true fp="neighbor $SPEAKER_ADDR passive"; fi
  if [ "${FRR_ORIGINATE:-0}" = 1 ]; then fo=""; fi
  if [ -n "${EXABGP_PROCESS:-}" ]; then
    pdef="process api { run $EXABGP_PROCESS; encoder text; }"
    puse="api { processes [ api ]; }"
  fi
  sed -e "s|@PEER_ADDR@|$PEER_ADDR|g" -e "s|@PEER_AS@|$PEER_AS|g" -e "s|@PEER_PORT@|$PEER_PORT|g" \
      -e "s|@SPEAKER_ADDR@|$SPEAKER_ADDR|g" -e "s|@SPEAKER_AS@|$SPEAKER_AS|g" \
      -e "s|@SPEAKER_PORT@|$SPEAKER_PORT|g" -e "s|@PEERDIR@|$PEERDIR|g" \
      -e "s|@BIRD_PASSIVE@|$bp|g" -e "s|@PASSIVE_BOOL@|$pb|g" -e "s|@FRR_PASSIVE@|$fp|g" \
      -e "s|@FRR_ORIGINATE@|$fo|g" -e "s|@EXABGP_PROCESS_DEF@|$pdef|g" -e "s|@EXABGP_PROCESS_USE@|$puse|g" \
      "$1" > "$2"
}

# peer_start NAME RUNDIR: see the top of this file. Prints one line; returns non-zero on failure.
peer_start() {
  local name=$1 rundir=$2 conf
  : "${PEER_ADDR:?PEER_ADDR is required}" "${SPEAKER_ADDR:?SPEAKER_ADDR is required}"
  local SPEAKER_AS=${SPEAKER_AS:-65000} SPEAKER_PORT=${SPEAKER_PORT:-179} PEER_PORT=${PEER_PORT:-179}
  local PEER_AS=${PEER_AS:-}
  case $name in
    bird) conf=bird.conf; : "${PEER_AS:=65001}" ;;
    gobgp) conf=gobgpd.toml; : "${PEER_AS:=65002}" ;;
    frr) conf=frr.conf; : "${PEER_AS:=65003}" ;;
    exabgp) conf=exabgp.conf; : "${PEER_AS:=65004}" ;;
    *) echo "peer_start: unknown peer '$name' (bird|gobgp|frr|exabgp)" >&2; return 2 ;;
  esac
  mkdir -p "$rundir"; rundir=$(cd "$rundir" && pwd)
  local PEERDIR; PEERDIR=$(peer_dir "$name" "$rundir")
  if peer_alive "$name" "$rundir"; then echo "$name already running (pid $(cat "$PEERDIR/pid"))" >&2; return 1; fi
  ports_free "$PEER_ADDR:$PEER_PORT" || return 1
  mkdir -p "$PEERDIR"
  render_config "$INTEROP/configs/$conf" "$PEERDIR/$conf"
  case $name in
  bird)
    bird -c "$PEERDIR/bird.conf" -s "$PEERDIR/bird.ctl" -P "$PEERDIR/pid" || return 1   # daemonizes itself
    wait_for 5 test -S "$PEERDIR/bird.ctl" ;;
  gobgp)
    local api=${GOBGP_API:-$PEER_ADDR:50051}
    setsid gobgpd -f "$PEERDIR/gobgpd.toml" -t toml --api-hosts "$api" --pprof-disable \
      </dev/null >"$PEERDIR/gobgpd.log" 2>&1 &
    echo $! > "$PEERDIR/pid"
    wait_for 5 gobgp -u "${api%:*}" -p "${api##*:}" global >/dev/null 2>&1 ;;
  frr)
    # -Z no zebra, -S no user switch, -l listen address (implies -n), -P 0 no vty TCP port.
    /usr/lib/frr/bgpd -d -f "$PEERDIR/frr.conf" -i "$PEERDIR/pid" --vty_socket "$PEERDIR" \
      -l "$PEER_ADDR" -p "$PEER_PORT" -Z -S -P 0 --log "file:$PEERDIR/frr.log" || return 1
    wait_for 5 test -S "$PEERDIR/bgpd.vty" ;;
  exabgp)
    # exabgp.daemon.user=root: as root ExaBGP otherwise drops to another user and cannot log/run.
    # shellcheck disable=SC2086
    env exabgp_daemon_user=root exabgp_daemon_daemonize=false exabgp_tcp_bind="$PEER_ADDR" \
      exabgp_tcp_port="$PEER_PORT" exabgp_api_cli=false exabgp_api_ack=false \
      exabgp_log_destination=stdout ${EXABGP_ENV:-} \
      setsid exabgp "$PEERDIR/exabgp.conf" </dev/null >"$PEERDIR/exabgp.log" 2>&1 &
    echo $! > "$PEERDIR/pid" ;;
  esac
  sleep 0.3
  if ! peer_alive "$name" "$rundir"; then echo "$name failed to start; see $PEERDIR" >&2; return 1; fi
  echo "$name started: $PEER_ADDR:$PEER_PORT AS $PEER_AS -> speaker $SPEAKER_ADDR:$SPEAKER_PORT AS $SPEAKER_AS, pid $(cat "$PEERDIR/pid"), dir $PEERDIR"
}

peer_stop() {
  local d; d=$(peer_dir "$1" "$2")
  stop_pid "$d/pid"
}

# speaker_gobgp_start RUNDIR ADDR:AS[:PORT]...: see the top of this file. Files: RUNDIR/speaker.{toml,log,pid}.
speaker_gobgp_start() {
  local r=$1 p f addr as port; shift
  : "${SPEAKER_ADDR:?SPEAKER_ADDR is required}"
  local sas=${SPEAKER_AS:-65000} sport=${SPEAKER_PORT:-179} api=${SPEAKER_API:-$SPEAKER_ADDR:50051}
  ports_free "$SPEAKER_ADDR:$sport" "$api" || return 1
  printf '[global.config]\n  as = %s\n  router-id = "%s"\n  port = %s\n  local-address-list = ["%s"]\n' \
    "$sas" "$SPEAKER_ADDR" "$sport" "$SPEAKER_ADDR" > "$r/speaker.toml"
  for p in "$@"; do
    IFS=: read -r addr as port <<<"$p"
    printf '[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "%s"\n    peer-as = %s\n' "$addr" "$as"
    printf '  [neighbors.transport.config]\n    local-address = "%s"\n    remote-port = %s\n' "$SPEAKER_ADDR" "${port:-179}"
    printf '  [neighbors.timers.config]\n    connect-retry = 3\n    idle-hold-time-after-reset = 1\n'
    [ "${SPEAKER_GR:-0}" = 1 ] && printf '  [neighbors.graceful-restart.config]\n    enabled = true\n    restart-time = 30\n'
    for f in $FAMILIES; do
      printf '  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "%s"\n' "$f"
      [ "${SPEAKER_GR:-0}" = 1 ] && printf '    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n'
    done
  done >> "$r/speaker.toml"
  setsid gobgpd -f "$r/speaker.toml" -t toml --api-hosts "$api" --pprof-disable </dev/null >"$r/speaker.log" 2>&1 &
  echo $! > "$r/speaker.pid"
  SPEAKER_API=$api wait_for 5 sgobgp global >/dev/null 2>&1
}

# sgobgp ARGS...: the gobgp CLI pointed at the speaker-role gobgpd (SPEAKER_API or SPEAKER_ADDR:50051).
sgobgp() {
  local api=${SPEAKER_API:-${SPEAKER_ADDR:?}:50051}
  gobgp -u "${api%:*}" -p "${api##*:}" "$@"
}

# bird_count RUNDIR TABLE: number of routes in a BIRD table (0 when BIRD does not answer).
bird_count() {
  birdc -s "$(peer_dir bird "$1")/bird.ctl" show route table "$2" count 2>/dev/null |
    awk '/routes for/ {print $1; found=1} END {if (!found) print 0}'
}
