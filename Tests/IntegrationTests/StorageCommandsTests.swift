import ControlAPI
import Foundation
import Testing

/// `agentctl kv` and the storage syscalls on a real `agentosd`: what agents
/// store is what the operator sees, values outlast the kernel, and a state
/// database that cannot be used is named while the kernel, its agents and
/// inference carry on. The `kvprobe` fixture makes the syscalls (keys in hex).
@Suite(.serialized) struct StorageCommandsTests {
    private static func hex(_ text: String) -> String { text.utf8.map { String(format: "%02x", $0) }.joined() }

    private static func cells(_ table: String) -> [[Substring]] {
        table.split(separator: "\n").map { $0.split(separator: " ") }
    }

    private func json<T: Decodable>(_ type: T.Type, _ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
        #expect(result.status == 0, "\(result.stderr)", sourceLocation: sourceLocation)
        return try ControlJSON.decoder().decode(type, from: Data(result.stdout.utf8))
    }

    @Test func whatAnAgentStoresAgentctlListsReadsWritesAndRemoves() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("kvprobe", as: "notes", grants: ["kv"])
        #expect(try await kernel.ask("notes", "put - \(Self.hex("customer/42")) any asked about the A-200") == "AOS_OK|1")
        #expect(try await kernel.ask("notes", "put - \(Self.hex("customer/7")) any tent") == "AOS_OK|1")

        let namespaces = try json(KVNamespaceList.self, kernel.agentctl("kv", "ls", "-o", "json"))
        #expect(namespaces.namespaces == [KVNamespaceInfo(namespace: "notes", keys: 2, bytes: 11 + 21 + 10 + 4)])
        #expect(Self.cells(try kernel.agentctl("kv", "ls").stdout) == [["NAMESPACE", "KEYS", "BYTES"], ["notes", "2", "46"]])
        let keys = try json(KVPageInfo.self, kernel.agentctl("kv", "ls", "notes", "--prefix", "customer/4", "-o", "json"))
        #expect(keys.keys == [KVKeyInfo(key: "customer/42", version: 1, bytes: 21)])
        #expect(Self.cells(try kernel.agentctl("kv", "ls", "notes").stdout) == [["KEY", "VERSION", "BYTES"], ["customer/42", "1", "21"], ["customer/7", "1", "4"]])

        #expect(try kernel.agentctl("kv", "get", "notes", "customer/42").stdout == "asked about the A-200\n")
        let entry = try json(KVEntryInfo.self, kernel.agentctl("kv", "get", "notes", "customer/42", "-o", "json"))
        #expect(entry.version == 1 && entry.value == "asked about the A-200" && entry.bytes == Array("asked about the A-200".utf8))

        // The operator writes with compare-and-set; the agent reads it.
        let put = try json(KVEntryInfo.self, kernel.agentctl("kv", "put", "notes", "customer/42", "and the stock", "--expect", "1", "-o", "json"))
        #expect(put.version == 2)
        #expect(try await kernel.ask("notes", "get - \(Self.hex("customer/42"))") == "AOS_OK|2|and the stock")
        let stale = try kernel.agentctl("kv", "put", "notes", "customer/42", "lost", "--expect", "1")
        #expect(stale.status == 1)
        #expect(stale.stderr == "agentctl: the key is at version 2, not the one expected\n", "\(stale.stderr)")

        let removed = try json(KVNamespaceInfo.self, kernel.agentctl("kv", "rm", "notes", "customer/7", "-o", "json"))
        #expect(removed == KVNamespaceInfo(namespace: "notes", keys: 1, bytes: 11 + 13))
        #expect(try await kernel.ask("notes", "get - \(Self.hex("customer/7"))").hasPrefix("AOS_ENOTFOUND|"))
        let missing = try kernel.agentctl("kv", "get", "notes", "customer/7")
        #expect(missing.status == 1 && missing.stderr == "agentctl: namespace notes has no key \"customer/7\"\n", "\(missing.stderr)")
    }

    @Test func aProcessModeAgentMakesEveryStorageSyscallThroughItsChannel() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        _ = try await kernel.client.load(LoadRequest(path: Paths.plugin("kvprobe"), name: "boxed", grants: ["kv"], isolation: "process"))
        let key = Self.hex("customer/42")
        #expect(try await kernel.ask("boxed", "put - \(key) 0 asked about the A-200") == "AOS_OK|1")
        #expect(try await kernel.ask("boxed", "put - \(key) 0 again").hasPrefix("AOS_ECONFLICT|"))
        #expect(try await kernel.ask("boxed", "get - \(key)") == "AOS_OK|1|asked about the A-200")
        #expect(try await kernel.ask("boxed", "putn - \(Self.hex("big")) 1048576") == "AOS_OK|1")
        #expect(try kernel.agentctl("kv", "get", "boxed", "big", "-o", "json").stdout.count > 1_048_576)
        #expect(
            try await kernel.ask("boxed", "list - c - 5")
                == #"AOS_OK|{"keys":[{"key":"customer/42","version":1,"bytes":21}],"next":null}"#)
        #expect(try await kernel.ask("boxed", "del - \(key) 1") == "AOS_OK")
        // Errors come back with their status and last_error, and the host carries on.
        #expect(try await kernel.ask("boxed", "get - \(key)") == "AOS_ENOTFOUND|namespace boxed has no key \"customer/42\"")
        #expect(try await kernel.ask("boxed", "get other \(key)").hasPrefix("AOS_EPERM|"))
        #expect(try await kernel.ask("boxed", "putn - \(Self.hex("huge")) 1048577").hasPrefix("AOS_ETOOBIG|"))
        let row = try #require(try await kernel.listed("boxed"))
        #expect(row.host?.crashes == 0 && row.host?.pid != nil)
        try await kernel.expectHealthy()
    }

    @Test func agentctlRefusesBadNamesKeysAndValuesByName() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let emptyKey = try kernel.agentctl("kv", "put", "notes", "", "v")
        #expect(emptyKey.status == 1 && emptyKey.stderr.contains("the key is empty: use 1 to 512 bytes of UTF-8"), "\(emptyKey.stderr)")
        let longKey = try kernel.agentctl("kv", "get", "notes", String(repeating: "k", count: 513))
        #expect(longKey.status == 1 && longKey.stderr.contains("the key is 513 bytes; keys are at most 512"), "\(longKey.stderr)")
        let badNamespace = try kernel.agentctl("kv", "ls", "no such")
        #expect(badNamespace.status == 1 && badNamespace.stderr.contains("invalid storage namespace \"no such\""), "\(badNamespace.stderr)")
        let message = await expectAPIError("too_big", status: 413) {
            try await kernel.client.kvPut("notes", KVPut(key: "big", value: String(repeating: "x", count: (1 << 20) + 1)))
        }
        #expect(message == "the value is 1048577 bytes; values are at most 1048576 bytes")
        #expect(try json(KVNamespaceList.self, kernel.agentctl("kv", "ls", "-o", "json")).namespaces.isEmpty)
        try await kernel.expectHealthy()
    }

    @Test func aKernelKilledInABatchOfPutsKeepsEveryValueWholeAndTheTotalsExact() async throws {
        let first = try await KernelProcess()
        defer { first.stop() }
        try await first.load("kvprobe", as: "notes", grants: ["kv"])
        let size = 4096
        _ = try await first.client.send("notes", SendRequest(text: "batch - 100000 \(size)", wait: false))
        #expect(try await first.eventually(30) { try await first.client.kvNamespaces().first?.keys ?? 0 >= 200 })
        first.signal(SIGKILL)
        #expect(await first.waitForExit() == SIGKILL)

        let second = try await KernelProcess(root: first.root)
        defer { second.stop() }
        let usage = try #require(try await second.client.kvNamespaces().first)
        var keys: [KVKeyInfo] = []
        var after: String?
        repeat {
            let page = try await second.client.kvKeys(of: "notes", after: after)
            keys += page.keys
            after = page.next
        } while after != nil
        #expect(usage.keys == keys.count && usage.keys >= 200 && usage.keys < 100_000)
        #expect(usage.bytes == keys.reduce(0) { $0 + $1.key.utf8.count + $1.bytes })
        for key in keys {
            let entry = try await second.client.kvGet("notes", key: key.key)
            let digit = key.key.utf8.last!
            #expect(entry.version == 1 && entry.bytes == [UInt8](repeating: digit, count: size), "\(key.key)")
        }
        // The agent, restored from state.sqlite, carries on where it was cut.
        #expect(try await second.eventually { try await second.listed("notes")?.state == "running" })
        #expect(try await second.ask("notes", "put - \(Self.hex("b\(keys.count)")) 0 next") == "AOS_OK|1")
    }

    @Test func aCorruptStateDatabaseIsNamedAndTheKernelAgentsAndInferenceCarryOn() async throws {
        let root = KernelProcess.newRoot()
        let home = root + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = home + "/state.sqlite"
        try Data(repeating: 0x5A, count: 16_384).write(to: URL(fileURLWithPath: path))
        let kernel = try await KernelProcess(InferenceTests.engine, root: root)
        defer { kernel.stop() }
        let named = "state database \(path) is corrupt (file is not a database): stop the kernel, move the file aside"

        #expect(kernel.log().contains("storage disabled: \(named)"), "\(kernel.log())")
        let listed = try kernel.agentctl("kv", "ls")
        #expect(listed.status == 1 && listed.stderr.hasPrefix("agentctl: storage is unavailable: \(named)"), "\(listed.stderr)")
        try await kernel.load("kvprobe", as: "notes", grants: ["kv"])
        #expect(try await kernel.ask("notes", "put - \(Self.hex("k")) any v").hasPrefix("AOS_ESTORAGE|kv_put: storage is unavailable: \(named)"))
        #expect(try await kernel.ask("notes", "list - - - 0").hasPrefix("AOS_ESTORAGE|"))

        try await kernel.expectHealthy()
        var request = InferRequest(prompt: "Say hello.")
        request.maxTokens = 8
        let answer = try await kernel.client.infer(request)
        #expect(answer.usage.completionTokens > 0 && !answer.text.isEmpty)
        // The file is left as it was, for the operator to recover.
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(repeating: 0x5A, count: 16_384))
    }
}
