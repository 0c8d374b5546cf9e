// swift-tools-version: 6.0
import PackageDescription

// Swift plugins the integration tests load (`make fixtures` builds them to
// build/fixtures): an agent that drives every AgentOSKit wrapper on command
// and fails on command (throws, traps); echo.c and calculator's multiply in
// Swift, for the benchmarks, with a tool of every argument type; a counter
// that keeps its count across a hot reload.
let package = Package(
    name: "AgentOSSwiftFixtures",
    products: [
        .library(name: "swiftprobe", type: .dynamic, targets: ["SwiftProbe"]),
        .library(name: "swiftecho", type: .dynamic, targets: ["SwiftEcho"]),
        .library(name: "swiftcalc", type: .dynamic, targets: ["SwiftCalc"]),
        .library(name: "swiftkeeper", type: .dynamic, targets: ["SwiftKeeper"]),
    ],
    dependencies: [
        .package(path: "../../../sdk/AgentOSKit"),
    ],
    targets: [
        .target(name: "SwiftProbe", dependencies: ["AgentOSKit"], path: "probe"),
        .target(name: "SwiftEcho", dependencies: ["AgentOSKit"], path: "echo"),
        .target(name: "SwiftCalc", dependencies: ["AgentOSKit"], path: "calc"),
        .target(name: "SwiftKeeper", dependencies: ["AgentOSKit"], path: "keeper"),
    ]
)
