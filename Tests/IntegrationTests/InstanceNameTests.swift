import ControlAPI
import Foundation
import Testing

/// Instance names: unique among live instances, checked for shape, and
/// independent of the file (one `.so` may run under several names).
@Suite(.serialized) struct InstanceNameTests {
    @Test func secondInstanceWithATakenNameIsRefusedAsNameTaken() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo")
        let message = await expectAPIError("name_taken", status: 409) { try await kernel.load("echo") }
        #expect(message.contains("an instance named echo is already running"), "\(message)")
        #expect(message.contains("--name"), "\(message)")
        #expect(try await kernel.ask("echo", "first one") == "first one")
        #expect(try await kernel.client.instances().map(\.name) == ["echo"])
        #expect(kernel.privateCopies().count == 1, "the refused copy is removed: \(kernel.privateCopies())")
        try await kernel.expectHealthy()
    }

    @Test func nameTakenThroughAgentctlExitsOneWithOneLine() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("echo", as: "twin")
        let load = try await kernel.agentctlAsync("load", Paths.plugin("counter"), "--name", "twin")
        #expect(load.status == 1)
        #expect(load.stderr == "agentctl: cannot load \(Paths.plugin("counter")): an instance named twin is already running (choose another with --name)\n")
        try await kernel.expectHealthy()
    }

    @Test(arguments: ["bad name", "-leading-dash", ".leading-dot", "", String(repeating: "n", count: 64), "slash/name", "ümlaut"])
    func invalidNameIsRefusedAsBadName(_ name: String) async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = await expectAPIError("bad_name", status: 400) { try await kernel.load("echo", as: name) }
        #expect(message.hasPrefix("invalid instance name \"\(name)\""), "\(message)")
        #expect(try await kernel.client.instances().isEmpty)
        #expect(kernel.privateCopies().isEmpty, "the file is not even copied: \(kernel.privateCopies())")
        try await kernel.expectHealthy()
    }

    @Test func invalidNameThroughAgentctlExitsOne() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let load = try await kernel.agentctlAsync("load", Paths.plugin("echo"), "--name", "no spaces")
        #expect(load.status == 1)
        #expect(load.stderr.hasPrefix("agentctl: invalid instance name \"no spaces\": "), "\(load.stderr)")
        try await kernel.expectHealthy()
    }

    @Test func longestAndOddButValidNamesAreAccepted() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        for name in [String(repeating: "n", count: 63), "a.b-c_D9", "0"] {
            try await kernel.load("echo", as: name)
            #expect(try await kernel.ask(name, "hi \(name)") == "hi \(name)")
        }
    }

    @Test func sameFileLoadsTwiceUnderDifferentNames() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let first = try await kernel.load("echo", as: "e1")
        let second = try await kernel.load("echo", as: "e2")
        #expect(first.id != second.id)
        #expect(first.plugin == second.plugin)
        #expect(kernel.privateCopies().count == 1, "one shared private copy of the same content: \(kernel.privateCopies())")
        #expect(try await kernel.ask("e1", "one") == "one")
        #expect(try await kernel.ask("e2", "two") == "two")
        _ = try await kernel.client.unload("e1")
        #expect(try await kernel.ask("e2", "still two") == "still two")
        #expect(kernel.privateCopies().count == 1, "the copy stays while e2 uses it")
    }

    @Test func nameOfAnUnloadedInstanceCanBeReused() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let first = try await kernel.load("counter", as: "reused")
        #expect(try await kernel.ask("reused", "x") == "1")
        _ = try await kernel.client.unload("reused")
        let second = try await kernel.load("counter", as: "reused")
        #expect(second.id > first.id, "ids are never reused")
        #expect(try await kernel.ask("reused", "x") == "1", "a fresh instance has fresh state")
    }
}
