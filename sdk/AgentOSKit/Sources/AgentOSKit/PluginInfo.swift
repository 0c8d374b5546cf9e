/// What a plugin's descriptor says about it: the default instance name, its
/// version, one line of description and the capabilities it will request.
public struct PluginInfo: Sendable {
    /// [A-Za-z0-9_.-], 1-63 bytes.
    public var name: String
    public var version: String
    public var description: String
    /// "infer", "tool:NAME", "send:AGENT" (globs allowed), "admin"; the operator decides what is granted.
    public var capabilities: [String]

    public init(name: String, version: String = "0.1.0", description: String = "", capabilities: [String] = []) {
        self.name = name
        self.version = version
        self.description = description
        self.capabilities = capabilities
    }
}
