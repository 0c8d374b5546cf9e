/// Storage: key-value namespaces in the state database, for the `kv_*`
/// syscalls and the control API's `kv` routes.
///
/// Owns the store (`KeyValueStore`, implemented outside KernelCore) and the
/// checks in front of it: names and sizes (`StorageNamespace`), capabilities
/// (`kv` for the caller's own namespace, `kv:NS` or `kv:NS:ro` for another)
/// and the writer's kv_keys/kv_bytes quotas, which the store checks inside
/// the put's transaction. Without a store (none configured, or the database
/// could not be opened) every call fails with `.storageUnavailable` and the
/// reason; the rest of the kernel is unaffected. Thread-safe: holds no state
/// of its own beyond its immutable fields.
public final class StorageService: Sendable {
    let store: KeyValueStore?
    /// Why there is no store, for the error a call gets.
    let absence: String

    /// A service over `store`; nil means storage is off, for `reason`.
    public init(store: KeyValueStore?, reason: String = "the kernel was started without a state database") {
        self.store = store
        absence = reason
    }

    /// Whether a store is attached.
    public var isAvailable: Bool { store != nil }

    // MARK: The control API (the operator: no capability checks)

    /// The entry at `key` in `namespace`. Throws `.notFound`, `.invalidArgument`, `.tooBig`, `.storageUnavailable`.
    public func get(namespace: String, key: String) throws(KernelError) -> KeyValueEntry {
        try StorageNamespace.validate(namespace)
        let key = try StorageNamespace.key(Array(key.utf8))
        guard let entry = try run({ store throws(KeyValueStoreError) in try store.get(namespace: namespace, key: key) }) else {
            throw KernelError(.notFound, "namespace \(namespace) has no key \"\(key)\"")
        }
        return entry
    }

    /// Stores `value` at `key` when it is at `expected`; returns the new version.
    /// Throws `.conflict`, `.tooBig`, `.invalidArgument`, `.storageUnavailable`.
    public func put(namespace: String, key: String, value: [UInt8], expected: ExpectedVersion = .any) throws(KernelError) -> UInt64 {
        try StorageNamespace.validate(namespace)
        let key = try StorageNamespace.key(Array(key.utf8))
        try StorageNamespace.checkValue(bytes: value.count)
        let outcome = value.withUnsafeBytes { bytes in
            Result { () throws(KernelError) in
                try run { store throws(KeyValueStoreError) in
                    try store.put(namespace: namespace, key: key, value: bytes, expected: expected, limits: NamespaceLimits())
                }
            }
        }
        return try outcome.get()
    }

    /// Removes `key`. Throws `.notFound`, `.conflict`, `.invalidArgument`, `.storageUnavailable`.
    public func delete(namespace: String, key: String, expected: ExpectedVersion = .any) throws(KernelError) {
        try StorageNamespace.validate(namespace)
        let key = try StorageNamespace.key(Array(key.utf8))
        guard try run({ store throws(KeyValueStoreError) in try store.delete(namespace: namespace, key: key, expected: expected) }) else {
            throw KernelError(.notFound, "namespace \(namespace) has no key \"\(key)\"")
        }
    }

    /// A page of `namespace`'s keys. Throws `.invalidArgument`, `.storageUnavailable`.
    public func list(namespace: String, prefix: String = "", after: String? = nil, limit: Int = StorageNamespace.maxPage)
        throws(KernelError) -> KeyValuePage
    {
        try StorageNamespace.validate(namespace)
        let limit = (1...StorageNamespace.maxPage).contains(limit) ? limit : StorageNamespace.maxPage
        return try run { store throws(KeyValueStoreError) in try store.list(namespace: namespace, prefix: prefix, after: after, limit: limit) }
    }

    /// Every namespace that holds keys. Throws `.storageUnavailable`.
    public func namespaces() throws(KernelError) -> [NamespaceUsage] {
        try run { store throws(KeyValueStoreError) in try store.namespaces() }
    }

    /// What `namespace` holds (zero keys when it holds none); nil when storage is unavailable.
    func usage(of namespace: String) -> NamespaceUsage? {
        guard let all = try? namespaces() else { return nil }
        return all.first { $0.namespace == namespace } ?? NamespaceUsage(namespace: namespace, keys: 0, bytes: 0)
    }

    /// Runs `body` on the store, turning its errors into `KernelError`s.
    func run<T>(_ body: (KeyValueStore) throws(KeyValueStoreError) -> T) throws(KernelError) -> T {
        guard let store else { throw KernelError(.storageUnavailable, "storage is unavailable: \(absence)") }
        do {
            return try body(store)
        } catch {
            throw Self.kernelError(error)
        }
    }

    static func kernelError(_ error: KeyValueStoreError) -> KernelError {
        switch error {
        case .conflict(let current):
            KernelError(.conflict, "the key is at version \(current.map(String.init) ?? "none (absent)"), not the one expected")
        case .quota(let quota, let limit, let wouldBe):
            KernelError(.quotaExceeded, "the namespace would hold \(wouldBe) (\(quota) is \(limit))")
        case .unavailable(let reason):
            KernelError(.storageUnavailable, "storage is unavailable: \(reason)")
        }
    }
}
