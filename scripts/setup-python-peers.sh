#!/usr/bin/env bash
# The Python clients the front-door tests drive AgentOS with: the `openai`
# package (against --api-addr) and the `mcp` package (against /mcp and
# `agentctl mcp serve`), in a venv under .deps/python-peers.
#
#   scripts/setup-python-peers.sh [setup|check|python]
#
#   setup   (default) create the venv and install the pinned packages from PyPI
#   check   exit 0 if the venv is in place, else say what is missing (no network)
#   python  print the venv's python path (for the tests: AGENTOS_PYTHON)
#
# Cached: a stamp records the pinned versions, so a second run does nothing.
# AGENTOS_DEPS overrides the place of .deps. Needs python3 with venv and pip
# (Debian: python3-venv); it says so when they are missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$(realpath -m "${AGENTOS_DEPS:-$ROOT/.deps}")"
VENV="$DEPS/python-peers"
PACKAGES=(openai==3.51.0 mcp==2.3.0)
STAMP="$VENV/.agentos-peers-stamp"
WANT="${PACKAGES[*]}"

say() { printf 'python-peers: %s\n' "$*"; }
die() { printf 'python-peers: error: %s\n' "$*" >&2; exit 1; }

ready() { [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; }

case "${1:-setup}" in
check)
    ready || die "no venv with ${WANT} at $VENV (run scripts/setup-python-peers.sh or make python-peers)"
    exit 0 ;;
python)
    echo "$VENV/bin/python"
    exit 0 ;;
setup) ;;
*) die "unknown step '$1' (use setup, check or python)" ;;
esac

ready && exit 0

command -v python3 >/dev/null || die "python3 not found: apt-get install python3 python3-venv"
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    say "python3 has no venv/ensurepip: installing python3-venv (Debian)"
    { apt-get update -qq && apt-get install -y -qq python3-venv; } >/dev/null 2>&1 \
        || die "python3 cannot create a venv: apt-get install python3-venv"
fi

mkdir -p "$DEPS"
# Built in place (a venv records its own path); the stamp is written last, so
# an interrupted run leaves no stamp and the next one starts over.
rm -rf "$VENV"
say "creating a venv with ${WANT}"
python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
log="$VENV/pip.log"
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q "${PACKAGES[@]}" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "pip could not install ${WANT} from PyPI: check that PyPI is reachable (pip config, proxy) and run this again"
fi
"$VENV/bin/python" -c 'import openai, mcp' || die "the venv installed ${WANT} but cannot import them"
echo "$WANT" > "$STAMP"
say "ready: $VENV/bin/python"
