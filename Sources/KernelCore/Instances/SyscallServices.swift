/// The services an instance's syscalls dispatch to. Each instance holds one;
/// the services outlive their instances (the kernel owns both, and a syscall
/// reaches them only through a live handle: `ContextTable`). Unretained and
/// unchecked: a syscall costs no reference counting on the shared services.
struct SyscallServices: Sendable {
    unowned(unsafe) let messages: MessageRouter
    unowned(unsafe) let inference: InferenceService
    unowned(unsafe) let tools: ToolService
    unowned(unsafe) let lifecycle: PluginLifecycle
}
