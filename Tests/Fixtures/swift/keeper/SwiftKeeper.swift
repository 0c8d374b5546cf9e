// SwiftKeeper.swift — counts the messages it handled and hands the count to
// its next version across a hot reload (ReloadableAgent: save and restore).
// Answers a request with "#N TEXT". Saved state: "keeper1 N".
import AgentOSKit

@main struct SwiftKeeper: ReloadableAgent {
    static let plugin = PluginInfo(name: "swiftkeeper", version: "1.0.0", description: "Counts messages and keeps the count across a reload.")
    private static let version = Array("keeper1 ".utf8)

    var handled = 0

    init(config: String, context: Context) throws {}

    mutating func handle(_ message: Message, context: Context) throws {
        handled += 1
        if message.isRequest { try context.reply(to: message, "#\(handled) \(message.text)") }
    }

    func save(context: Context) throws -> [UInt8]? { Self.version + Array(String(handled).utf8) }

    mutating func restore(_ saved: [UInt8], context: Context) throws {
        guard saved.starts(with: Self.version), let count = Int(String(decoding: saved.dropFirst(Self.version.count), as: UTF8.self)) else {
            throw AgentOSError(.invalidArgument, "unknown saved state")
        }
        handled = count
    }
}
