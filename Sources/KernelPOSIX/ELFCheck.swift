import Foundation
import KernelCore

/// Checks a file is a loadable plugin before any of its code can run: an ELF
/// shared object of this machine's class, byte order and architecture, not
/// truncated, with `aos_plugin` among its defined dynamic symbols.
///
/// Reads the file only; dlopen (which runs constructors) comes after.
public enum ELFCheck {
    /// Throws a `KernelError` naming `path` and the first problem found.
    public static func validate(path: String) throws(KernelError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw KernelError(.fileNotFound, "cannot load \(path): \(describe(error))")
        }
        let problem: KernelError? = data.withUnsafeBytes { bytes in
            do throws(KernelError) {
                try validate(ELFFile(bytes: bytes), path: path)
                return nil
            } catch {
                return error
            }
        }
        if let problem { throw problem }
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
        let phoff = Int(file.u64(32)), phentsize = Int(file.u16(54)), phnum = Int(file.u16(56))
        guard phoff + phentsize * phnum <= size else {
            throw truncated(path, size: size, needed: phoff + phentsize * phnum, what: "program headers")
        }
        for index in 0..<phnum {
            let header = phoff + index * phentsize
            guard file.u32(header) == 1 else { continue }  // PT_LOAD
            let end = Int(file.u64(header + 8)) + Int(file.u64(header + 32))
            guard end <= size else { throw truncated(path, size: size, needed: end, what: "a loadable segment") }
        }
        // Section headers: find the dynamic symbol table and look for the descriptor.
        let shoff = Int(file.u64(40)), shentsize = Int(file.u16(58)), shnum = Int(file.u16(60))
        guard shoff + shentsize * shnum <= size else {
            throw truncated(path, size: size, needed: shoff + shentsize * shnum, what: "section headers")
        }
        guard shnum > 0 else { return }  // stripped of sections: dlsym decides
        for index in 0..<shnum {
            let section = shoff + index * shentsize
            guard file.u32(section + 4) == 11 else { continue }  // SHT_DYNSYM
            let symbols = Int(file.u64(section + 24)), symbolsSize = Int(file.u64(section + 32))
            let entrySize = max(Int(file.u64(section + 56)), 24)
            let link = Int(file.u32(section + 40))
            guard link < shnum else { break }
            let strings = Int(file.u64(shoff + link * shentsize + 24))
            let stringsSize = Int(file.u64(shoff + link * shentsize + 32))
            guard symbols + symbolsSize <= size, strings + stringsSize <= size else {
                throw truncated(path, size: size, needed: max(symbols + symbolsSize, strings + stringsSize), what: "the dynamic symbol table")
            }
            for symbol in stride(from: symbols, to: symbols + symbolsSize - entrySize + 1, by: entrySize) {
                let nameOffset = Int(file.u32(symbol))
                let sectionIndex = file.u16(symbol + 6)
                guard sectionIndex != 0, nameOffset < stringsSize,
                      file.cStringEquals(at: strings + nameOffset, limit: strings + stringsSize, "aos_plugin")
                else { continue }
                return
            }
        }
        throw KernelError(.noDescriptor, "cannot load \(path): no aos_plugin symbol (define the descriptor with AOS_PLUGIN_EXPORT, see sdk/include/agentos.h)")
    }

    private static func truncated(_ path: String, size: Int, needed: Int, what: String) -> KernelError {
        KernelError(.truncated, "cannot load \(path): truncated (\(size) bytes, but \(what) extend to byte \(needed))")
    }

    private static func describe(_ error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code))).lowercased()
        }
        return nsError.code == NSFileReadNoSuchFileError ? "no such file" : nsError.localizedDescription
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

/// Little-endian reads from a mapped ELF file; out-of-range reads return 0.
private struct ELFFile {
    let bytes: UnsafeRawBufferPointer

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
