import ControlAPI
import Foundation
import StrictJSON
import Testing

/// `agentctl caps`, `grant`, `revoke`, `audit`, `quota`, `load --grant` and
/// what `ps` shows of them, on a real kernel with no policy file. The support
/// example requests `infer` and `tool:catalog.*`.
@Suite(.serialized) struct SecurityCommandsTests {
    private static let known = "use infer, kv, admin, net, spawn, tool:NAME, send:AGENT (NAME and AGENT may use * ? [...]), kv:NS or kv:NS:ro"

    /// A kernel running the support example, granted nothing.
    private func kernelWithSupport() async throws -> KernelProcess {
        let kernel = try await KernelProcess()
        try await kernel.load("support")
        return kernel
    }

    private func caps(_ kernel: KernelProcess, _ name: String = "support") throws -> CapabilitiesInfo {
        let result = try kernel.agentctl("caps", name, "-o", "json")
        #expect(result.status == 0, "\(result.stderr)")
        return try ControlJSON.decoder().decode(CapabilitiesInfo.self, from: Data(result.stdout.utf8))
    }

    private func quotas(_ kernel: KernelProcess, _ name: String = "support") throws -> QuotasInfo {
        let result = try kernel.agentctl("quota", name, "-o", "json")
        #expect(result.status == 0, "\(result.stderr)")
        return try ControlJSON.decoder().decode(QuotasInfo.self, from: Data(result.stdout.utf8))
    }

    private func audit(_ kernel: KernelProcess, _ arguments: String...) throws -> [AuditEntry] {
        let result = try CommandResult.run(
            Paths.agentctl, ["audit", "-o", "json"] + arguments, environment: ["AGENTOS_HOME": kernel.home.path])
        #expect(result.status == 0, "\(result.stderr)")
        return try result.stdout.split(separator: "\n").map { try ControlJSON.decoder().decode(AuditEntry.self, from: Data($0.utf8)) }
    }

    // MARK: caps, grant, revoke

    @Test func grantAndRevokeRoundTripThroughCaps() async throws {
        let kernel = try await kernelWithSupport()
        defer { kernel.stop() }
        #expect(try caps(kernel) == CapabilitiesInfo(
            agent: "support", requested: ["infer", "tool:catalog.*"], granted: [], missing: ["infer", "tool:catalog.*"]))
        let table = try kernel.agentctl("caps", "support")
        #expect(table.stdout == """
            REQUESTED   infer, tool:catalog.*
            GRANTED     none
            MISSING     infer, tool:catalog.* (grant with `agentctl grant support infer 'tool:catalog.*'`)

            """, "\(table.stdout)")

        let granted = try kernel.agentctl("grant", "support", "infer", "tool:catalog.*")
        #expect(granted.status == 0 && granted.stderr.isEmpty, "\(granted.stderr)")
        #expect(granted.stdout.contains("GRANTED     infer, tool:catalog.*\nMISSING     none\n"), "\(granted.stdout)")
        #expect(try caps(kernel).missing.isEmpty)

        let revoked = try kernel.agentctl("revoke", "support", "tool:catalog.*", "-o", "json")
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let after = try ControlJSON.decoder().decode(CapabilitiesInfo.self, from: Data(revoked.stdout.utf8))
        #expect(after.granted == ["infer"] && after.missing == ["tool:catalog.*"])
        #expect(try kernel.agentctl("revoke", "support", "infer").status == 0)
        #expect(try caps(kernel).granted.isEmpty)
        try await kernel.expectHealthy()
    }

    @Test func grantingWhatIsHeldIsAnErrorAndChangesNothing() async throws {
        let kernel = try await kernelWithSupport()
        defer { kernel.stop() }
        #expect(try kernel.agentctl("grant", "support", "infer").status == 0)
        let again = try kernel.agentctl("grant", "support", "infer")
        #expect(again.status == 1 && again.stderr == "agentctl: support already holds infer\n", "\(again.stderr)")
        // The grants before the failing one stay, and are printed.
        let partly = try kernel.agentctl("grant", "support", "kv", "infer")
        #expect(partly.status == 1 && partly.stderr == "agentctl: support already holds infer\n", "\(partly.stderr)")
        #expect(partly.stdout.contains("GRANTED     infer, kv\n"), "\(partly.stdout)")
        #expect(try caps(kernel).granted == ["infer", "kv"])
        try await kernel.expectHealthy()
    }

    @Test func revokingWhatIsNotHeldNamesIt() async throws {
        let kernel = try await kernelWithSupport()
        defer { kernel.stop() }
        let result = try kernel.agentctl("revoke", "support", "kv")
        #expect(result.status == 1 && result.stderr == "agentctl: support does not hold kv (see `agentctl caps support`)\n", "\(result.stderr)")
        try await kernel.expectHealthy()
    }

    @Test func revokingANarrowerCapabilityUnderAGlobNamesTheWiderGrant() async throws {
        let kernel = try await kernelWithSupport()
        defer { kernel.stop() }
        #expect(try kernel.agentctl("grant", "support", "tool:*").status == 0)
        let result = try kernel.agentctl("revoke", "support", "tool:catalog.*")
        #expect(result.status == 1, "\(result.stdout)")
        #expect(result.stderr == "agentctl: support holds tool:*, which covers tool:catalog.*; revoke tool:* and grant narrower capabilities\n", "\(result.stderr)")
        #expect(try caps(kernel).granted == ["tool:*"])
        try await kernel.expectHealthy()
    }

    @Test(arguments: [
        ("tool:", #"capability "tool:" needs a name or glob after "tool:" (printable ASCII, no spaces)"#),
        ("bogus", #"unknown capability "bogus": \#(known)"#),
        ("send: x", #"capability "send: x" needs a name or glob after "send:" (printable ASCII, no spaces)"#),
        ("tool:" + String(repeating: "a", count: 295), #"capability "tool:\#(String(repeating: "a", count: 35))" must be 1 to 200 bytes: \#(known)"#),
        ("", #"capability "" must be 1 to 200 bytes: \#(known)"#),
    ])
    func aBadCapabilityTextIsRefusedWithTheKernelsMessage(_ text: String, _ message: String) async throws {
        let kernel = try await kernelWithSupport()
        defer { kernel.stop() }
        for command in ["grant", "revoke"] {
            let result = try kernel.agentctl(command, "support", text)
            #expect(result.status == 1, "\(command): \(result.stdout)")
            #expect(result.stderr == "agentctl: \(message)\n", "\(command): \(result.stderr)")
        }
        await expectAPIError("invalid_argument", status: 400) {
            try await kernel.client.changeCapabilities(of: "support", CapabilityChange(grant: text))
        }
        #expect(try caps(kernel).granted.isEmpty)
        try await kernel.expectHealthy()
    }

    @Test func aChangeMustBeExactlyOneGrantOrRevoke() async throws {
        let kernel = try await kernelWithSupport()
        defer { kernel.stop() }
        for change in [CapabilityChange(), CapabilityChange(grant: "infer", revoke: "infer")] {
            let message = await expectAPIError("invalid_argument", status: 400) {
                try await kernel.client.changeCapabilities(of: "support", change)
            }
            #expect(message == #"give exactly one of "grant" and "revoke""#)
        }
        #expect(try caps(kernel).granted.isEmpty)
        try await kernel.expectHealthy()
    }

    @Test func anUnknownInstanceIsAnError() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        for arguments in [["caps", "ghost"], ["grant", "ghost", "infer"], ["revoke", "ghost", "infer"], ["quota", "ghost"],
                          ["quota", "ghost", "tokens_per_minute=20k"]] {
            let result = try CommandResult.run(Paths.agentctl, arguments, environment: ["AGENTOS_HOME": kernel.home.path])
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr == "agentctl: no instance named ghost (see `agentctl ps`)\n", "\(arguments): \(result.stderr)")
        }
        try await kernel.expectHealthy()
    }

    // MARK: load --grant

    @Test func loadGrantsCommaSeparatedAndRepeatedCapabilities() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let load = try kernel.agentctl("load", Paths.plugin("support"), "--grant", "infer,send:worker-[1,2]", "--grant", "tool:catalog.*")
        #expect(load.status == 0 && load.stderr.isEmpty, "\(load.stderr)")
        #expect(load.stdout.hasSuffix(", granted infer, send:worker-[1,2], tool:catalog.*\n"), "\(load.stdout)")
        #expect(try caps(kernel) == CapabilitiesInfo(
            agent: "support", requested: ["infer", "tool:catalog.*"], granted: ["infer", "send:worker-[1,2]", "tool:catalog.*"],
            missing: []))
        let records = try audit(kernel, "--agent", "support")
        #expect(records.map(\.capability) == ["infer", "send:worker-[1,2]", "tool:catalog.*"])
        #expect(records.allSatisfy { $0.decision == "grant" && $0.syscall == "load" && $0.reason == "granted at load by agentctl load --grant" })
    }

    @Test func loadNamesWhatThePluginRequestsButWasNotGranted() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let load = try kernel.agentctl("load", Paths.plugin("support"), "--grant", "infer")
        #expect(load.status == 0, "\(load.stderr)")
        #expect(load.stderr == """
            agentctl: support was not granted what it requests: tool:catalog.* (grant with `agentctl grant support 'tool:catalog.*'`)

            """, "\(load.stderr)")
    }

    @Test(arguments: ["bogus", "infer,bogus", "infer,", "tool:"])
    func loadWithABadGrantLoadsNothing(_ grants: String) async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let load = try kernel.agentctl("load", Paths.plugin("echo"), "--grant", grants)
        #expect(load.status == 1 && load.stdout.isEmpty, "\(load.stdout)")
        #expect(load.stderr.hasPrefix("agentctl: ") && load.stderr.contains("capability"), "\(load.stderr)")
        #expect(try await kernel.client.instances(all: true).isEmpty)
        #expect(kernel.privateCopies().isEmpty)
        try await kernel.expectHealthy()
    }

    // MARK: audit

    @Test func auditShowsGrantsAndRevokesAndFilters() async throws {
        let kernel = try await kernelWithSupport()
        defer { kernel.stop() }
        try await kernel.load("echo")
        #expect(try kernel.agentctl("grant", "support", "infer", "tool:catalog.*").status == 0)
        #expect(try kernel.agentctl("revoke", "support", "tool:catalog.*").status == 0)
        #expect(try kernel.agentctl("grant", "echo", "kv").status == 0)

        let records = try audit(kernel, "--agent", "support")
        #expect(records.map { "\($0.decision) \($0.capability ?? "-")" } == ["grant infer", "grant tool:catalog.*", "revoke tool:catalog.*"])
        #expect(records.allSatisfy { $0.agent == "support" && $0.syscall == "agentctl" && $0.quota == nil })
        #expect(records.last?.reason == "revoked at runtime by agentctl")
        #expect(try audit(kernel).count == 4)
        #expect(try audit(kernel, "--since", "10m").count == 4)
        #expect(try audit(kernel, "--since", Date().addingTimeInterval(3600).formatted(.iso8601)).isEmpty)
        #expect(try audit(kernel, "--agent", "echo", "--since", "2020-01-01T00:00:00Z").map(\.capability) == ["kv"])

        let table = try kernel.agentctl("audit", "--agent", "support")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true) == ["TIME", "AGENT", "SYSCALL", "CAPABILITY/QUOTA", "DECISION", "REASON"])
        #expect(lines.count == 4 && lines[3].contains("support") && lines[3].contains("tool:catalog.*") && lines[3].contains("revoke"), "\(table.stdout)")
        #expect(try kernel.agentctl("audit", "--agent", "nobody").stdout == "no audit records of nobody\n")
    }

    @Test(arguments: ["yesterday", "-5m", "1e3", "10x", "2026-13-01T00:00:00Z"])
    func auditRefusesABadSince(_ since: String) async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let result = try kernel.agentctl("audit", "--since=\(since)")
        #expect(result.status == 2, "\(result.stdout)")
        #expect(result.stderr.hasPrefix("Error: --since must be a duration such as 30s, 10m, 2h or 7d, or an RFC 3339 time"), "\(result.stderr)")
        let raw = try await kernel.client.raw(.GET, "/v1/audit?since=" + (since.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? since))
        #expect(raw.status == 400)
        #expect(String(decoding: raw.body, as: UTF8.self).contains("query parameter since=\(since) should be"))
        try await kernel.expectHealthy()
    }

    // MARK: quota

    @Test func quotaSetsAndShows() async throws {
        let kernel = try await kernelWithSupport()
        defer { kernel.stop() }
        let set = try kernel.agentctl("quota", "support", "tokens_per_minute=20k", "concurrent_inference=2")
        #expect(set.status == 0, "\(set.stderr)")
        let shown = try kernel.agentctl("quota", "support")
        #expect(shown.stdout == set.stdout)
        let rows = shown.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows.first == ["KEY", "LIMIT", "USE", "REFUSALS"])
        #expect(rows.contains(["tokens_per_minute", "20000", "0", "0"]), "\(shown.stdout)")
        #expect(rows.contains(["concurrent_inference", "2", "0", "0"]), "\(shown.stdout)")
        #expect(rows.contains(["token_budget", "unlimited", "0", "0"]), "\(shown.stdout)")
        #expect(rows.contains(["throttled", "requests", "0"]) && rows.contains { $0.first == "cpu" && $0.last?.hasSuffix("s") == true })

        let json = try quotas(kernel)
        #expect(json.agent == "support" && json.quotas.count == 10)
        #expect(json.quotas.first == QuotaInfo(key: "tokens_per_minute", limit: 20_000, use: 0, refusals: 0))
        #expect(try kernel.agentctl("quota", "support", "tokens_per_minute=unlimited").status == 0)
        #expect(try quotas(kernel).quotas.first?.limit == nil)
        try await kernel.expectHealthy()
    }

    @Test(arguments: [
        ("bogus=1", 1, "agentctl: unknown quota `bogus`; the quotas are tokens_per_minute, token_budget, concurrent_inference, tool_calls_per_minute, mailbox_depth, message_bytes, handler_deadline_ms, quota_wait_ms, kv_keys, kv_bytes, memory_bytes, cpu_seconds"),
        ("tokens_per_minute=0", 1, "agentctl: tokens_per_minute=0 is zero; use a positive number, or `unlimited` for no limit"),
        ("tokens_per_minute=-5", 1, "agentctl: tokens_per_minute=-5 is negative; use a positive number, or `unlimited` for no limit"),
        ("tokens_per_minute=abc", 1, "agentctl: tokens_per_minute=abc is not a number; use a positive integer, optionally with k (×1000) or M (×1000000), or `unlimited`"),
        ("tokens_per_minute=1e3", 1, "agentctl: tokens_per_minute=1e3 is not a number; use a positive integer, optionally with k (×1000) or M (×1000000), or `unlimited`"),
        ("tokens_per_minute", 2, #"Error: "tokens_per_minute" is not KEY=VALUE (e.g. tokens_per_minute=20k)"#),
        ("=5", 2, #"Error: "=5" is not KEY=VALUE (e.g. tokens_per_minute=20k)"#),
    ])
    func aBadQuotaSettingChangesNothing(_ setting: String, _ status: Int32, _ message: String) async throws {
        let kernel = try await kernelWithSupport()
        defer { kernel.stop() }
        let before = try quotas(kernel)
        // A good setting before the bad one is not applied either.
        let result = try kernel.agentctl("quota", "support", "mailbox_depth=7", setting)
        #expect(result.status == status && result.stdout.isEmpty, "\(result.stdout)")
        #expect(result.stderr.hasPrefix(message + "\n"), "\(result.stderr)")
        #expect(try quotas(kernel).quotas == before.quotas)
        try await kernel.expectHealthy()
    }

    @Test func aQuotaSetTwiceIsAUsageError() async throws {
        let kernel = try await kernelWithSupport()
        defer { kernel.stop() }
        let result = try kernel.agentctl("quota", "support", "mailbox_depth=7", "mailbox_depth=8")
        #expect(result.status == 2 && result.stderr.hasPrefix("Error: mailbox_depth is set twice\n"), "\(result.stderr)")
        #expect(try quotas(kernel).quotas.first { $0.key == "mailbox_depth" }?.limit == nil)
    }

    // MARK: ps

    /// `ps` lists CPU time; grants and quotas are in the instance's own route, not in the list.
    @Test func psShowsCPUOfLiveInstancesAndTheInstanceRouteItsGrantsAndQuotas() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        #expect(try kernel.agentctl("load", Paths.plugin("support"), "--grant", "infer").status == 0)
        #expect(try kernel.agentctl("quota", "support", "tokens_per_minute=20k").status == 0)
        try await kernel.load("echo", as: "gone")
        _ = try await kernel.client.unload("gone")

        let result = try kernel.agentctl("ps", "-a", "-o", "json")
        #expect(result.status == 0, "\(result.stderr)")
        let instances = try InstanceList(json: JSONParser.parse(result.stdout)).instances
        let support = try #require(instances.first { $0.name == "support" })
        #expect((support.cpuSeconds ?? -1) >= 0)
        let gone = try #require(instances.first { $0.name == "gone" })
        #expect(gone.cpuSeconds == nil && gone.state == "stopped")
        #expect(result.stdout.contains(#""cpu_seconds": null"#))  // every key is there, null where it does not apply
        #expect(!result.stdout.contains("quotas") && !result.stdout.contains("granted"))

        let info = try await kernel.client.instance("support")
        #expect(info.granted == ["infer"] && info.missing == ["tool:catalog.*"])
        #expect(info.quotas?.first == QuotaInfo(key: "tokens_per_minute", limit: 20_000, use: 0, refusals: 0))
        #expect(info.throttledRequests == 0 && (info.cpuSeconds ?? -1) >= 0)
        let raw = try await kernel.client.raw(.GET, "/v1/instances/support")
        #expect(String(decoding: raw.body, as: UTF8.self).contains(#""limit":null"#))  // unlimited is an explicit null

        let table = try kernel.agentctl("ps", "-a")
        let rows = table.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        let cpu = try #require(rows.first?.firstIndex(of: "CPU"))
        #expect(rows.first { $0.first == "support" }?[cpu].hasSuffix("s") == true, "\(table.stdout)")
        #expect(rows.first { $0.first == "gone" }?[cpu] == "-", "\(table.stdout)")
    }
}
