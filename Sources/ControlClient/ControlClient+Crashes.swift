import ControlAPI
import Foundation

/// Crash records: `agentctl crashes ls|clear`.
extension ControlClient {
    /// The crash records the kernel's start found, and the files it could not read.
    public func crashes() async throws -> CrashList {
        try await call(.GET, "/v1/crashes")
    }

    /// Removes the crash records listed as `name`, or every record and unreadable file when nil.
    public func clearCrashes(name: String?) async throws -> ClearedCrashes {
        try await call(.DELETE, "/v1/crashes" + (name.map { "/" + pathSegment($0) } ?? ""))
    }
}
