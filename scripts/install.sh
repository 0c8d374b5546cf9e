#!/usr/bin/env bash
# Install AgentOS under a prefix, so that it runs from there and keeps running
# when the whole tree is moved elsewhere: nothing in it refers to this checkout.
#
#   scripts/install.sh PREFIX BINDIR
#
#   PREFIX/bin/agentosd, agentctl, agentos-host   from BINDIR (a SwiftPM build directory)
#   PREFIX/lib/agentos/             llama.cpp's shared libraries, from .deps/
#   PREFIX/include/agentos.h        the plugin ABI, and agentos.hpp (C++)
#   PREFIX/share/agentos/AgentOSKit/ the Swift SDK (agentctl new finds it here)
#   PREFIX/share/agentos/examples/  the example plugins' sources and policy.yaml
#   PREFIX/share/agentos/plugins/   the example plugins, built (build/plugins)
#
# The binaries' rpath becomes $ORIGIN/../lib/agentos (plus the Swift runtime's
# directory, which belongs to the toolchain, not to this checkout), the
# libraries' $ORIGIN; patchelf rewrites them (Debian's patchelf, installed with
# apt-get when running as root, else named). The Makefile's `install` target
# builds the release binaries first and calls this.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENGINE_LIBS=(libllama.so.0 libggml.so.0 libggml-base.so.0 libggml-cpu.so.0)
BINARIES=(agentosd agentctl agentos-host)

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

[[ $# -eq 2 ]] || die "usage: scripts/install.sh PREFIX BINDIR (or: make install PREFIX=DIR)"
prefix="$1"
from="$2"
[[ -n "$prefix" ]] || die "PREFIX is empty: say where to install, e.g. make install PREFIX=/usr/local"
mkdir -p "$prefix" || die "cannot create $prefix (run as a user who may write there, e.g. sudo make install)"
prefix="$(cd "$prefix" && pwd -P)"
from="$(cd "$from" 2>/dev/null && pwd -P)" || die "no build directory $2 (run make release first)"
llama_lib="$(realpath -m "${AGENTOS_DEPS:-$ROOT/.deps}")/llama.cpp/install/lib"

need_patchelf() {
    command -v patchelf >/dev/null 2>&1 && return
    if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        die "patchelf is missing (it rewrites the installed binaries' rpath): install it with 'sudo apt-get install -y patchelf' and run this again"
    fi
    say "installing patchelf (apt-get; it rewrites the installed binaries' rpath)…"
    local log
    log="$(mktemp)"
    { DEBIAN_FRONTEND=noninteractive apt-get update &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends patchelf; } >"$log" 2>&1 ||
        { tail -n 20 "$log" >&2; die "apt-get could not install patchelf (log: $log): install it by hand and run this again"; }
    rm -f "$log"
    command -v patchelf >/dev/null 2>&1 || die "patchelf is still missing after apt-get install patchelf"
}

# The rpath of an installed binary: $ORIGIN/../lib/agentos, then the entries
# of its build rpath that lie outside this checkout and its .deps ($ORIGIN,
# the build directory, is dropped: nothing of it is installed).
installed_rpath() { # binary
    local entry out='$ORIGIN/../lib/agentos' deps
    deps="$(dirname "$(dirname "$llama_lib")")"
    IFS=: read -r -a entries <<<"$(patchelf --print-rpath "$1")"
    for entry in "${entries[@]}"; do
        case "$entry" in
            ''|'$ORIGIN'|'$ORIGIN/'*|"$ROOT"|"$ROOT"/*|"$deps"|"$deps"/*) ;;
            *) out+=":$entry" ;;
        esac
    done
    printf '%s\n' "$out"
}

need_patchelf
for binary in "${BINARIES[@]}"; do
    [[ -x "$from/$binary" ]] || die "no $from/$binary: build it first (make release)"
done
for lib in "${ENGINE_LIBS[@]}"; do
    [[ -e "$llama_lib/$lib" ]] || die "no $llama_lib/$lib: build the engine first (make engine)"
done
[[ -d "$ROOT/build/plugins" ]] || die "no built examples in $ROOT/build/plugins: run make examples first"

install -d "$prefix/bin" "$prefix/lib/agentos" "$prefix/include" \
    "$prefix/share/agentos/examples" "$prefix/share/agentos/plugins"

for lib in "${ENGINE_LIBS[@]}"; do
    install -m 0755 "$llama_lib/$lib" "$prefix/lib/agentos/$lib"   # the file, not the symlink
    patchelf --set-rpath '$ORIGIN' "$prefix/lib/agentos/$lib"
done
for binary in "${BINARIES[@]}"; do
    install -m 0755 "$from/$binary" "$prefix/bin/$binary.tmp"
    patchelf --set-rpath "$(installed_rpath "$prefix/bin/$binary.tmp")" "$prefix/bin/$binary.tmp"
    mv -f "$prefix/bin/$binary.tmp" "$prefix/bin/$binary"
done
install -m 0644 "$ROOT/sdk/include/agentos.h" "$ROOT/sdk/include/agentos.hpp" "$prefix/include/"
cp -R "$ROOT/sdk/examples/." "$prefix/share/agentos/examples/"
# AgentOSKit's copy of the header is a symlink into sdk/include: install the file (-L).
rm -rf "$prefix/share/agentos/AgentOSKit"
mkdir -p "$prefix/share/agentos/AgentOSKit"
cp -RL "$ROOT/sdk/AgentOSKit/Package.swift" "$ROOT/sdk/AgentOSKit/Sources" "$prefix/share/agentos/AgentOSKit/"
install -m 0755 "$ROOT"/build/plugins/*.so "$prefix/share/agentos/plugins/"

# What the loader would do: every library found, none of it in this checkout.
for binary in "${BINARIES[@]}"; do
    if ldd "$prefix/bin/$binary" | grep -q 'not found'; then
        die "$prefix/bin/$binary does not find its libraries: $(ldd "$prefix/bin/$binary" | grep 'not found' | tr -s ' \t' ' ')"
    fi
    if ldd "$prefix/bin/$binary" | grep -qF -e "$ROOT/" -e "$llama_lib/"; then
        die "$prefix/bin/$binary still loads libraries from the checkout: $(ldd "$prefix/bin/$binary" | grep -F -e "$ROOT/" -e "$llama_lib/" | tr -s ' \t' ' ')"
    fi
done
say "installed agentosd and agentctl in $prefix/bin, llama.cpp in $prefix/lib/agentos, agentos.h and agentos.hpp in $prefix/include, AgentOSKit and the examples in $prefix/share/agentos"
