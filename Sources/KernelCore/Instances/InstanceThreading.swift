/// Makes the OS threads instances run on: the kernel's only way to a new
/// thread. Injected into `Kernel`; implementations: `POSIXThreads` in
/// KernelPOSIX. Thread-safe: `load` calls it from any task.
public protocol InstanceThreading: Sendable {
    /// A thread named `name` ("aos:NAME"; cut to what the OS keeps), not yet
    /// started. Makes no OS thread and cannot fail: `InstanceThread.start` does.
    func makeThread(named name: String) -> any InstanceThread
}
