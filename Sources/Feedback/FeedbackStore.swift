import Foundation
import GRDB

/// Users' ratings of agents' answers, in one SQLite file (the kernel's is
/// `$AGENTOS_HOME/feedback.sqlite`).
///
/// One `feedback` table, one row per rated request: rating a request again
/// replaces its row. Opening checks that the file is a sound database this
/// process can write, so a bad file is reported once, at startup, as a
/// `FeedbackStoreError`; later failures are reported the same way.
///
/// Thread-safe. Every access runs on GRDB's serial queue for the file; the
/// async methods wait for it without holding a thread of the caller's pool.
public final class FeedbackStore: Sendable {
    /// The database file.
    public let path: String
    private let database: DatabaseQueue

    /// Opens the database at `path`, creating it and its table if absent.
    /// Throws `FeedbackStoreError`: `.readOnly`, `.corrupt` or `.unusable`.
    public init(path: String) throws {
        self.path = path
        if FileManager.default.fileExists(atPath: path), Foundation.access(path, W_OK) != 0 {
            throw FeedbackStoreError.readOnly(path: path, detail: String(cString: strerror(errno)))
        }
        var configuration = Configuration()
        configuration.label = "feedback"
        configuration.busyMode = .timeout(5)
        do {
            // GRDB reads the schema on open: a file that is no database fails here.
            database = try DatabaseQueue(path: path, configuration: configuration)
            let check = try database.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
            guard check == ["ok"] else {
                throw FeedbackStoreError.corrupt(path: path, detail: check.prefix(3).joined(separator: "; "))
            }
            try Self.migrator.migrate(database)
            // Stamps the schema version, which also proves now, not at the first
            // rating, that the file can be written (an existing file needs no migration).
            try database.write { db in try db.execute(sql: "PRAGMA user_version = \(Self.schemaVersion)") }
        } catch {
            throw Self.problem(error, path: path)
        }
    }

    static let schemaVersion = 1

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: feedback") { db in
            try db.execute(sql: """
                CREATE TABLE feedback (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    request_id INTEGER NOT NULL,
                    kernel_run INTEGER NOT NULL,
                    agent TEXT NOT NULL,
                    question TEXT NOT NULL,
                    answer TEXT NOT NULL,
                    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
                    comment TEXT,
                    created_at DATETIME NOT NULL,
                    UNIQUE (kernel_run, request_id)
                );
                CREATE INDEX feedback_agent_created_at ON feedback(agent, created_at);
                """)
        }
        return migrator
    }

    /// Records `record`'s rating, replacing the earlier rating of the same answer (request and kernel run) if any.
    @discardableResult
    public func record(_ record: FeedbackRecord) async throws -> RecordOutcome {
        try await withDatabase { database in
            try await database.write { db in
                let id = Int64(bitPattern: record.requestID)
                let existed = try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM feedback WHERE kernel_run = ? AND request_id = ?", arguments: [record.kernelRun, id]) ?? false
                try db.execute(
                    sql: """
                        INSERT INTO feedback (request_id, kernel_run, agent, question, answer, rating, comment, created_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (kernel_run, request_id) DO UPDATE SET
                            agent = excluded.agent, question = excluded.question, answer = excluded.answer,
                            rating = excluded.rating, comment = excluded.comment, created_at = excluded.created_at
                        """,
                    arguments: [
                        id, record.kernelRun, record.agent, record.question, record.answer, record.rating.rawValue, record.comment,
                        record.createdAt,
                    ])
                return existed ? .replaced : .added
            }
        }
    }

    /// The ratings per agent, sorted by agent: only `agent`'s when given, only
    /// those given at or after `since` when given.
    public func stats(agent: String? = nil, since: Date? = nil) async throws -> [AgentSatisfaction] {
        var conditions: [String] = []
        var arguments = StatementArguments()
        if let agent {
            conditions.append("agent = ?")
            arguments += [agent]
        }
        if let since {
            conditions.append("created_at >= ?")
            arguments += [since]
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = """
            SELECT agent, COUNT(*) AS count, SUM(rating = 'up') AS up, SUM(rating = 'down') AS down
            FROM feedback \(filter) GROUP BY agent ORDER BY agent
            """
        let frozen = arguments
        return try await withDatabase { database in
            try await database.read { db in
                try Row.fetchAll(db, sql: sql, arguments: frozen).map { row in
                    AgentSatisfaction(agent: row["agent"], count: row["count"], up: row["up"], down: row["down"])
                }
            }
        }
    }

    /// Hands every rated answer (only `agent`'s when given) to `body`, in
    /// pages of at most `pageSize`, oldest first rating first: memory stays
    /// bounded however many there are.
    public func export(
        agent: String? = nil, pageSize: Int = 500, _ body: ([FeedbackRecord]) async throws -> Void
    ) async throws {
        var after: Int64 = 0
        while true {
            let cursor = after
            let page: [(Int64, FeedbackRecord)] = try await withDatabase { database in
                try await database.read { db in
                    let agentFilter = agent == nil ? "" : "AND agent = ?"
                    var arguments: StatementArguments = [cursor]
                    if let agent { arguments += [agent] }
                    arguments += [pageSize]
                    return try Row.fetchAll(
                        db,
                        sql: """
                            SELECT id, request_id, kernel_run, agent, question, answer, rating, comment, created_at
                            FROM feedback WHERE id > ? \(agentFilter) ORDER BY id LIMIT ?
                            """,
                        arguments: arguments
                    ).map { row -> (Int64, FeedbackRecord) in (row["id"], try Self.decode(row)) }
                }
            }
            if !page.isEmpty { try await body(page.map(\.1)) }
            guard page.count == pageSize, let last = page.last else { return }
            after = last.0
        }
    }

    /// Every rated answer (only `agent`'s when given), oldest first rating first.
    public func all(agent: String? = nil) async throws -> [FeedbackRecord] {
        var records: [FeedbackRecord] = []
        try await export(agent: agent) { records += $0 }
        return records
    }

    private static func decode(_ row: Row) throws -> FeedbackRecord {
        let rating: String = row["rating"]
        guard let parsed = Rating(rawValue: rating) else {
            throw FeedbackStoreError.corrupt(path: "", detail: "a row has rating \(rating)")
        }
        return FeedbackRecord(
            requestID: UInt64(bitPattern: row["request_id"]), kernelRun: row["kernel_run"], agent: row["agent"], question: row["question"],
            answer: row["answer"], rating: parsed, comment: row["comment"], createdAt: row["created_at"])
    }

    /// Runs `body`, turning its failures into `FeedbackStoreError`s that name this file.
    private func withDatabase<T>(_ body: (DatabaseQueue) async throws -> T) async throws -> T {
        do {
            return try await body(database)
        } catch let error as FeedbackStoreError where error.path.isEmpty {
            if case .corrupt(_, let detail) = error { throw FeedbackStoreError.corrupt(path: path, detail: detail) }
            throw error
        } catch {
            throw Self.problem(error, path: path)
        }
    }

    /// What an error from SQLite means for the operator.
    static func problem(_ error: Error, path: String) -> FeedbackStoreError {
        if let error = error as? FeedbackStoreError { return error }
        guard let error = error as? DatabaseError else { return .unusable(path: path, detail: "\(error)") }
        let detail = error.message ?? "SQLite error \(error.resultCode.rawValue)"
        switch error.resultCode {
        case .SQLITE_READONLY, .SQLITE_PERM:
            return .readOnly(path: path, detail: detail)
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return .corrupt(path: path, detail: detail)
        case .SQLITE_CANTOPEN:
            // A writable file in a read-only folder: SQLite cannot create its journal.
            let folder = (path as NSString).deletingLastPathComponent
            if FileManager.default.fileExists(atPath: folder), Foundation.access(folder, W_OK) != 0 {
                return .readOnly(path: path, detail: "its folder \(folder) is not writable")
            }
            return .unusable(path: path, detail: detail)
        default:
            return .unusable(path: path, detail: detail)
        }
    }
}
