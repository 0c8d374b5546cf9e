import AgentOSTesting
import Foundation
import Testing
@testable import KernelCore

@Suite struct KernelLifecycleTests {
    @Test func loadedInstanceRunsAndReplies() async throws {
        let kernel = TestKernel.inProcess()
        let instance = try await kernel.lifecycle.load(path: "echo", name: "e1")
        #expect(instance.state == .running)
        let (_, reply, _) = try await kernel.messages.deliver(to: "e1", body: Array("hi".utf8), wait: true, timeoutMs: 5000)
        #expect(reply == Array("hi".utf8))
        _ = try await kernel.lifecycle.unload(name: "e1", timeout: 5)
        #expect((instance.image as! InProcessImage).isClosed)
        #expect(kernel.summaries(all: true).first { $0.name == "e1" }?.state == .stopped)
    }

    @Test func failingInitIsListedAsFailedWithItsStatus() async throws {
        let kernel = TestKernel.inProcess()
        await #expect(throws: KernelError.self) { try await kernel.lifecycle.load(path: "failinit") }
        let failed = try #require(kernel.summaries(all: true).first { $0.name == "failinit" })
        #expect(failed.state == .failed)
        #expect(failed.lastError?.contains("AOS_EPERM") == true)
        #expect(kernel.summaries(all: false).isEmpty)
    }

    @Test func secondInstanceWithTheSameNameIsRefused() async throws {
        let kernel = TestKernel.inProcess()
        _ = try await kernel.lifecycle.load(path: "echo", name: "twin")
        do {
            _ = try await kernel.lifecycle.load(path: "echo", name: "twin")
            Issue.record("second load succeeded")
        } catch {
            #expect(error.code == .nameTaken)
        }
        await kernel.lifecycle.shutdown(timeout: 5)
    }

    @Test(arguments: ["", ".hidden", "-dash", "has space", "slash/name", String(repeating: "x", count: 64)])
    func invalidNamesAreRefused(name: String) async throws {
        let kernel = TestKernel.inProcess()
        do {
            _ = try await kernel.lifecycle.load(path: "echo", name: name)
            Issue.record("loaded with name \(name)")
        } catch {
            #expect(error.code == .badName)
        }
    }

    @Test func unloadFailsQueuedRequestsAndDeadLettersPlainMessages() async throws {
        let kernel = TestKernel.inProcess()
        let name = "gated-\(UUID().uuidString.prefix(6))"
        _ = try await kernel.lifecycle.load(path: "gated", name: name)
        _ = try await kernel.messages.deliver(to: name, body: [], wait: false, timeoutMs: 0)  // blocks the handler
        _ = try await kernel.messages.deliver(to: name, body: [], wait: false, timeoutMs: 0)  // queued: a dead letter
        let queuedRequest = Task { try await kernel.messages.deliver(to: name, body: [], wait: true, timeoutMs: 10_000) }
        let instance = try #require(kernel.instance(named: name))
        #expect(await waitUntil { instance.messagesIn == 3 && instance.handlerStartedAt.value != 0 })
        let unload = Task { try await kernel.lifecycle.unload(name: name, timeout: 5) }
        do {
            _ = try await queuedRequest.value
            Issue.record("queued request got a reply")
        } catch let error as KernelError {
            #expect(error.code == .stopping)
        }
        InProcessPlugins.gate(name).signal()
        #expect(try await unload.value.state == .stopped)
        let log = kernel.log(of: name)?.tail().map(\.text) ?? []
        #expect(log.contains { $0.contains("dead letter") })
    }

    @Test func handlerPastTheDeadlineIsHungUntilItReturns() async throws {
        let kernel = TestKernel.inProcess(handlerDeadline: 0.05)
        let name = "gated-\(UUID().uuidString.prefix(6))"
        let instance = try await kernel.lifecycle.load(path: "gated", name: name)
        _ = try await kernel.messages.deliver(to: name, body: [], wait: false, timeoutMs: 0)
        // Past the deadline counts from when the handler starts, not from the send.
        #expect(await waitUntil { instance.handlerStartedAt.value != 0 })
        let started = instance.handlerStartedAt.value
        #expect(await waitUntil { monotonicNanos() - started > 60_000_000 })  // the handler is past its 0.05 s deadline
        kernel.lifecycle.checkHandlerDeadlines()
        #expect(instance.state == .hung)
        #expect(instance.lastError?.contains("deadline") == true)
        InProcessPlugins.gate(name).signal()
        #expect(await waitUntil { instance.state == .running })
        await kernel.lifecycle.shutdown(timeout: 5)
    }

    @Test func instanceThatWillNotStopStaysHungAndIsNeverClosedUnderIt() async throws {
        let kernel = TestKernel.inProcess()
        let name = "gated-\(UUID().uuidString.prefix(6))"
        let instance = try await kernel.lifecycle.load(path: "gated", name: name)
        _ = try await kernel.messages.deliver(to: name, body: [], wait: false, timeoutMs: 0)
        // Unload only once the handler runs; before, the message would be a dead letter.
        #expect(await waitUntil { instance.handlerStartedAt.value != 0 })
        do {
            _ = try await kernel.lifecycle.unload(name: name, timeout: 0.1)
            Issue.record("unload of a blocked handler succeeded")
        } catch {
            #expect(error.code == .hung)
        }
        #expect(instance.state == .hung)
        #expect(!(instance.image as! InProcessImage).isClosed)
        InProcessPlugins.gate(name).signal()
        #expect(await instance.waitForExit(seconds: 5))
        #expect((instance.image as! InProcessImage).isClosed)
        #expect(kernel.summaries(all: true).first { $0.name == name }?.state == .stopped)
    }

    @Test func blockedCallReturnsESTOPPINGWhenTheCallerIsUnloaded() async throws {
        let kernel = TestKernel.inProcess()
        let caller = "caller-\(UUID().uuidString.prefix(6))"
        _ = try await kernel.lifecycle.load(path: "silent", name: "\(caller)-target")
        _ = try await kernel.lifecycle.load(path: "caller", name: caller, grants: [.send("\(caller)-target")])
        _ = try await kernel.messages.deliver(to: caller, body: Array("call \(caller)-target".utf8), wait: false, timeoutMs: 0)
        let target = try #require(kernel.instance(named: "\(caller)-target"))
        #expect(await waitUntil { target.messagesIn == 1 })
        #expect(try await kernel.lifecycle.unload(name: caller, timeout: 5).state == .stopped)
        #expect(InProcessPlugins.result(caller) == .stopping)
        await kernel.lifecycle.shutdown(timeout: 5)
    }

    @Test func requestNobodyAnswersTimesOut() async throws {
        let kernel = TestKernel.inProcess()
        _ = try await kernel.lifecycle.load(path: "silent", name: "quiet")
        do {
            _ = try await kernel.messages.deliver(to: "quiet", body: [], wait: true, timeoutMs: 50)
            Issue.record("got a reply from a silent agent")
        } catch {
            #expect(error.code == .timedOut)
        }
        await kernel.lifecycle.shutdown(timeout: 5)
    }
}
