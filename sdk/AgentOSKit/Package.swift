// swift-tools-version: 6.0
import PackageDescription

// AgentOSKit: write AgentOS agents and tools in Swift. A plugin's own package
// depends on this one (by path or URL) and builds a `.dynamic` library product
// that the kernel loads like any C plugin; see README.md.
let package = Package(
    name: "AgentOSKit",
    products: [
        .library(name: "AgentOSKit", targets: ["AgentOSKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        // agentos.h, the plugin's descriptor storage and its load-time entry, libffi for tool functions.
        .target(name: "CAgentOSKit", linkerSettings: [.linkedLibrary("ffi")]),
        .target(
            name: "AgentOSKit",
            dependencies: ["CAgentOSKit", .product(name: "Logging", package: "swift-log")]
        ),
    ]
)
