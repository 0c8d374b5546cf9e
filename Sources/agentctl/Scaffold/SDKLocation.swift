import Foundation

/// Where the plugin SDK is, for `agentctl new`: the C header (and agentos.hpp),
/// AgentOSKit, and the agentctl and agentosd a generated project tests with.
/// Found relative to this agentctl: an installed tree (`make install`:
/// PREFIX/bin, PREFIX/include, PREFIX/share/agentos/AgentOSKit) or a checkout
/// (sdk/include and sdk/AgentOSKit above .build/).
struct SDKLocation {
    var include: String
    var agentOSKit: String
    var binaries: String

    /// The SDK beside the running agentctl; throws a message saying what is missing.
    static func find(executable: String = Self.executablePath()) throws -> SDKLocation {
        let fm = FileManager.default
        let bin = URL(fileURLWithPath: executable).deletingLastPathComponent()
        let prefix = bin.deletingLastPathComponent()
        let installed = SDKLocation(
            include: prefix.appendingPathComponent("include").path,
            agentOSKit: prefix.appendingPathComponent("share/agentos/AgentOSKit").path, binaries: bin.path)
        if installed.isComplete { return installed }
        var folder = bin
        while folder.path != "/" {
            let sdk = folder.appendingPathComponent("sdk")
            let checkout = SDKLocation(
                include: sdk.appendingPathComponent("include").path, agentOSKit: sdk.appendingPathComponent("AgentOSKit").path,
                binaries: bin.path)
            if fm.fileExists(atPath: sdk.path), checkout.isComplete { return checkout }
            folder.deleteLastPathComponent()
        }
        throw ScaffoldError(
            "no plugin SDK beside \(executable): expected \(installed.include)/agentos.h (make install) or a checkout's sdk/include above it")
    }

    /// The header, agentos.hpp and AgentOSKit's manifest are all there.
    var isComplete: Bool {
        ["\(include)/agentos.h", "\(include)/agentos.hpp", "\(agentOSKit)/Package.swift"].allSatisfy {
            FileManager.default.fileExists(atPath: $0)
        }
    }

    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// Why `agentctl new` could not make a project, as one line.
struct ScaffoldError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
