import CAgentOS

/// Delivers a process-mode instance's mailbox batches through its image's
/// `MessagePipeline`. Plain messages go to the host ahead of each other's
/// returns (written together, their returns collected in order); anything
/// else (a request, whose caller waits for the answer; an inference result;
/// a tool call) waits until everything sent before it has returned, and is
/// then delivered as in thread mode. A batch ends with nothing in flight, so
/// the mailbox loop never waits, stops or hands over with messages in the
/// host. Each message is accounted as `InstanceRunner` accounts a handler:
/// it runs from the previous return (or the batch's start) to its own.
///
/// Crashes: the host runs its messages one at a time, in order, so when it
/// dies the oldest message without a return was running. That one is a
/// handler that crashed (`HostCrashes` restarts the host); the later ones,
/// which the host never started, go to the restarted host before anything
/// else, or, when the instance ended or is being unloaded, are returned like
/// the messages still queued (dead letters).
///
/// Instance thread only: made and used by the instance's own thread.
final class PipelinedBatch {
    private let instance: Instance
    private let pipeline: any MessagePipeline
    private let handler: InstanceRunner.Handler?
    /// Sent to the host and not collected yet: `inFlight[oldest...]`, oldest first.
    private var inFlight: [Envelope] = []
    private var oldest = 0
    /// Taken from the mailbox, or given back by a crashed host, and not sent yet: `waiting[next...]`.
    private var waiting: [Envelope] = []
    private var next = 0

    init(instance: Instance, pipeline: any MessagePipeline, handler: InstanceRunner.Handler?) {
        self.instance = instance
        self.pipeline = pipeline
        self.handler = handler
    }

    /// Delivers the batch the mailbox's `take()` gave, the first handler
    /// starting at `start` (monotonic ns); returns once every message of it
    /// has been handled.
    func deliver(startingAt start: UInt64) {
        var now = start
        while true {
            if next == waiting.count {
                waiting.removeAll(keepingCapacity: true)
                next = 0
                if let envelope = instance.mailbox.next() { waiting.append(envelope) }
            }
            guard next < waiting.count else {
                // All sent: collect the rest (a crash may give some back to `waiting`).
                guard oldest < inFlight.count else { return }
                now = collectOldest(startingAt: now)
                continue
            }
            let envelope = waiting[next]
            if case .message = envelope.kind {
                switch post(envelope) {
                case .sent:
                    next += 1
                    inFlight.append(envelope)
                    continue
                case .full:
                    next += 1
                    inFlight.append(envelope)
                    now = collectOldest(startingAt: now)
                    continue
                case .refused:
                    break
                }
            }
            // In order: only once everything sent before it has returned.
            if oldest < inFlight.count {
                now = collectOldest(startingAt: now)
                continue
            }
            next += 1
            now = InstanceRunner.deliver(envelope, to: instance, handler: handler, startingAt: now)
        }
    }

    /// Queues `envelope` (a plain message) for the host.
    private func post(_ envelope: Envelope) -> MessagePost {
        envelope.body.withUnsafeBytes { body in
            envelope.withSession { session in
                var message = aos_message(
                    struct_size: UInt32(MemoryLayout<aos_message>.size), flags: 0, id: envelope.id, from: envelope.senderCName,
                    body: aos_bytes(ptr: body.baseAddress?.assumingMemoryBound(to: UInt8.self), len: body.count),
                    inference: nil, session: session)
                return pipeline.post(&message, context: instance.handle, state: instance.own.pluginState)
            }
        }
    }

    /// Waits for the oldest message in flight to be handled, its handler
    /// timed from `start`; returns when it returned.
    private func collectOldest(startingAt start: UInt64) -> UInt64 {
        let envelope = inFlight[oldest]
        oldest += 1
        let own = instance.own
        instance.handlerStartedAt.store(start)
        own.handling = envelope.id
        own.handlingInferenceResult = false
        let status = pipeline.collect(context: instance.handle, state: own.pluginState)
        own.handling = 0
        let returned = InstanceRunner.handlerReturned(status, for: envelope, pending: nil, on: instance)
        if status == .crashed {
            takeBackUnstarted()
        } else if oldest == inFlight.count {
            inFlight.removeAll(keepingCapacity: true)
            oldest = 0
        }
        return returned
    }

    /// After the host died under the oldest message: the ones sent after it
    /// were never started. They are sent again, first, to the restarted
    /// host; or, when the instance ended or is being unloaded, returned with
    /// the rest of the batch as undelivered.
    private func takeBackUnstarted() {
        let unstarted = inFlight[oldest...]
        defer {
            inFlight.removeAll(keepingCapacity: true)
            oldest = 0
        }
        let ended = instance.own.endedAfterCrash != nil
        if !ended && !instance.stopRequested.load(ordering: .relaxed) {
            guard !unstarted.isEmpty else { return }
            waiting.replaceSubrange(next..<next, with: unstarted)
            instance.log.append(.info, .kernel, "sending the \(unstarted.count) message(s) the crashed host never started to the next one")
            return
        }
        let undelivered = Array(unstarted) + waiting[next...]
        waiting.removeAll(keepingCapacity: true)
        next = 0
        instance.services.messages {
            $0.returnUndelivered(undelivered, of: instance, logger: instance.services.lifecycle { $0.logger }, status: ended ? .crashed : .stopping)
        }
    }
}
