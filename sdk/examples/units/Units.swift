// Units.swift — unit conversions, a tool plugin written in Swift.
//
// The Swift counterpart of calculator.c: the functions are ordinary Swift
// closures, declared with their parameters' names, types and descriptions;
// AgentOSKit makes the descriptor's tool table from them, and the kernel
// checks each call's JSON arguments against those types before the closure
// runs. Callers name them "units.convert", "units.list" and
// "units.celsius_to_fahrenheit":
//
//   agentctl load build/plugins/units.so
//   agentctl tools 'units.*'
//   agentctl call units.convert '{"value": 3, "from": "mi", "to": "km"}'   # 4.828032
//   agentctl call units.convert '{"value": 1, "from": "kg", "to": "m"}'    # fails: not the same quantity
//   agentctl infer --tools 'units.*' "How many kilometres are 26.2 miles?"
//
// A conversion that has no answer throws a ToolError: the caller gets
// AOS_ETOOL with its message. Every function is pure, so thread-safe.
import AgentOSKit

@main enum Units: ToolPlugin {
    static let plugin = PluginInfo(
        name: "units", version: "1.0.0", description: "Converts lengths, masses, volumes and temperatures.")

    static let tools = [
        Tool(
            "convert", "Convert a value from one unit to another of the same quantity, e.g. 3 mi to km.",
            threadSafe: true,
            Parameter<Double>("value", "the amount to convert"),
            Parameter<String>("from", "the unit it is in, e.g. mi, kg, l, C"),
            Parameter<String>("to", "the unit wanted, e.g. km, lb, gal, F")
        ) { value, from, to in try convert(value, from: from, to: to) },
        Tool(
            "list", "The units known, as a JSON object of quantity to unit symbols.", threadSafe: true,
            Parameter<String?>("quantity", "only this quantity: length, mass, volume or temperature")
        ) { quantity in try list(quantity) },
        Tool(
            "celsius_to_fahrenheit", "Convert a temperature in degrees Celsius to degrees Fahrenheit.", threadSafe: true,
            Parameter<Double>("celsius", "the temperature in °C")
        ) { celsius in celsius * 9 / 5 + 32 },
    ]

    /// A unit: its quantity and how to reach the quantity's base unit (m, kg, l, K).
    struct Unit: Sendable {
        var quantity: String
        var toBase: @Sendable (Double) -> Double
        var fromBase: @Sendable (Double) -> Double

        static func scaled(_ quantity: String, _ factor: Double) -> Unit {
            Unit(quantity: quantity, toBase: { $0 * factor }, fromBase: { $0 / factor })
        }
    }

    static let units: [String: Unit] = [
        "mm": .scaled("length", 0.001), "cm": .scaled("length", 0.01), "m": .scaled("length", 1),
        "km": .scaled("length", 1000), "in": .scaled("length", 0.0254), "ft": .scaled("length", 0.3048),
        "yd": .scaled("length", 0.9144), "mi": .scaled("length", 1609.344),
        "g": .scaled("mass", 0.001), "kg": .scaled("mass", 1), "oz": .scaled("mass", 0.028349523125),
        "lb": .scaled("mass", 0.45359237),
        "ml": .scaled("volume", 0.001), "l": .scaled("volume", 1), "gal": .scaled("volume", 3.785411784),
        "C": Unit(quantity: "temperature", toBase: { $0 + 273.15 }, fromBase: { $0 - 273.15 }),
        "F": Unit(quantity: "temperature", toBase: { ($0 - 32) * 5 / 9 + 273.15 }, fromBase: { ($0 - 273.15) * 9 / 5 + 32 }),
        "K": .scaled("temperature", 1),
    ]

    static func convert(_ value: Double, from: String, to: String) throws -> Double {
        guard let source = units[from] else { throw ToolError("unknown unit '\(from)' (units.list names them)") }
        guard let target = units[to] else { throw ToolError("unknown unit '\(to)' (units.list names them)") }
        guard source.quantity == target.quantity else {
            throw ToolError("cannot convert \(source.quantity) (\(from)) to \(target.quantity) (\(to))")
        }
        return target.fromBase(source.toBase(value))
    }

    static func list(_ quantity: String?) throws -> JSON {
        let quantities = Dictionary(grouping: units.keys) { units[$0]!.quantity }
        if let quantity, quantities[quantity] == nil {
            throw ToolError("unknown quantity '\(quantity)': length, mass, volume or temperature")
        }
        let members = quantities.keys.sorted().filter { quantity == nil || $0 == quantity }.map { name in
            "\"\(name)\": [" + quantities[name]!.sorted().map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        }
        return JSON("{" + members.joined(separator: ", ") + "}")
    }
}
