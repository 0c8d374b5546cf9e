// SwiftCalc.swift — calculator.c's multiply in Swift, for the tool-call benchmark,
// a tool of every argument type, and one that needs approval, for the tests.
import AgentOSKit

@main enum SwiftCalc: ToolPlugin {
    static let plugin = PluginInfo(name: "swiftcalc", version: "1.0.0", description: "multiply, and every argument type.")

    static let tools = [
        Tool("multiply", "a * b", threadSafe: true, Parameter<Double>("a"), Parameter<Double>("b")) { a, b in a * b },
        Tool(
            "types", "Every argument type, joined as text.",
            Parameter<Int32>("i32"), Parameter<Int64>("i64"), Parameter<UInt32>("u32"), Parameter<UInt64>("u64"),
            Parameter<Float>("f"), Parameter<Bool>("b"), Parameter<Int>("i"), Parameter<String>("s"),
            Parameter<String?>("opt")
        ) { i32, i64, u32, u64, f, b, i, s, opt in "\(i32) \(i64) \(u32) \(u64) \(f) \(b) \(i) \(s) \(opt ?? "nil")" },
        Tool("negate", "-v as int32", Parameter<Int32>("v")) { v in -v },
        Tool("flip", "!v", Parameter<Bool>("v")) { v in !v },
        Tool("half", "v / 2 as float", Parameter<Float>("v")) { v in v / 2 },
        Tool("refund", "Refund an amount; waits for an operator in a tool loop.", needsApproval: true, Parameter<Int32>("amount")) {
            amount in "refunded \(amount)"
        },
    ]
}
