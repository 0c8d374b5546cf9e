import ControlAPI
import Foundation
import Glibc

/// Keeps one kernel per `$AGENTOS_HOME`: an exclusive `flock` on
/// `HOME/agentosd.lock`, held for the kernel's life and released by the OS if
/// it dies. Holding it also proves any socket file in the home is stale.
struct HomeLock {
    private let descriptor: Int32

    struct Refused: Error, CustomStringConvertible {
        let description: String
    }

    /// Creates the home (mode 0700) and takes the lock; removes a stale socket.
    /// Throws `Refused` when another kernel holds it or the home is unusable.
    static func acquire(_ home: AgentOSHome) throws -> HomeLock {
        do {
            try FileManager.default.createDirectory(atPath: home.path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Refused(description: "cannot create home \(home.displayPath): \(error.localizedDescription)")
        }
        let descriptor = open(home.lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Refused(description: "cannot open \(home.lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let owner = (try? String(contentsOfFile: home.lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            let pid = owner.map { " (pid \($0))" } ?? ""
            throw Refused(description: "another kernel is running on \(home.displayPath)\(pid); stop it, or set AGENTOS_HOME to another directory")
        }
        ftruncate(descriptor, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
        if unlink(home.socketPath) == 0 {
            FileHandle.standardError.write(Data("agentosd: replaced a stale socket at \(home.displaySocketPath)\n".utf8))
        }
        return HomeLock(descriptor: descriptor)
    }

    func release() {
        close(descriptor)
    }
}
