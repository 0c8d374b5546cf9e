import Foundation
import Logging
import Synchronization

/// Durable kernel state: keeps a record of every instance loaded through the
/// control API (`InstanceRecord`) in a store (the state database), updates it
/// when the instance's grants or quotas change, forgets it when the operator
/// unloads the instance, and at start loads the recorded instances again.
///
/// Only instances whose origin is `.agentctl` are recorded: `Plugins/` drives
/// its own instances, and an agent that loads others (`plugin_load`) loads them
/// again itself. A record is restored only from a file whose SHA-256 is the
/// recorded one; a missing or changed file is reported (log, `ps -a` as
/// failed, `agentctl status`) and its record kept, so the instance comes back
/// once the file does (or `agentctl load` replaces the record, `agentctl
/// unload NAME` forgets it).
///
/// Without a store every call does nothing and `report` says why. A store
/// that fails a write is logged; the instance stays loaded. Thread-safe.
public final class InstanceRecordService: Sendable {
    private let store: InstanceRecordStore?
    private let logger: Logger
    private let state: Mutex<RestoreReport>

    /// A service over `store`; nil means nothing is kept, for `reason`.
    public init(store: InstanceRecordStore?, reason: String = "the kernel was started without a state database", logger: Logger) {
        self.store = store
        self.logger = logger
        state = Mutex(RestoreReport(phase: store == nil ? .unavailable(reason) : .restoring))
    }

    /// What the start restored; `.restoring` until `restore` or `forgetAll` ran.
    public var report: RestoreReport { state.withLock { $0 } }

    /// Records `instance`'s current settings when it came through the control API.
    func record(_ instance: Instance) {
        guard let store, instance.origin == .agentctl, let record = InstanceRecord(instance) else { return }
        do {
            try store.save(record)
        } catch {
            instance.log.append(.error, .kernel, "not kept for the next start: \(error)")
            logger.error("cannot record instance", metadata: ["agent": "\(instance.name)", "error": "\(error)"])
        }
    }

    /// Forgets the record named `name` (the operator unloaded it); returns whether there was one.
    @discardableResult
    public func forget(_ name: String) -> Bool {
        guard let store else { return false }
        do {
            return try store.remove(name: name)
        } catch {
            logger.error("cannot forget recorded instance", metadata: ["agent": "\(name)", "error": "\(error)"])
            return false
        }
    }

    /// `--no-restore`: forgets every record, so the kernel starts empty and
    /// what it records from now on is what it will restore.
    public func forgetAll() {
        guard let store else { return }
        do {
            let names = try store.all().records.map(\.name)
            for name in names { _ = try store.remove(name: name) }
            if !names.isEmpty { logger.notice("--no-restore: forgot \(names.count) recorded instances: \(names.joined(separator: ", "))") }
            state.withLock { $0.phase = .skipped }
        } catch {
            logger.error("--no-restore: cannot forget the recorded instances: \(error)")
            state.withLock { $0.phase = .unavailable(error.description) }
        }
    }

    /// Loads every recorded instance again through `lifecycle`, oldest first,
    /// each with its recorded settings and only from a file with the recorded
    /// hash. Failures are logged, listed in `ps -a` as failed and in `report`;
    /// their records stay.
    public func restore(through lifecycle: PluginLifecycle) async {
        guard let store else { return }
        let records: [InstanceRecord]
        var failures: [RestoreReport.Failure]
        do {
            let found = try store.all()
            records = found.records
            failures = found.unreadable.map { .init(name: $0.name, plugin: "", reason: "its record cannot be read: \($0.problem)") }
        } catch {
            logger.error("restoring nothing: \(error)")
            state.withLock { $0.phase = .unavailable(error.description) }
            return
        }
        var restored: [String] = []
        for record in records {
            do throws(KernelError) {
                try await lifecycle.restore(record)
                restored.append(record.name)
            } catch {
                failures.append(.init(name: record.name, plugin: record.plugin, reason: error.message))
            }
        }
        for failure in failures {
            logger.error("not restored", metadata: ["agent": "\(failure.name)", "plugin": "\(failure.plugin)", "reason": "\(failure.reason)"])
            lifecycle.recordLoadFailure(
                path: failure.plugin, name: failure.name, error: KernelError(.conflict, "not restored: \(failure.reason)"), origin: .agentctl)
        }
        if !records.isEmpty || !failures.isEmpty {
            logger.info("restored \(restored.count) of \(restored.count + failures.count) recorded instances")
        }
        state.withLock { $0 = RestoreReport(phase: .done, restored: restored, notRestored: failures) }
    }
}
