/// An agent that hands its state to its next version across a hot reload
/// (`agentctl reload`, or its file replaced in `Plugins/`): ABI 1.12's `save`
/// and `restore`.
///
///     @main struct Counter: ReloadableAgent {
///         static let plugin = PluginInfo(name: "counter", description: "Counts.")
///         var count = 0
///         init(config: String, context: Context) throws {}
///         mutating func handle(_ message: Message, context: Context) throws { count += 1 }
///         func save(context: Context) throws -> [UInt8]? { Array("counter1 \(count)".utf8) }
///         mutating func restore(_ saved: [UInt8], context: Context) throws {
///             count = Int(String(decoding: saved.dropFirst(9), as: UTF8.self)) ?? 0
///         }
///     }
///
/// The bytes are the agent's own format and the new version reads them, so
/// put a version in them. In process mode both run in the instances' hosts,
/// the same way. Errors: what either throws is
/// logged and returned as a status; the new version then keeps what its
/// `init` made (a failed `save`), or runs on as `restore` left it.
public protocol ReloadableAgent: Agent {
    /// Runs once on the old instance, after its last message and before `stop`,
    /// when a reload replaces it: the bytes for the new version (nil: none).
    func save(context: Context) throws -> [UInt8]?

    /// Runs once on the new instance, after `init` and before its first
    /// message, with what the replaced version saved.
    mutating func restore(_ saved: [UInt8], context: Context) throws
}
