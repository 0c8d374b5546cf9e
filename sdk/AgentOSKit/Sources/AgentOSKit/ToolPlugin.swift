/// A tool plugin: functions the kernel, agents and the model call with JSON
/// arguments, each declared with its parameters' names, types and descriptions.
///
/// Mark the type `@main`, as an `Agent`; the descriptor's tool table is made from `tools`:
///
///     @main enum Geometry: ToolPlugin {
///         static let plugin = PluginInfo(name: "geometry", description: "Shapes.")
///         static let tools = [
///             Tool("circle_area", "The area of a circle.", Parameter<Double>("radius", "its radius")) { r in
///                 Double.pi * r * r
///             },
///         ]
///     }
///
/// The kernel checks every argument against the declared types before the
/// function runs. A function that throws fails that call with AOS_ETOOL and the
/// error's text (`ToolError` gives the text as it is). Functions run on the
/// plugin's thread one at a time, or concurrently on the callers' threads when
/// declared `threadSafe`. Each load of a tool plugin has its own copy of the
/// library, so statics are per instance.
public protocol ToolPlugin {
    /// The descriptor's name, version, description and capabilities.
    static var plugin: PluginInfo { get }

    /// The functions, at most 64, with unique names.
    static var tools: [Tool] { get }

    /// Runs once, on the plugin's thread, before any call; by default nothing.
    /// Throwing fails the load with the error's status.
    static func start(config: String, context: Context) throws

    /// Runs once after the last call; by default nothing.
    static func stop(context: Context)
}

extension ToolPlugin {
    public static func start(config: String, context: Context) throws {}
    public static func stop(context: Context) {}

    /// The `@main` entry: fills the plugin's descriptor while the library loads. Not to be called.
    public static func main() {
        PluginEntry.install(tools: Self.self)
    }
}

/// An error a tool function throws to fail its call with exactly `message`.
public struct ToolError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
