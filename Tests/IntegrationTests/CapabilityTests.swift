import ControlAPI
import Foundation
import Testing

/// Deny by default, on a real kernel: every checked syscall of a real plugin
/// (the capsprobe fixture) × granted exactly / granted by a glob / not granted /
/// revoked at runtime; delegation that narrows and delegation that tries to widen.
@Suite(.serialized) struct CapabilityTests {
    /// One syscall: the probe's command, the capability it needs exactly and
    /// by glob, what the probe replies when it may, and when it may not.
    struct Row: Sendable {
        let syscall: String
        let command: String
        let exact: String
        let glob: String
        let allowed: String
        let denied: String
    }

    static let rows: [Row] = [
        Row(syscall: "send", command: "send target", exact: "send:target", glob: "send:tar*", allowed: "AOS_OK", denied: "AOS_EPERM"),
        Row(syscall: "call", command: "call target hello", exact: "send:target", glob: "send:*", allowed: "AOS_OK|hello", denied: "AOS_EPERM"),
        // No engine (--engine none): past the check, the request finds none.
        Row(syscall: "infer", command: "infer", exact: "infer", glob: "infer", allowed: "AOS_EUNAVAIL", denied: "AOS_EPERM"),
        Row(syscall: "infer_stream", command: "stream", exact: "infer", glob: "infer", allowed: "AOS_EUNAVAIL", denied: "AOS_EPERM"),
        Row(syscall: "infer_submit", command: "submit", exact: "infer", glob: "infer", allowed: "AOS_EUNAVAIL", denied: "AOS_EPERM"),
        Row(
            syscall: "tool_call", command: #"tool calculator.add {"a": 1, "b": 2}"#, exact: "tool:calculator.add",
            glob: "tool:calculator.*", allowed: "AOS_OK|3", denied: "AOS_EPERM"),
        Row(
            syscall: "tools_list", command: "list calculator.a*", exact: "tool:calculator.add", glob: "tool:calc*",
            allowed: "calculator.add", denied: "AOS_OK|[]"),
        Row(
            syscall: "plugin_load", command: "load \(Paths.plugin("echo")) loaded", exact: "admin", glob: "admin",
            allowed: "AOS_OK", denied: "AOS_EPERM"),
        Row(syscall: "plugin_unload", command: "unload loaded", exact: "admin", glob: "admin", allowed: "AOS_OK", denied: "AOS_EPERM"),
    ]

    /// A kernel with the calculator, an echo named "target", and policy.yaml granting `grants` to "probe".
    private func kernel(granting grants: [String]) async throws -> KernelProcess {
        let kernel = try await KernelProcess()
        try writePolicy(kernel, ["probe": grants])
        try await kernel.load("calculator")
        try await kernel.load("echo", as: "target")
        try await kernel.load("capsprobe", as: "probe")
        return kernel
    }

    private func writePolicy(_ kernel: KernelProcess, _ grants: [String: [String]]) throws {
        var text = "plugins:\n"
        for (name, capabilities) in grants.sorted(by: { $0.key < $1.key }) {
            text += "  \(name):\n    grants: [\(capabilities.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
        }
        try text.write(toFile: kernel.home.policyPath, atomically: true, encoding: .utf8)
    }

    private func expectReply(_ kernel: KernelProcess, _ row: Row, _ expected: String, _ situation: String) async throws {
        let reply = try await kernel.ask("probe", row.command)
        if row.syscall == "tools_list" && expected == row.allowed {
            #expect(reply.hasPrefix("AOS_OK|[") && reply.contains(expected), "\(row.syscall) \(situation): \(reply)")
        } else {
            #expect(reply == expected, "\(row.syscall) \(situation): \(reply)")
        }
    }

    @Test func nothingGrantedDeniesEverySyscallButTheFreeOnes() async throws {
        let kernel = try await kernel(granting: [])
        defer { kernel.stop() }
        for row in Self.rows { try await expectReply(kernel, row, row.denied, "not granted") }
        // receive, reply, log and the time need nothing: the probe answered every request above.
        let audit = try kernel.agentctl("audit", "--agent", "probe", "-o", "json")
        #expect(audit.status == 0, "\(audit.stderr)")
        for capability in ["send:target", "infer", "tool:calculator.add"] {
            #expect(audit.stdout.contains(capability), "audit lacks \(capability): \(audit.stdout)")
        }
        let log = try kernel.agentctl("logs", "probe")
        #expect(log.stdout.contains("permission denied: probe does not hold send:target"), "\(log.stdout)")
        // The denials did not disturb anyone else.
        try await kernel.expectHealthy()
    }

    @Test(arguments: ["exact", "glob"])
    func grantedThenRevokedAtRuntime(form: String) async throws {
        let grants = Set(Self.rows.map { form == "exact" ? $0.exact : $0.glob })
        let kernel = try await kernel(granting: grants.sorted())
        defer { kernel.stop() }
        for row in Self.rows { try await expectReply(kernel, row, row.allowed, "granted (\(form))") }
        for capability in grants.sorted().reversed() {  // narrower first: revoking a glob takes what it covers
            let revoked = try kernel.agentctl("revoke", "probe", capability)
            #expect(revoked.status == 0, "\(revoked.stderr)")
        }
        for row in Self.rows { try await expectReply(kernel, row, row.denied, "revoked (\(form))") }
        let records = try kernel.agentctl("audit", "--agent", "probe", "-o", "json").stdout
        #expect(records.contains(#""decision":"revoke""#), "\(records)")
    }

    /// The tool loop offers the model only the tools the agent may call; matching none is EPERM.
    @Test func theToolLoopOffersOnlyHeldTools() async throws {
        let kernel = try await kernel(granting: ["infer", "tool:calculator.add"])
        defer { kernel.stop() }
        #expect(try await kernel.ask("probe", "toolloop calculator.*") == "AOS_EUNAVAIL")  // offered add, then no engine
        #expect(try await kernel.ask("probe", "toolloop clock.*") == "AOS_ENOTFOUND")  // no such tool loaded
        try await kernel.load("clock")
        #expect(try await kernel.ask("probe", "toolloop clock.*") == "AOS_EPERM")
        let audit = try kernel.agentctl("audit", "--agent", "probe", "-o", "json").stdout
        #expect(audit.contains("calculator.multiply withheld from the model"), "\(audit)")
        #expect(!audit.contains("calculator.add withheld"), "\(audit)")
    }

    /// Delegation lends a subset for one request; it never widens and ends with the request.
    @Test func delegationOnlyNarrows() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try writePolicy(kernel, [
            "lender": ["send:helper", "tool:calculator.*"],
            "helper": ["send:third"],
        ])
        try await kernel.load("calculator")
        try await kernel.load("capsprobe", as: "lender")
        try await kernel.load("capsprobe", as: "helper")
        try await kernel.load("capsprobe", as: "third")
        let add = #"tool calculator.add {"a": 2, "b": 3}"#

        #expect(try await kernel.ask("lender", "delegate helper tool:calculator.add \(add)") == "AOS_OK|AOS_OK|5")
        #expect(try await kernel.ask("lender", "delegate helper - \(add)") == "AOS_OK|AOS_EPERM")
        // The lent capability ended with that request.
        #expect(try await kernel.ask("lender", "call helper \(add)") == "AOS_OK|AOS_EPERM")
        // A lent capability may be lent on, narrowed or equal, never widened.
        #expect(try await kernel.ask("lender", "delegate helper tool:calculator.* delegate third tool:calculator.add \(add)")
            == "AOS_OK|AOS_OK|AOS_OK|5")
        #expect(try await kernel.ask("lender", "delegate helper tool:calculator.add delegate third tool:calculator.* \(add)")
            == "AOS_OK|AOS_EPERM")
        // Widening: what the lender does not hold is never sent.
        #expect(try await kernel.ask("lender", "delegate helper tool:* \(add)") == "AOS_EPERM")
        #expect(try await kernel.ask("lender", "delegate helper infer infer") == "AOS_EPERM")
        #expect(try await kernel.ask("lender", "delegate helper send:third send third") == "AOS_EPERM")
        #expect(try await kernel.ask("lender", "delegate helper bogus \(add)") == "AOS_EINVAL")
        #expect(try await kernel.ask("lender", "delegate helper tool: \(add)") == "AOS_EINVAL")
        // Lending needs send: to the receiver like any call.
        #expect(try await kernel.ask("lender", "delegate third tool:calculator.add \(add)") == "AOS_EPERM")
        let audit = try kernel.agentctl("audit", "--agent", "lender", "-o", "json").stdout
        #expect(audit.contains("tried to delegate tool:*"), "\(audit)")
        #expect(audit.contains("delegation only narrows"), "\(audit)")
    }

    /// `admin` loads and unloads other plugins, and hands out nothing: what it
    /// loads holds only what policy.yaml grants that name.
    @Test func adminLoadsAndUnloadsButGrantsNothing() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try writePolicy(kernel, ["boss": ["admin", "send:*"], "granted": ["send:target"]])
        try await kernel.load("capsprobe", as: "boss")
        try await kernel.load("echo", as: "target")
        let probe = Paths.plugin("capsprobe")

        #expect(try await kernel.ask("boss", "load \(probe) minion") == "AOS_OK")
        #expect(try await kernel.listed("minion")?.origin == "agent")
        #expect(try await kernel.client.capabilities(of: "minion").granted.isEmpty)
        #expect(try await kernel.ask("minion", "send target") == "AOS_EPERM")
        #expect(try await kernel.ask("boss", "load \(probe) granted") == "AOS_OK")
        #expect(try await kernel.ask("granted", "send target") == "AOS_OK")

        #expect(try await kernel.ask("boss", "load \(probe) minion") == "AOS_EEXIST")
        #expect(try await kernel.ask("boss", "load /nonexistent/x.so other") == "AOS_ENOTFOUND")
        #expect(try await kernel.ask("boss", "load /etc/hostname other") == "AOS_EINVAL")
        #expect(try await kernel.ask("boss", "load \(Paths.plugin("abinew")) other") == "AOS_EABI")
        #expect(try await kernel.ask("boss", "load \(Paths.plugin("failinit")) other") == "AOS_EHANDLER")
        #expect(try await kernel.ask("boss", "load \(probe) bad/name") == "AOS_EINVAL")
        #expect(try await kernel.ask("boss", "unload boss") == "AOS_EINVAL")
        #expect(try await kernel.ask("boss", "unload nobody") == "AOS_ENOTFOUND")
        #expect(try await kernel.ask("minion", "unload boss") == "AOS_EPERM")
        #expect(try await kernel.ask("boss", "unload minion") == "AOS_OK")
        #expect(try await kernel.listed("minion")?.state == "stopped")
        let log = try kernel.agentctl("logs", "boss").stdout
        #expect(log.contains("plugin_load: cannot load /nonexistent/x.so"), "\(log)")
        try await kernel.expectHealthy()
    }

    @Test func aBadPolicyFileRefusesTheLoadAndSaysWhere() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try "plugins:\n  probe:\n    grants: [infer, bogus]\n".write(toFile: kernel.home.policyPath, atomically: true, encoding: .utf8)
        let message = await expectAPIError("bad_policy", status: 422) { try await kernel.load("capsprobe", as: "probe") }
        #expect(message.contains("policy.yaml:3: plugins.probe.grants: unknown capability \"bogus\""), "\(message)")
        #expect(try await kernel.listed("probe") == nil)
        // Every load fails closed until the file is fixed; the kernel keeps running meanwhile.
        await expectAPIError("bad_policy") { try await kernel.load("echo") }
        try "plugins:\n  probe:\n    grants: [infer]\n".write(toFile: kernel.home.policyPath, atomically: true, encoding: .utf8)
        try await kernel.expectHealthy()
    }
}
