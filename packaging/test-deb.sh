#!/usr/bin/env bash
# packaging/test-deb.sh: install the package that build-deb.sh made on this (throw-away) Debian
# machine, run the installed daemon as its user the way the systemd unit would, and purge it
# again. Needs root. Refuses to run where prefixd is installed already or a prefixd user exists,
# so it never touches a real installation. Traffic stays on 127.0.88.1 (API) and the example
# router is replaced by a passive peer on 127.0.88.2: nothing is sent anywhere.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
DEB=${1:-$(ls "$TOP"/target/debian/prefixd_*.deb | tail -1)}
[ "$(id -u)" = 0 ] || { echo "test-deb: needs root" >&2; exit 2; }
if dpkg -s prefixd >/dev/null 2>&1 || getent passwd prefixd >/dev/null; then
    echo "test-deb: prefixd is installed or its user exists here; not touching it" >&2
    exit 2
fi
WORK=$(mktemp -d)
PID=
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null || true
    dpkg --purge prefixd >/dev/null 2>&1 || true
    rm -rf /var/lib/prefixd "$WORK"
    getent passwd prefixd >/dev/null && deluser --system --quiet prefixd 2>/dev/null || true
    getent group prefixd >/dev/null && delgroup --system --quiet prefixd || true
}
trap cleanup EXIT
fail() { echo "test-deb: FAIL: $*" >&2; [ -f "$WORK/log" ] && cat "$WORK/log" >&2; exit 1; }

dpkg -i "$DEB" >/dev/null
getent passwd prefixd >/dev/null || fail "no prefixd user"
[ "$(stat -c '%U:%G %a' /etc/prefixd/prefixd.toml)" = "root:prefixd 640" ] || fail "config owner or mode"
for f in /usr/bin/prefixd /usr/bin/prefixdctl /usr/lib/systemd/system/prefixd.service \
    /usr/share/man/man1/prefixd.1.gz /usr/share/man/man1/prefixdctl.1.gz \
    /usr/share/bash-completion/completions/prefixdctl /usr/share/doc/prefixd/grafana-dashboard.json; do
    [ -f "$f" ] || fail "missing $f"
done
setpriv --reuid=prefixd --regid=prefixd --init-groups prefixd check-config /etc/prefixd/prefixd.toml >/dev/null \
    || fail "the example config does not check as the prefixd user"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /usr/lib/systemd/system/prefixd.service || fail "systemd-analyze verify"
fi

# What the unit sets up: StateDirectory=prefixd (0700, owned by the user), User=prefixd.
install -d -o prefixd -g prefixd -m 0700 /var/lib/prefixd
sed -e 's/^address = "192.0.2.1" /address = "127.0.88.2"/' -e 's/^passive = false/passive = true /' \
    -e 's/^listen = "127.0.0.1:8080"/listen = "127.0.88.1:8080"/' /etc/prefixd/prefixd.toml > "$WORK/prefixd.toml"
grep -q '^address = "127.0.88.2"' "$WORK/prefixd.toml" || fail "could not move the example peer to loopback"
chgrp prefixd "$WORK/prefixd.toml" && chmod 0640 "$WORK/prefixd.toml" && chmod 0755 "$WORK"
env PREFIXD_TOKEN_DETECTOR=detector-0123456789abcdef PREFIXD_TOKEN_PROMETHEUS=viewer-0123456789abcdef \
    PREFIXD_TOKEN_NOC=noc-0123456789abcdef PREFIXD_TOKEN_ADMIN=admin-0123456789abcdef \
    setpriv --reuid=prefixd --regid=prefixd --init-groups /usr/bin/prefixd run --config "$WORK/prefixd.toml" \
    >"$WORK/log" 2>&1 &
PID=$!
export PREFIXD_API=http://127.0.88.1:8080 PREFIXD_API_TOKEN=noc-0123456789abcdef
for _ in $(seq 50); do prefixdctl status >/dev/null 2>&1 && break; sleep 0.1; done
prefixdctl status | grep -q "dry-run" || fail "prefixdctl status"
curl -sf -XPOST "$PREFIXD_API/v1/events" -H "Authorization: Bearer detector-0123456789abcdef" \
    -H 'content-type: application/json' \
    -d '{"timestamp":"2026-12-04T11:00:00Z","source":"fastnetmon","victim_ip":"203.0.113.10","vector":"udp_flood","top_dst_ports":[53],"event_id":"deb1"}' \
    | grep -q '"status":"accepted"' || fail "event not accepted"
prefixdctl mitigations list | grep -q "203.0.113.10/32" || fail "no mitigation"
[ "$(stat -c '%U' /var/lib/prefixd/prefixd.redb)" = prefixd ] || fail "store not owned by prefixd"
[ -s /var/lib/prefixd/audit.jsonl ] || fail "no audit log"
kill -TERM "$PID"
for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && fail "did not stop on SIGTERM"
PID=
grep -q "stopped" "$WORK/log" || fail "no clean stop"
dpkg --purge prefixd >/dev/null
[ ! -e /usr/bin/prefixd ] && [ ! -e /etc/prefixd ] || fail "purge left files"
echo "test-deb: ok ($DEB: installed, ran as prefixd, stopped, purged)"
