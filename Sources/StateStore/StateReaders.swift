import Foundation
import GRDB
import Synchronization

/// Read-only connections to the state database for the stores' hot reads
/// (`kv_get`, `kv_list`): one SELECT each, needing no transaction.
///
/// GRDB's pool readers check the schema (`PRAGMA schema_version`, a second
/// read transaction) and take a reader through its pool before every read;
/// these connections do neither. The schema is fixed once the migrations
/// have run, before the first read, and SQLite re-prepares a statement by
/// itself if it ever changes. WAL: readers never wait for the writer.
/// A calling thread takes an idle connection (or opens one), uses it alone
/// and gives it back; at most `maxIdle` are kept. Thread-safe: `idle` is
/// behind its mutex.
final class StateReaders: Sendable {
    private let path: String
    private let idle = Mutex<[DatabaseQueue]>([])
    static let maxIdle = 8

    init(path: String) {
        self.path = path
    }

    /// Runs `body` on a read-only connection of its own. Throws SQLite's errors.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        let connection = try idle.withLock { $0.popLast() } ?? open()
        defer {
            idle.withLock { idle in
                if idle.count < Self.maxIdle { idle.append(connection) }
            }
        }
        return try connection.unsafeRead(body)
    }

    private func open() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.label = "state.reader"
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}
