import Foundation
import Glibc
import KernelCore
import Logging
import Synchronization

/// Keeps the kernel in step with a drop-in folder: a `.so` that appears
/// (closed after writing, or moved in, never half written) is loaded under
/// its descriptor's name, a replaced one is reloaded, a removed one unloaded.
///
/// A symlink is followed: its target is loaded, and reloaded when the target
/// is rewritten or replaced (its folder is watched too; a target's removal
/// alone changes nothing). Any other entry named `*.so` that is not a regular
/// file (a directory, FIFO, socket, device, dangling symlink) is refused as
/// `not_regular_file`, without ever being opened for reading.
///
/// A file that fails to load is logged and listed as failed in `ps -a`, and
/// tried again when it changes; one refused because an instance already holds
/// its name is also tried again when a name is freed (`nameFreed`).
///
/// Uses inotify; events are handled one at a time, in order, by `run()`.
/// `nameFreed` may be called from any thread.
public final class PluginsWatcher: Sendable {
    public let directory: String
    private let kernel: Kernel
    private let logger: Logger
    private let unloadTimeout: Double
    /// Where `nameFreed` sends its news while `run` runs.
    private let changes = Mutex<AsyncStream<Change>.Continuation?>(nil)

    public init(directory: String, kernel: Kernel, logger: Logger, unloadTimeout: Double = 5) {
        self.directory = directory
        self.kernel = kernel
        self.logger = logger
        self.unloadTimeout = unloadTimeout
    }

    /// Tells the watcher that no live instance holds `name` any more: files
    /// refused because their name was taken are tried again, in order, after
    /// the changes already queued. Non-blocking; any thread. Connect it to
    /// the kernel's notice that an instance left its process table.
    public func nameFreed(_ name: String) {
        _ = changes.withLock { $0?.yield(.nameFreed(name)) }
    }

    /// Starts watching (creating the folder if needed), loads what is already there,
    /// calls `scanned`, then follows changes until the task is cancelled.
    /// Throws when the folder cannot be created or watched.
    public func run(scanned: @Sendable () -> Void = {}) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let inotify = try Inotify()
        let root = try inotify.watch(directory, UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM))
        let (stream, sink) = AsyncStream.makeStream(of: Change.self)
        changes.withLock { $0 = sink }
        let stop = StopFlag()
        let reader = Thread { Self.read(inotify, into: sink, until: stop) }
        reader.name = "aos:plugins"
        reader.start()
        defer {
            changes.withLock { $0 = nil }
            stop.set()
            sink.finish()
        }

        var state = State(inotify: inotify, root: root, folders: [root: directory])
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in existing.sorted() where Self.isPlugin(file) {
            await appeared(file, state: &state)
        }
        scanned()
        await withTaskCancellationHandler {
            for await change in stream {
                await handle(change, state: &state)
            }
        } onCancel: {
            stop.set()
            sink.finish()
        }
    }

    // MARK: Changes

    /// What the reader thread and `nameFreed` report.
    private enum Change: Sendable {
        /// An entry `name` in the folder of watch `watch` was closed after writing or moved in.
        case written(watch: Int32, name: String)
        /// An entry was created; a regular file is loaded only once closed after writing.
        case created(watch: Int32, name: String)
        /// An entry was deleted or moved away.
        case removed(watch: Int32, name: String)
        /// The watch ended (its folder was removed).
        case ended(watch: Int32)
        case nameFreed(String)
    }

    /// The instance a file became; the id tells it apart from a later instance of the same name.
    private struct Loaded {
        let name: String
        let id: UInt64
    }

    /// A symlink's target: an entry `name` in the folder of watch `watch`.
    private struct Target: Equatable {
        let watch: Int32
        let name: String
    }

    /// What `run` knows, touched only by its task.
    private struct State {
        let inotify: Inotify
        /// The watch of the folder itself.
        let root: Int32
        /// The folder of each watch: this one, and those of symlinks' targets.
        var folders: [Int32: String]
        /// What each file in the folder became, by file name.
        var instances: [String: Loaded] = [:]
        /// Files refused because an instance held their name.
        var waiting: Set<String> = []
        /// The target each symlink in the folder points to, by the symlink's name.
        var links: [String: Target] = [:]
    }

    private func handle(_ change: Change, state: inout State) async {
        switch change {
        case .written(let watch, let name), .created(let watch, let name):
            let isPlugin = watch == state.root && Self.isPlugin(name)
            let target = Target(watch: watch, name: name)
            let links = state.links.filter { $0.value == target }.keys.sorted()
            guard isPlugin || !links.isEmpty else { return }
            if case .created = change, let folder = state.folders[watch], Self.isPendingOrGone(folder + "/" + name) {
                return  // a new file: wait for its close after writing
            }
            if isPlugin {
                await appeared(name, state: &state)
            }
            for link in links {
                logger.info("plugin symlink target changed", metadata: ["file": "\(link)", "target": "\(name)"])
                await appeared(link, state: &state)
            }
        case .removed(let watch, let name):
            guard watch == state.root, Self.isPlugin(name) else { return }
            state.waiting.remove(name)
            state.links[name] = nil
            guard let loaded = state.instances.removeValue(forKey: name) else { return }
            logger.info("plugin file removed; unloading", metadata: ["file": "\(name)", "agent": "\(loaded.name)"])
            await unload(loaded)
        case .ended(let watch):
            state.links = state.links.filter { $0.value.watch != watch }
            state.folders[watch] = nil
        case .nameFreed(let name):
            guard !state.waiting.isEmpty else { return }
            logger.debug("name freed; retrying files that wanted a taken name", metadata: ["agent": "\(name)"])
            for file in state.waiting.sorted() {
                await appeared(file, state: &state, retry: true)
            }
        }
    }

    /// Loads `file`. A file that had loaded before is reloaded in place when
    /// its descriptor keeps the name (`PluginLifecycle.reloadIfSameName`: no
    /// queued message is lost, and a bad new version leaves the running one
    /// alone); one that names another plugin now is unloaded and loaded.
    /// `retry`: a file waiting for its name, whose refusal is already logged and listed.
    private func appeared(_ file: String, state: inout State, retry: Bool = false) async {
        let path = directory + "/" + file
        if let loaded = state.instances[file], kernel.instance(named: loaded.name)?.id == loaded.id {
            follow(file, state: &state)
            if await reloaded(loaded, from: path, file: file, state: &state) { return }
        }
        if let loaded = state.instances.removeValue(forKey: file) {
            logger.info("plugin file changed; unloading what it loaded and loading it anew", metadata: ["file": "\(file)", "agent": "\(loaded.name)"])
            await unload(loaded)
        }
        state.waiting.remove(file)
        follow(file, state: &state)
        do {
            let instance = try await load(path)
            state.instances[file] = Loaded(name: instance.name, id: instance.id)
            if retry { logger.info("loaded a dropped plugin once its name was free", metadata: ["file": "\(file)", "agent": "\(instance.name)"]) }
        } catch {
            if error.code == .nameTaken { state.waiting.insert(file) }
            if retry, error.code == .nameTaken {
                logger.debug("dropped plugin still waits for its name", metadata: ["file": "\(file)"])
                return
            }
            logger.error("cannot load dropped plugin", metadata: ["file": "\(file)", "error": "\(error.message)"])
            if error.code != .initFailed {
                recordFailure(path, name: String(file.dropLast(3)), error: error)
            }
        }
    }

    /// Reloads the instance `loaded` from `path`; false when the descriptor
    /// there names another plugin (nothing changed). A failed reload is
    /// logged and listed as failed; the running instance stays.
    private func reloaded(_ loaded: Loaded, from path: String, file: String, state: inout State) async -> Bool {
        do {
            guard let instance = try await kernel.lifecycle.reloadIfSameName(loaded.name, path: path, timeout: unloadTimeout) else {
                return false
            }
            state.instances[file] = Loaded(name: instance.name, id: instance.id)
            logger.info("plugin file changed; reloaded", metadata: ["file": "\(file)", "agent": "\(instance.name)", "id": "\(instance.id)"])
        } catch {
            logger.error("cannot reload changed plugin", metadata: ["file": "\(file)", "error": "\(error.message)"])
            // A failed init is listed already (the new instance ended failed).
            if error.code != .initFailed { recordFailure(path, name: loaded.name, error: error) }
        }
        return true
    }

    /// Records the target of `file` when it is a symlink, and watches the
    /// target's folder so a rewritten or replaced target is reloaded. A dangling
    /// symlink's target is watched too, so the link loads once it exists.
    private func follow(_ file: String, state: inout State) {
        state.links[file] = nil
        let path = directory + "/" + file
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return }
        let target: String
        if let resolved = realpath(path, nil) {
            target = String(cString: resolved)
            free(resolved)
        } else if let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
            target = destination.hasPrefix("/") ? destination : directory + "/" + destination
        } else {
            return
        }
        let url = URL(fileURLWithPath: target)
        let folder = url.deletingLastPathComponent().path
        do {
            let watch = try state.inotify.watch(folder, UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) | UInt32(IN_MASK_ADD))
            if state.folders[watch] == nil { state.folders[watch] = folder }
            state.links[file] = Target(watch: watch, name: url.lastPathComponent)
        } catch {
            logger.warning("cannot watch the folder of a plugin symlink's target; changes to the target are not followed",
                           metadata: ["file": "\(file)", "folder": "\(folder)", "error": "\(error)"])
        }
    }

    // MARK: The kernel

    private func load(_ path: String) async throws(KernelError) -> Instance {
        try await kernel.lifecycle.load(path: path, origin: .pluginsDir)
    }

    private func recordFailure(_ path: String, name: String, error: KernelError) {
        kernel.lifecycle.recordLoadFailure(path: path, name: name, error: error, origin: .pluginsDir)
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

    // MARK: Files

    private static func isPlugin(_ file: String) -> Bool {
        file.hasSuffix(".so") && !file.hasPrefix(".")
    }

    /// True for a new regular file of one link, which its writer may still be
    /// writing, and for an entry already gone; false for anything complete once
    /// created (a symlink, directory, FIFO, a hard link to an existing file).
    private static func isPendingOrGone(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return true }
        return info.st_mode & S_IFMT == S_IFREG && info.st_nlink == 1
    }

    /// Reads inotify events into `sink` until `stop` is set (polling so it notices).
    private static func read(_ inotify: Inotify, into sink: AsyncStream<Change>.Continuation, until stop: StopFlag) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        while !stop.isSet {
            var descriptor = pollfd(fd: inotify.descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 200) > 0 else { continue }
            let count = Glibc.read(inotify.descriptor, buffer, 64 * 1024)
            guard count > 0 else { continue }
            var offset = 0
            while offset < count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let headerSize = MemoryLayout<inotify_event>.size
                let name = event.len > 0
                    ? String(cString: (buffer + offset + headerSize).assumingMemoryBound(to: CChar.self)) : ""
                offset += headerSize + Int(event.len)
                let mask = event.mask
                if mask & UInt32(IN_IGNORED) != 0 {
                    sink.yield(.ended(watch: event.wd))
                } else if name.isEmpty {
                    continue
                } else if mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 {
                    sink.yield(.written(watch: event.wd, name: name))
                } else if mask & UInt32(IN_CREATE) != 0 {
                    sink.yield(.created(watch: event.wd, name: name))
                } else if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 {
                    sink.yield(.removed(watch: event.wd, name: name))
                }
            }
        }
    }
}

/// An inotify instance; closed when the last of the watcher's task and its reader thread lets go of it.
private final class Inotify: Sendable {
    let descriptor: Int32

    init() throws {
        descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard descriptor >= 0 else { throw POSIXError(errno, "inotify_init1") }
    }

    deinit { close(descriptor) }

    /// Watches `folder` for the events in `mask`; returns the watch descriptor
    /// (the same one each time for the same folder).
    func watch(_ folder: String, _ mask: UInt32) throws -> Int32 {
        let watch = inotify_add_watch(descriptor, folder, mask | UInt32(IN_ONLYDIR))
        guard watch >= 0 else { throw POSIXError(errno, "cannot watch \(folder)") }
        return watch
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
