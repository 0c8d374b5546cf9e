/// One loaded instance of an `Agent`, behind the `state` pointer the kernel
/// hands back to on_message and stop. Touched only on the instance's own thread.
class AgentHost {
    let context: Context

    init(context: Context) { self.context = context }

    func handle(_ message: Message) throws {}
    func stop() {}
    /// A `ReloadableAgent`'s saved state; nil for any other agent.
    func save() throws -> [UInt8]? { nil }
    func restore(_ saved: [UInt8]) throws {}
}

/// The host of an agent of type `A` (a subclass, so the C entries need no generics).
final class TypedAgentHost<A: Agent>: AgentHost {
    private var agent: A

    init(config: String, context: Context) throws {
        agent = try A(config: config, context: context)
        super.init(context: context)
    }

    override func handle(_ message: Message) throws { try agent.handle(message, context: context) }
    override func stop() { agent.stop(context: context) }

    override func save() throws -> [UInt8]? { try (agent as? any ReloadableAgent)?.save(context: context) }

    override func restore(_ saved: [UInt8]) throws {
        guard var reloadable = agent as? any ReloadableAgent else { return }
        try reloadable.restore(saved, context: context)
        agent = reloadable as! A
    }
}
