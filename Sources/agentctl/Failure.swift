import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

extension ExitCode {
    /// A usage error: unknown flag, missing or invalid argument.
    static let usage = ExitCode(2)
    /// Nothing listens on the kernel's control socket.
    static let kernelNotRunning = ExitCode(3)
}

/// How agentctl ends when a command fails.
enum Failure {
    /// Reports `error` on stderr and exits: 1 for a kernel or transport error,
    /// 2 for a usage error, 3 when the kernel is not running.
    static func exit(_ error: Error) -> Never {
        if let error = error as? ControlClientError {
            printError("agentctl: \(error)")
            if case .kernelNotRunning = error { AgentCtl.exit(withError: ExitCode.kernelNotRunning) }
            AgentCtl.exit(withError: ExitCode.failure)
        }
        if AgentCtl.exitCode(for: error) == .validationFailure {
            printError(AgentCtl.fullMessage(for: error))
            AgentCtl.exit(withError: ExitCode.usage)
        }
        AgentCtl.exit(withError: error)
    }
}

/// Writes `line` and a newline to stderr.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
