import Foundation
import GRDB
import KernelCore

/// `SessionStore` on the state database's `sessions`, `session_turns` and
/// `session_cuts` tables (the "v3: sessions" migration).
///
/// A session's row holds its policy, pinned summary, the last seq cut from
/// the prompt (`cut_through`), the next seq and how many turns retention
/// deleted; turns and cuts hang off it and go with it (ON DELETE CASCADE).
/// An append is one write transaction: session row, cut, turns, then
/// retention (this session's oldest cut turns past the count; every session
/// idle past the age). Reads are one read transaction. Thread-safe.
public final class SQLiteSessionStore: SessionStore {
    private let database: StateDatabase

    public init(database: StateDatabase) {
        self.database = database
    }

    public func history(agent: String, session: String) throws(SessionStoreError) -> SessionHistory? {
        try access { pool in
            try pool.read { db in
                guard let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT summary, cut_through FROM sessions WHERE agent = ? AND id = ?"),
                    arguments: [agent, session])
                else { return nil }
                let turns = try Self.turns(db, agent, session, after: row[1])
                return SessionHistory(summary: row[0], turns: turns)
            }
        }
    }

    public func append(
        agent: String, session: String, policy: SessionPolicy, cut: SessionCut?, turns: [NewSessionTurn],
        retention: SessionRetention, now: Int64
    ) throws(SessionStoreError) {
        try access { pool in
            try pool.write { db in
                try db.cachedStatement(sql: """
                    INSERT INTO sessions (agent, id, policy, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (agent, id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at
                    """).execute(arguments: [agent, session, policy.rawValue, now, now])
                if let cut {
                    try db.cachedStatement(sql: """
                        INSERT INTO session_cuts (agent, id, from_seq, through_seq, turns, kind, summary, reason, at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """).execute(arguments: [
                            agent, session, cut.fromSeq, cut.throughSeq, cut.turns, cut.kind.rawValue, cut.summary, cut.reason, cut.at,
                        ])
                    // A summarized cut pins its summary; a dropped one keeps the summary there was.
                    try db.cachedStatement(sql: """
                        UPDATE sessions SET cut_through = ?, summary = coalesce(?, summary) WHERE agent = ? AND id = ?
                        """).execute(arguments: [cut.throughSeq, cut.kind == .summarized ? cut.summary : nil, agent, session])
                }
                var seq = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT next_seq FROM sessions WHERE agent = ? AND id = ?"), arguments: [agent, session]) ?? 1
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO session_turns (agent, id, seq, role, content, tool_calls, tool_call_id, tokens, at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for turn in turns {
                    let calls = try turn.message.toolCalls.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
                    try insert.execute(arguments: [
                        agent, session, seq, turn.message.role, turn.message.content, calls, turn.message.toolCallID, turn.tokens, now,
                    ])
                    seq += 1
                }
                try db.cachedStatement(sql: "UPDATE sessions SET next_seq = ? WHERE agent = ? AND id = ?")
                    .execute(arguments: [seq, agent, session])
                // Retention by count: the oldest turns already cut from the prompt, past the limit.
                let stored = try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT count(*) FROM session_turns WHERE agent = ? AND id = ?"), arguments: [agent, session]) ?? 0
                if stored > retention.maxStoredTurns {
                    try db.cachedStatement(sql: """
                        DELETE FROM session_turns WHERE agent = ? AND id = ? AND seq IN (
                            SELECT seq FROM session_turns WHERE agent = ? AND id = ?
                            AND seq <= (SELECT cut_through FROM sessions WHERE agent = ? AND id = ?)
                            ORDER BY seq LIMIT ?)
                        """).execute(arguments: [agent, session, agent, session, agent, session, stored - retention.maxStoredTurns])
                    try db.cachedStatement(sql: "UPDATE sessions SET pruned = pruned + ? WHERE agent = ? AND id = ?")
                        .execute(arguments: [db.changesCount, agent, session])
                }
                // Retention by age: sessions nobody used for too long, with their turns and cuts.
                try db.cachedStatement(sql: "DELETE FROM sessions WHERE updated_at < ?")
                    .execute(arguments: [now - retention.maxIdleMilliseconds])
            }
        }
    }

    public func sessions(agent: String?) throws(SessionStoreError) -> [SessionInfo] {
        try access { pool in
            try pool.read { db in
                let sql = """
                    SELECT s.agent, s.id, s.policy, s.pruned, s.created_at, s.updated_at,
                        (SELECT count(*) FROM session_turns t WHERE t.agent = s.agent AND t.id = s.id),
                        (SELECT count(*) FROM session_turns t WHERE t.agent = s.agent AND t.id = s.id AND t.seq <= s.cut_through),
                        (SELECT count(*) FROM session_cuts c WHERE c.agent = s.agent AND c.id = s.id)
                    FROM sessions s \(agent == nil ? "" : "WHERE s.agent = ?") ORDER BY s.agent, s.id
                    """
                return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(agent.map { [$0] } ?? [])).map(Self.info)
            }
        }
    }

    public func transcript(agent: String, session: String) throws(SessionStoreError) -> SessionTranscript? {
        try access { pool in
            try pool.read { db in
                guard let row = try Row.fetchOne(db, sql: """
                    SELECT s.agent, s.id, s.policy, s.pruned, s.created_at, s.updated_at,
                        (SELECT count(*) FROM session_turns t WHERE t.agent = s.agent AND t.id = s.id),
                        (SELECT count(*) FROM session_turns t WHERE t.agent = s.agent AND t.id = s.id AND t.seq <= s.cut_through),
                        (SELECT count(*) FROM session_cuts c WHERE c.agent = s.agent AND c.id = s.id),
                        s.summary, s.cut_through
                    FROM sessions s WHERE s.agent = ? AND s.id = ?
                    """, arguments: [agent, session])
                else { return nil }
                let cuts = try Row.fetchAll(db, sql: """
                    SELECT from_seq, through_seq, turns, kind, summary, reason, at FROM session_cuts
                    WHERE agent = ? AND id = ? ORDER BY through_seq
                    """, arguments: [agent, session]).map { cut in
                    SessionCut(
                        fromSeq: cut[0], throughSeq: cut[1], turns: cut[2], kind: SessionCut.Kind(rawValue: cut[3]) ?? .dropped,
                        summary: cut[4], reason: cut[5], at: cut[6])
                }
                return SessionTranscript(
                    info: Self.info(row), summary: row[9], turns: try Self.turns(db, agent, session, after: 0), cuts: cuts,
                    cutThrough: row[10])
            }
        }
    }

    public func delete(agent: String, session: String) throws(SessionStoreError) -> Bool {
        try access { pool in
            try pool.write { db in
                try db.execute(sql: "DELETE FROM sessions WHERE agent = ? AND id = ?", arguments: [agent, session])
                return db.changesCount > 0
            }
        }
    }

    // MARK: Helpers

    private static func turns(_ db: Database, _ agent: String, _ session: String, after seq: Int64) throws -> [SessionTurn] {
        try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT seq, role, content, tool_calls, tool_call_id, tokens, at FROM session_turns
                WHERE agent = ? AND id = ? AND seq > ? ORDER BY seq
                """),
            arguments: [agent, session, seq]
        ).map { row in
            let calls: String? = row[3]
            let toolCalls = try calls.map { try JSONDecoder().decode([ToolCallRequest].self, from: Data($0.utf8)) }
            return SessionTurn(
                seq: row[0], message: ChatMessage(role: row[1], content: row[2], toolCalls: toolCalls, toolCallID: row[4]),
                tokens: row[5], at: row[6])
        }
    }

    private static func info(_ row: Row) -> SessionInfo {
        SessionInfo(
            agent: row[0], id: row[1], policy: SessionPolicy(rawValue: row[2]) ?? .keepRecent, turns: row[6], cutTurns: row[7],
            prunedTurns: row[3], cuts: row[8], createdAt: row[4], updatedAt: row[5])
    }

    /// Runs `body` on the pool; SQLite's failures become the operator's line.
    private func access<T>(_ body: (DatabasePool) throws -> T) throws(SessionStoreError) -> T {
        do {
            return try body(database.pool)
        } catch {
            throw SessionStoreError(StateDatabase.problem(error, path: database.path).description)
        }
    }
}
