/// The manifest and plugin source of a Swift project made by `agentctl new`.
enum SwiftSources {
    static func package(_ name: String, _ type: String, kit: String) -> String {
        """
        // swift-tools-version: 6.0
        import PackageDescription

        // An AgentOS plugin: a dynamic library (lib\(name).so) built with AgentOSKit.
        let package = Package(
            name: "\(type)",
            products: [
                .library(name: "\(name)", type: .dynamic, targets: ["\(type)"]),
            ],
            dependencies: [
                .package(path: "\(kit)"),
            ],
            targets: [
                .target(name: "\(type)", dependencies: ["AgentOSKit"]),
            ]
        )

        """
    }

    static func agent(_ name: String, _ type: String) -> String {
        """
        // \(type).swift — an AgentOS agent with AgentOSKit. `@main` makes the
        // library's descriptor from this type; init, handle and stop run on the
        // instance's own thread, so its state needs no lock. A thrown error becomes
        // the handler's status and a log line (`agentctl logs \(name)`).
        import AgentOSKit

        @main struct \(type): Agent {
            static let plugin = PluginInfo(name: "\(name)", version: "0.1.0", description: "Greets whoever sends it a request.")

            var greetings = 0

            init(config: String, context: Context) throws {
                context.logger.info("\(name): started")
            }

            mutating func handle(_ message: Message, context: Context) throws {
                guard message.isRequest else { return }
                greetings += 1
                try context.reply(to: message, "hello, \\(message.from) (greeting \\(greetings))")
            }
        }

        """
    }

    static func tool(_ name: String, _ type: String) -> String {
        """
        // \(type).swift — an AgentOS tool plugin with AgentOSKit. The kernel checks
        // each call's JSON arguments against the declared types before a closure
        // runs; a closure that throws fails the call with its message. Callers
        // name the tools "\(name).twice".
        import AgentOSKit

        @main enum \(type): ToolPlugin {
            static let plugin = PluginInfo(name: "\(name)", version: "0.1.0", description: "Doubles numbers.")

            static let tools = [
                Tool("twice", "Double a number: 2 * x.", threadSafe: true, Parameter<Double>("x", "the number to double")) { x in
                    2 * x
                },
            ]
        }

        """
    }
}
