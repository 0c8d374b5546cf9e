import Foundation

/// A user's verdict on one answer.
public enum Rating: String, Sendable, CaseIterable, Codable {
    case up
    case down
}

/// One rated answer: the question an agent was asked, its answer, and the
/// user's rating of it. A row of the `feedback` table.
public struct FeedbackRecord: Sendable, Equatable {
    /// The kernel-minted message id of the request the answer replied to.
    public var requestID: UInt64
    /// Which run of the kernel gave the answer (its start, in ms since the epoch):
    /// message ids start again at 1 in every run, so the two together name an answer.
    public var kernelRun: Int64
    /// The agent (instance name) that answered.
    public var agent: String
    public var question: String
    public var answer: String
    public var rating: Rating
    /// The user's words, if any.
    public var comment: String?
    /// When the rating was given (replaced by a later rating of the same request).
    public var createdAt: Date

    public init(
        requestID: UInt64, kernelRun: Int64 = 0, agent: String, question: String, answer: String, rating: Rating,
        comment: String? = nil, createdAt: Date = Date()
    ) {
        self.requestID = requestID
        self.kernelRun = kernelRun
        self.agent = agent
        self.question = question
        self.answer = answer
        self.rating = rating
        self.comment = comment
        self.createdAt = createdAt
    }
}

/// The ratings of one agent's answers.
public struct AgentSatisfaction: Sendable, Equatable {
    public var agent: String
    /// Rated answers (each request counts once, with its latest rating).
    public var count: Int
    public var up: Int
    public var down: Int

    public init(agent: String, count: Int, up: Int, down: Int) {
        self.agent = agent
        self.count = count
        self.up = up
        self.down = down
    }

    /// `up / count`, in 0...1; 0 when nothing is rated.
    public var satisfactionRate: Double { count == 0 ? 0 : Double(up) / Double(count) }
}

/// What `FeedbackStore.record` did.
public enum RecordOutcome: Sendable, Equatable {
    /// The request had no rating yet.
    case added
    /// The request was rated before; that rating (and comment) is gone.
    case replaced
}
