/// When the engine pauses a running sequence for a waiting request, and when
/// a paused one resumes (`--preempt`), judged by the fair policy's weighted
/// token counters (`InferenceScheduler.fairShare`).
///
/// With every slot busy, a request waits past its fair share once its agent
/// trails a running sequence's agent by `gap` weighted tokens; the running
/// sequence of the most-served agent is then paused (its KV saved to host
/// memory) so the waiting request gets its slot. A paused sequence resumes
/// into the next free slot unless a waiting agent trails it by `gap` again,
/// so no sequence is paused and resumed in turn. A sequence runs `minimumRun`
/// steps after it starts or resumes before it can be paused. Pure logic.
enum PreemptionPolicy {
    /// Weighted tokens (a generated token counts 2) by which a waiting agent
    /// must trail a running one: 64 tokens generated.
    static let gap = 128.0
    /// Steps a sequence runs after it starts or resumes before it can be paused.
    static let minimumRun = 8

    /// A sequence in a slot, as preemption sees it.
    struct Running: Equatable {
        var slot: Int
        var agent: String
        /// Its agent's weighted tokens served.
        var counter: Double
        /// Steps since it started or resumed.
        var stepsRun: Int
    }

    /// The slot to pause so the request of `waiting` (its agent and counter)
    /// can run, or nil when no running sequence is far enough ahead of it.
    /// The most-served agent's sequence goes first; among equals the highest slot.
    static func victim(among running: [Running], for waiting: (agent: String, counter: Double)) -> Int? {
        running.lazy
            .filter { $0.stepsRun >= minimumRun && $0.agent != waiting.agent && $0.counter >= waiting.counter + gap }
            .max { ($0.counter, $0.slot) < ($1.counter, $1.slot) }?.slot
    }

    /// Whether a paused sequence whose agent has `pausedCounter` resumes before
    /// the request the fair policy would take next (`waitingCounter`, nil for none).
    static func resumes(pausedCounter: Double, before waitingCounter: Double?) -> Bool {
        guard let waitingCounter else { return true }
        return pausedCounter < waitingCounter + gap
    }
}
