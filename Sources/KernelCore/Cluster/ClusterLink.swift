/// The transport between kernels that `ClusterService` publishes on: NATS
/// through libnats in agentosd (`NATSLink`), never anything in KernelCore.
///
/// The link delivers what arrives on the node's subjects to
/// `ClusterService.receive`, reports its state to `ClusterService.linkChanged`,
/// and calls `ClusterService.tick` a few times a second. Thread-safe.
public protocol ClusterLink: AnyObject, Sendable {
    /// Publishes `bytes` on `subject` without waiting for the network.
    ///
    /// Returns `.ok`, `.unreachable` when the link is down (nothing is queued
    /// for later: a remote send fails fast), or `.tooBig` when the frame is over
    /// the server's payload limit.
    func publish(_ subject: String, _ bytes: [UInt8]) -> AOSStatus
}
