import Foundation
import Logging
import Synchronization
import Testing
@testable import KernelCore

@Suite struct CrashRecordTests {
    static let sha = String(repeating: "ab", count: 32)
    static let whole = """
        agentos-crash 1
        time_ms 1733420000123
        pid 4242
        signal SIGSEGV
        signal_number 11
        si_code 1
        fault_address 0x0
        thread aos:crasher
        instance crasher
        pc 0x7f0000001139
        pc_object /home/.agentos/plugins/3-crasher.so
        pc_object_offset 0x1139
        pc_symbol crasher_fault
        pc_symbol_offset 0x4
        plugin /srv/Plugins/crasher.so
        plugin_sha256 \(sha)
        plugin_object crasher.so
        plugin_offset 0x1139
        plugin_symbol crasher_fault
        plugin_symbol_offset 0x4
        end

        """

    private static func parse(_ text: String) throws(CrashRecordError) -> CrashRecord {
        try CrashRecord.parse(Array(text.utf8), file: "crash-1-1.txt")
    }

    private static func problem(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func parsesEveryFieldOfAWholeRecord() throws {
        let record = try Self.parse(Self.whole)
        #expect(record.file == "crash-1-1.txt")
        #expect(record.time == Date(timeIntervalSince1970: 1_733_420_000.123))
        #expect(record.pid == 4242)
        #expect(record.signal == "SIGSEGV" && record.signalNumber == 11)
        #expect(record.thread == "aos:crasher" && record.instance == "crasher" && record.tool == nil)
        #expect(record.pcSymbol == "crasher_fault" && record.pcObjectOffset == 0x1139)
        #expect(record.plugin == "/srv/Plugins/crasher.so" && record.pluginSHA256 == Self.sha)
        #expect(record.pluginOffset == 0x1139 && record.pluginSymbol == "crasher_fault")
        #expect(record.name == "crasher")
        #expect(record.blocksPlugin)
        #expect(record.location == "crasher_fault (crasher.so+0x1139)")
        #expect(record.reason == "crashed: SIGSEGV in crasher_fault (crasher.so+0x1139) at 2024-12-05T17:33:20Z")
    }

    @Test func aRecordWithoutAPluginFrameNamesTheFaultingLibraryAndBlocksNothing() throws {
        let record = try Self.parse("""
            agentos-crash 1
            time_ms 0
            pid 1
            signal SIGABRT
            signal_number 6
            thread agentosd
            pc_object /usr/lib/x86_64-linux-gnu/libc.so.6
            pc_object_offset 0x8b95c
            end

            """)
        #expect(record.name == "kernel")
        #expect(!record.blocksPlugin)
        #expect(record.location == "libc.so.6+0x8b95c")
        #expect(record.reason == "crashed: SIGABRT in libc.so.6+0x8b95c at 1970-01-01T00:00:00Z")
    }

    @Test func aToolsRecordIsListedAsTheToolsInstance() throws {
        let record = try Self.parse("""
            agentos-crash 1
            time_ms 0
            pid 1
            signal SIGSEGV
            signal_number 11
            tool crashtool.deref
            plugin /p/crashtool.so
            plugin_sha256 \(Self.sha)
            plugin_offset 0x10f0
            end

            """)
        #expect(record.name == "crashtool")
        #expect(record.reason == "crashed: SIGSEGV in crashtool.so+0x10f0 (tool crashtool.deref) at 1970-01-01T00:00:00Z")
    }

    @Test func escapedValuesAreUndoneAndUnknownKeysSkipped() throws {
        let text = Self.whole.replacingOccurrences(of: "plugin /srv/Plugins/crasher.so", with: "plugin /srv/a\\x0ab\\x5cc.so\nfuture_key anything")
        let record = try Self.parse(text)
        #expect(record.plugin == "/srv/a\nb\\c.so")
    }

    @Test(arguments: [
        ("", "not a crash record (no \"agentos-crash 1\" line first)"),
        ("hello\nend\n", "not a crash record (no \"agentos-crash 1\" line first)"),
        ("agentos-crash 2\nend\n", "unknown format 2 (this kernel reads 1)"),
        ("agentos-crash 1\ntime_ms 5\npid 1\nsignal SIGSEGV\n", "cut short (no \"end\" line)"),
        ("agentos-crash 1\n", "cut short (no \"end\" line)"),
        ("agentos-crash 1\ntime_ms 5\npid 1\nsignal_number 11\nend\n", "no signal"),
        ("agentos-crash 1\ntime_ms x\npid 1\nsignal SIGSEGV\nsignal_number 11\nend\n", "time_ms \"x\" is not a number"),
        ("agentos-crash 1\ntime_ms 1\npid 1\nsignal SIGSEGV\nsignal_number 11\nnovalue\nend\n", "line 6 is not \"key value\""),
        ("agentos-crash 1\ntime_ms 1\ntime_ms 2\nend\n", "time_ms appears twice"),
        ("agentos-crash 1\ntime_ms 1\npid 1\nsignal sig;rm\nsignal_number 11\nend\n", "signal \"sig;rm\" is not a signal's name"),
        ("agentos-crash 1\ntime_ms 1\npid 1\nsignal SIGSEGV\nsignal_number 11\nplugin /p\nplugin_sha256 xyz\nend\n", "plugin_sha256 is not 64 lowercase hex digits"),
        ("agentos-crash 1\ntime_ms 1\npid 1\nsignal SIGSEGV\nsignal_number 11\nplugin_sha256 \(CrashRecordTests.sha)\nend\n", "plugin_sha256 without plugin"),
        ("agentos-crash 1\ntime_ms 1\npid 1\nsignal SIGSEGV\nsignal_number 11\nplugin_offset 12\nend\n", "plugin_offset \"12\" is not a hex number"),
        ("agentos-crash 1\ntime_ms 1\npid 1\nsignal SIGSEGV\nsignal_number 11\nthread a\\x4\nend\n", "thread has a bad escape"),
    ])
    func badRecordsAreRefusedWithTheReason(text: String, expected: String) {
        #expect(Self.problem(text) == expected)
    }

    @Test func notUTF8AndOversizeAreRefused() {
        #expect(throws: CrashRecordError("not UTF-8 text")) { try CrashRecord.parse([0xFF, 0xFE, 0x0A], file: "x") }
        let big = [UInt8](repeating: 0x41, count: CrashRecord.maxBytes + 1)
        #expect(throws: CrashRecordError("\(CrashRecord.maxBytes + 1) bytes; a crash record has at most \(CrashRecord.maxBytes)")) {
            try CrashRecord.parse(big, file: "x")
        }
    }

    /// The service: what blocks, what clears a record.
    @Test func aRecordBlocksItsContentUntilAnExplicitLoadOrAChangedFile() throws {
        let record = try Self.parse(Self.whole)
        var other = record
        other.file = "crash-2-2.txt"
        other.plugin = "/srv/other.so"
        other.pluginSHA256 = String(repeating: "cd", count: 32)
        let store = MemoryCrashStore([record, other])
        let service = CrashRecordService(store: store, table: InstanceTable(endedLimit: 10), logger: Logger(label: "test"))
        service.readAtStart()
        #expect(service.blocking(sha256: Self.sha)?.file == "crash-1-1.txt")
        #expect(service.blocking(sha256: String(repeating: "00", count: 32)) == nil)

        // An automatic load of the same content elsewhere does not clear it.
        service.loaded(path: "/elsewhere.so", sha256: String(repeating: "00", count: 32), explicitly: false)
        #expect(service.report.records.count == 2)
        // The crashed path with new content does.
        service.loaded(path: "/srv/Plugins/crasher.so", sha256: String(repeating: "00", count: 32), explicitly: false)
        #expect(service.report.records.map(\.file) == ["crash-2-2.txt"])
        #expect(store.removed == ["crash-1-1.txt"])
        // An explicit load of the content does, from any path.
        service.loaded(path: "/copy.so", sha256: other.pluginSHA256!, explicitly: true)
        #expect(service.report.records.isEmpty)
        #expect(store.removed == ["crash-1-1.txt", "crash-2-2.txt"])
    }

    @Test func clearByNameOrAll() throws {
        let record = try Self.parse(Self.whole)
        let store = MemoryCrashStore([record], unreadable: [UnreadableCrashRecord(file: "junk", problem: "not UTF-8 text")])
        let service = CrashRecordService(store: store, table: InstanceTable(endedLimit: 10), logger: Logger(label: "test"))
        service.readAtStart()
        #expect(service.clear(name: "nobody").isEmpty)
        #expect(service.clear(name: "crasher") == ["crash-1-1.txt"])
        #expect(service.report.unreadable.count == 1)
        #expect(service.clear(name: nil) == ["junk"])
        #expect(service.report == CrashRecordService.Report())
    }
}

/// Records in memory, counting removals.
private final class MemoryCrashStore: CrashRecordStore {
    private let records: [CrashRecord]
    private let unreadable: [UnreadableCrashRecord]
    private let removals = Mutex<[String]>([])

    init(_ records: [CrashRecord], unreadable: [UnreadableCrashRecord] = []) {
        self.records = records
        self.unreadable = unreadable
    }

    var removed: [String] { removals.withLock { $0 } }

    func all() -> (records: [CrashRecord], unreadable: [UnreadableCrashRecord]) { (records, unreadable) }

    func remove(file: String) throws(CrashRecordError) { removals.withLock { $0.append(file) } }
}
