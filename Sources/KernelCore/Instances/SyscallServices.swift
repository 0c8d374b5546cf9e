/// The services an instance's syscalls dispatch to. Each instance holds one;
/// the services outlive their instances (the kernel owns both).
struct SyscallServices: Sendable {
    unowned let messages: MessageRouter
    unowned let inference: InferenceService
    unowned let tools: ToolService
    unowned let lifecycle: PluginLifecycle
}
