import CAgentOS

/// Handlers that run elsewhere (a process-mode instance's host), so plain
/// messages can be sent to them ahead, without waiting for each handler to
/// return: `post` queues messages, `collect` waits for their handlers'
/// statuses, oldest first, and serves the syscalls those handlers make
/// meanwhile. Handlers still run one at a time, in the order posted.
///
/// Thread: the instance's own thread only, with the context and the state
/// `init` gave. `on_message` and `stop` are called only when nothing posted
/// is left to collect.
public protocol MessagePipeline: AnyObject, Sendable {
    /// Queues `message` (copied) for the handlers. Returns `.sent`, `.full`
    /// (queued, and the next post must wait for a `collect`), or
    /// `.refused(status)` when it was not queued (no host runs, or its frame
    /// could not be made): deliver it with `on_message` then.
    func post(_ message: UnsafePointer<aos_message>, context: OpaquePointer?, state: UnsafeMutableRawPointer?) -> MessagePost
    /// Waits until the handler of the oldest message posted and not collected
    /// returns, and returns its status. `.crashed` when the host died: that
    /// message was running, the later ones were never started, and none is
    /// outstanding any more (post them again).
    func collect(context: OpaquePointer?, state: UnsafeMutableRawPointer?) -> AOSStatus
}

/// What `MessagePipeline.post` did with a message.
public enum MessagePost: Sendable, Equatable {
    /// Queued; more fit.
    case sent
    /// Queued; collect before the next post.
    case full
    /// Not queued, for this reason (`.crashed`: no host runs).
    case refused(AOSStatus)
}
