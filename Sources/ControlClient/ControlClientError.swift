/// A failed control request, as `agentctl` reports it.
public enum ControlClientError: Error, CustomStringConvertible, Sendable {
    /// Nothing listens on the socket (absent, stale, or refused).
    case kernelNotRunning(socketPath: String)
    /// The kernel answered with an error body.
    case api(status: Int, code: String, message: String)
    /// The connection failed in another way, or timed out.
    case transport(String)

    public var description: String {
        switch self {
        case .kernelNotRunning(let path): "kernel not running at \(path) (start it with `make run`)"
        case .api(_, _, let message): message
        case .transport(let what): what
        }
    }
}
