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
/// and gives it back; at most `maxIdle` are kept. Each connection carries its
/// own prepared `KeyValueStatements`, which `readStatements` calls without
/// going through GRDB's queue (the caller holds the connection alone).
/// Thread-safe: `idle` is behind its mutex.
final class StateReaders: Sendable {
    /// One read-only connection and the kv statements prepared on it.
    private struct Reader: Sendable {
        let queue: DatabaseQueue
        let statements: KeyValueStatements
    }

    private let path: String
    private let idle = Mutex<[Reader]>([])
    static let maxIdle = 8

    init(path: String) {
        self.path = path
    }

    /// Runs `body` on a read-only connection of its own. Throws SQLite's errors.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try withReader { reader in try reader.queue.unsafeRead(body) }
    }

    /// Runs `body` with the prepared statements of a read-only connection of its own. Throws SQLite's errors.
    func readStatements<T>(_ body: (KeyValueStatements) throws -> T) throws -> T {
        try withReader { reader in try body(reader.statements) }
    }

    private func withReader<T>(_ body: (Reader) throws -> T) throws -> T {
        let reader = try idle.withLock { $0.popLast() } ?? open()
        defer {
            idle.withLock { idle in
                if idle.count < Self.maxIdle { idle.append(reader) }
            }
        }
        return try body(reader)
    }

    private func open() throws -> Reader {
        var configuration = Configuration()
        configuration.label = "state.reader"
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        // The connection lives as long as `queue`, which the reader keeps beside its statements.
        guard let connection = queue.inDatabase({ $0.sqliteConnection }) else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the reader's connection is closed")
        }
        return Reader(queue: queue, statements: KeyValueStatements(connection: connection))
    }
}
