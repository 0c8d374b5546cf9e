#!/usr/bin/env bash
# Install what the cluster link needs: Debian's NATS server (the tests and the
# benchmarks start one) and the official C client (the kernel links it).
#
#   scripts/setup-nats.sh [install|check]
#
#   install  (default) apt-get install nats-server libnats-dev when either is
#            missing; does nothing when both are present
#   check    exit 0 if both are present, else say what is missing
#
# Idempotent and quick to repeat; needs root (or sudo) only when something is
# missing.
set -euo pipefail

say() { printf 'nats: %s\n' "$*"; }
die() { printf 'nats: error: %s\n' "$*" >&2; exit 1; }

missing() {
    local m=()
    command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || [ -x /usr/bin/nats-server ] || m+=(nats-server)
    pkg-config --exists libnats 2>/dev/null || m+=(libnats-dev)
    printf '%s\n' "${m[@]}"
}

mode="${1:-install}"
case "$mode" in
check)
    m="$(missing)"
    [ -z "$m" ] || die "missing: $(echo $m) (run: make nats, or apt-get install $(echo $m))"
    exit 0 ;;
install) ;;
*) die "unknown mode '$mode' (install|check)" ;;
esac

m="$(missing)"
[ -n "$m" ] || exit 0
command -v apt-get >/dev/null 2>&1 \
    || die "missing: $(echo $m), and no apt-get here: install the NATS server (nats-server) and the NATS C client (libnats, with its pkg-config file) yourself"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing: $(echo $m); installing needs root: sudo apt-get install $(echo $m)"
    SUDO="sudo"
fi
say "installing $(echo $m) (apt-get)"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists: update only when the install fails on them.
if ! $SUDO apt-get -q install -y --no-install-recommends $m >/tmp/agentos-nats-apt.log 2>&1; then
    $SUDO apt-get -q update >>/tmp/agentos-nats-apt.log 2>&1 \
        || die "apt-get update failed (see /tmp/agentos-nats-apt.log): no network or no Debian mirror?"
    $SUDO apt-get -q install -y --no-install-recommends $m >>/tmp/agentos-nats-apt.log 2>&1 \
        || die "apt-get install $(echo $m) failed (see /tmp/agentos-nats-apt.log)"
fi
m="$(missing)"
[ -z "$m" ] || die "still missing after apt-get: $(echo $m)"
say "installed nats-server $(nats-server --version 2>/dev/null | awk '{print $2}'), libnats $(pkg-config --modversion libnats)"
