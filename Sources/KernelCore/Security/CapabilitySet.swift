/// The capabilities one instance holds (or is lent for one request), with the
/// checks the syscalls make. A value: the instance swaps it whole on grant and revoke.
public struct CapabilitySet: Sendable, Equatable {
    /// In the order granted, without duplicates.
    public private(set) var capabilities: [Capability] = []
    private var infer = false
    private var admin = false
    private var toolPatterns: [NamePattern] = []
    private var sendPatterns: [NamePattern] = []
    private var kv = false
    /// Namespaces held through `kv:NS` (true) or only `kv:NS:ro` (false).
    private var namespaces: [String: Bool] = [:]

    public init(_ capabilities: [Capability] = []) {
        for capability in capabilities { insert(capability) }
    }

    public var isEmpty: Bool { capabilities.isEmpty }

    /// Adds `capability`; false when it was already held exactly.
    @discardableResult
    public mutating func insert(_ capability: Capability) -> Bool {
        guard !capabilities.contains(capability) else { return false }
        capabilities.append(capability)
        reindex()
        return true
    }

    /// Removes every capability that `capability` covers (it and anything
    /// narrower); returns what was removed.
    public mutating func remove(coveredBy capability: Capability) -> [Capability] {
        let removed = capabilities.filter { capability.covers($0) }
        capabilities.removeAll { capability.covers($0) }
        reindex()
        return removed
    }

    /// Whether some held capability covers `capability` (delegation's test).
    public func covers(_ capability: Capability) -> Bool {
        capabilities.contains { $0.covers(capability) }
    }

    /// The held capabilities that cover `capability` without being it.
    func wider(than capability: Capability) -> [Capability] {
        capabilities.filter { $0 != capability && $0.covers(capability) }
    }

    // MARK: Checks (the syscall path)

    @inline(__always)
    var permitsInfer: Bool { infer }

    var permitsAdmin: Bool { admin }

    /// What a process-mode host's syscall filter lets through (`net`, `spawn`).
    var hostAllowances: HostAllowances {
        HostAllowances(network: capabilities.contains(.net), spawning: capabilities.contains(.spawn))
    }

    @inline(__always)
    func permitsTool(_ name: String) -> Bool {
        toolPatterns.contains { $0.matches(name) }
    }

    @inline(__always)
    func permitsSend(to name: String) -> Bool {
        sendPatterns.contains { $0.matches(name) }
    }

    /// Whether the set permits reading (`write` false) or writing namespace
    /// `namespace`, which is the holder's own when `own`.
    func permitsStorage(_ namespace: String, own: Bool, write: Bool) -> Bool {
        if own, kv { return true }
        guard let writable = namespaces[namespace] else { return false }
        return writable || !write
    }

    private mutating func reindex() {
        kv = capabilities.contains(.kv)
        namespaces = [:]
        for case .kvNamespace(let namespace, let readOnly) in capabilities {
            namespaces[namespace] = (namespaces[namespace] ?? false) || !readOnly
        }
        infer = capabilities.contains(.infer)
        admin = capabilities.contains(.admin)
        toolPatterns = capabilities.compactMap { if case .tool(let pattern) = $0 { NamePattern(pattern) } else { nil } }
        sendPatterns = capabilities.compactMap { if case .send(let pattern) = $0 { NamePattern(pattern) } else { nil } }
    }
}

/// A `tool:` or `send:` pattern as the checks use it: whether it is a glob is
/// worked out once, when the set changes, not on every syscall.
private struct NamePattern: Sendable, Equatable {
    let text: String
    let isGlob: Bool

    init(_ text: String) {
        self.text = text
        isGlob = Capability.isGlob(text)
    }

    @inline(__always)
    func matches(_ name: String) -> Bool {
        isGlob ? Capability.matches(glob: text, name) : text == name
    }
}
