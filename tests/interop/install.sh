#!/usr/bin/env bash
# tests/interop/install.sh: idempotent install of the daemons and tools prefixd's interop tests use
# (Debian 12, as root): GoBGP, BIRD 2, FRR, ExaBGP, tshark (+ text2pcap from wireshark-common) and
# iproute2 (ss). python3 comes with exabgp. The packages' own services are never used: the tests run
# every daemon by hand (tests/interop/lib.sh) with their own config, pid and log files, so package
# scripts must not start them; where systemd runs, their units are disabled and stopped.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS="gobgpd bird2 frr exabgp tshark iproute2"

[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
missing=$(for p in $PKGS; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
done)
if [ -n "$missing" ]; then
  # A policy-rc.d that denies everything keeps postinst scripts from starting bird/frr/exabgp.
  created=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created=1
  fi
  trap 'if [ -n "$created" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
  # Non-root packet capture is not needed (the tests run as root): no setuid dumpcap question.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
fi
if [ -d /run/systemd/system ]; then
  for s in bird frr exabgp gobgpd; do systemctl disable --now "$s" >/dev/null 2>&1 || true; done
fi
gobgpd --version
bird --version 2>&1 | sed -n 1p
/usr/lib/frr/bgpd --version | sed -n 1p
exabgp --version 2>&1 | grep -m1 ExaBGP || true
tshark --version 2>/dev/null | grep -m1 TShark
