import ControlAPI
import Foundation
import KernelCore

/// One API key of the OpenAI-compatible API: a principal with capabilities
/// and quotas, like an instance. Only the SHA-256 of its secret is kept.
public struct APIKey: Sendable, Equatable {
    public let name: String
    /// Hex SHA-256 of the secret.
    let secretHash: String
    /// The secret's first 8 characters, to tell keys apart in listings.
    let prefix: String
    public let capabilities: CapabilitySet
    public let quotas: QuotaLimits
    let createdAt: Date

    /// The name the scheduler accounts this key's requests to (and keeps its quota under).
    public var principal: String { "key:\(name)" }

    /// Whether the key may ask the model directly.
    public var mayInfer: Bool { capabilities.covers(.infer) }
    /// Whether the key may talk to agent `name`.
    public func maySend(to agent: String) -> Bool { capabilities.covers(.send(agent)) }
    /// Whether the key may call tool `name`.
    public func mayCallTool(_ tool: String) -> Bool { capabilities.covers(.tool(tool)) }

    /// The wire form (`agentctl keys ls`).
    var info: APIKeyInfo {
        var limits: [String: Int] = [:]
        for (key, value) in quotas.entries { if let value { limits[key] = value } }
        return APIKeyInfo(
            name: name, prefix: prefix, grants: capabilities.capabilities.map(\.description), quotas: limits, createdAt: createdAt)
    }

    /// Checks a key name: 1 to 64 of `[A-Za-z0-9._-]`. Throws `.badName`.
    static func checkName(_ name: String) throws(KernelError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard !name.isEmpty, name.utf8.count <= 64, allowed else {
            throw KernelError(.badName, "key name \"\(name.prefix(40))\" must be 1 to 64 of A-Z a-z 0-9 . _ -")
        }
    }
}
