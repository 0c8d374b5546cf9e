import Foundation

/// `GET /v1/kv`: every storage namespace that holds keys (`agentctl kv ls`).
public struct KVNamespaceList: Codable, Sendable, Equatable {
    public var namespaces: [KVNamespaceInfo]

    public init(namespaces: [KVNamespaceInfo]) { self.namespaces = namespaces }
}

/// One namespace: its keys, and bytes of keys plus values.
public struct KVNamespaceInfo: Codable, Sendable, Equatable {
    public var namespace: String
    public var keys: Int
    public var bytes: Int

    public init(namespace: String, keys: Int, bytes: Int) {
        self.namespace = namespace
        self.keys = keys
        self.bytes = bytes
    }
}

/// `GET /v1/kv/NS[?prefix=P&after=K&limit=N]`: a page of a namespace's keys (`agentctl kv ls NS`).
public struct KVPageInfo: Codable, Sendable, Equatable {
    public var namespace: String
    public var keys: [KVKeyInfo]
    /// Pass as `after` for the next page; nil on the last.
    public var next: String?

    public init(namespace: String, keys: [KVKeyInfo], next: String?) {
        self.namespace = namespace
        self.keys = keys
        self.next = next
    }
}

/// One key in a listing.
public struct KVKeyInfo: Codable, Sendable, Equatable {
    public var key: String
    public var version: UInt64
    /// The value's size.
    public var bytes: Int

    public init(key: String, version: UInt64, bytes: Int) {
        self.key = key
        self.version = version
        self.bytes = bytes
    }
}

/// `GET /v1/kv/NS/entry?key=K`, and the answer to a `KVPut`: one key's value
/// (`agentctl kv get`). `value` is the text when the bytes are UTF-8, else nil;
/// `value_base64` always holds the bytes.
public struct KVEntryInfo: Codable, Sendable, Equatable {
    public var namespace: String
    public var key: String
    public var version: UInt64
    public var value: String?
    public var valueBase64: String

    public init(namespace: String, key: String, version: UInt64, bytes: [UInt8]) {
        self.namespace = namespace
        self.key = key
        self.version = version
        value = String(validating: bytes, as: UTF8.self)
        valueBase64 = Data(bytes).base64EncodedString()
    }

    /// The value's bytes.
    public var bytes: [UInt8] { Data(base64Encoded: valueBase64).map { [UInt8]($0) } ?? Array((value ?? "").utf8) }
}

/// `PUT /v1/kv/NS/entry`: store `value` (text) at `key`, when it is at
/// `expected_version` if given (0: only if absent) (`agentctl kv put`).
public struct KVPut: Codable, Sendable, Equatable {
    public var key: String
    public var value: String
    public var expectedVersion: UInt64?

    public init(key: String, value: String, expectedVersion: UInt64? = nil) {
        self.key = key
        self.value = value
        self.expectedVersion = expectedVersion
    }
}
