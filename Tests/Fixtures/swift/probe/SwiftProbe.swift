// SwiftProbe.swift — drives every AgentOSKit wrapper on command, for the tests.
//
// Each request is "COMMAND ARGS"; the reply is what the wrapper returned, or
// "error STATUS_NAME: REASON" for an AgentOSError (the handler then succeeds):
//
//   send NAME TEXT          call NAME TEXT          delegate NAME CAP TEXT
//   tool NAME JSON          tools GLOB              self        now
//   log TEXT (through swift-log)                    load PATH NAME    unload NAME
//   infer PROMPT            stream PROMPT           submit PROMPT (replied when its result arrives)
//   cancel-last             throw (a non-AgentOSError)    fail (an AgentOSError, EQUOTA)
//   trap (a Swift runtime error: the process crashes)
//   kv-put KEY EXPECTED|any VALUE    kv-get KEY [NAMESPACE]    kv-rm KEY    kv-ls PREFIX
import AgentOSKit

@main struct SwiftProbe: Agent {
    static let plugin = PluginInfo(name: "swiftprobe", version: "1.0.0", description: "Drives every AgentOSKit wrapper on command.")

    struct ProbeError: Error, CustomStringConvertible {
        var description: String { "the probe was told to throw" }
    }

    /// Submitted inference request id → the request message to answer with its result.
    var waiting: [UInt64: Message] = [:]
    var lastSubmitted: UInt64?

    init(config: String, context: Context) throws {
        if config == "fail-init" { throw AgentOSError(.invalidArgument, "told to fail in init") }
    }

    mutating func handle(_ message: Message, context: Context) throws {
        if let result = message.inference {
            guard let request = waiting.removeValue(forKey: message.id) else { return }
            switch result {
            case .success(let inference): try context.reply(to: request, "\(inference.finishReason): \(inference.text)")
            case .failure(let error): try context.reply(to: request, "error \(error.status.name): \(error.message)")
            }
            return
        }
        guard message.isRequest else { return }
        do {
            if let answer = try run(message, context: context) { try context.reply(to: message, answer) }
        } catch let error as AgentOSError where !message.text.hasPrefix("fail") {
            try context.reply(to: message, "error \(error.status.name): \(error.message)")
        }
    }

    /// The reply to a command, or nil when it comes later.
    mutating func run(_ message: Message, context: Context) throws -> String? {
        let words = message.text.split(separator: " ", maxSplits: 1).map(String.init)
        let command = words.first ?? "", rest = words.count > 1 ? words[1] : ""
        let (first, tail) = split(rest)
        switch command {
        case "send":
            try context.send(to: first, tail)
            return "sent"
        case "call": return try context.call(first, tail, timeout: .seconds(10))
        case "delegate":
            let (capability, text) = split(tail)
            return try context.call(first, text, lending: [capability], timeout: .seconds(10))
        case "tool": return try context.callTool(first, arguments: tail.isEmpty ? "{}" : tail)
        case "tools": return try context.tools(matching: rest.isEmpty ? nil : rest)
        case "self":
            let me = try context.instance()
            return "\(me.name) \(me.id) \(me.maxMessageBytes) \(me.mailboxCapacity) abi \(context.kernelABI.major).\(context.kernelABI.minor)"
        case "now": return "\(context.now(.realtime) / 1_000_000_000) \(context.now(.monotonic) > 0)"
        case "log":
            context.logger.warning("\(rest)", metadata: ["from": "\(message.from)"])
            return "logged"
        case "load":
            try context.loadPlugin(at: first, name: tail)
            return "loaded"
        case "unload":
            try context.unloadPlugin(rest)
            return "unloaded"
        case "infer":
            let result = try context.infer(InferenceRequest(user: rest, maxTokens: 8))
            return "\(result.finishReason) \(result.usage.completionTokens): \(result.text)"
        case "infer-long":
            do {
                _ = try context.infer(InferenceRequest(user: rest, maxTokens: 2000))
                return "finished"
            } catch {
                context.log(.warn, "infer-long: \(error)")
                throw error
            }
        case "stream":
            var pieces = 0
            let result = try context.infer(InferenceRequest(user: rest, maxTokens: 8)) { _ in
                pieces += 1
                return pieces < 3
            }
            return "\(result.finishReason) after \(pieces) pieces: \(result.text)"
        case "submit":
            let id = try context.submit(InferenceRequest(user: rest, maxTokens: 8))
            waiting[id] = message
            lastSubmitted = id
            return nil
        case "kv-put":
            let (expected, value) = split(tail)
            return "version \(try context.store(value, at: first, expected: expected == "any" ? nil : UInt64(expected)))"
        case "kv-get":
            guard let stored = try context.storedValue(first, namespace: tail.isEmpty ? nil : tail) else { return "absent" }
            return "\(stored.version) \(stored.text)"
        case "kv-rm": return try context.removeStoredValue(rest) ? "removed" : "absent"
        case "kv-ls": return try context.storedKeys(prefix: rest, limit: 10)
        case "throw": throw ProbeError()
        case "fail": throw AgentOSError(.quotaExceeded, "told to fail")
        case "trap":
            let empty: [Int] = []
            return "\(empty[message.body.count])"
        default: return "unknown command \(command)"
        }
    }

    private func split(_ text: String) -> (String, String) {
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
    }
}
