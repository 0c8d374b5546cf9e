// swift-tools-version: 6.0
import PackageDescription

// The Swift examples, built with AgentOSKit into plugins the kernel loads like
// the C ones: `make examples` runs `swift build` here once for all of them
// (scratch path build/swift-examples) and copies each libNAME.so to
// build/plugins/NAME.so. The C examples beside them are built by the Makefile.
let package = Package(
    name: "AgentOSExamples",
    products: [
        .library(name: "triage", type: .dynamic, targets: ["Triage"]),
        .library(name: "units", type: .dynamic, targets: ["Units"]),
    ],
    dependencies: [
        .package(path: "../AgentOSKit"),
    ],
    targets: [
        .target(name: "Triage", dependencies: ["AgentOSKit"], path: "triage"),
        .target(name: "Units", dependencies: ["AgentOSKit"], path: "units"),
    ]
)
