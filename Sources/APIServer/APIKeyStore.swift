import ControlAPI
import Crypto
import Foundation
import KernelCore
import Synchronization

/// The API keys, in `$AGENTOS_HOME/api-keys.json` (mode 0600): each key's
/// name, the SHA-256 of its secret, its grants and quotas. The secret itself
/// is shown once, at creation, and never stored.
///
/// Thread-safe: `keys` is only touched inside `state.withLock`; the file is
/// rewritten whole (to a temporary file, then renamed) under the same lock.
public final class APIKeyStore: Sendable {
    private let path: String
    private let state: Mutex<[String: APIKey]>

    /// Secrets look like `aos-` and 48 hex digits (24 random bytes).
    static let secretPrefix = "aos-"

    /// Opens the store at `path`; a missing file is an empty store.
    /// Throws when the file exists but cannot be read or is not a key file.
    public init(path: String) throws {
        self.path = path
        var keys: [String: APIKey] = [:]
        if FileManager.default.fileExists(atPath: path) {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let stored: [StoredKey]
            do {
                stored = try JSONDecoder.storeDecoder.decode([StoredKey].self, from: data)
            } catch {
                throw KernelError(.badPolicy, "\(path) is not an API key file: \(error) (move it away to start with no keys)")
            }
            for entry in stored { keys[entry.name] = try entry.key() }
        }
        state = Mutex(keys)
    }

    /// Every key, by name.
    public var all: [APIKey] { state.withLock { Array($0.values) }.sorted { $0.name < $1.name } }

    /// Creates key `name` with `grants` and `quotas` and returns its secret.
    /// Throws `.badName`, `.nameTaken`, `.invalidArgument` (a grant or quota), or `.internal` when the file cannot be written.
    public func create(name: String, grants: [String], quotas settings: [String: String]) throws(KernelError) -> (secret: String, key: APIKey) {
        try APIKey.checkName(name)
        guard !grants.isEmpty else {
            throw KernelError(.invalidArgument, "a key needs at least one grant (infer, send:GLOB, tool:GLOB)")
        }
        var capabilities = CapabilitySet()
        for grant in grants {
            let capability = try Capability(parsing: grant)
            switch capability {
            case .infer, .send, .tool: _ = capabilities.insert(capability)
            case .kv, .kvNamespace, .admin, .net, .spawn: throw KernelError(.invalidArgument, "a key may hold infer, send:GLOB and tool:GLOB, not \(capability)")
            }
        }
        var quotas = QuotaLimits()
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) { try quotas.set(key, value) }
        var bytes = [UInt8](repeating: 0, count: 24)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let secret = Self.secretPrefix + bytes.map { String(format: "%02x", $0) }.joined()
        let key = APIKey(
            name: name, secretHash: Self.hash(secret), prefix: String(secret.prefix(8)), capabilities: capabilities,
            quotas: quotas, createdAt: Date())
        try state.withLock { keys throws(KernelError) in
            guard keys[name] == nil else { throw KernelError(.nameTaken, "a key named \(name) exists (revoke it first)") }
            var next = keys
            next[name] = key
            try save(next)
            keys = next
        }
        return (secret, key)
    }

    /// Removes key `name`; its secret stops working at once. Throws `.notFound` or `.internal`.
    public func revoke(_ name: String) throws(KernelError) -> APIKey {
        try state.withLock { keys throws(KernelError) in
            guard let key = keys[name] else { throw KernelError(.notFound, "no key named \(name) (see `agentctl keys ls`)") }
            var next = keys
            next[name] = nil
            try save(next)
            keys = next
            return key
        }
    }

    /// The key whose secret is `secret`, or nil.
    public func key(forSecret secret: String) -> APIKey? {
        guard secret.hasPrefix(Self.secretPrefix), secret.utf8.count < 200 else { return nil }
        let hash = Self.hash(secret)
        return state.withLock { keys in keys.values.first { $0.secretHash == hash } }
    }

    private static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private func save(_ keys: [String: APIKey]) throws(KernelError) {
        let stored = keys.values.sorted { $0.name < $1.name }.map(StoredKey.init)
        let temporary = path + ".tmp"
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            let data = try encoder.encode(stored)
            guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw KernelError(.internal, "cannot write \(temporary)")
            }
            guard rename(temporary, path) == 0 else { throw KernelError(.internal, "cannot rename \(temporary) to \(path): errno \(errno)") }
        } catch let error as KernelError {
            throw error
        } catch {
            throw KernelError(.internal, "cannot save API keys to \(path): \(error)")
        }
    }
}

/// One key as the file holds it.
private struct StoredKey: Codable {
    var name: String
    var sha256: String
    var prefix: String
    var grants: [String]
    var quotas: [String: Int]
    var createdAt: Date

    init(_ key: APIKey) {
        let info = key.info
        name = key.name
        sha256 = key.secretHash
        prefix = key.prefix
        grants = info.grants
        quotas = info.quotas
        createdAt = key.createdAt
    }

    func key() throws -> APIKey {
        var capabilities = CapabilitySet()
        for grant in grants { _ = capabilities.insert(try Capability(parsing: grant)) }
        var limits = QuotaLimits()
        for (key, value) in quotas { try limits.set(key, String(value)) }
        return APIKey(name: name, secretHash: sha256, prefix: prefix, capabilities: capabilities, quotas: limits, createdAt: createdAt)
    }
}

extension JSONDecoder {
    fileprivate static var storeDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
