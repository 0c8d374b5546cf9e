import Foundation
import GRDB
import KernelCore

/// `RunStore` on the state database's `runs` and `run_steps` tables (the
/// "v4: runs" migration).
///
/// A run's row holds who asked (agent, reply), its state, its request (JSON)
/// and, once it ends, its answer or error; its steps hang off it and go with
/// it (ON DELETE CASCADE). A step is a model turn (`text`, its tokens, `calls` the JSON
/// array of its tool calls) or a call's outcome (`calls` the one call, `text`
/// its result JSON or error message, `error_code` set for an error). Each
/// method is one transaction; a final state also deletes the oldest finished
/// runs past the retention count. Thread-safe.
public final class SQLiteRunStore: RunStore {
    private let database: StateDatabase

    public init(database: StateDatabase) {
        self.database = database
    }

    public func begin(id: UInt64, agent: String, reply: RunReply, request: RunRequest, now: Int64) throws(RunStoreError) {
        try access { pool in
            let text = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
            try pool.write { db in
                try db.cachedStatement(sql: """
                    INSERT INTO runs (id, agent, reply, session, state, request, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [id, agent, reply.rawValue, request.session, RunState.running.rawValue, text, now, now])
            }
        }
    }

    public func append(run id: UInt64, step: RunStep, now: Int64) throws(RunStoreError) {
        try access { pool in
            let kind: String
            let text: String
            let calls: [ToolCallRequest]
            var errorCode: String?
            var duration: UInt64 = 0
            var usage = RunStepUsage()
            switch step {
            case .model(let said, let called, let used):
                (kind, text, calls, usage) = ("model", said, called, used)
            case .tool(let call, let outcome, let nanos):
                (kind, calls, duration) = ("tool", [call], nanos)
                switch outcome {
                case .success(let json): text = json
                case .failure(let error): (text, errorCode) = (error.message, error.code.rawValue)
                }
            }
            let callsText = String(decoding: try JSONEncoder().encode(calls), as: UTF8.self)
            try pool.write { db in
                let seq = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT coalesce(max(seq), 0) + 1 FROM run_steps WHERE run = ?"), arguments: [id]) ?? 1
                try db.cachedStatement(sql: """
                    INSERT INTO run_steps (run, seq, kind, text, calls, error_code, duration_ns, at,
                                           prompt_tokens, cached_prompt_tokens, completion_tokens)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [
                        id, seq, kind, text, callsText, errorCode, Int64(clamping: duration), now,
                        usage.promptTokens, usage.cachedPromptTokens, usage.completionTokens,
                    ])
                try db.cachedStatement(sql: "UPDATE runs SET updated_at = ? WHERE id = ?").execute(arguments: [now, id])
            }
        }
    }

    public func update(
        run id: UInt64, state: RunState, answer: String?, error: KernelError?, retention: RunRetention, now: Int64
    ) throws(RunStoreError) {
        try access { pool in
            try pool.write { db in
                try db.cachedStatement(sql: """
                    UPDATE runs SET state = ?, answer = ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?
                    """).execute(arguments: [state.rawValue, answer, error?.code.rawValue, error?.message, now, id])
                guard state.isFinal else { return }
                try db.cachedStatement(sql: """
                    DELETE FROM runs WHERE id IN (
                        SELECT id FROM runs WHERE state NOT IN (?, ?) ORDER BY updated_at DESC, id DESC LIMIT -1 OFFSET ?)
                    """).execute(arguments: [RunState.running.rawValue, RunState.awaitingApproval.rawValue, retention.maxFinishedRuns])
            }
        }
    }

    public func runs(agent: String?) throws(RunStoreError) -> [RunInfo] {
        try access { pool in
            try pool.read { db in
                let sql = """
                    SELECT \(Self.infoColumns) FROM runs r \(agent == nil ? "" : "WHERE r.agent = ?") ORDER BY r.id DESC
                    """
                return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(agent.map { [$0] } ?? [])).map(Self.info)
            }
        }
    }

    public func run(id: UInt64) throws(RunStoreError) -> RunRecord? {
        try access { pool in
            try pool.read { db in try Self.records(db, where: "r.id = ?", [id]).first }
        }
    }

    public func unfinished() throws(RunStoreError) -> [RunRecord] {
        try access { pool in
            try pool.read { db in
                try Self.records(db, where: "r.state IN (?, ?)", [RunState.running.rawValue, RunState.awaitingApproval.rawValue])
            }
        }
    }

    // MARK: Helpers

    private static let infoColumns = """
        r.id, r.agent, r.reply, r.session, r.state, r.error_code, r.error_message, r.created_at, r.updated_at,
        (SELECT count(*) FROM run_steps s WHERE s.run = r.id), r.request, r.answer
        """

    private static func records(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> [RunRecord] {
        try Row.fetchAll(db, sql: "SELECT \(infoColumns) FROM runs r WHERE \(condition) ORDER BY r.id", arguments: arguments).map { row in
            let id: UInt64 = row[0]
            let request = try JSONDecoder().decode(RunRequest.self, from: Data((row[10] as String).utf8))
            return RunRecord(info: info(row), request: request, steps: try steps(db, run: id), answer: row[11])
        }
    }

    private static func steps(_ db: Database, run id: UInt64) throws -> [RunStep] {
        try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT kind, text, calls, error_code, duration_ns, prompt_tokens, cached_prompt_tokens, completion_tokens
                FROM run_steps WHERE run = ? ORDER BY seq
                """),
            arguments: [id]
        ).map { row in
            let calls = try JSONDecoder().decode([ToolCallRequest].self, from: Data((row[2] as String).utf8))
            let text: String = row[1] ?? ""
            guard row[0] as String == "tool", let call = calls.first else {
                return .model(text: text, calls: calls, usage: RunStepUsage(promptTokens: row[5], cachedPromptTokens: row[6], completionTokens: row[7]))
            }
            let code: String? = row[3]
            let outcome: Result<String, KernelError> =
                code.map { .failure(KernelError(KernelError.Code(rawValue: $0) ?? .internal, text)) } ?? .success(text)
            return .tool(call: call, outcome: outcome, durationNanos: UInt64(clamping: row[4] as Int64))
        }
    }

    private static func info(_ row: Row) -> RunInfo {
        let code: String? = row[5]
        let error = code.map { KernelError(KernelError.Code(rawValue: $0) ?? .internal, row[6] ?? "") }
        return RunInfo(
            id: row[0], agent: row[1], reply: RunReply(rawValue: row[2]) ?? .control, session: row[3],
            state: RunState(rawValue: row[4]) ?? .interrupted, steps: row[9], error: error, createdAt: row[7], updatedAt: row[8])
    }

    /// Runs `body` on the pool; SQLite's failures become the operator's line.
    private func access<T>(_ body: (DatabasePool) throws -> T) throws(RunStoreError) -> T {
        do {
            return try body(database.pool)
        } catch {
            throw RunStoreError(StateDatabase.problem(error, path: database.path).description)
        }
    }
}
