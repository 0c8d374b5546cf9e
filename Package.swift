// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "AgentOS",
    products: [
        .executable(name: "agentosd", targets: ["agentosd"]),
        .executable(name: "agentctl", targets: ["agentctl"]),
        .executable(name: "agentos-host", targets: ["agentos-host"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
    ],
    targets: [
        // The C ABI (sdk/include/agentos.h) exposed to Swift.
        .systemLibrary(name: "CAgentOS"),

        // glibc's <malloc.h> (mallopt), which the Glibc module leaves out.
        .systemLibrary(name: "CMalloc"),

        // libffi (Debian: libffi-dev).
        .systemLibrary(name: "CFFI", pkgConfig: "libffi", providers: [.apt(["libffi-dev"])]),
        // Tool signatures from descriptors, JSON arguments checked against them, calls through libffi.
        .target(name: "Tools", dependencies: ["CAgentOS", "CFFI", "StrictJSON"]),
        // A strict JSON reader with exact 64-bit integers, for tool arguments and the control API.
        .target(name: "StrictJSON"),

        // Process table, mailboxes, lifecycle, syscalls: logic and small interfaces; no sockets,
        // no files, no /proc, no thread creation (KernelPOSIX implements those interfaces).
        .target(
            name: "KernelCore",
            dependencies: [
                "CAgentOS", "Tools", "StrictJSON",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            // The message path touches thread-confined and lock-guarded class properties per
            // message; their dynamic exclusivity checks cost more than the rest of a send.
            // Debug builds, which the tests run, keep them.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // llama.cpp's C API (from `make engine`, through llama.pc). No rpath is baked in: the
        // Makefile links the libraries beside the development binaries (SwiftPM gives them
        // `$ORIGIN`), and `make install` gives the installed ones `$ORIGIN/../lib/agentos`.
        .systemLibrary(name: "CLlama", pkgConfig: "llama"),
        // Inference engines: embedded llama.cpp and OpenAI-compatible HTTP.
        .target(
            name: "Engines",
            dependencies: [
                "KernelCore", "CLlama", "StrictJSON", "Tools",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The OS-specific parts: ELF checks, dlopen, the Plugins/ watcher, instance threads, the audit file.
        .target(
            name: "KernelPOSIX",
            dependencies: [
                "KernelCore", "CAgentOS", "Tools", "CProcessHost", "CCrashRecord",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // $AGENTOS_HOME/state.sqlite through GRDB: the migrations, and the stores KernelCore's interfaces name.
        // GRDBSQLite: SQLite's C API for kv's prepared single-key statements (KeyValueStatements).
        .target(
            name: "StateStore",
            dependencies: ["KernelCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift")]),
        // The NATS C client (Debian: libnats-dev, `make nats`), for the cluster link.
        .systemLibrary(name: "CNATS", pkgConfig: "libnats", providers: [.apt(["libnats-dev"])]),
        // The cluster link over NATS: ClusterService's transport (`agentosd --cluster`).
        .target(
            name: "ClusterNATS",
            dependencies: ["KernelCore", "CNATS", .product(name: "Logging", package: "swift-log")]
        ),
        // The crash record a thread-mode crash leaves in $AGENTOS_HOME/crash/: written by the
        // fatal-signal handler (FatalSignals), in C for its thread-locals and async-signal-safety.
        .target(name: "CCrashRecord"),
        // Process isolation: the kernel's side of a process-mode instance (spawn, channel,
        // syscall frames, crashes and restarts), in C beside the host it talks to.
        .target(name: "CProcessHost", cSettings: [.headerSearchPath("../../sdk/include")]),
        // The host executable that runs one process-mode instance's plugin.
        .executableTarget(
            name: "agentos-host",
            cSettings: [.headerSearchPath("../../sdk/include"), .headerSearchPath("../CProcessHost")],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // $AGENTOS_HOME/policy.yaml: grants and quotas per plugin.
        .target(name: "PolicyFile", dependencies: ["KernelCore", .product(name: "Yams", package: "Yams")]),
        // Users' ratings of agents' answers, in SQLite under $AGENTOS_HOME.
        .target(name: "Feedback", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // agentctl eval: suites of cases and assertions run against loaded agents, and their reports.
        .target(
            name: "Evaluation",
            dependencies: ["ControlAPI", "ControlClient", "StrictJSON", .product(name: "Yams", package: "Yams")]
        ),
        // The control API's wire types: requests, responses, error codes (Foundation and StrictJSON).
        .target(name: "ControlAPI", dependencies: ["StrictJSON"]),
        // The control API's client (agentctl, eval, the benchmarks and the tests): HTTP over the Unix socket.
        .target(
            name: "ControlClient",
            dependencies: [
                "ControlAPI", "StrictJSON",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The HTTP/JSON control API on the Unix socket.
        .target(
            name: "ControlServer",
            dependencies: [
                "KernelCore", "ControlAPI", "StrictJSON", "Feedback", "CAgentOS",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The kernel's tools as an MCP server (swift-sdk's Server), whatever serves them:
        // /mcp on --api-addr (APIServer) or stdio (`agentctl mcp serve`).
        .target(name: "MCPTools", dependencies: [.product(name: "MCP", package: "swift-sdk")]),
        // External MCP servers as kernel tools (`agentctl mcp add`): supervised processes,
        // swift-sdk's Client over their stdio, their registrations under $AGENTOS_HOME.
        .target(
            name: "MCPClients",
            dependencies: [
                "KernelCore", "ControlAPI", "StrictJSON",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The OpenAI-compatible API on --api-addr and its API keys (issue 19).
        .target(
            name: "APIServer",
            dependencies: [
                "KernelCore", "ControlAPI", "ControlServer", "StrictJSON", "MCPTools",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "agentosd",
            dependencies: [
                "KernelCore", "KernelPOSIX", "ControlAPI", "ControlServer", "APIServer", "MCPClients", "Engines", "Feedback", "PolicyFile", "StateStore",
                "CAgentOS", "CMalloc", "ClusterNATS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "agentctl",
            dependencies: [
                "ControlAPI", "ControlClient", "StrictJSON", "Evaluation", "MCPTools",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "agentos-bench",
            dependencies: [
                "ControlAPI", "ControlClient", "StrictJSON", "KernelCore", "KernelPOSIX", "CAgentOS", "StateStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/Sources/agentos-bench"
        ),
        // What the unit tests share: the simulated engine, in-process plugins, the test kernels,
        // waitUntil. Never Engines or CLlama: the kernel's unit tests build without llama.cpp.
        .target(
            name: "AgentOSTesting",
            dependencies: ["KernelCore", "KernelPOSIX", "CAgentOS", .product(name: "Logging", package: "swift-log")],
            path: "Tests/AgentOSTesting"
        ),
        .testTarget(name: "KernelCoreTests", dependencies: ["KernelCore", "KernelPOSIX", "AgentOSTesting", "StrictJSON"]),
        .testTarget(
            name: "KernelPOSIXTests",
            dependencies: [
                "KernelPOSIX", "KernelCore", "AgentOSTesting", "CAgentOS", "CCrashRecord",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "PolicyFileTests", dependencies: ["PolicyFile", "KernelCore"]),
        .testTarget(name: "StrictJSONTests", dependencies: ["StrictJSON"]),
        .testTarget(name: "ToolsTests", dependencies: ["Tools", "CAgentOS"]),
        .testTarget(name: "EnginesTests", dependencies: ["Engines", "KernelCore", "CLlama", "AgentOSTesting"]),
        .testTarget(
            name: "ControlServerTests",
            dependencies: [
                "ControlServer", "ControlAPI", "KernelCore", "AgentOSTesting", "StrictJSON",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "EvaluationTests",
            dependencies: ["Evaluation", "ControlAPI", "ControlClient", "StrictJSON", "AgentOSTesting"]
        ),
        .testTarget(name: "FeedbackTests", dependencies: ["Feedback"]),
        .testTarget(
            name: "StateStoreTests",
            dependencies: [
                "StateStore", "KernelCore", "KernelPOSIX", "AgentOSTesting", "CAgentOS",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["ControlAPI", "ControlClient", "StrictJSON", "agentosd", "agentctl"]
        ),
    ]
)

// `AGENTOS_ENGINE=none` (`make test-core`) leaves out the targets that link
// llama.cpp, so the kernel's unit tests build and run without `make engine`.
if Context.environment["AGENTOS_ENGINE"] == "none" {
    let needEngine: Set = ["CLlama", "Engines", "EnginesTests", "agentosd", "IntegrationTests"]
    package.targets.removeAll { needEngine.contains($0.name) }
    package.products.removeAll { needEngine.contains($0.name) }
}
