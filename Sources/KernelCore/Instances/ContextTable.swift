import Glibc
import Synchronization

/// The `aos_ctx *` handles plugins hold: a slot index and a generation into one
/// process-wide table, never a pointer to kernel memory.
///
/// A plugin may keep its handle after its instance is gone (a thread it never
/// joined, a copy in a global): every syscall looks the handle up here, and a
/// handle whose generation is no longer its slot's gets AOS_ESTOPPING, one
/// whose slot was never handed out AOS_EINVAL, never undefined behaviour.
///
/// Each slot counts the syscalls running through it (a Linux module refcount):
/// `detach` bumps the generation, so no new syscall gets in, then waits for
/// those inside to leave before it lets the instance go. Slots are reused;
/// their storage is never freed, so a stale lookup only reads counters.
/// Thread-safe: `enter`/`leave` are two atomics on the slot, which only the
/// instance's own threads normally touch, and no reference counting: a
/// syscall borrows its instance from the slot, which holds it until `detach`.
final class ContextTable: @unchecked Sendable {
    static let shared = ContextTable()

    /// Slots per page and pages at most: a million instances over a run's life at once.
    private static let pageSize = 1024
    private static let maxPages = 1024

    /// One slot: its generation, the syscalls inside it, and its instance.
    /// Padded so two slots' counters never share a cache line.
    final class Slot: @unchecked Sendable {
        private let before: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        let generation = Atomic<UInt32>(0)
        let inside = Atomic<Int>(0)
        /// Set before the handle is handed out, cleared once nothing is inside; guarded by the generation protocol.
        var instance: Unmanaged<Instance>?
        private let after: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    }

    /// Pages of slots; a page is published once and never moves, and its slots live for the process.
    private let pages: UnsafeMutablePointer<UnsafeMutablePointer<Unmanaged<Slot>>?>
    private let pageCount = Atomic<Int>(0)
    private let lock = Mutex(FreeList())

    private struct FreeList {
        var free: [Int] = []
        var used = 0
    }

    private init() {
        pages = .allocate(capacity: Self.maxPages)
        pages.initialize(repeating: nil, count: Self.maxPages)
    }

    /// What a lookup found.
    enum Lookup {
        /// The live instance, borrowed: valid until the caller leaves `slot`.
        case instance(Unmanaged<Instance>, slot: Unmanaged<Slot>)
        /// The handle was valid once; its instance is gone or going.
        case stale
        /// Not a handle this kernel made.
        case invalid
    }

    /// A fresh handle for `instance`, retained until `detach`; nil when every slot is taken.
    func attach(_ instance: Instance) -> OpaquePointer? {
        let index: Int? = lock.withLock { list in
            if let index = list.free.popLast() { return index }
            guard list.used < Self.pageSize * Self.maxPages else { return nil }
            let index = list.used
            if index % Self.pageSize == 0 {
                let page = UnsafeMutablePointer<Unmanaged<Slot>>.allocate(capacity: Self.pageSize)
                for offset in 0..<Self.pageSize { (page + offset).initialize(to: .passRetained(Slot())) }
                pages[index / Self.pageSize] = page
                pageCount.store(index / Self.pageSize + 1, ordering: .releasing)
            }
            list.used += 1
            return index
        }
        guard let index else { return nil }
        return slot(at: index)._withUnsafeGuaranteedRef { slot in
            slot.instance = Unmanaged.passRetained(instance)
            let generation = slot.generation.add(1, ordering: .sequentiallyConsistent).newValue
            return Self.handle(index: index, generation: generation)
        }
    }

    /// Makes `handle` stale, waits until no syscall is inside its slot, releases the instance and frees the slot.
    func detach(_ handle: OpaquePointer) {
        let (index, generation) = Self.decode(handle)
        let slot = slot(at: index).takeUnretainedValue()
        guard slot.generation.compareExchange(
            expected: generation, desired: generation &+ 1, ordering: .sequentiallyConsistent).exchanged
        else { return }
        var spins = 0
        while slot.inside.load(ordering: .sequentiallyConsistent) != 0 {
            spins += 1
            if spins < 100 { sched_yield() } else { usleep(1000) }
        }
        slot.instance?.release()
        slot.instance = nil
        lock.withLock { $0.free.append(index) }
    }

    /// Enters the slot of `handle`. On `.instance`, the caller must `leave` the slot when the syscall ends.
    @inline(__always)
    func enter(_ handle: OpaquePointer?) -> Lookup {
        guard let handle else { return .invalid }
        let (index, generation) = Self.decode(handle)
        guard index >= 0, index / Self.pageSize < pageCount.load(ordering: .acquiring) else { return .invalid }
        let slot = slot(at: index)
        return slot._withUnsafeGuaranteedRef { entered in
            entered.inside.add(1, ordering: .sequentiallyConsistent)
            guard entered.generation.load(ordering: .sequentiallyConsistent) == generation, let instance = entered.instance else {
                entered.inside.subtract(1, ordering: .sequentiallyConsistent)
                return .stale
            }
            return .instance(instance, slot: slot)
        }
    }

    @inline(__always)
    func leave(_ slot: Unmanaged<Slot>) {
        slot._withUnsafeGuaranteedRef { _ = $0.inside.subtract(1, ordering: .releasing) }
    }

    @inline(__always)
    private func slot(at index: Int) -> Unmanaged<Slot> {
        pages[index / Self.pageSize].unsafelyUnwrapped[index % Self.pageSize]
    }

    /// Slot index + 1 in the high 32 bits (so no handle is NULL), the generation in the low 32.
    private static func handle(index: Int, generation: UInt32) -> OpaquePointer {
        OpaquePointer(bitPattern: UInt(index + 1) << 32 | UInt(generation))!
    }

    @inline(__always)
    private static func decode(_ handle: OpaquePointer) -> (index: Int, generation: UInt32) {
        let bits = UInt(bitPattern: handle)
        return (Int(bits >> 32) - 1, UInt32(truncatingIfNeeded: bits))
    }
}
