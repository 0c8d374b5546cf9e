/// What a process-mode host's syscall filter lets its plugin do beyond its
/// own process, from the instance's grants: `net` (create sockets) and
/// `spawn` (start processes and programs). Whatever it holds, the filter
/// refuses reaching into other processes (ptrace, signals to them),
/// namespaces and mounts, and loading kernel code. Thread mode runs trusted
/// code in the kernel's process and can withhold none of this.
public struct HostAllowances: Sendable, Equatable {
    public var network: Bool
    public var spawning: Bool

    public init(network: Bool = false, spawning: Bool = false) {
        self.network = network
        self.spawning = spawning
    }
}
