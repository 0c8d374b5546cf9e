import Testing
@testable import KernelCore

@Suite struct MailboxTests {
    private func envelope(_ id: UInt64) -> Envelope {
        Envelope(id: id, sender: .controlAPI, body: Array("m\(id)".utf8), pendingReply: nil)
    }


    @Test func deliversInOrder() {
        let mailbox = Mailbox(capacity: 8)
        for id in 1...5 { #expect(mailbox.push(envelope(UInt64(id)), until: nil) == .ok) }
        #expect(mailbox.depth == 5)
        for id in 1...5 { #expect(mailbox.pop()?.id == UInt64(id)) }
        #expect(mailbox.depth == 0)
    }

    @Test func fullMailboxReturnsEFULLWithoutBlocking() {
        let mailbox = Mailbox(capacity: 2)
        #expect(mailbox.push(envelope(1), until: nil) == .ok)
        #expect(mailbox.push(envelope(2), until: nil) == .ok)
        let started = monotonicNanos()
        #expect(mailbox.push(envelope(3), until: nil) == .full)
        #expect(monotonicNanos() - started < 50_000_000)
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
        let sender = Task { await onThread { mailbox.push(Envelope(id: 2, sender: .controlAPI, body: [], pendingReply: nil), until: deadline(afterMilliseconds: 5000)) } }
        try? await Task.sleep(nanoseconds: 20_000_000)
        #expect(mailbox.pop()?.id == 1)
        #expect(await sender.value == .ok)
        #expect(mailbox.pop()?.id == 2)
    }

    @Test func interruptedSenderStopsWaiting() async {
        let mailbox = Mailbox(capacity: 1)
        #expect(mailbox.push(envelope(1), until: nil) == .ok)
        let flag = Flag()
        let sender = Task {
            await onThread {
                mailbox.push(Envelope(id: 2, sender: .controlAPI, body: [], pendingReply: nil), until: deadline(afterMilliseconds: 10_000)) { flag.value }
            }
        }
        try? await Task.sleep(nanoseconds: 20_000_000)
        flag.value = true
        mailbox.wakeSenders()
        #expect(await sender.value == .stopping)
    }

    @Test func closeReturnsQueuedMessagesAndRefusesNewOnes() {
        let mailbox = Mailbox(capacity: 4)
        for id in 1...3 { _ = mailbox.push(envelope(UInt64(id)), until: nil) }
        #expect(mailbox.close().map(\.id) == [1, 2, 3])
        #expect(mailbox.push(envelope(4), until: nil) == .stopping)
        #expect(mailbox.pop() == nil)
    }

    @Test func closeWakesABlockedReceiver() async {
        let mailbox = Mailbox(capacity: 4)
        let receiver = Task { await onThread { mailbox.pop() == nil } }
        try? await Task.sleep(nanoseconds: 20_000_000)
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
