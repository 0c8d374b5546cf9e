import CAgentOSKit

/// Storage (ABI 1.7): key-value namespaces kept by the kernel. `namespace`
/// nil is this instance's own (needs "kv"); another needs "kv:NAME" (or
/// "kv:NAME:ro" to read). Keys are UTF-8, at most 512 bytes; values at most
/// 1 MiB. Thread: any thread of the plugin.
extension Context {
    /// A stored value and its version (1 after the first put, +1 per put).
    public struct StoredValue: Sendable, Equatable {
        public var bytes: [UInt8]
        public var version: UInt64
        public var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// The value at `key`, or nil when there is none. Throws `.permissionDenied`,
    /// `.invalidArgument`, `.tooBig`, `.storageUnavailable`.
    public func storedValue(_ key: String, namespace: String? = nil) throws(AgentOSError) -> StoredValue? {
        try require(\.kv_get, "kv_get", since: 7)
        var value = aos_buffer()
        var version: UInt64 = 0
        let status = key.withCString { key in
            withOptionalCString(namespace) { api.pointee.kv_get(ctx, $0, key, &value, &version) }
        }
        if status == AOS_ENOTFOUND { return nil }
        try check(status)
        return StoredValue(bytes: take(&value), version: version)
    }

    /// Stores `bytes` at `key` when it is at version `expected` (nil: whatever;
    /// 0: only if absent); returns the new version. Throws `.conflict` when the
    /// key is at another version, `.quotaExceeded`, and what `storedValue` throws.
    @discardableResult
    public func store(_ bytes: [UInt8], at key: String, expected: UInt64? = nil, namespace: String? = nil) throws(AgentOSError) -> UInt64 {
        try require(\.kv_put, "kv_put", since: 7)
        var version: UInt64 = 0
        let status = bytes.withUnsafeBufferPointer { buffer in
            key.withCString { key in
                withOptionalCString(namespace) {
                    api.pointee.kv_put(
                        ctx, $0, key, aos_bytes(ptr: buffer.baseAddress, len: buffer.count), expected ?? anyVersion, &version)
                }
            }
        }
        try check(status)
        return version
    }

    /// `store` for text.
    @discardableResult
    public func store(_ text: String, at key: String, expected: UInt64? = nil, namespace: String? = nil) throws(AgentOSError) -> UInt64 {
        try store(Array(text.utf8), at: key, expected: expected, namespace: namespace)
    }

    /// Removes `key` (when at `expected`, if given); false when there was none.
    @discardableResult
    public func removeStoredValue(_ key: String, expected: UInt64? = nil, namespace: String? = nil) throws(AgentOSError) -> Bool {
        try require(\.kv_delete, "kv_delete", since: 7)
        let status = key.withCString { key in
            withOptionalCString(namespace) { api.pointee.kv_delete(ctx, $0, key, expected ?? anyVersion) }
        }
        if status == AOS_ENOTFOUND { return false }
        try check(status)
        return true
    }

    /// One page of keys starting with `prefix`, after `after`, as kv_list's JSON:
    /// {"keys": [{"key", "version", "bytes"}...], "next": KEY or null}.
    public func storedKeys(prefix: String = "", after: String? = nil, limit: UInt32 = UInt32(AOS_KV_MAX_PAGE), namespace: String? = nil)
        throws(AgentOSError) -> String
    {
        try require(\.kv_list, "kv_list", since: 7)
        var json = aos_buffer()
        let status = prefix.withCString { prefix in
            withOptionalCString(after) { after in
                withOptionalCString(namespace) { api.pointee.kv_list(ctx, $0, prefix, after, limit, &json) }
            }
        }
        try check(status)
        return takeText(&json)
    }
}

/// AOS_KV_ANY_VERSION (UINT64_MAX, a macro Swift does not import).
private let anyVersion = UInt64.max

/// Runs `body` with `text` as a C string, or NULL.
private func withOptionalCString<Result>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> Result) -> Result {
    guard let text else { return body(nil) }
    return text.withCString(body)
}
