/// Decides which of a session's turns go into a request's prompt, within a
/// token budget, and which leave it (the cut). Pure: no store, no engine.
///
/// The prompt is: the request's system messages, the pinned summary (as a
/// system message), the turns after the cut, the request's new messages.
/// When everything fits, nothing is cut. Otherwise keep_recent keeps the
/// newest turns that fit; summarize keeps the newest turns that fill half of
/// what is left after reserving room for the summary (so a summary is not
/// made on every request), and the cut turns go to the model for a summary.
/// The kept turns never start with a tool result whose call was cut.
public struct SessionPrompt: Sendable, Equatable {
    /// Tokens a chat template adds per message (role markers, separators).
    public static let messageOverhead = 8
    /// Tokens a summary may take (its request's max_tokens).
    public static let summaryTokens = 160

    /// Turns that stay in the prompt, oldest first.
    public var kept: [SessionTurn]
    /// Turns that leave it, oldest first (empty when everything fits).
    public var cut: [SessionTurn]
    /// The policy applied (summarize falls back to keep_recent when a summary cannot fit).
    public var policy: SessionPolicy
    /// Tokens of the history (system, summary, turns, new messages) before any cut.
    public var historyTokens: Int

    /// Plans a prompt of `systemTokens` (the request's system messages) +
    /// the summary + `history.turns` + `newTokens` (its new messages) within
    /// `budget` tokens. Throws `.promptTooLong` when the system messages and
    /// new messages alone exceed it.
    public static func plan(
        history: SessionHistory, summaryTokens currentSummary: Int, systemTokens: Int, newTokens: Int, budget: Int,
        policy: SessionPolicy
    ) throws(KernelError) -> SessionPrompt {
        let fixed = systemTokens + newTokens
        guard fixed <= budget else {
            throw KernelError(.promptTooLong, "the request's system and new messages are \(fixed) tokens; the context leaves \(max(budget, 0)) for the prompt (shorten the message, or lower max_tokens)")
        }
        let turnTokens = history.turns.reduce(0) { $0 + $1.tokens }
        let total = fixed + currentSummary + turnTokens
        guard total > budget else {
            return SessionPrompt(kept: history.turns, cut: [], policy: policy, historyTokens: total)
        }
        var applied = policy
        var room = budget - fixed - currentSummary
        if policy == .summarize {
            let reserve = summaryTokens + messageOverhead
            if fixed + reserve <= budget {
                room = (budget - fixed - reserve) / 2
            } else {
                applied = .keepRecent
            }
        }
        var start = history.turns.count
        var used = 0
        while start > 0, used + history.turns[start - 1].tokens <= room {
            start -= 1
            used += history.turns[start].tokens
        }
        while start < history.turns.count, history.turns[start].message.role == "tool" { start += 1 }
        return SessionPrompt(
            kept: Array(history.turns[start...]), cut: Array(history.turns[..<start]), policy: applied, historyTokens: total)
    }

    /// The summary request for `cut` (and the summary before it): the newest
    /// cut turns whose text fits `budget` (at least the beginning of the
    /// newest one, when it alone is too long); the older ones are returned as
    /// `uncovered` (they leave the prompt without a summary, and the cut says so).
    public static func summaryRequest(
        previous: String?, cut: [SessionTurn], budget: Int, tokens: (String) -> Int
    ) -> (messages: [ChatMessage], covered: [SessionTurn], uncovered: [SessionTurn]) {
        let instructions = """
            You write the running summary of a conversation between a user and an assistant, so the assistant can \
            continue it. Keep every name, product, number, price and open question. Write at most four sentences.
            """
        var room = budget - tokens(instructions) - 3 * messageOverhead - summaryTokens - (previous.map(tokens) ?? 0)
        var lines: [String] = []
        var start = cut.count
        while start > 0 {
            let line = transcriptLine(cut[start - 1].message)
            let cost = tokens(line) + 1
            guard cost <= room else { break }
            room -= cost
            lines.insert(line, at: 0)
            start -= 1
        }
        // Not even the newest cut turn fits whole: its beginning stands for it.
        if start == cut.count, let newest = cut.last, room > 4 * messageOverhead {
            lines = [String(transcriptLine(newest.message).prefix(room))]
            start -= 1
        }
        var text = previous.map { "Summary so far: \($0)\n\n" } ?? ""
        text += "Conversation to add to the summary:\n" + lines.joined(separator: "\n") + "\n\nWrite the updated summary."
        return (
            [ChatMessage(role: "system", content: instructions), ChatMessage(role: "user", content: text)],
            Array(cut[start...]), Array(cut[..<start])
        )
    }

    /// One turn as a line of the transcript a summary is made from.
    static func transcriptLine(_ message: ChatMessage) -> String {
        if let calls = message.toolCalls, !calls.isEmpty {
            return "assistant called " + calls.map { "\($0.name)(\($0.arguments))" }.joined(separator: ", ")
        }
        return "\(message.role): \(message.content)"
    }

    /// The pinned summary as the prompt carries it.
    static func summaryMessage(_ summary: String) -> ChatMessage {
        ChatMessage(role: "system", content: "Summary of the earlier conversation: \(summary)")
    }
}
