import Testing
@testable import KernelCore

@Suite struct PendingReplyTests {
    @Test func firstCompletionWins() {
        let pending = PendingReply(requestID: 1, lock: ConditionLock())
        #expect(pending.complete(.success([1, 2])))
        #expect(!pending.complete(.failure(.timedOut)))
        #expect(pending.outcome(orElse: .failure(.timedOut)) == .success([1, 2]))
    }

    @Test func timeoutBecomesTheOutcomeWhenNoReplyCame() {
        let pending = PendingReply(requestID: 1, lock: ConditionLock())
        #expect(pending.wait(until: deadline(afterMilliseconds: 20)) { false } == nil)
        #expect(pending.outcome(orElse: .failure(.timedOut)) == .failure(.timedOut))
        #expect(!pending.complete(.success([])))
    }

    @Test func blockedWaiterWakesOnReply() async {
        let pending = PendingReply(requestID: 1, lock: ConditionLock())
        let waiter = Task { await onThread { pending.wait(until: nil) { false } } }
        try? await Task.sleep(nanoseconds: 20_000_000)
        pending.complete(.success(Array("pong".utf8)))
        #expect(await waiter.value == .success(Array("pong".utf8)))
    }

    @Test func asyncWaiterGetsTheOutcome() async {
        let pending = PendingReply(requestID: 1, lock: ConditionLock())
        Task.detached {
            try? await Task.sleep(nanoseconds: 10_000_000)
            pending.complete(.failure(.stopping))
        }
        #expect(await pending.value() == .failure(.stopping))
    }
}
