/// How the scheduler picks the next request when the engine has room.
public enum SchedulingPolicy: String, Sendable, CaseIterable, Codable {
    /// Fair share by tokens across agents: the agent served the fewest
    /// (weighted) tokens goes next — the virtual token counter of
    /// Sheng et al., "Fairness in Serving Large Language Models" (OSDI '24).
    case fair
    /// Highest priority first (agent priority plus request priority); FIFO among equals.
    case priority
    /// Arrival order, whoever sent it.
    case fifo
}
