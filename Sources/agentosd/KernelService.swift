import Foundation
import KernelCore
import KernelPOSIX
import ControlServer
import ServiceLifecycle

/// The kernel's own service in the daemon's service group: watches the
/// Plugins/ folder, handler deadlines and the id reservation while running,
/// and on graceful shutdown unloads every instance, newest first.
struct KernelService: Service {
    let kernel: Kernel
    let watcher: PluginsWatcher?
    let readiness: Readiness
    let ids: IdentifierReservation
    let unloadTimeout: Double

    func run() async throws {
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
        await kernel.lifecycle.shutdown(timeout: unloadTimeout)
    }
}
