/// One stored key: its value and version (1 after the first put, +1 per put).
public struct KeyValueEntry: Sendable, Equatable {
    public var value: [UInt8]
    public var version: UInt64

    public init(value: [UInt8], version: UInt64) {
        self.value = value
        self.version = version
    }
}

/// One key as a listing shows it.
public struct KeyValueListing: Sendable, Equatable {
    public var key: String
    public var version: UInt64
    public var bytes: Int

    public init(key: String, version: UInt64, bytes: Int) {
        self.key = key
        self.version = version
        self.bytes = bytes
    }
}

/// One page of a listing; `next` is the key to continue after, nil on the last page.
public struct KeyValuePage: Sendable, Equatable {
    public var keys: [KeyValueListing]
    public var next: String?

    public init(keys: [KeyValueListing], next: String?) {
        self.keys = keys
        self.next = next
    }
}

/// What a namespace holds: keys, and bytes of keys plus values.
public struct NamespaceUsage: Sendable, Equatable {
    public var namespace: String
    public var keys: Int
    public var bytes: Int

    public init(namespace: String, keys: Int, bytes: Int) {
        self.namespace = namespace
        self.keys = keys
        self.bytes = bytes
    }
}

/// A compare-and-set condition: the version a key must be at (0: absent).
public enum ExpectedVersion: Sendable, Equatable {
    case any
    case absent
    case exactly(UInt64)

    /// From the ABI's `expected_version` (AOS_KV_ANY_VERSION, 0 or N).
    public init(abi value: UInt64) {
        switch value {
        case .max: self = .any
        case 0: self = .absent
        default: self = .exactly(value)
        }
    }
}

/// The limits a put checks inside its transaction (the writer's kv_keys and kv_bytes).
public struct NamespaceLimits: Sendable, Equatable {
    public var keys: Int?
    public var bytes: Int?

    public init(keys: Int? = nil, bytes: Int? = nil) {
        self.keys = keys
        self.bytes = bytes
    }
}

/// Why a store operation failed.
public enum KeyValueStoreError: Error, Sendable, Equatable {
    /// The key is not at the expected version (its version, nil when absent).
    case conflict(current: UInt64?)
    /// The put would take the namespace past a limit: `quota` is "kv_keys" or "kv_bytes".
    case quota(quota: String, limit: Int, wouldBe: Int)
    /// The database cannot serve the call; the text is the operator's line (`StateStoreError`).
    case unavailable(String)
}

/// Key-value namespaces kept in the state database. KernelCore holds this
/// interface; `StateStore` implements it on SQLite (`SQLiteKeyValueStore`).
///
/// Every method is one transaction: a put is stored whole or not at all. Names
/// and keys arrive checked (`StorageNamespace`). Thread-safe: any thread may
/// call; writes are serialized by the store's one writer, reads run beside them.
public protocol KeyValueStore: Sendable {
    func get(namespace: String, key: String) throws(KeyValueStoreError) -> KeyValueEntry?
    /// Stores `value` when the key is at `expected` and the namespace stays within `limits`; returns the new version.
    func put(
        namespace: String, key: String, value: UnsafeRawBufferPointer, expected: ExpectedVersion, limits: NamespaceLimits
    ) throws(KeyValueStoreError) -> UInt64
    /// Removes the key when it is at `expected`; false when it was absent (and `expected` allowed that).
    func delete(namespace: String, key: String, expected: ExpectedVersion) throws(KeyValueStoreError) -> Bool
    /// Up to `limit` keys starting with `prefix` that sort after `after`, in byte order.
    func list(namespace: String, prefix: String, after: String?, limit: Int) throws(KeyValueStoreError) -> KeyValuePage
    /// Every namespace that holds a key, by name.
    func namespaces() throws(KeyValueStoreError) -> [NamespaceUsage]
}
