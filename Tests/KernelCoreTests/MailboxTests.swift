import AgentOSTesting
import Testing
@testable import KernelCore

@Suite struct MailboxTests {
    private func envelope(_ id: UInt64) -> Envelope {
        Envelope(id: id, sender: .controlAPI, body: MessageBody(Array("m\(id)".utf8)), kind: .message)
    }

    /// The ids of the next batch the receiver takes; nil once the mailbox is closed.
    private func take(_ mailbox: Mailbox) -> [UInt64]? {
        guard mailbox.take() else { return nil }
        var ids: [UInt64] = []
        while let envelope = mailbox.next() { ids.append(envelope.id) }
        return ids
    }

    @Test func deliversInOrder() {
        let mailbox = Mailbox(capacity: 8)
        for id in 1...5 { #expect(mailbox.push(envelope(UInt64(id)), until: nil) == .ok) }
        #expect(mailbox.depth == 5)
        #expect(take(mailbox) == [1, 2, 3, 4, 5])
        #expect(mailbox.depth == 0)
    }

    @Test func receiverTakesAtMostOneBatchAtATime() {
        let mailbox = Mailbox(capacity: 200)
        for id in 1...100 { #expect(mailbox.push(envelope(UInt64(id)), until: nil) == .ok) }
        #expect(take(mailbox) == Array(1...UInt64(Mailbox.batchLimit)))
        #expect(mailbox.depth == 100 - Mailbox.batchLimit)
        #expect(take(mailbox) == Array(UInt64(Mailbox.batchLimit + 1)...100))
    }

    /// Envelopes do not retain their sender: the mailbox keeps each sender alive
    /// until the batch after its last message is taken, and not longer.
    @Test func sendersLiveUntilTheirMessagesAreHandled() {
        let mailbox = Mailbox(capacity: 8)
        weak var gone: SenderIdentity?
        do {
            let sender = SenderIdentity(name: "brief", instanceID: 7)
            gone = sender
            for id in 1...2 {
                #expect(mailbox.push(Envelope(id: UInt64(id), sender: sender, body: .empty, kind: .message), until: nil) == .ok)
            }
        }
        #expect(gone != nil, "queued messages keep their sender")
        #expect(mailbox.take())
        #expect(mailbox.next()?.sender.name == "brief")
        #expect(mailbox.next()?.sender.name == "brief")
        #expect(mailbox.next() == nil)
        #expect(gone != nil, "a batch being handled keeps its senders")
        #expect(mailbox.push(envelope(3), until: nil) == .ok)
        #expect(mailbox.take())
        #expect(gone == nil, "once the next batch is taken, the sender is let go")
    }

    @Test func closeTakesBackTheUnstartedRestOfTheReceiversBatch() {
        let mailbox = Mailbox(capacity: 8)
        for id in 1...4 { #expect(mailbox.push(envelope(UInt64(id)), until: nil) == .ok) }
        #expect(mailbox.take())
        #expect(mailbox.next()?.id == 1)  // in hand, as if its handler were stuck
        #expect(mailbox.push(envelope(5), until: nil) == .ok)
        #expect(mailbox.close().map(\.id) == [2, 3, 4, 5])
        #expect(mailbox.next()?.id == nil)
        #expect(!mailbox.take())
    }

    @Test func fullMailboxReturnsEFULLWithoutBlocking() {
        let mailbox = Mailbox(capacity: 2)
        #expect(mailbox.push(envelope(1), until: nil) == .ok)
        #expect(mailbox.push(envelope(2), until: nil) == .ok)
        #expect(mailbox.push(envelope(3), until: nil) == .full)
        #expect(mailbox.waiters.senders == 0)
    }

    @Test func fullMailboxWaitsUpToTheSendersDeadline() {
        let mailbox = Mailbox(capacity: 1)
        #expect(mailbox.push(envelope(1), until: nil) == .ok)
        let started = monotonicNanos()
        #expect(mailbox.push(envelope(2), until: deadline(afterMilliseconds: 50)) == .full)
        #expect(monotonicNanos() - started >= 50_000_000)
    }

    @Test func waitingSenderGetsInOnceTheReceiverTakesAMessage() async {
        let mailbox = Mailbox(capacity: 1)
        #expect(mailbox.push(envelope(1), until: nil) == .ok)
        let sender = Task { await onThread { mailbox.push(Envelope(id: 2, sender: .controlAPI, body: .empty, kind: .message), until: deadline(afterMilliseconds: 10_000)) } }
        #expect(await waitUntil { mailbox.waiters.senders == 1 })
        #expect(take(mailbox) == [1])
        #expect(await sender.value == .ok)
        #expect(take(mailbox) == [2])
    }

    @Test func interruptedSenderStopsWaiting() async {
        let mailbox = Mailbox(capacity: 1)
        #expect(mailbox.push(envelope(1), until: nil) == .ok)
        let flag = Flag()
        let sender = Task {
            await onThread {
                mailbox.push(Envelope(id: 2, sender: .controlAPI, body: .empty, kind: .message), until: deadline(afterMilliseconds: 10_000)) { flag.value }
            }
        }
        #expect(await waitUntil { mailbox.waiters.senders == 1 })
        flag.value = true
        mailbox.wakeSenders()
        #expect(await sender.value == .stopping)
    }

    @Test func closeReturnsQueuedMessagesAndRefusesNewOnes() {
        let mailbox = Mailbox(capacity: 4)
        for id in 1...3 { _ = mailbox.push(envelope(UInt64(id)), until: nil) }
        #expect(mailbox.close().map(\.id) == [1, 2, 3])
        #expect(mailbox.push(envelope(4), until: nil) == .stopping)
        #expect(take(mailbox) == nil)
    }

    /// A reload's handover: what was not started moves in order, later pushes
    /// follow it, and the old receiver's loop ends.
    @Test func handOverMovesTheUnstartedMessagesInOrderAndPassesLaterPushesOn() {
        let old = Mailbox(capacity: 8), new = Mailbox(capacity: 8)
        for id in 1...4 { #expect(old.push(envelope(UInt64(id)), until: nil) == .ok) }
        #expect(old.take())
        #expect(old.next()?.id == 1)  // in hand: its handler finishes on the old instance
        #expect(old.push(envelope(5), until: nil) == .ok)
        #expect(old.handOver(to: new)?.isEmpty == true)
        #expect(old.next() == nil)
        #expect(!old.take())
        #expect(old.push(envelope(6), until: nil) == .ok)
        #expect(old.pushFromKernel(envelope(7)))
        #expect(new.push(envelope(8), until: nil) == .ok)
        #expect(take(new) == [2, 3, 4, 5, 6, 7, 8])
        #expect(new.acceptedCount == 2, "moved messages were counted by the old mailbox")
        #expect(old.handOver(to: Mailbox(capacity: 8)) == nil, "a mailbox is handed over once")
    }

    @Test func closedMailboxIsNotHandedOver() {
        let old = Mailbox(capacity: 8), new = Mailbox(capacity: 8)
        _ = old.push(envelope(1), until: nil)
        #expect(old.close().map(\.id) == [1])
        #expect(old.handOver(to: new) == nil)
        #expect(new.depth == 0)
    }

    @Test func handOverToAClosedSuccessorReturnsTheMessages() {
        let old = Mailbox(capacity: 8), new = Mailbox(capacity: 8)
        for id in 1...2 { _ = old.push(envelope(UInt64(id)), until: nil) }
        _ = new.close()
        #expect(old.handOver(to: new)?.map(\.id) == [1, 2])
        #expect(old.push(envelope(3), until: nil) == .stopping)
    }

    @Test func senderWaitingForRoomMovesOnToTheSuccessor() async {
        let old = Mailbox(capacity: 1), new = Mailbox(capacity: 8)
        #expect(old.push(envelope(1), until: nil) == .ok)
        let sender = Task {
            await onThread {
                old.push(Envelope(id: 2, sender: .controlAPI, body: .empty, kind: .message), until: deadline(afterMilliseconds: 10_000))
            }
        }
        #expect(await waitUntil { old.waiters.senders == 1 })
        #expect(old.handOver(to: new)?.isEmpty == true)
        #expect(await sender.value == .ok)
        #expect(take(new) == [1, 2])
    }

    @Test func closeWakesABlockedReceiver() async {
        let mailbox = Mailbox(capacity: 4)
        let receiver = Task { await onThread { take(mailbox) == nil } }
        #expect(await waitUntil { mailbox.waiters.receiver })
        _ = mailbox.close()
        #expect(await receiver.value)
    }
}

/// A flag another thread flips, for interruption tests.
final class Flag: @unchecked Sendable {
    private let lock = ConditionLock()
    private var _value = false
    var value: Bool {
        get { lock.withLock { _value } }
        set { lock.withLock { _value = newValue } }
    }
}
