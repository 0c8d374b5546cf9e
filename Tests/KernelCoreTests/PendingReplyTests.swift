import AgentOSTesting
import Dispatch
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
        // `interrupted` is first asked under the lock that the wait then releases: once it has
        // been asked, `complete` can take the lock only when the waiter is blocked.
        let asked = DispatchSemaphore(value: 0)
        let waiter = Task {
            await onThread {
                pending.wait(until: nil) {
                    asked.signal()
                    return false
                }
            }
        }
        await onThread { asked.wait() }
        pending.complete(.success(Array("pong".utf8)))
        #expect(await waiter.value == .success(Array("pong".utf8)))
    }

    @Test func asyncWaiterGetsTheOutcome() async {
        let pending = PendingReply(requestID: 1, lock: ConditionLock())
        let waiter = Task { await pending.value() }
        #expect(await waitUntil { pending.isAwaited })
        pending.complete(.failure(.stopping))
        #expect(await waiter.value == .failure(.stopping))
    }
}
