import CAgentOS
import Foundation

/// The state a replaced instance hands to the instance that replaces it at a
/// reload (ABI 1.12): the old version's `save` makes bytes, the new
/// version's `restore` takes them before its first message.
///
/// Made with the new instance when its descriptor has `restore` (in process
/// mode, the proxy's, present when the plugin has one). The old instance's
/// thread offers what `save` returned (nil: nothing) after its last handler;
/// the lifecycle offers nil when the old one will not get there (it hung, or
/// the handover did not happen). The first offer wins. The new instance's
/// thread waits for it before its message loop. Thread-safe.
final class StateHandoff: Sendable {
    private let slot: Pending<[UInt8]?>

    /// `lock` is the new instance's parker, so unloading it wakes the wait.
    init(lock: ConditionLock) {
        slot = Pending(requestID: 0, lock: lock)
    }

    /// Offers the saved bytes (nil: none); ignored after the first offer.
    func offer(_ bytes: [UInt8]?) {
        slot.complete(bytes)
    }

    /// Blocks until an offer or `interrupted()`; nil for nothing to restore.
    func wait(interrupted: () -> Bool) -> [UInt8]? {
        slot.wait(until: nil, interrupted: interrupted) ?? nil
    }
}

extension aos_plugin_descriptor {
    /// `save`, when the descriptor is long enough to hold it (ABI 1.12).
    var handoffSave: (@convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<aos_buffer>?) -> aos_status)? {
        Int(struct_size) >= MemoryLayout<aos_plugin_descriptor>.offset(of: \.save)! + MemoryLayout<UnsafeRawPointer>.size ? save : nil
    }

    /// `restore`, when the descriptor is long enough to hold it (ABI 1.12).
    var handoffRestore: (@convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, aos_bytes) -> aos_status)? {
        Int(struct_size) >= MemoryLayout<aos_plugin_descriptor>.offset(of: \.restore)! + MemoryLayout<UnsafeRawPointer>.size ? restore : nil
    }
}
