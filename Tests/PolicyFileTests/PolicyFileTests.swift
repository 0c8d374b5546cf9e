import Foundation
import Testing
import KernelCore
import PolicyFile

/// policy.yaml: grants and quotas per plugin, and every way to get it wrong.
@Suite struct PolicyFileTests {
    @Test func readsGrantsQuotasDefaultsAndTheSocketGroup() throws {
        let policy = try PolicyFile.parse("""
            defaults:
              quotas:
                tokens_per_minute: 60k
                mailbox_depth: 512
            plugins:
              support:
                grants: [infer, "tool:catalog.*"]
                quotas: {tokens_per_minute: 20000, token_budget: 1M}
              pinger:
                grants: ["send:echo", "send:counter"]
            socket:
              group: agentos
            """, file: "policy.yaml")
        #expect(policy.socketGroup == "agentos")
        let support = policy.entry(for: "support")
        #expect(support.grants == [.infer, .tool("catalog.*")])
        #expect(support.quotas.tokensPerMinute == 20000)
        #expect(support.quotas.tokenBudget == 1_000_000)
        #expect(support.quotas.mailboxDepth == 512)
        #expect(policy.entry(for: "pinger").grants == [.send("echo"), .send("counter")])
        let stranger = policy.entry(for: "stranger")
        #expect(stranger.grants.isEmpty)
        #expect(stranger.quotas.tokensPerMinute == 60000)
    }

    @Test func anEmptyOrMissingFileGrantsNothing() throws {
        #expect(try PolicyFile.parse("", file: "p") == Policy())
        #expect(try PolicyFile.parse("# nothing yet\n", file: "p") == Policy())
        #expect(try PolicyFile(path: "/nonexistent/policy.yaml").current() == Policy())
    }

    @Test(arguments: [
        ("plugins: [a, b]", "p:1: plugins must be a mapping"),
        ("plugins:\n  support:\n    grants: infer", "p:3: plugins.support.grants must be a list"),
        ("plugins:\n  support:\n    grants: [infer, bogus]", "p:3: plugins.support.grants: unknown capability \"bogus\""),
        ("plugins:\n  support:\n    grants: [\"tool:\"]", "needs a name or glob"),
        ("plugins:\n  support:\n    grant: [infer]", "p:3: unknown key \"grant\" in plugins.support"),
        ("plugin:\n  support: {}", "p:1: unknown key \"plugin\" in the policy"),
        ("plugins:\n  support:\n    quotas: {tokens_per_minute: 0}", "p:3:"),
        ("plugins:\n  support:\n    quotas: {tokens_per_minute: lots}", "tokens_per_minute"),
        ("plugins:\n  support:\n    quotas: {speed: 3}", "unknown quota `speed`"),
        ("plugins:\n  support:\n    quotas: {token_budget: [1]}", "token_budget must be a single value"),
        ("defaults:\n  grants: [infer]", "unknown key \"grants\" in defaults"),
        ("socket:\n  group: [a]", "socket.group must be a single value"),
        ("plugins: {support: {grants: [infer]", "p: not valid YAML"),
    ])
    func refusesBadPolicies(text: String, message: String) {
        #expect {
            _ = try PolicyFile.parse(text, file: "p")
        } throws: { error in
            guard let error = error as? KernelError else { return false }
            return error.code == .badPolicy && error.message.contains(message)
        }
    }

    @Test func namesTheFileItCannotRead() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID().uuidString.prefix(8)).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data([0xFF, 0xFE, 0x00]).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try PolicyFile(path: path).current()
        } throws: { error in
            (error as? KernelError)?.message == "\(path): not UTF-8 text"
        }
    }
}
