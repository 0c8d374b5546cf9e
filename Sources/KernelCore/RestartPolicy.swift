/// How a process-mode instance is restarted after its host dies (OTP's child
/// restart types): `permanent` always, `transient` only after a crash (not
/// after the host exited with status 0), `temporary` never. At most
/// `intensity` restarts within `period` seconds; one more crash in that window
/// leaves the instance `failed` with the reason. From the second crash in a
/// row the restart waits 10 ms, doubling, at most 1 s.
public struct RestartPolicy: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case permanent, transient, temporary }

    public var kind: Kind
    /// Restarts allowed within `period`, 0...63.
    public var intensity: Int
    /// Seconds, > 0.
    public var period: Double

    public init(kind: Kind = .permanent, intensity: Int = 3, period: Double = 5) {
        self.kind = kind
        self.intensity = intensity
        self.period = period
    }

    /// Parses the policy's parts; throws a KernelError naming the value that does not fit.
    public init(kind: String?, intensity: Int?, period: Double?) throws(KernelError) {
        self.init()
        if let kind {
            guard let parsed = Kind(rawValue: kind) else {
                throw KernelError(.invalidArgument, "unknown restart policy \"\(kind)\" (use permanent, transient or temporary)")
            }
            self.kind = parsed
        }
        if let intensity {
            guard (0...63).contains(intensity) else {
                throw KernelError(.invalidArgument, "restart intensity \(intensity) is out of range (0 to 63 restarts per period)")
            }
            self.intensity = intensity
        }
        if let period {
            guard period > 0, period <= 86_400 else {
                throw KernelError(.invalidArgument, "restart period \(period) s is out of range (more than 0, at most 86400 s)")
            }
            self.period = period
        }
    }
}
