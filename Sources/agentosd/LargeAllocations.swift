import CMalloc

/// How the daemon's allocator treats large blocks (request bodies, prompts).
///
/// glibc's malloc raises its mmap threshold each time a mapped block is freed,
/// up to 32 MiB: after the first large request body, every later one comes from
/// a heap arena, and a burst of them (40 concurrent 6 MB bodies, all refused)
/// leaves the memory in the arenas long after it is freed. A fixed threshold
/// turns that adjustment off: blocks of 256 KiB and more are mapped on their
/// own and go back to the system when freed.
enum LargeAllocations {
    static let mappedFrom: Int32 = 256 << 10

    /// Call once, first thing in `main`, before other threads start.
    static func returnToSystemWhenFreed() {
        mallopt(M_MMAP_THRESHOLD, mappedFrom)
    }
}
