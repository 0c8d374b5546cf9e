@testable import Engines
import Testing

/// When a running sequence is paused for a waiting request and when it
/// resumes (`PreemptionPolicy`), by the fair share's counters.
@Suite struct PreemptionPolicyTests {
    typealias Running = PreemptionPolicy.Running
    let gap = PreemptionPolicy.gap
    let settled = PreemptionPolicy.minimumRun

    @Test func theMostServedAgentFarEnoughAheadIsPaused() {
        let running = [
            Running(slot: 0, agent: "flood", counter: 900, stepsRun: settled),
            Running(slot: 1, agent: "other", counter: 400, stepsRun: settled),
            Running(slot: 2, agent: "flood", counter: 900, stepsRun: settled),
        ]
        #expect(PreemptionPolicy.victim(among: running, for: ("quiet", 100)) == 2)
        #expect(PreemptionPolicy.victim(among: running, for: ("quiet", 900 - gap)) == 2)
    }

    @Test func nothingIsPausedForAnAgentWithinTheGap() {
        let running = [Running(slot: 0, agent: "flood", counter: 900, stepsRun: settled)]
        #expect(PreemptionPolicy.victim(among: running, for: ("quiet", 900 - gap + 1)) == nil)
    }

    @Test func aSequenceIsNotPausedForItsOwnAgentNorBeforeItSettles() {
        #expect(PreemptionPolicy.victim(among: [Running(slot: 0, agent: "a", counter: 900, stepsRun: settled)], for: ("a", 0)) == nil)
        #expect(PreemptionPolicy.victim(among: [Running(slot: 0, agent: "a", counter: 900, stepsRun: settled - 1)], for: ("b", 0)) == nil)
    }

    @Test func aPausedSequenceResumesUnlessAWaitingAgentTrailsItByTheGap() {
        #expect(PreemptionPolicy.resumes(pausedCounter: 900, before: nil))
        #expect(PreemptionPolicy.resumes(pausedCounter: 900, before: 900 - gap + 1))
        #expect(!PreemptionPolicy.resumes(pausedCounter: 900, before: 900 - gap))
    }

    /// What is paused for a request would not be paused again for it once resumed.
    @Test func resumingAndPausingAgreeSoNothingThrashes() {
        for waiting in stride(from: 0.0, through: 1000, by: 50) {
            let paused = PreemptionPolicy.victim(among: [Running(slot: 0, agent: "a", counter: 600, stepsRun: settled)], for: ("b", waiting)) != nil
            #expect(paused != PreemptionPolicy.resumes(pausedCounter: 600, before: waiting))
        }
    }
}
