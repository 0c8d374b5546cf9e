import Foundation
import Glibc
import KernelCore
import Logging
import Synchronization

/// Keeps the kernel in step with a drop-in folder: a `.so` that appears
/// (closed after writing, or moved in, never half written) is loaded under
/// its descriptor's name, a replaced one is reloaded, a removed one unloaded.
/// A file that fails to load is logged and listed as failed in `ps -a`, and
/// tried again when it changes.
///
/// Uses inotify; events are handled one at a time, in order, by `run()`.
public final class PluginsWatcher: Sendable {
    public let directory: String
    private let kernel: Kernel
    private let logger: Logger
    private let unloadTimeout: Double

    public init(directory: String, kernel: Kernel, logger: Logger, unloadTimeout: Double = 5) {
        self.directory = directory
        self.kernel = kernel
        self.logger = logger
        self.unloadTimeout = unloadTimeout
    }

    /// The instance a file became; the id tells it apart from a later instance of the same name.
    private struct Loaded {
        let name: String
        let id: UInt64
    }

    private enum Change: Sendable {
        case appeared(String)
        case removed(String)
    }

    /// Starts watching (creating the folder if needed), loads what is already there,
    /// calls `scanned`, then follows changes until the task is cancelled.
    /// Throws when the folder cannot be created or watched.
    public func run(scanned: @Sendable () -> Void = {}) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let inotify = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard inotify >= 0 else { throw POSIXError(errno, "inotify_init1") }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM)
        guard inotify_add_watch(inotify, directory, mask) >= 0 else {
            close(inotify)
            throw POSIXError(errno, "cannot watch \(directory)")
        }
        let (changes, sink) = AsyncStream.makeStream(of: Change.self)
        let stop = StopFlag()
        let reader = Thread {
            Self.read(inotify, into: sink, until: stop)
            close(inotify)
        }
        reader.name = "aos:plugins"
        reader.start()
        defer {
            stop.set()
            sink.finish()
        }

        var instances: [String: Loaded] = [:]  // by file name
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in existing.sorted() where Self.isPlugin(file) {
            await handle(.appeared(file), instances: &instances)
        }
        scanned()
        await withTaskCancellationHandler {
            for await change in changes {
                await handle(change, instances: &instances)
            }
        } onCancel: {
            stop.set()
            sink.finish()
        }
    }

    private func handle(_ change: Change, instances: inout [String: Loaded]) async {
        switch change {
        case .appeared(let file):
            if let loaded = instances.removeValue(forKey: file) {
                logger.info("plugin file changed; reloading", metadata: ["file": "\(file)", "agent": "\(loaded.name)"])
                await unload(loaded)
            }
            let path = directory + "/" + file
            do {
                let instance = try await kernel.lifecycle.load(path: path, origin: .pluginsDir)
                instances[file] = Loaded(name: instance.name, id: instance.id)
            } catch {
                logger.error("cannot load dropped plugin", metadata: ["file": "\(file)", "error": "\(error.message)"])
                if error.code != .initFailed {
                    kernel.lifecycle.recordLoadFailure(path: path, name: String(file.dropLast(3)), error: error, origin: .pluginsDir)
                }
            }
        case .removed(let file):
            guard let loaded = instances.removeValue(forKey: file) else { return }
            logger.info("plugin file removed; unloading", metadata: ["file": "\(file)", "agent": "\(loaded.name)"])
            await unload(loaded)
        }
    }

    /// Unloads the instance the file became, unless it is gone or its name now belongs to another.
    private func unload(_ loaded: Loaded) async {
        guard kernel.instance(named: loaded.name)?.id == loaded.id else { return }
        do {
            _ = try await kernel.lifecycle.unload(name: loaded.name, timeout: unloadTimeout)
        } catch {
            logger.error("unload failed", metadata: ["agent": "\(loaded.name)", "error": "\(error.message)"])
        }
    }

    private static func isPlugin(_ file: String) -> Bool {
        file.hasSuffix(".so") && !file.hasPrefix(".")
    }

    /// Reads inotify events into `sink` until `stop` is set (polling so it notices).
    private static func read(_ inotify: Int32, into sink: AsyncStream<Change>.Continuation, until stop: StopFlag) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        while !stop.isSet {
            var descriptor = pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 200) > 0 else { continue }
            let count = Glibc.read(inotify, buffer, 64 * 1024)
            guard count > 0 else { continue }
            var offset = 0
            while offset < count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let headerSize = MemoryLayout<inotify_event>.size
                let name = event.len > 0
                    ? String(cString: (buffer + offset + headerSize).assumingMemoryBound(to: CChar.self)) : ""
                offset += headerSize + Int(event.len)
                guard isPlugin(name) else { continue }
                let change: Change = event.mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 ? .appeared(name) : .removed(name)
                sink.yield(change)
            }
        }
    }
}

/// Tells the inotify reader thread to finish.
private final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

extension POSIXError {
    init(_ code: Int32, _ what: String) {
        self.init(POSIXErrorCode(rawValue: code) ?? .EIO, userInfo: [NSLocalizedDescriptionKey: "\(what): \(String(cString: strerror(code)))"])
    }
}
