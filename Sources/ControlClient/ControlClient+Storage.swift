import ControlAPI
import Foundation

/// Storage namespaces: `agentctl kv ls|get|put|rm`.
extension ControlClient {
    /// Every namespace that holds keys.
    public func kvNamespaces() async throws -> [KVNamespaceInfo] {
        let list: KVNamespaceList = try await call(.GET, "/v1/kv")
        return list.namespaces
    }

    /// A page of `namespace`'s keys starting with `prefix`, after `after`.
    public func kvKeys(of namespace: String, prefix: String = "", after: String? = nil, limit: Int? = nil) async throws -> KVPageInfo {
        var query = ["prefix=" + queryValue(prefix)]
        if let after { query.append("after=" + queryValue(after)) }
        if let limit { query.append("limit=\(limit)") }
        return try await call(.GET, "/v1/kv/\(pathSegment(namespace))?" + query.joined(separator: "&"))
    }

    /// The value at `key` in `namespace`.
    public func kvGet(_ namespace: String, key: String) async throws -> KVEntryInfo {
        try await call(.GET, "/v1/kv/\(pathSegment(namespace))/entry?key=" + queryValue(key))
    }

    /// Stores `put` in `namespace`; returns the entry as stored.
    public func kvPut(_ namespace: String, _ put: KVPut) async throws -> KVEntryInfo {
        try await call(.PUT, "/v1/kv/\(pathSegment(namespace))/entry", body: put)
    }

    /// Removes `key` from `namespace`; returns what the namespace holds afterwards.
    public func kvDelete(_ namespace: String, key: String) async throws -> KVNamespaceInfo {
        try await call(.DELETE, "/v1/kv/\(pathSegment(namespace))/entry?key=" + queryValue(key))
    }
}
