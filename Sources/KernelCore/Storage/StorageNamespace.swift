/// Names of storage namespaces and the limits of keys and values (the
/// header's AOS_KV_* constants). A namespace is named like an instance; an
/// instance's own namespace has the instance's name.
public enum StorageNamespace {
    /// The rule `isValid` checks, for error messages.
    public static let rule = "use 1-63 letters, digits, '_', '.' or '-', not starting with '.' or '-'"

    /// Longest key in UTF-8 bytes (AOS_KV_MAX_KEY_BYTES).
    public static let maxKeyBytes = 512
    /// Largest value in bytes (AOS_KV_MAX_VALUE_BYTES).
    public static let maxValueBytes = 1 << 20
    /// Most keys one list returns (AOS_KV_MAX_PAGE).
    public static let maxPage = 1000

    public static func isValid(_ namespace: String) -> Bool {
        (try? InstanceName.validate(namespace)) != nil
    }

    /// Throws `.invalidArgument` for a bad namespace name.
    public static func validate(_ namespace: String) throws(KernelError) {
        guard isValid(namespace) else {
            throw KernelError(.invalidArgument, "invalid storage namespace \"\(namespace.prefix(80))\": \(rule)")
        }
    }

    /// A key from raw bytes: throws `.invalidArgument` when empty, not UTF-8 or
    /// holding NUL, `.tooBig` past `maxKeyBytes`.
    public static func key(_ bytes: some Collection<UInt8>) throws(KernelError) -> String {
        guard !bytes.isEmpty else { throw KernelError(.invalidArgument, "the key is empty: use 1 to \(maxKeyBytes) bytes of UTF-8") }
        guard bytes.count <= maxKeyBytes else {
            throw KernelError(.tooBig, "the key is \(bytes.count) bytes; keys are at most \(maxKeyBytes) bytes of UTF-8")
        }
        guard !bytes.contains(0), let key = String(validating: bytes, as: UTF8.self) else {
            throw KernelError(.invalidArgument, "the key is not valid UTF-8 text (or holds NUL): keys are UTF-8 strings")
        }
        return key
    }

    /// Throws `.tooBig` for a value past `maxValueBytes`.
    public static func checkValue(bytes: Int) throws(KernelError) {
        guard bytes <= maxValueBytes else {
            throw KernelError(.tooBig, "the value is \(bytes) bytes; values are at most \(maxValueBytes) bytes")
        }
    }
}
