import Foundation
import KernelCore
import KernelPOSIX
import ControlServer
import ServiceLifecycle

/// The kernel's own service in the daemon's service group: first loads again
/// the instances recorded in the state database (or, with `restore` false,
/// forgets them) and resumes the runs the last stop interrupted, then watches the Plugins/ folder, handler deadlines and the
/// id reservation while running, and on graceful shutdown stops writing
/// runs' checkpoints (so the runs it cancels resume at the next start) and
/// unloads every instance, newest first.
///
/// Restoring before the first scan of Plugins/ lets a recorded instance keep
/// its name: a file in Plugins/ that wants the same name waits for it, as for
/// any taken name.
struct KernelService: Service {
    let kernel: Kernel
    let watcher: PluginsWatcher?
    let readiness: Readiness
    let ids: IdentifierReservation
    let unloadTimeout: Double
    let restore: Bool

    func run() async throws {
        if restore {
            await kernel.records.restore(through: kernel.lifecycle)
        } else {
            kernel.records.forgetAll()
        }
        kernel.inference.resumeRuns()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if let watcher {
                    group.addTask {
                        do {
                            try await watcher.run(scanned: readiness.pluginsScanned)
                        } catch {
                            kernel.logger.error("cannot watch the plugins folder", metadata: ["error": "\(error)"])
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(nanoseconds: 100_000_000)
                        kernel.lifecycle.checkHandlerDeadlines()
                        do {
                            try ids.keepAhead(of: kernel.nextID)
                        } catch {
                            kernel.logger.error("cannot reserve ids", metadata: ["error": "\(error)"])
                        }
                    }
                }
            }
        }
        kernel.logger.info("shutting down: unloading instances")
        kernel.runs.suspend()
        await kernel.lifecycle.shutdown(timeout: unloadTimeout)
    }
}
