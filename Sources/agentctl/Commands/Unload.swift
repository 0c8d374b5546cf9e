import ArgumentParser
import ControlAPI
import ControlClient

/// `agentctl unload NAME`: stop an instance and unload its plugin.
struct Unload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop an instance and unload its plugin.",
        discussion: """
            The kernel stops delivering messages to the instance, lets its \
            current handler finish for up to --timeout seconds, then returns \
            queued messages to their senders. Prints the instance's final state \
            when it is not "stopped" (for example "hung" when the handler did \
            not return in time).

            With --force, an instance that does not stop in time (or is hung) \
            is retired: its name, mailbox and metrics are freed at once and its \
            thread is left parked as a zombie (`agentctl ps -a`), reaped if it \
            ever returns. The thread's CPU and memory stay until the kernel \
            restarts.

            Unloading also forgets the instance's record in state.sqlite, so \
            the next kernel start does not load it again; for a recorded \
            instance that was not restored (its file changed or is missing), \
            it only forgets the record.
            """
    )

    @Argument(help: "The instance's name, as shown by `agentctl ps`.")
    var name: String

    @Option(
        help: ArgumentHelp("Seconds to wait for the instance's running handler to finish.", valueName: "seconds"))
    var timeout: Double = 5

    @Flag(help: "Retire the instance as a zombie when it does not stop within --timeout.")
    var force = false

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("Output format; json prints the final InstanceInfo.", valueName: "format"))
    var output: OutputFormat = .table

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds.") }
    }

    func run() async throws {
        let instance = try await ControlClient().unload(name, timeout: timeout, force: force)
        switch output {
        case .json:
            try printJSON(instance)
        case .table where instance.state == "stopped":
            print("unloaded \(instance.name)")
        case .table where instance.state == "zombie":
            print("retired \(instance.name): its thread did not stop and is left parked as a zombie; its CPU and memory stay until the kernel restarts (see `agentctl ps -a`)")
        case .table:
            let reason = instance.lastError.map { " (\($0))" } ?? ""
            print("unloaded \(instance.name): state \(instance.state)\(reason)")
        }
    }
}
