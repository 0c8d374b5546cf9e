import Foundation

/// `GET /v1/crashes` and part of `GET /v1/status`: the thread-mode crashes the
/// kernel did not survive, as its start found them in `$AGENTOS_HOME/crash/`
/// (`agentctl crashes`). Those naming a plugin's content keep it from loading
/// by itself until its file changes, `agentctl load` or `agentctl crashes clear`.
public struct CrashList: Codable, Sendable, Equatable {
    public var crashes: [CrashInfo]
    /// Files in the crash folder that are not crash records (ignored), and why.
    public var unreadable: [UnreadableCrash]

    public init(crashes: [CrashInfo], unreadable: [UnreadableCrash] = []) {
        self.crashes = crashes
        self.unreadable = unreadable
    }
}

/// One crash record.
public struct CrashInfo: Codable, Sendable, Equatable {
    /// The record's file in the crash folder.
    public var file: String
    /// The instance it is listed as (its thread's, else the crashing tool's, else "kernel").
    public var name: String
    public var time: Date
    /// "SIGSEGV", "SIGABRT", ...
    public var signal: String
    /// The instance whose thread faulted; absent on a kernel thread.
    public var instance: String?
    public var thread: String?
    /// The tool call running on the thread ("INSTANCE.tool").
    public var tool: String?
    /// Where: "crasher_fault (crasher.so+0x1139)".
    public var location: String
    /// The plugin file whose code faulted (or is the innermost plugin frame), and its content's SHA-256.
    public var plugin: String?
    public var sha256: String?
    /// Whether it keeps that content from loading by itself.
    public var blocksPlugin: Bool
    /// "crashed: SIGSEGV in crasher_fault (crasher.so+0x1139) at 2026-12-05T18:40:00Z".
    public var reason: String

    public init(
        file: String, name: String, time: Date, signal: String, instance: String?, thread: String?, tool: String?,
        location: String, plugin: String?, sha256: String?, blocksPlugin: Bool, reason: String
    ) {
        self.file = file
        self.name = name
        self.time = time
        self.signal = signal
        self.instance = instance
        self.thread = thread
        self.tool = tool
        self.location = location
        self.plugin = plugin
        self.sha256 = sha256
        self.blocksPlugin = blocksPlugin
        self.reason = reason
    }
}

/// A file in the crash folder that is not a crash record.
public struct UnreadableCrash: Codable, Sendable, Equatable {
    public var file: String
    public var problem: String

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }
}

/// `DELETE /v1/crashes/NAME` and `DELETE /v1/crashes`: the files removed.
public struct ClearedCrashes: Codable, Sendable, Equatable {
    public var files: [String]

    public init(files: [String]) { self.files = files }
}
