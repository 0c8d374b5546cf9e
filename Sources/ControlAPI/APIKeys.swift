import Foundation

/// `POST /v1/keys`: a new API key for the OpenAI-compatible API (`agentctl keys create`).
public struct CreateKeyRequest: Codable, Sendable, Equatable {
    /// The key's principal name: 1 to 64 of `[A-Za-z0-9._-]`.
    public var name: String
    /// Capability texts: `infer`, `send:GLOB`, `tool:GLOB`.
    public var grants: [String]
    /// Quota keys and values, as `agentctl quota` takes them (`tokens_per_minute=1000`).
    public var quotas: [String: String]?

    public init(name: String, grants: [String], quotas: [String: String]? = nil) {
        self.name = name
        self.grants = grants
        self.quotas = quotas
    }
}

/// An API key as `agentctl keys ls` shows it: never the secret, only its first characters.
public struct APIKeyInfo: Codable, Sendable, Equatable {
    public var name: String
    /// The secret's first 8 characters, to tell keys apart.
    public var prefix: String
    public var grants: [String]
    public var quotas: [String: Int]
    public var createdAt: Date

    public init(name: String, prefix: String, grants: [String], quotas: [String: Int], createdAt: Date) {
        self.name = name
        self.prefix = prefix
        self.grants = grants
        self.quotas = quotas
        self.createdAt = createdAt
    }
}

/// The answer to `POST /v1/keys`: the secret, shown this once (only its hash is kept).
public struct CreatedKey: Codable, Sendable, Equatable {
    public var key: String
    public var info: APIKeyInfo

    public init(key: String, info: APIKeyInfo) {
        self.key = key
        self.info = info
    }
}
