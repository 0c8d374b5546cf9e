import Feedback
import Foundation
import Testing

/// The feedback database: recording, replacing, stats, export, and files it cannot use.
@Suite struct FeedbackStoreTests {
    /// A fresh folder for one test's database.
    static func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agentos-feedback-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A whole-second time `secondsAgo` before now (the database keeps milliseconds).
    static func time(_ secondsAgo: Double) -> Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - secondsAgo).rounded(.down))
    }

    static func rating(
        _ id: UInt64, _ rating: Rating = .up, agent: String = "echo", comment: String? = nil, secondsAgo: Double = 0
    ) -> FeedbackRecord {
        FeedbackRecord(
            requestID: id, agent: agent, question: "question \(id)", answer: "answer \(id)", rating: rating,
            comment: comment, createdAt: time(secondsAgo))
    }

    @Test func aRatingIsKeptWithItsQuestionAnswerAndComment() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try FeedbackStore(path: folder + "/feedback.sqlite")
        let record = FeedbackRecord(
            requestID: 42, agent: "support", question: "How much is the A-200?", answer: "It costs 199 €.\nAnything else?",
            rating: .up, comment: "exact, thanks — 👍", createdAt: Self.time(5))
        #expect(try await store.record(record) == .added)
        #expect(try await store.all() == [record])

        let reopened = try FeedbackStore(path: folder + "/feedback.sqlite")
        #expect(try await reopened.all() == [record], "ratings outlive the kernel that recorded them")
    }

    @Test func ratingARequestAgainReplacesItsRating() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try FeedbackStore(path: folder + "/feedback.sqlite")
        #expect(try await store.record(Self.rating(7, .up, comment: "good")) == .added)
        let second = Self.rating(7, .down)
        #expect(try await store.record(second) == .replaced)
        #expect(try await store.all() == [second], "one row per request; the old comment is gone too")
        #expect(try await store.stats() == [AgentSatisfaction(agent: "echo", count: 1, up: 0, down: 1)])
    }

    @Test func statsCountEachAgentsRatingsAndSatisfaction() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try FeedbackStore(path: folder + "/feedback.sqlite")
        #expect(try await store.stats().isEmpty)
        for (id, agent, rating) in [(1, "support", Rating.up), (2, "support", .up), (3, "support", .down), (4, "echo", .down)] {
            try await store.record(Self.rating(UInt64(id), rating, agent: agent))
        }
        let stats = try await store.stats()
        #expect(stats == [
            AgentSatisfaction(agent: "echo", count: 1, up: 0, down: 1),
            AgentSatisfaction(agent: "support", count: 3, up: 2, down: 1),
        ])
        #expect(stats.map(\.satisfactionRate) == [0, 2.0 / 3.0])
        #expect(try await store.stats(agent: "support") == [stats[1]])
        #expect(try await store.stats(agent: "nobody").isEmpty)
    }

    @Test func statsSinceCountOnlyRecentRatings() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try FeedbackStore(path: folder + "/feedback.sqlite")
        try await store.record(Self.rating(1, .up, secondsAgo: 10 * 86_400))
        try await store.record(Self.rating(2, .down, secondsAgo: 3 * 86_400))
        try await store.record(Self.rating(3, .up, secondsAgo: 60))
        #expect(try await store.stats(since: Self.time(7 * 86_400)) == [AgentSatisfaction(agent: "echo", count: 2, up: 1, down: 1)])
        #expect(try await store.stats(since: Self.time(3_600)) == [AgentSatisfaction(agent: "echo", count: 1, up: 1, down: 0)])
        #expect(try await store.stats(agent: "echo", since: Self.time(30)).isEmpty)
        #expect(try await store.stats(since: Self.time(30 * 86_400)).first?.count == 3)
    }

    @Test func exportPagesThroughEveryRatingInTheOrderTheyWereFirstGiven() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try FeedbackStore(path: folder + "/feedback.sqlite")
        for id in 1...7 { try await store.record(Self.rating(UInt64(id), agent: id % 2 == 0 ? "even" : "odd")) }
        try await store.record(Self.rating(2, .down, agent: "even", comment: "changed my mind"))

        var pages: [[UInt64]] = []
        try await store.export(pageSize: 3) { page in pages.append(page.map(\.requestID)) }
        #expect(pages == [[1, 2, 3], [4, 5, 6], [7]])

        var even: [FeedbackRecord] = []
        try await store.export(agent: "even", pageSize: 3) { even += $0 }
        #expect(even.map(\.requestID) == [2, 4, 6])
        #expect(even.first?.rating == .down && even.first?.comment == "changed my mind")

        var none = 0
        try await store.export(agent: "nobody") { none += $0.count }
        #expect(none == 0)
    }

    @Test func aCorruptFileIsRefusedWithAClearError() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/feedback.sqlite"
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: FeedbackStoreError.self) { try FeedbackStore(path: path) }
        guard case .corrupt(path, let detail)? = error else {
            Issue.record("expected .corrupt, got \(String(describing: error))")
            return
        }
        #expect(detail == "file is not a database")
        #expect(error?.description == "feedback database \(path) is corrupt (file is not a database): move it aside and restart the kernel to start an empty one")
    }

    @Test func aDatabaseWithDamagedPagesIsRefusedAsCorrupt() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/feedback.sqlite"
        do {
            let store = try FeedbackStore(path: path)
            for id in 1...200 { try await store.record(Self.rating(UInt64(id), comment: String(repeating: "x", count: 200))) }
        }
        // Keep the header and the schema page, scribble over the rest.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.count > 3 * 4096)
        bytes.replaceSubrange(4096..<bytes.count, with: Data(repeating: 0xA5, count: bytes.count - 4096))
        try bytes.write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: FeedbackStoreError.self) { try FeedbackStore(path: path) }
        guard case .corrupt(path, _)? = error else {
            Issue.record("expected .corrupt, got \(String(describing: error))")
            return
        }
    }

    @Test(.enabled(if: ReadOnly.canBeMade, "needs a non-root user, or root with chattr +i"))
    func aReadOnlyFileIsRefusedWithAClearError() async throws {
        let folder = try Self.folder()
        let path = folder + "/feedback.sqlite"
        defer {
            ReadOnly.undo(path)
            try? FileManager.default.removeItem(atPath: folder)
        }
        try await FeedbackStore(path: path).record(Self.rating(1))
        try #require(ReadOnly.make(path))
        let error = #expect(throws: FeedbackStoreError.self) { try FeedbackStore(path: path) }
        guard case .readOnly(path, _)? = error else {
            Issue.record("expected .readOnly, got \(String(describing: error))")
            return
        }
        #expect(error?.description.hasPrefix("feedback database \(path) is read-only (") == true)
        #expect(error?.description.hasSuffix("): make it and its folder writable by the kernel's user, then restart the kernel") == true)
    }

    @Test(.enabled(if: ReadOnly.canBeMade, "needs a non-root user, or root with chattr +i"))
    func aWritableFileInAReadOnlyFolderIsRefusedAtOpen() async throws {
        let folder = try Self.folder()
        let path = folder + "/feedback.sqlite"
        defer {
            ReadOnly.undo(folder)
            try? FileManager.default.removeItem(atPath: folder)
        }
        try await FeedbackStore(path: path).record(Self.rating(1))
        try #require(ReadOnly.make(folder))
        // Reading would work; the first rating would not: opening says so at once.
        let error = #expect(throws: FeedbackStoreError.self) { try FeedbackStore(path: path) }
        guard case .readOnly(path, let detail)? = error else {
            Issue.record("expected .readOnly, got \(String(describing: error))")
            return
        }
        #expect(detail == "its folder \(folder) is not writable")
    }

    @Test func aFileInAMissingFolderIsUnusable() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agentos-absent-\(UUID().uuidString.prefix(8))/feedback.sqlite").path
        let error = #expect(throws: FeedbackStoreError.self) { try FeedbackStore(path: path) }
        guard case .unusable(path, let detail)? = error else {
            Issue.record("expected .unusable, got \(String(describing: error))")
            return
        }
        #expect(detail == "unable to open database file")
    }
}

/// Files and folders this process cannot write, even as root (chattr +i).
enum ReadOnly {
    /// Whether `make` works here: as a user, chmod; as root, chattr +i (CAP_LINUX_IMMUTABLE, ext4 and the like).
    static let canBeMade: Bool = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("agentos-readonly-probe-\(UUID().uuidString.prefix(8))").path
        guard FileManager.default.createFile(atPath: probe, contents: Data("x".utf8)) else { return false }
        defer {
            undo(probe)
            try? FileManager.default.removeItem(atPath: probe)
        }
        return make(probe)
    }()

    /// Makes `path` unwritable; true when writes to it now fail.
    static func make(_ path: String) -> Bool {
        chmod(path, isDirectory(path) ? 0o555 : 0o444)
        if geteuid() == 0 { chattr("+i", path) }
        return access(path, W_OK) != 0
    }

    static func undo(_ path: String) {
        if geteuid() == 0 { chattr("-i", path) }
        chmod(path, isDirectory(path) ? 0o755 : 0o644)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }

    private static func chattr(_ flag: String, _ path: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["chattr", flag, path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return }
        process.waitUntilExit()
    }
}
