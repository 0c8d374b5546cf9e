import AgentOSTesting
import Foundation
import KernelCore
import KernelPOSIX
import Testing

/// Corrupt ELF headers are refused by name, never crash the kernel.
@Suite struct ELFCheckTests {
    /// The echo example built by `make examples`.
    static let echo = try? Data(contentsOf: URL(fileURLWithPath: pluginPath("echo")))

    private func refusal(patching offset: Int, with bytes: [UInt8]) throws -> KernelError.Code? {
        var data = try #require(Self.echo, "run `make examples` first")
        data.replaceSubrange(offset..<offset + bytes.count, with: bytes)
        do {
            try ELFCheck.validate(data, path: "patched.so")
            return nil
        } catch {
            return error.code
        }
    }

    @Test func theRealExamplePasses() throws {
        try ELFCheck.validate(try #require(Self.echo), path: "echo.so")
    }

    @Test(arguments: [
        (40, [UInt8](repeating: 0xFF, count: 8)),            // e_shoff past 2^63
        (32, [0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]), // e_phoff near Int.max
        (54, [0, 0]),                                         // e_phentsize 0 with program headers
        (58, [0, 0]),                                         // e_shentsize 0 with sections
        (60, [0xFF, 0xFF]),                                   // e_shnum past the file
    ])
    func corruptHeaderTablesAreRefusedAsTruncated(offset: Int, bytes: [UInt8]) throws {
        #expect(try refusal(patching: offset, with: bytes) == .truncated)
    }

    @Test func otherArchitectureAndClassAreNamed() throws {
        #expect(try refusal(patching: 18, with: [183, 0]) == .wrongArchitecture)
        #expect(try refusal(patching: 4, with: [1]) == .wrongClass)
        #expect(try refusal(patching: 0, with: [0x23, 0x21]) == .notELF)
    }

    @Test func everyPrefixOfAPluginIsRefusedWithoutCrashing() throws {
        let data = try #require(Self.echo, "run `make examples` first")
        for length in stride(from: 0, to: data.count, by: 97) {
            #expect(throws: KernelError.self) { try ELFCheck.validate(data.prefix(length), path: "cut.so") }
        }
    }
}
