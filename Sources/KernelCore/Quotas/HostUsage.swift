import Glibc

/// What a process-mode host uses of the limits the OS enforces on it, read
/// from `/proc/PID/stat`, for `agentctl quota`. A snapshot.
struct HostUsage: Equatable {
    /// Its address space (`RLIMIT_AS` counts it), in bytes.
    var addressSpaceBytes: Int
    /// Its CPU time, user plus system (`RLIMIT_CPU` counts it), in whole seconds.
    var cpuSeconds: Int

    init(addressSpaceBytes: Int, cpuSeconds: Int) {
        self.addressSpaceBytes = addressSpaceBytes
        self.cpuSeconds = cpuSeconds
    }

    /// The usage of process `pid`; nil when it is gone or the file does not parse.
    init?(pid: Int32) {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 1024)
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        self.init(stat: bytes[..<count], ticksPerSecond: sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Parses a `stat` line: the fields after the command (which may hold
    /// spaces and parentheses, so it ends at the last ')'), where field 14 is
    /// utime and 15 stime (in clock ticks) and 23 vsize (in bytes).
    init?(stat: ArraySlice<UInt8>, ticksPerSecond: Int) {
        guard ticksPerSecond > 0, let close = stat.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " ")).map { Int(String(decoding: $0, as: UTF8.self)) }
        // fields[0] is field 3 (state).
        guard fields.count >= 21, let user = fields[11], let system = fields[12], let size = fields[20] else { return nil }
        addressSpaceBytes = size
        cpuSeconds = (user + system) / ticksPerSecond
    }
}
