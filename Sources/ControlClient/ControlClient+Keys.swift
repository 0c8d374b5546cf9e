import ControlAPI
import NIOHTTP1

/// The OpenAI-compatible API's keys: `agentctl keys`.
extension ControlClient {
    /// Creates a key; the answer holds its secret, shown this once.
    public func createKey(_ request: CreateKeyRequest) async throws -> CreatedKey {
        try await call(.POST, "/v1/keys", body: request)
    }

    /// Every key (never their secrets).
    public func keys() async throws -> [APIKeyInfo] {
        try await call(.GET, "/v1/keys")
    }

    /// Revokes key `name`: its secret stops working at once.
    public func revokeKey(_ name: String) async throws -> APIKeyInfo {
        try await call(.DELETE, "/v1/keys/\(pathSegment(name))")
    }
}
