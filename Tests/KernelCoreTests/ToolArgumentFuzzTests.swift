import AgentOSTesting
import Foundation
import KernelCore
import StrictJSON
import Testing

/// 10,000 random argument objects (and mangled JSON text) against the example
/// tools: nothing crashes, every refusal is named, and a tool runs only for
/// arguments that fit its signature.
struct ToolArgumentFuzzTests {
    /// SplitMix64: a fixed seed makes every run the same run.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let keys = ["a", "b", "x", "sku", "query", "utc", "A", "", "a ", "ß", "__proto__"]

    static func value(_ random: inout Generator, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0..<(depth > 2 ? 7 : 9), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .integer([0, 1, -1, 9, Int64.max, Int64.min, Int64(Int32.max) + 1, -Int64(UInt32.max)].randomElement(using: &random)!)
        case 3: return .unsigned(UInt64.random(in: UInt64(Int64.max)...UInt64.max, using: &random))
        case 4: return .number([0.5, -0.0, 1e308, -1e-320, 12.5, 3.4e39, 144].randomElement(using: &random)!)
        case 5: return .integer(Int64.random(in: -1_000_000...1_000_000, using: &random))
        case 6: return .string(string(&random))
        case 7: return .array((0..<Int.random(in: 0...3, using: &random)).map { _ in value(&random, depth: depth + 1) })
        default: return object(&random, depth: depth + 1)
        }
    }

    static func string(_ random: inout Generator) -> String {
        let pieces = ["A-100", "a-200", "Trail Tent 2P", "tent", "water filter", "\"", "\\", "\n", "\u{0}", "é", "😀", "\u{7F}", " ", "x"]
        return (0..<Int.random(in: 0...6, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }

    static func object(_ random: inout Generator, depth: Int = 0) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        for _ in 0..<Int.random(in: 0...3, using: &random) {
            let key = keys.randomElement(using: &random)!
            if !members.contains(where: { $0.key == key }) { members.append((key, value(&random, depth: depth))) }
        }
        return .object(members)
    }

    /// The JSON text, sometimes mangled: cut short, a byte flipped, or junk appended.
    static func text(of value: JSONValue, _ random: inout Generator) -> String {
        var bytes = Array(value.jsonText.utf8)
        switch Int.random(in: 0..<10, using: &random) {
        case 0 where !bytes.isEmpty: bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
        case 1 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0x20...0x7E, using: &random)
        case 2: bytes += Array(" garbage".utf8)
        default: break
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func tenThousandRandomArgumentObjects() async throws {
        let kernel = try TestKernel.withPluginFiles()
        for plugin in ["calculator", "catalog", "clock"] { _ = try await kernel.lifecycle.load(path: pluginPath(plugin)) }
        let tools = kernel.tools.toolDescriptions().map(\.name)
        #expect(tools.count == 8)
        var random = Generator(state: 20261125)
        var ran: [String: UInt64] = [:]
        var refused = 0
        for _ in 0..<10_000 {
            let tool = tools.randomElement(using: &random)!
            let arguments = Self.text(of: Self.object(&random), &random)
            let record = kernel.tools.callTool(tool, arguments: arguments, deadline: nil)
            switch record.outcome {
            case .success(let json):
                #expect((try? JSONParser.parse(json)) != nil, "\(tool) returned \(json)")
                ran[tool, default: 0] += 1
            case .failure(let error) where error.code == .toolFailed:
                #expect(!error.message.isEmpty)
                ran[tool, default: 0] += 1
            case .failure(let error):
                refused += 1
                #expect(error.code == .invalidToolArguments, "\(tool) \(arguments): \(error)")
                #expect(error.message.hasPrefix(tool + ": ") && error.message.count > tool.count + 10, "\(error.message)")
            }
        }
        // A tool ran exactly when its arguments were accepted.
        for description in kernel.tools.toolDescriptions() {
            #expect(description.calls == ran[description.name, default: 0], "\(description.name)")
        }
        #expect(refused > 1000 && refused < 10_000)
    }
}
