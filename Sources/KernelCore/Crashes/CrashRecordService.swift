import Foundation
import Logging
import Synchronization

/// Thread-mode crashes the kernel did not survive, as the next start sees
/// them: reads the crash records (`CrashRecord`) a start finds, reports each
/// (the log, `ps -a` as a failed entry, `agentctl status`, `agentctl
/// crashes`), and keeps a plugin that crashed the kernel from loading by
/// itself again.
///
/// A record that names a plugin's content (its SHA-256) blocks the automatic
/// loads of that content: the restore of recorded instances, the `Plugins/`
/// folder and `plugin_load` are refused with the crash as the reason
/// (`PluginLifecycle.load`). It goes away when the user says so: `agentctl
/// load` of the file (an explicit load clears the records of that content),
/// `agentctl crashes clear`; and when the file changes, since a load of the
/// same path with other content clears the records of that path. A record
/// naming no plugin (a fault in the kernel's own code) blocks nothing and is
/// reported until cleared. The store keeps only the newest records
/// (`CrashRecordFolder.keep`).
///
/// Without a store (in-process tests) nothing is read and nothing blocks.
/// Thread-safe: `state` is only touched inside its mutex; files are removed outside it.
public final class CrashRecordService: Sendable {
    /// What a start found, and what is still in force.
    public struct Report: Sendable, Equatable {
        /// Records, oldest first.
        public var records: [CrashRecord] = []
        /// Files in the crash folder that are not records, and why.
        public var unreadable: [UnreadableCrashRecord] = []
    }

    private let store: CrashRecordStore?
    private let table: InstanceTable
    private let logger: Logger
    private let state = Mutex(Report())

    init(store: CrashRecordStore?, table: InstanceTable, logger: Logger) {
        self.store = store
        self.table = table
        self.logger = logger
    }

    /// The records in force and the unreadable files.
    public var report: Report { state.withLock { $0 } }

    /// At start, before anything loads: reads the crash folder, logs each
    /// record (and each file that is not one) and lists each record in `ps -a`
    /// as a failed entry named for its instance.
    public func readAtStart() {
        guard let store else { return }
        let found = store.all()
        state.withLock { $0 = Report(records: found.records, unreadable: found.unreadable) }
        for record in found.records {
            let advice = record.blocksPlugin
                ? "; \(record.plugin ?? "its plugin") is not loaded again by itself until its file changes (`agentctl load` it, or `agentctl crashes clear \(record.name)`)"
                : ""
            logger.error("the kernel crashed before this start: \(record.reason)\(advice)", metadata: Self.metadata(record))
            table.recordFailure(InstanceSummary(
                name: record.name, id: 0, state: .failed, plugin: record.plugin ?? "", pluginName: record.name, version: "",
                description: "", kind: "agent", capabilities: [], origin: .agentctl, loadedAt: record.time, endedAt: record.time,
                messagesIn: 0, messagesOut: 0, mailboxDepth: 0, mailboxLimit: 0, sendersWaiting: 0,
                lastError: record.reason + advice))
        }
        for file in found.unreadable {
            logger.error("ignoring a file in the crash folder that is not a crash record (`agentctl crashes clear --all` removes it)",
                         metadata: ["file": "\(file.file)", "problem": "\(file.problem)"])
        }
    }

    /// The newest record that keeps content `sha256` from loading by itself, if any.
    public func blocking(sha256: String) -> CrashRecord? {
        state.withLock { $0.records.last { $0.pluginSHA256 == sha256 } }
    }

    /// An instance was loaded from `path` with content `sha256`: the crash is
    /// resolved for the records of that path with other content (the file
    /// changed) and, when the user asked for this load (`explicitly`), for the
    /// records of this content. They are removed and logged.
    func loaded(path: String, sha256: String, explicitly: Bool) {
        let resolved = state.withLock { report -> [CrashRecord] in
            let (gone, kept) = report.records.partitioned { record in
                guard let recorded = record.pluginSHA256 else { return false }
                return (record.plugin == path && recorded != sha256) || (explicitly && recorded == sha256)
            }
            report.records = kept
            return gone
        }
        for record in resolved {
            let why = record.pluginSHA256 == sha256 ? "loaded again with `agentctl load`" : "its file changed"
            logger.notice("crash record cleared: \(why)", metadata: Self.metadata(record))
            remove(record.file)
        }
    }

    /// `agentctl crashes clear`: removes the records listed as `name` (every
    /// record and unreadable file when nil). Returns the files removed; none
    /// when no record has that name.
    @discardableResult
    public func clear(name: String?) -> [String] {
        let files = state.withLock { report -> [String] in
            let (gone, kept) = report.records.partitioned { name == nil || $0.name == name }
            report.records = kept
            var files = gone.map(\.file)
            if name == nil {
                files += report.unreadable.map(\.file)
                report.unreadable = []
            }
            return files
        }
        for file in files { remove(file) }
        if !files.isEmpty { logger.notice("crash records cleared", metadata: ["files": "\(files.joined(separator: ", "))"]) }
        return files
    }

    private func remove(_ file: String) {
        do {
            try store?.remove(file: file)
        } catch {
            logger.error("cannot remove a crash record", metadata: ["file": "\(file)", "error": "\(error)"])
        }
    }

    private static func metadata(_ record: CrashRecord) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["record": "\(record.file)", "signal": "\(record.signal)", "at": "\(record.location)"]
        if let instance = record.instance { metadata["agent"] = "\(instance)" }
        if let tool = record.tool { metadata["tool"] = "\(tool)" }
        if let plugin = record.plugin { metadata["plugin"] = "\(plugin)" }
        return metadata
    }
}

/// Where crash records are kept: `$AGENTOS_HOME/crash/` (KernelPOSIX's
/// `CrashRecordFolder`). Thread-safe.
public protocol CrashRecordStore: Sendable {
    /// Every record, oldest first, and every file that is not one (with why): never throws, never drops one silently.
    func all() -> (records: [CrashRecord], unreadable: [UnreadableCrashRecord])
    /// Removes the record or unreadable file named `file`.
    func remove(file: String) throws(CrashRecordError)
}

/// A file in the crash folder that is not a crash record, and why.
public struct UnreadableCrashRecord: Sendable, Equatable {
    public var file: String
    public var problem: String

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }
}

extension Array {
    /// The elements that satisfy `belongs`, and the others, each in order.
    fileprivate func partitioned(_ belongs: (Element) -> Bool) -> (matching: [Element], rest: [Element]) {
        var matching: [Element] = []
        var rest: [Element] = []
        for element in self {
            if belongs(element) { matching.append(element) } else { rest.append(element) }
        }
        return (matching, rest)
    }
}
