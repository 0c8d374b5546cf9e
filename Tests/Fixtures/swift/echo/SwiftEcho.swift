// SwiftEcho.swift — echo.c in Swift: replies to each request with its own body.
// The Swift side of the round-trip benchmark and the tests' plain Swift agent.
import AgentOSKit

@main struct SwiftEcho: Agent {
    static let plugin = PluginInfo(name: "swiftecho", version: "1.0.0", description: "Replies to each request with its own body.")

    init(config: String, context: Context) throws {}

    mutating func handle(_ message: Message, context: Context) throws {
        if message.isRequest { try context.reply(to: message, bytes: message.body) }
    }
}
