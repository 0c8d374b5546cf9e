import Testing
@testable import KernelCore

/// Capability texts, globs, and what delegation may lend.
@Suite struct CapabilityTests {
    @Test func parsesEveryForm() throws {
        #expect(try Capability(parsing: "infer") == .infer)
        #expect(try Capability(parsing: "kv") == .kv)
        #expect(try Capability(parsing: "admin") == .admin)
        #expect(try Capability(parsing: "net") == .net)
        #expect(try Capability(parsing: "spawn").description == "spawn")
        #expect(try Capability(parsing: "tool:catalog.*") == .tool("catalog.*"))
        #expect(try Capability(parsing: "send:echo") == .send("echo"))
        #expect(try Capability(parsing: "send:worker-[0-9]").description == "send:worker-[0-9]")
        #expect(try Capability(parsing: "kv:shared") == .kvNamespace("shared", readOnly: false))
        #expect(try Capability(parsing: "kv:shared:ro") == .kvNamespace("shared", readOnly: true))
        #expect(try Capability(parsing: "kv:shared:ro").description == "kv:shared:ro")
    }

    @Test(arguments: [
        ("", "must be 1 to 200 bytes"),
        ("Infer", "unknown capability \"Infer\""),
        ("bogus", "unknown capability \"bogus\""),
        ("net:example.com", "unknown capability \"net:example.com\""),
        ("tool:", "needs a name or glob after \"tool:\""),
        ("send:", "needs a name or glob after \"send:\""),
        ("send: echo", "needs a name or glob"),
        ("tool:a b", "needs a name or glob"),
        ("file:/etc/passwd", "unknown capability \"file:/etc/passwd\""),
        ("kv:", "needs a name or glob after \"kv:\""),
        ("kv::ro", "needs a namespace after \"kv:\""),
        ("kv:a*", "needs a namespace after \"kv:\""),
        ("kv:.hidden", "needs a namespace after \"kv:\""),
        ("tool:caf\u{E9}", "printable ASCII"),
        (String(repeating: "x", count: 201), "must be 1 to 200 bytes"),
    ])
    func refusesBadText(text: String, message: String) {
        #expect {
            _ = try Capability(parsing: text)
        } throws: { error in
            guard let error = error as? KernelError else { return false }
            return error.code == .invalidArgument && error.message.contains(message)
        }
    }

    @Test func setPermitsByNameAndGlob() {
        let set = CapabilitySet([.infer, .tool("catalog.*"), .send("echo"), .send("worker-?")])
        #expect(set.permitsInfer)
        #expect(set.permitsTool("catalog.lookup_product"))
        #expect(!set.permitsTool("admin.refund"))
        #expect(!set.permitsTool("catalogue.x"))
        #expect(set.permitsSend(to: "echo"))
        #expect(!set.permitsSend(to: "echo2"))
        #expect(set.permitsSend(to: "worker-7"))
        #expect(!set.permitsSend(to: "worker-17"))
        #expect(!CapabilitySet().permitsInfer)
        #expect(!CapabilitySet([.tool("catalog.*")]).permitsSend(to: "catalog.lookup_product"))
    }

    /// Delegation only narrows: a glob covers what it matches, never a wider glob.
    @Test func coversOnlyWhatItProvablyContains() {
        #expect(Capability.tool("catalog.*").covers(.tool("catalog.lookup_product")))
        #expect(Capability.tool("catalog.*").covers(.tool("catalog.look*")))
        #expect(Capability.tool("catalog.*").covers(.tool("catalog.*")))
        #expect(Capability.tool("*").covers(.tool("admin.*")))
        #expect(!Capability.tool("catalog.*").covers(.tool("*")))
        #expect(!Capability.tool("catalog.*").covers(.tool("cat*")))
        #expect(!Capability.tool("catalog.lookup_product").covers(.tool("catalog.*")))
        #expect(!Capability.tool("catalog.?ookup").covers(.tool("catalog.*ookup")))
        #expect(!Capability.tool("catalog.*").covers(.send("catalog.x")))
        #expect(!Capability.send("echo").covers(.infer))
        #expect(Capability.infer.covers(.infer))
    }

    @Test func removeTakesEverythingTheRevokedCapabilityCovers() {
        var set = CapabilitySet([.infer, .tool("catalog.lookup"), .tool("catalog.stock"), .tool("clock.now")])
        #expect(set.remove(coveredBy: .tool("catalog.*")) == [.tool("catalog.lookup"), .tool("catalog.stock")])
        #expect(set.capabilities == [.infer, .tool("clock.now")])
        #expect(!set.permitsTool("catalog.lookup"))
        #expect(set.remove(coveredBy: .tool("admin.*")).isEmpty)
        let insertedAgain = set.insert(.infer)
        #expect(!insertedAgain)
        #expect(set.wider(than: .tool("x")).isEmpty)
    }
}
