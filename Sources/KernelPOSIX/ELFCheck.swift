import Foundation
import KernelCore

/// Checks a file is a loadable plugin before any of its code can run: an ELF
/// shared object of this machine's class, byte order and architecture, not
/// truncated, with `aos_plugin` among its defined dynamic symbols.
///
/// Reads the file through a read-only mapping (only the pages of the headers
/// and the dynamic symbol table are touched), or bytes already in memory;
/// dlopen (which runs constructors) comes after.
public enum ELFCheck {
    /// Checks the open file `descriptor` of `size` bytes (the loader's private
    /// copy, which nothing else writes), mapped read-only for the check.
    /// `path` is the name errors give: the file the operator named.
    /// Throws a `KernelError` naming `path` and the first problem found.
    public static func validate(file descriptor: Int32, size: Int, path: String) throws(KernelError) {
        guard size > 0 else { return try validate(UnsafeRawBufferPointer(start: nil, count: 0), path: path) }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else {
            throw KernelError(.internal, "cannot load \(path): cannot map its private copy: \(String(cString: strerror(errno)).lowercased())")
        }
        defer { munmap(mapping, size) }
        try validate(UnsafeRawBufferPointer(start: mapping, count: size), path: path)
    }

    /// Checks `contents`, the bytes of the file at `path`.
    /// Throws a `KernelError` naming `path` and the first problem found.
    public static func validate(_ contents: Data, path: String) throws(KernelError) {
        let problem: KernelError? = contents.withUnsafeBytes { bytes in
            do throws(KernelError) {
                try validate(bytes, path: path)
                return nil
            } catch {
                return error
            }
        }
        if let problem { throw problem }
    }

    /// Checks `bytes`, the whole file at `path`.
    public static func validate(_ bytes: UnsafeRawBufferPointer, path: String) throws(KernelError) {
        try validate(ELFFile(bytes: bytes), path: path)
    }

    private static func validate(_ file: ELFFile, path: String) throws(KernelError) {
        let size = file.bytes.count
        guard size >= 4, file.bytes[0] == 0x7F, file.bytes[1] == 0x45, file.bytes[2] == 0x4C, file.bytes[3] == 0x46 else {
            let head = file.bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw KernelError(.notELF, "cannot load \(path): not an ELF file (starts with \(head.isEmpty ? "nothing" : head))")
        }
        guard size >= 64 else {
            throw KernelError(.truncated, "cannot load \(path): truncated (\(size) bytes, shorter than an ELF header)")
        }
        guard file.bytes[4] == 2 else {
            throw KernelError(.wrongClass, "cannot load \(path): \(file.bytes[4] == 1 ? "32-bit" : "unknown-class") ELF; this kernel is 64-bit (rebuild for \(hostArchitectureName))")
        }
        guard file.bytes[5] == 1 else {
            throw KernelError(.wrongArchitecture, "cannot load \(path): big-endian ELF; this kernel is little-endian")
        }
        let type = file.u16(16), machine = file.u16(18)
        guard machine == hostMachine else {
            throw KernelError(.wrongArchitecture, "cannot load \(path): built for \(machineName(machine)); this kernel runs on \(hostArchitectureName)")
        }
        guard type == 3 else {
            throw KernelError(.notSharedObject, "cannot load \(path): ELF type \(type) is not a shared object (build it with -shared -fPIC)")
        }
        // Program headers: every loadable segment must lie inside the file.
        let phentsize = UInt64(file.u16(54)), phnum = UInt64(file.u16(56))
        guard phnum == 0 || phentsize >= 56, let programHeaders = file.range(file.u64(32), phentsize, times: phnum) else {
            throw truncated(path, size: size, what: "program headers")
        }
        for header in stride(from: programHeaders.lowerBound, to: programHeaders.upperBound, by: Int(phentsize)) {
            guard file.u32(header) == 1 else { continue }  // PT_LOAD
            guard file.range(file.u64(header + 8), file.u64(header + 32)) != nil else {
                throw truncated(path, size: size, what: "a loadable segment")
            }
        }
        // Section headers: find the dynamic symbol table and look for the descriptor.
        let shentsize = UInt64(file.u16(58)), shnum = UInt64(file.u16(60))
        guard shnum == 0 || shentsize >= 64, let sections = file.range(file.u64(40), shentsize, times: shnum) else {
            throw truncated(path, size: size, what: "section headers")
        }
        guard shnum > 0 else { return }  // stripped of sections: dlsym decides
        for section in stride(from: sections.lowerBound, to: sections.upperBound, by: Int(shentsize)) {
            guard file.u32(section + 4) == 11 else { continue }  // SHT_DYNSYM
            let link = UInt64(file.u32(section + 40))
            guard link < shnum, let symbols = file.range(file.u64(section + 24), file.u64(section + 32)),
                  let stringsHeader = file.range(file.u64(40) + link * shentsize, shentsize),
                  let strings = file.range(file.u64(stringsHeader.lowerBound + 24), file.u64(stringsHeader.lowerBound + 32))
            else { throw truncated(path, size: size, what: "the dynamic symbol table") }
            let entrySize = max(Int(clamping: file.u64(section + 56)), 24)
            for symbol in stride(from: symbols.lowerBound, through: symbols.upperBound - entrySize, by: entrySize) {
                let nameOffset = Int(file.u32(symbol))
                let sectionIndex = file.u16(symbol + 6)
                guard sectionIndex != 0, sectionIndex < 0xFF00, nameOffset < strings.count,
                      file.cStringEquals(at: strings.lowerBound + nameOffset, limit: strings.upperBound, "aos_plugin")
                else { continue }
                guard file.u64(symbol + 16) >= 16 else {
                    throw KernelError(.noDescriptor, "cannot load \(path): aos_plugin is \(file.u64(symbol + 16)) bytes, too small to be a descriptor")
                }
                return
            }
        }
        throw KernelError(.noDescriptor, "cannot load \(path): no aos_plugin symbol (define the descriptor with AOS_PLUGIN_EXPORT, see sdk/include/agentos.h)")
    }

    private static func truncated(_ path: String, size: Int, what: String) -> KernelError {
        KernelError(.truncated, "cannot load \(path): truncated or corrupt: \(what) would lie past the end of its \(size) bytes")
    }

    #if arch(x86_64)
    static let hostMachine: UInt16 = 62
    static let hostArchitectureName = "x86-64"
    #elseif arch(arm64)
    static let hostMachine: UInt16 = 183
    static let hostArchitectureName = "aarch64"
    #endif

    private static func machineName(_ machine: UInt16) -> String {
        switch machine {
        case 3: "i386"
        case 40: "arm"
        case 62: "x86-64"
        case 183: "aarch64"
        case 243: "riscv"
        default: "machine \(machine)"
        }
    }
}

/// Little-endian reads from an ELF file in memory; out-of-range reads return 0.
private struct ELFFile {
    let bytes: UnsafeRawBufferPointer

    /// The byte range `offset ..< offset + count * times`, or nil when it overflows or leaves the file.
    func range(_ offset: UInt64, _ count: UInt64, times: UInt64 = 1) -> Range<Int>? {
        let (length, overflowA) = count.multipliedReportingOverflow(by: times)
        let (end, overflowB) = offset.addingReportingOverflow(length)
        guard !overflowA, !overflowB, end <= UInt64(bytes.count) else { return nil }
        return Int(offset)..<Int(end)
    }

    func u16(_ offset: Int) -> UInt16 { read(offset) }
    func u32(_ offset: Int) -> UInt32 { read(offset) }
    func u64(_ offset: Int) -> UInt64 { read(offset) }

    private func read<T: FixedWidthInteger>(_ offset: Int) -> T {
        guard offset >= 0, offset + MemoryLayout<T>.size <= bytes.count else { return 0 }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// True when the NUL-terminated string at `offset` (ending before `limit`) equals `text`.
    func cStringEquals(at offset: Int, limit: Int, _ text: StaticString) -> Bool {
        let expected = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        guard offset + expected.count < min(limit, bytes.count) else { return false }
        for index in 0..<expected.count where bytes[offset + index] != expected[index] { return false }
        return bytes[offset + expected.count] == 0
    }
}
