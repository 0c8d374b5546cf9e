import ArgumentParser
import ControlAPI
import ControlClient

/// `agentctl load PATH`: start a plugin as a new instance.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load a plugin (.so) into the kernel as a new instance.",
        discussion: """
            PATH is made absolute from the current directory before it is sent, \
            so it works wherever the kernel runs. The kernel checks the file \
            (ELF class, architecture, ABI version) and calls the plugin's init \
            with --config; any refusal is reported with its reason.

            A plugin holds only the capabilities it is granted: those \
            $AGENTOS_HOME/policy.yaml grants its name, and those given with \
            --grant (comma-separated, repeatable: infer, kv, admin, net, spawn, tool:GLOB, \
            send:GLOB). A capability that does not parse refuses the load. \
            Capabilities the plugin requests but was not granted are named on \
            stderr; `agentctl caps NAME` shows them and `agentctl grant` adds them.

            --isolation process runs the same .so in its own agentos-host \
            process: a crash there ends only that host; callers waiting on it \
            get AOS_ECRASHED, queued messages wait, and the host is restarted \
            as --restart says (permanent: always; transient: after a crash, not \
            after exit(0); temporary: never), at most --restart-intensity times \
            in --restart-period seconds, else the instance is failed.

            Examples:
              agentctl load ./build/plugins/echo.so
              agentctl load ./build/plugins/echo.so --name echo2 --config '{"greeting":"hi"}'
              agentctl load ./build/plugins/support.so --grant 'infer,tool:catalog.*'
              agentctl load ./build/plugins/echo.so --isolation process --restart transient
            """
    )

    @Argument(help: "The plugin's shared library.")
    var path: String

    @Option(help: "Instance name (default: the name in the plugin's descriptor).")
    var name: String?

    @Option(
        help: ArgumentHelp("String passed to the plugin's init (default: empty).", valueName: "string"))
    var config: String?

    @Option(help: "Scheduling priority of the instance's inference requests under --policy priority (higher first).")
    var priority = 0

    @Option(
        name: .customLong("grant"),
        help: ArgumentHelp("Capabilities to grant, comma-separated; repeatable.", valueName: "caps"))
    var grants: [String] = []

    @Option(help: ArgumentHelp("Where its code runs: thread, or process (default: policy.yaml's, else thread).", valueName: "mode"))
    var isolation: String?

    @Option(help: ArgumentHelp("Process mode: permanent, transient or temporary (default: permanent).", valueName: "policy"))
    var restart: String?

    @Option(help: ArgumentHelp("Process mode: restarts allowed per period before it fails (default: 3).", valueName: "n"))
    var restartIntensity: Int?

    @Option(help: ArgumentHelp("Process mode: the period of --restart-intensity, in seconds (default: 5).", valueName: "seconds"))
    var restartPeriod: Double?

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("Output format; json prints the new InstanceInfo.", valueName: "format"))
    var output: OutputFormat = .table

    func run() async throws {
        let capabilities = grants.flatMap(splitCapabilities)
        let request = LoadRequest(
            path: absolutePath(path), name: name, config: config, priority: priority == 0 ? nil : priority,
            grants: capabilities.isEmpty ? nil : capabilities, isolation: isolation, restart: restart,
            restartIntensity: restartIntensity, restartPeriod: restartPeriod)
        let instance = try await ControlClient().load(request)
        switch output {
        case .json: try printJSON(instance)
        case .table:
            let granted = instance.granted.flatMap { $0.isEmpty ? nil : ", granted " + $0.joined(separator: ", ") } ?? ""
            print("loaded \(instance.name) (id \(instance.id)) from \(displayPath(instance.plugin))\(granted)")
        }
        if let missing = instance.missing, !missing.isEmpty {
            printError("agentctl: \(instance.name) was not granted what it requests: \(missing.joined(separator: ", ")) (\(grantHint(instance.name, missing)))")
        }
    }
}
