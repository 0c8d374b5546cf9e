import Foundation

/// Finds `agentos-host`, the executable that runs process-mode instances.
public enum HostExecutable {
    /// `$AGENTOS_HOST_PATH` if set; else `agentos-host` beside the running
    /// executable (development builds put it in `.build/<config>/`, `make
    /// install` and the Dockerfile beside `agentosd` in `bin/`), or beside
    /// the test bundle's build folder. Nil when none is executable.
    public static func find() -> String? {
        if let path = ProcessInfo.processInfo.environment["AGENTOS_HOST_PATH"], !path.isEmpty {
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        var candidates: [String] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
            // A test runner lives in <build>/AgentOSPackageTests.xctest: the host is in <build>.
            for _ in 0..<3 {
                candidates.append(directory.appendingPathComponent("agentos-host").path)
                directory = directory.deletingLastPathComponent()
            }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Why `find()` found nothing, and what to do, for an error message.
    public static var missing: String {
        if let path = ProcessInfo.processInfo.environment["AGENTOS_HOST_PATH"], !path.isEmpty {
            return "AGENTOS_HOST_PATH=\(path) is not an executable file (point it at agentos-host, or unset it to use the one beside agentosd)"
        }
        return "agentos-host was not found beside agentosd (build it with `swift build --product agentos-host`, or set AGENTOS_HOST_PATH)"
    }
}
