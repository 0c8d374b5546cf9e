import ArgumentParser
import ControlAPI
import ControlClient

/// `agentctl reload NAME [PATH]`: replace an instance with a new version of its plugin.
struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace an instance with a new version of its plugin, losing no message.",
        discussion: """
            The kernel opens PATH (default: the file the instance was loaded \
            from, read again), checks it as `load` does and starts it with the \
            instance's settings (name, config, priority, grants, quotas, \
            isolation, restart policy). Once its init succeeds, the messages \
            queued for the old instance move to the new one in order, and every \
            message sent from then on reaches the new one: no send is refused \
            and no caller waiting in the queue is lost. The old instance's \
            running handler finishes (its caller gets the reply), for up to \
            --timeout seconds, then it stops and its library is closed.

            A file that cannot be loaded, or whose init fails, leaves the \
            running instance untouched; the command then exits 1. The record \
            in state.sqlite names the new file, so the next start loads it.

            Examples:
              agentctl reload echo
              agentctl reload support ./build/plugins/support-v2.so --timeout 30
            """
    )

    @Argument(help: "The instance's name, as shown by `agentctl ps`.")
    var name: String

    @Argument(help: "The new version's shared library (default: the instance's own file, read again).")
    var path: String?

    @Option(
        help: ArgumentHelp("Seconds to wait for the old instance's running handler to finish.", valueName: "seconds"))
    var timeout: Double = 5

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("Output format; json prints the new InstanceInfo.", valueName: "format"))
    var output: OutputFormat = .table

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds.") }
    }

    func run() async throws {
        let instance = try await ControlClient().reload(name, path: path.map(absolutePath), timeout: timeout)
        switch output {
        case .json: try printJSON(instance)
        case .table: print("reloaded \(instance.name) (id \(instance.id)) from \(displayPath(instance.plugin))")
        }
        if let missing = instance.missing, !missing.isEmpty {
            printError("agentctl: \(instance.name) was not granted what it requests: \(missing.joined(separator: ", ")) (\(grantHint(instance.name, missing)))")
        }
    }
}
