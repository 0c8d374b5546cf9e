/// The series of one agent that the kernel keeps itself rather than in the
/// metrics registry, read at scrape time: they change on every message, and a
/// registry series costs each load a copy of its whole family (`Kernel.agentMetrics`).
public struct AgentMetrics: Sendable {
    /// `agentos_syscalls_total{agent,syscall,status}`.
    public struct SyscallCount: Sendable {
        public let syscall: String
        public let status: String
        public let count: UInt64
    }

    public let agent: String
    public let syscalls: [SyscallCount]
    /// `agentos_messages_sent_total`: messages this agent sent that were queued.
    public let messagesSent: UInt64
    /// `agentos_messages_delivered_total`: messages and tool calls queued for
    /// this agent; nil for the control API, which receives none.
    public let messagesDelivered: UInt64?
    /// `agentos_handler_duration_seconds`; nil for the control API.
    public let handlerDurations: HandlerTimings.Snapshot?
    /// `agentos_mailbox_depth`: messages waiting; nil for the control API.
    public let mailboxDepth: Int?
}
