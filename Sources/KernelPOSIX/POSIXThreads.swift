import KernelCore

/// Instance threads as pthreads (see `POSIXThread`).
public struct POSIXThreads: InstanceThreading {
    public init() {}

    public func makeThread(named name: String) -> any InstanceThread {
        POSIXThread(name: name)
    }
}
