/// Names in a cluster: nodes, and agents as NAME@NODE.
///
/// A node name is 1-63 bytes of [A-Za-z0-9_-] (it is a token of a NATS
/// subject, so no '.', '*' or '>'); an agent name follows `InstanceName`.
public enum ClusterName {
    public static func isValidNode(_ node: String) -> Bool {
        !node.isEmpty && node.utf8.count <= 63 && node.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2D
        }
    }

    public static func isValidAgent(_ name: String) -> Bool {
        (try? InstanceName.validate(name)) != nil
    }

    /// Throws `.invalidArgument` saying what a node name may hold.
    public static func validateNode(_ node: String) throws(KernelError) {
        guard isValidNode(node) else {
            throw KernelError(.invalidArgument, "invalid node name \"\(node)\": use 1-63 letters, digits, '_' or '-'")
        }
    }

    /// NAME@NODE split into its parts, when both are valid; nil otherwise.
    public static func split(_ full: String) -> (name: String, node: String)? {
        guard let at = full.utf8.firstIndex(of: UInt8(ascii: "@")) else { return nil }
        let name = String(full[..<at]), node = String(full[full.index(after: at)...])
        guard isValidAgent(name), isValidNode(node) else { return nil }
        return (name, node)
    }

    /// The subject a node receives its frames on.
    public static func subject(of node: String) -> String { "agentos.node.\(node)" }
    /// The subject of announcements and leavings.
    public static let announceSubject = "agentos.announce"
    /// The subject a model is served on (`agentosd --serve-engine MODEL`), with
    /// a queue group of the same name: each request goes to one serving kernel.
    /// A model name follows the node-name rules.
    public static func inferSubject(of model: String) -> String { "agentos.infer.\(model)" }
    /// The subject a running node answers on, so that a second kernel cannot take its name.
    public static func helloSubject(of node: String) -> String { "agentos.hello.\(node)" }
}
