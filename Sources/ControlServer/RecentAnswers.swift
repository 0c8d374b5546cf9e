import Synchronization

/// The last answers given through `POST /v1/instances/NAME/messages` with
/// `wait`, by request (message) id, so a user can rate one with
/// `agentctl feedback ID up|down` while this kernel runs.
///
/// Bounded: at most `capacity` answers (10,000 by default) and `byteBudget`
/// bytes of question and answer text (64 MiB); the oldest go first. An answer
/// alone larger than the budget is not kept. Thread-safe.
public final class RecentAnswers: Sendable {
    /// What was asked and answered.
    public struct Answer: Sendable, Equatable {
        public var agent: String
        public var question: String
        public var answer: String

        public init(agent: String, question: String, answer: String) {
            self.agent = agent
            self.question = question
            self.answer = answer
        }

        var bytes: Int { agent.utf8.count + question.utf8.count + answer.utf8.count }
    }

    private struct State {
        var answers: [UInt64: Answer] = [:]
        /// Ids in the order they were recorded; `order[head...]` are the live ones.
        var order: [UInt64] = []
        var head = 0
        var bytes = 0

        mutating func evictOldest() {
            let id = order[head]
            head += 1
            if let gone = answers.removeValue(forKey: id) { bytes -= gone.bytes }
            // Reclaim the evicted prefix once it is the larger part.
            if head > 1024 && head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
        }
    }

    public let capacity: Int
    public let byteBudget: Int
    private let state = Mutex(State())

    public init(capacity: Int = 10_000, byteBudget: Int = 64 << 20) {
        precondition(capacity > 0 && byteBudget > 0)
        self.capacity = capacity
        self.byteBudget = byteBudget
    }

    /// Remembers the answer to request `id`, forgetting the oldest ones past the bounds.
    public func record(_ id: UInt64, _ answer: Answer) {
        guard answer.bytes <= byteBudget else { return }
        state.withLock { state in
            if let old = state.answers.updateValue(answer, forKey: id) {
                // Ids are unique per kernel; a repeat replaces the text but keeps its place.
                state.bytes -= old.bytes
            } else {
                state.order.append(id)
            }
            state.bytes += answer.bytes
            while state.answers.count > capacity || state.bytes > byteBudget { state.evictOldest() }
        }
    }

    /// The answer to request `id`, if it is still remembered.
    public func answer(to id: UInt64) -> Answer? {
        state.withLock { $0.answers[id] }
    }

    /// How many answers are remembered.
    public var count: Int { state.withLock { $0.answers.count } }
}
