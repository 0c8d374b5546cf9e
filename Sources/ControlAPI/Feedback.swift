import Foundation

/// A user's verdict on an answer: `up` or `down`.
public enum FeedbackRating: String, Codable, Sendable, CaseIterable {
    case up
    case down
}

/// `POST /v1/feedback`: rate the answer to request `requestId` (the
/// `message_id` of a `SendResponse` with `wait`). Rating it again replaces the rating.
public struct FeedbackRequest: Codable, Sendable, Equatable {
    public var requestId: UInt64
    /// `up` or `down`.
    public var rating: String
    public var comment: String?

    public init(requestId: UInt64, rating: FeedbackRating, comment: String? = nil) {
        self.requestId = requestId
        self.rating = rating.rawValue
        self.comment = comment
    }
}

/// One rated answer: the answer to `POST /v1/feedback`, and one line of
/// `GET /v1/feedback/export` (JSON Lines), a case an eval suite can import.
/// Every key is always present; `comment` is null when none was given.
public struct FeedbackEntry: Codable, Sendable, Equatable {
    public var requestId: UInt64
    /// The agent (instance name) that answered.
    public var agent: String
    public var question: String
    public var answer: String
    public var rating: FeedbackRating
    public var comment: String?
    /// When the (latest) rating was given.
    public var createdAt: Date

    public init(
        requestId: UInt64, agent: String, question: String, answer: String, rating: FeedbackRating,
        comment: String?, createdAt: Date
    ) {
        self.requestId = requestId
        self.agent = agent
        self.question = question
        self.answer = answer
        self.rating = rating
        self.comment = comment
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case requestId, agent, question, answer, rating, comment, createdAt
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(requestId, forKey: .requestId)
        try container.encode(agent, forKey: .agent)
        try container.encode(question, forKey: .question)
        try container.encode(answer, forKey: .answer)
        try container.encode(rating, forKey: .rating)
        try container.encode(comment, forKey: .comment)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// `GET /v1/feedback/stats[?agent=NAME&since=SECONDS]`: ratings per agent, by name.
public struct FeedbackStats: Codable, Sendable, Equatable {
    public var agents: [AgentFeedbackStats]
    /// The window the counts cover, in seconds back from now; nil for all time.
    public var sinceSeconds: Int?

    public init(agents: [AgentFeedbackStats], sinceSeconds: Int? = nil) {
        self.agents = agents
        self.sinceSeconds = sinceSeconds
    }
}

/// One agent's rated answers.
public struct AgentFeedbackStats: Codable, Sendable, Equatable {
    public var agent: String
    /// Rated answers (a request rated twice counts once, with its latest rating).
    public var count: Int
    public var up: Int
    public var down: Int
    /// `up / count`, in 0...1.
    public var satisfactionRate: Double

    public init(agent: String, count: Int, up: Int, down: Int, satisfactionRate: Double) {
        self.agent = agent
        self.count = count
        self.up = up
        self.down = down
        self.satisfactionRate = satisfactionRate
    }
}
