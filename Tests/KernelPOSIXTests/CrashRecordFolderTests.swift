import CCrashRecord
import Foundation
import Glibc
import KernelCore
import KernelPOSIX
import Testing

/// What the fatal-signal handler's writer (`aos_crash_write`, called here
/// outside a handler) writes, `CrashRecordFolder` reads back; the folder keeps
/// the newest records and reports the rest of what it finds.
@Suite(.serialized) struct CrashRecordFolderTests {
    private static func scratchFolder() throws -> String {
        let path = NSTemporaryDirectory() + "agentos-crash-\(UUID().uuidString.prefix(8))"
        try CrashRecordFolder(path: path).prepare()
        return path
    }

    @Test func whatTheWriterWritesTheFolderReadsBack() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(aos_crash_configure(folder) == 0)
        let sha = String(repeating: "0f", count: 32)
        // This test's own code stands for a plugin: the innermost frame in a registered library.
        // (The tests are one executable, with CCrashRecord linked in: an address of a global
        // here is in the same library as the writer's own frames.)
        let anchor = withUnsafeMutablePointer(to: &crashRecordAnchor) { UnsafeRawPointer($0) }
        aos_crash_register_library(anchor, "/srv/odd\nname\\.so", sha)
        defer { aos_crash_unregister_library(anchor) }
        let written: String? = Thread.detachNewThreadAndWait {
            aos_crash_thread_begin("unit-instance")
            defer { aos_crash_thread_end() }
            return aos_crash_write(SIGBUS, nil, nil, "aos:unit-instan", "unit-instance.tool").map { String(cString: $0) }
        }
        let path = try #require(written)
        #expect(path.hasPrefix(folder + "/crash-") && path.hasSuffix(".txt"))

        let found = CrashRecordFolder(path: folder).all()
        #expect(found.unreadable.isEmpty, "\(found.unreadable)")
        let record = try #require(found.records.first)
        #expect(found.records.count == 1)
        #expect(record.file == URL(fileURLWithPath: path).lastPathComponent)
        #expect(record.signal == "SIGBUS" && record.signalNumber == Int(SIGBUS))
        #expect(record.pid == Int(getpid()))
        #expect(abs(record.time.timeIntervalSinceNow) < 60)
        #expect(record.instance == "unit-instance" && record.thread == "aos:unit-instan" && record.tool == "unit-instance.tool")
        #expect(record.plugin == "/srv/odd\nname\\.so" && record.pluginSHA256 == sha)
        #expect(record.blocksPlugin)

        // A thread that runs no instance names none.
        aos_crash_unregister_library(anchor)
        let second: String? = Thread.detachNewThreadAndWait {
            aos_crash_write(SIGSEGV, nil, nil, "worker", nil).map { String(cString: $0) }
        }
        let secondPath = try #require(second)
        let other = try #require(CrashRecordFolder(path: folder).all().records.first { $0.file == URL(fileURLWithPath: secondPath).lastPathComponent })
        #expect(other.instance == nil && other.plugin == nil && !other.blocksPlugin && other.name == "kernel")
    }

    @Test func keepsTheNewestAndReportsWhatIsNotARecord() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for index in 0..<(CrashRecordFolder.keep + 3) {
            let path = "\(folder)/crash-\(index)-1.txt"
            try "agentos-crash 1\ntime_ms \(index)\npid 1\nsignal SIGILL\nsignal_number 4\nend\n".write(toFile: path, atomically: false, encoding: .utf8)
            var times = [timespec(tv_sec: 1_000_000 + index, tv_nsec: 0), timespec(tv_sec: 1_000_000 + index, tv_nsec: 0)]
            utimensat(AT_FDCWD, path, &times, 0)
        }
        try "half a rec".write(toFile: folder + "/.crash-9-9.tmp", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: folder + "/zz-dir", withIntermediateDirectories: false)
        let found = CrashRecordFolder(path: folder).all()
        // 16 kept of 19 records and the folder, the oldest removed; the temporary file is gone.
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(!names.contains(".crash-9-9.tmp"))
        #expect(names.count == CrashRecordFolder.keep)
        #expect(found.records.count + found.unreadable.count == CrashRecordFolder.keep)
        #expect(found.unreadable == [UnreadableCrashRecord(file: "zz-dir", problem: "not a regular file")])
        #expect(found.records.map(\.file).last == "crash-18-1.txt")

        #expect(throws: CrashRecordError.self) { try CrashRecordFolder(path: folder).remove(file: "../x") }
        try CrashRecordFolder(path: folder).remove(file: "crash-18-1.txt")
        try CrashRecordFolder(path: folder).remove(file: "crash-18-1.txt")  // already gone: fine
        #expect(!FileManager.default.fileExists(atPath: folder + "/crash-18-1.txt"))
    }
}

/// Any address in the test executable.
nonisolated(unsafe) private var crashRecordAnchor: UInt8 = 0

extension Thread {
    /// Runs `body` on a new thread and waits for its result.
    fileprivate static func detachNewThreadAndWait<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: T?
        Thread.detachNewThread {
            result = body()
            done.signal()
        }
        done.wait()
        return result!
    }
}
