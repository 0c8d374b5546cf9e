/// The files of a new plugin project (`agentctl new`): the plugin's source in
/// its language, a Makefile (`make` builds NAME.so, `make test` loads it into a
/// real kernel), test.sh, and for an agent an eval suite. Every project's plugin
/// does the same thing, so one test script fits all: an agent greets whoever
/// sends it a request ("hello, agentctl (greeting 1)"), a tool plugin has one
/// tool, NAME.twice(x) = 2x.
struct ProjectTemplate {
    enum Language: String, CaseIterable { case c, swift, cpp }
    enum Kind: String, CaseIterable { case agent, tool }

    var name: String
    var language: Language
    var kind: Kind
    var sdk: SDKLocation

    /// A Swift module and type name from the plugin name: "my-agent" → MyAgent.
    var typeName: String {
        name.split { !$0.isLetter && !$0.isNumber }.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// Relative path → contents; `test.sh` is made executable by the caller.
    var files: [String: String] {
        var files = ["test.sh": testScript, "Makefile": makefile, ".gitignore": gitignore]
        switch language {
        case .c: files["\(name).c"] = kind == .agent ? CSources.agent(name) : CSources.tool(name)
        case .cpp: files["\(name).cpp"] = kind == .agent ? CSources.cppAgent(name) : CSources.cppTool(name)
        case .swift:
            files["Package.swift"] = SwiftSources.package(name, typeName, kit: sdk.agentOSKit)
            files["Sources/\(typeName)/\(typeName).swift"] = kind == .agent ? SwiftSources.agent(name, typeName) : SwiftSources.tool(name, typeName)
        }
        if kind == .agent { files["evals/\(name).yaml"] = evalSuite }
        return files
    }

    private var makefile: String {
        let build: String
        switch language {
        case .c:
            build = """
                CC          ?= cc
                CFLAGS      ?= -std=c11 -Wall -Wextra -pedantic -Werror -O2
                AOS_INCLUDE ?= \(sdk.include)

                \(name).so: \(name).c $(AOS_INCLUDE)/agentos.h
                \t$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -shared -I$(AOS_INCLUDE) -o $@ $<
                """
        case .cpp:
            build = """
                CXX         ?= c++
                CXXFLAGS    ?= -std=c++17 -Wall -Wextra -pedantic -Werror -O2
                AOS_INCLUDE ?= \(sdk.include)

                \(name).so: \(name).cpp $(AOS_INCLUDE)/agentos.h $(AOS_INCLUDE)/agentos.hpp
                \t$(CXX) $(CXXFLAGS) -fPIC -fvisibility=hidden -shared -I$(AOS_INCLUDE) -o $@ $<
                """
        case .swift:
            build = """
                SWIFT ?= swift

                # SwiftPM names the product lib\(name).so; the kernel wants any name ending in .so.
                \(name).so: Package.swift $(wildcard Sources/*/*.swift)
                \t$(SWIFT) build -c release
                \tcp .build/release/lib\(name).so $@
                """
        }
        return """
            # Builds \(name).so, an AgentOS \(kind.rawValue) in \(language == .cpp ? "C++" : language == .c ? "C" : "Swift").
            #
            #   make          build \(name).so
            #   make test     load it into a real kernel (agentosd on a scratch home) and check it
            #   make clean

            .PHONY: all test clean
            .DELETE_ON_ERROR:

            all: \(name).so

            \(build)

            test: \(name).so
            \t./test.sh

            clean:
            \trm -rf \(name).so\(language == .swift ? " .build" : "")

            """
    }

    private var testScript: String {
        let check = kind == .agent
            ? """
            reply="$("$AGENTCTL" send \(name) hi --wait)"
            [[ "$reply" == "hello, agentctl (greeting 1)" ]] || fail "\(name) replied '$reply'"
            "$AGENTCTL" eval evals/\(name).yaml --threshold 1 || fail "the eval suite did not pass"
            """
            : """
            result="$("$AGENTCTL" call \(name).twice '{"x": 21}')"
            [[ "$result" == "42" ]] || fail "\(name).twice(21) returned '$result'"
            """
        return """
            #!/usr/bin/env bash
            # Loads \(name).so into a real kernel, on a scratch home with no engine, and checks it.
            # AGENTCTL and AGENTOSD may name other builds of the two.
            set -euo pipefail
            cd "$(dirname "${BASH_SOURCE[0]}")"
            AGENTCTL="${AGENTCTL:-\(sdk.binaries)/agentctl}"
            AGENTOSD="${AGENTOSD:-$(dirname "$AGENTCTL")/agentosd}"
            fail() { echo "test: $*" >&2; cat "$AGENTOS_HOME/agentosd.log" >&2; exit 1; }

            export AGENTOS_HOME="$(mktemp -d)"
            "$AGENTOSD" --no-plugins-dir --engine none --no-metrics >"$AGENTOS_HOME/agentosd.log" 2>&1 &
            kernel=$!
            trap 'kill $kernel 2>/dev/null; wait $kernel 2>/dev/null; rm -rf "$AGENTOS_HOME"' EXIT
            for _ in $(seq 100); do "$AGENTCTL" status >/dev/null 2>&1 && break; sleep 0.1; done

            "$AGENTCTL" load "$PWD/\(name).so"
            \(check)
            echo "test: \(name) passed"

            """
    }

    private var evalSuite: String {
        """
        # agentctl eval evals/\(name).yaml (with \(name) loaded): add a case per behaviour.
        description: \(name) answers requests
        target: \(name)
        defaults:
          timeout_ms: 5000
        cases:
          - description: greets the sender
            input: hi
            assert:
              - type: contains
                value: "hello, agentctl (greeting"

        """
    }

    private var gitignore: String {
        language == .swift ? "*.so\n.build/\nPackage.resolved\n" : "*.so\n"
    }
}
