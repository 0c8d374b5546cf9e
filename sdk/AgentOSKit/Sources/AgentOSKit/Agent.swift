/// An agent: a type the kernel instantiates once per loaded instance.
///
/// Mark the type `@main`: as the library loads, its `main()` fills the plugin's
/// descriptor (`aos_plugin`), so the package needs no C and no `@_cdecl`:
///
///     import AgentOSKit
///
///     @main struct Greeter: Agent {
///         static let plugin = PluginInfo(name: "greeter", description: "Greets whoever asks.")
///         var greetings = 0
///         init(config: String, context: Context) throws {}
///         mutating func handle(_ message: Message, context: Context) throws {
///             greetings += 1
///             if message.isRequest { try context.reply(to: message, "hello, \(message.from) (\(greetings))") }
///         }
///     }
///
/// Thread: `init`, `handle` and `stop` run on the instance's own thread, one
/// message at a time, so the agent's state needs no lock. Instances loaded from
/// one file share the library's globals: keep state in the agent, not in globals.
///
/// Errors: whatever `init` or `handle` throws is logged (`agentctl logs NAME`)
/// and returned to the kernel as a status: an `AgentOSError`'s own, else
/// AOS_EHANDLER. A request left unanswered then fails its caller with
/// AOS_EHANDLER. A trap (a failed `!`, an index out of range) is a crash, as in C.
public protocol Agent {
    /// The descriptor's name, version, description and capabilities.
    static var plugin: PluginInfo { get }

    /// Creates an instance. `config` is the operator's `agentctl load --config` string, "" when none.
    init(config: String, context: Context) throws

    /// Handles one message, in mailbox order.
    mutating func handle(_ message: Message, context: Context) throws

    /// Runs once after the last message; syscalls other than log, now and instance
    /// fail with `.stopping` from now on. By default it does nothing.
    mutating func stop(context: Context)
}

extension Agent {
    public mutating func stop(context: Context) {}

    /// The `@main` entry: fills the plugin's descriptor while the library loads. Not to be called.
    public static func main() {
        PluginEntry.install(agent: Self.self)
    }
}
