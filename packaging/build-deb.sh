#!/usr/bin/env bash
# packaging/build-deb.sh: build the Debian package of prefixd with cargo-deb (installed here when
# missing): release binaries, man pages and shell completions generated from the CLIs, the
# systemd unit, the example config. Prints the package's path and contents.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
cargo build --release -p prefixd --bin prefixd --bin prefixdctl
OUT=target/packaging
rm -rf "$OUT" && mkdir -p "$OUT/completions"
target/release/prefixd man | gzip -9n > "$OUT/prefixd.1.gz"
target/release/prefixdctl man | gzip -9n > "$OUT/prefixdctl.1.gz"
target/release/prefixdctl completions bash > "$OUT/completions/prefixdctl"
target/release/prefixdctl completions zsh > "$OUT/completions/_prefixdctl"
target/release/prefixdctl completions fish > "$OUT/completions/prefixdctl.fish"
target/release/prefixd completions bash > "$OUT/completions/prefixd"
target/release/prefixd completions zsh > "$OUT/completions/_prefixd"
target/release/prefixd completions fish > "$OUT/completions/prefixd.fish"
# Stripped binaries; their debug symbols go to a separate prefixd-dbgsym .ddeb, as Debian does.
DEB=$(cargo deb -p prefixd --no-build --dbgsym 2>&1 | grep "\.deb$" | tail -1)
echo "$DEB"
dpkg-deb -c "$DEB"
