import CAgentOS
import CProcessHost
import Foundation
import KernelCore

/// A plugin that runs in its own `agentos-host` process (process isolation).
///
/// Wraps the plugin's `DynamicLibraryImage` (opened and checked by the kernel
/// as in thread mode, which gives its name, capabilities and handshake) and
/// hands the kernel a copy of its descriptor whose `init`, `on_message`,
/// `stop` (and `save` and `restore` where the plugin has them) are the
/// proxies of `CProcessHost`: the instance's thread runs its normal mailbox
/// loop and each handler call becomes a conversation with the host, and
/// plain messages are sent to it ahead (`MessagePipeline`). `initialState`
/// carries the host launch (paths, restart policy, limits) to the proxy's
/// `init`. Agent plugins only: a tool plugin's functions are called in the
/// kernel through libffi.
///
/// Thread-safe: `hostStatus` reads atomics and a lock the proxies keep.
final class ProcessImage: PluginImage, MessagePipeline, @unchecked Sendable {  // the launch is written by the proxies under its own atomics/lock
    let descriptor: UnsafePointer<aos_plugin_descriptor>
    var sourcePath: String { inner.sourcePath }
    let isolation = Isolation.process
    var initialState: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(launch) }
    var contentSHA256: String? { inner.contentSHA256 }
    let restartPolicy: RestartPolicy?
    private let inner: DynamicLibraryImage
    private let copy: UnsafeMutablePointer<aos_plugin_descriptor>
    private let launch: UnsafeMutablePointer<aos_host_launch>
    private let strings: [UnsafeMutablePointer<CChar>]

    /// Throws `.invalidArgument` for a tool plugin or an agent that declares tools.
    init(wrapping inner: DynamicLibraryImage, hostExecutable: String, logPath: String, restart: RestartPolicy) throws(KernelError) {
        let original = inner.descriptor.pointee
        guard original.kind == AOS_KIND_AGENT, original.n_tools == 0 else {
            throw KernelError(.invalidArgument, "cannot load \(inner.sourcePath) in process mode: its tools are called inside the kernel; load tool plugins with --isolation thread")
        }
        self.inner = inner
        restartPolicy = restart
        copy = UnsafeMutablePointer<aos_plugin_descriptor>.allocate(capacity: 1)
        copy.initialize(to: original)
        aos_host_proxy_install(copy)  // save and restore too, where the plugin has them
        descriptor = UnsafePointer(copy)
        strings = [strdup(hostExecutable), strdup(inner.copyPath), strdup(logPath)]
        launch = UnsafeMutablePointer<aos_host_launch>.allocate(capacity: 1)
        launch.initialize(to: aos_host_launch())
        aos_host_launch_prepare(launch)
        launch.pointee.host_path = UnsafePointer(strings[0])
        launch.pointee.plugin_path = UnsafePointer(strings[1])
        launch.pointee.log_path = UnsafePointer(strings[2])
        launch.pointee.restart_policy = switch restart.kind {
        case .permanent: AOS_HOST_RESTART_PERMANENT
        case .transient: AOS_HOST_RESTART_TRANSIENT
        case .temporary: AOS_HOST_RESTART_TEMPORARY
        }
        launch.pointee.intensity = UInt32(restart.intensity)
        launch.pointee.period_ms = UInt32(restart.period * 1000)
    }

    var hostStatus: HostProcessStatus? {
        var text = [CChar](repeating: 0, count: 512)
        var reason = [CChar](repeating: 0, count: 24)
        let crashes = aos_host_launch_last_crash(launch, &text, text.count, &reason, reason.count)
        let pid = aos_host_launch_pid(launch)
        let ended = aos_host_launch_ended(launch)
        let lastCrash = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return HostProcessStatus(
            pid: pid == 0 ? nil : pid,
            restarts: Int(aos_host_launch_restarts(launch)),
            crashes: Int(crashes),
            lastCrash: lastCrash.isEmpty ? nil : lastCrash,
            lastReason: crashes == 0 ? nil : String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
            outcome: ended == AOS_HOST_ENDED_FAILED ? .failed : ended == AOS_HOST_ENDED_NORMALLY ? .endedNormally : .supervised)
    }

    func recover(context: OpaquePointer?, state: UnsafeMutableRawPointer?) -> Bool {
        aos_host_proxy_recover(UnsafeMutableRawPointer(context), state) == 0
    }

    func limitHost(handlerDeadlineMs: Int?, memoryBytes: Int?, cpuSeconds: Int?) {
        aos_host_launch_set_limits(
            launch, UInt32(clamping: handlerDeadlineMs ?? 0), UInt64(memoryBytes ?? 0), UInt64(cpuSeconds ?? 0))
    }

    func sandboxHost(_ allowances: HostAllowances) {
        aos_host_launch_set_sandbox(
            launch, (allowances.network ? AOS_HOST_ALLOW_NET : 0) | (allowances.spawning ? AOS_HOST_ALLOW_SPAWN : 0))
    }

    var pipeline: (any MessagePipeline)? { self }

    func post(_ message: UnsafePointer<aos_message>, context: OpaquePointer?, state: UnsafeMutableRawPointer?) -> MessagePost {
        switch aos_host_proxy_post(UnsafeMutableRawPointer(context), state, message) {
        case 0: .sent
        case 1: .full
        case let status: .refused(AOSStatus(rawValue: status))
        }
    }

    func collect(context: OpaquePointer?, state: UnsafeMutableRawPointer?) -> AOSStatus {
        AOSStatus(rawValue: aos_host_proxy_collect(UnsafeMutableRawPointer(context), state))
    }

    func close() {
        inner.close()
    }

    deinit {
        copy.deallocate()
        launch.deallocate()
        for string in strings { free(string) }
    }
}
