import ControlAPI
import Foundation
import Testing

/// Files the loader must refuse, each with its own named error that names the
/// file, before any of the plugin's code runs; the kernel keeps working.
@Suite(.serialized) struct LoaderRefusalTests {
    // MARK: Not a loadable ELF file

    @Test func nonELFFileIsRefusedAsNotELF() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.scratch("notes.so")
        try PluginFiles.write("this is not a shared object\n", to: path)
        let message = try await expectRefused(path, as: "not_elf", kernel: kernel)
        #expect(message.contains("not an ELF file (starts with 74 68 69 73)"), "\(message)")
    }

    /// An empty file exists and reads fine: it is not an ELF file (not "cannot read it").
    @Test func emptyFileIsRefusedAsNotELF() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.scratch("empty.so")
        try PluginFiles.write([], to: path)
        let message = try await expectRefused(path, as: "not_elf", kernel: kernel)
        #expect(message.contains("starts with nothing"), "\(message)")
    }

    @Test func elfForAnotherArchitectureIsRefusedAsWrongArchitecture() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.scratch("foreign.so")
        #if arch(x86_64)
        let (machine, name) = (UInt8(183), "aarch64")  // e_machine, little-endian
        #else
        let (machine, name) = (UInt8(62), "x86-64")
        #endif
        try PluginFiles.write(try PluginFiles.patched("echo", [18: machine, 19: 0]), to: path)
        let message = try await expectRefused(path, as: "wrong_architecture", kernel: kernel)
        #expect(message.contains("built for \(name)"), "\(message)")
    }

    @Test func bigEndianELFIsRefusedAsWrongArchitecture() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.scratch("bigendian.so")
        try PluginFiles.write(try PluginFiles.patched("echo", [5: 2]), to: path)  // EI_DATA = ELFDATA2MSB
        let message = try await expectRefused(path, as: "wrong_architecture", kernel: kernel)
        #expect(message.contains("big-endian"), "\(message)")
    }

    @Test func thirtyTwoBitELFIsRefusedAsWrongELFClass() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.scratch("elf32.so")
        try PluginFiles.write(try PluginFiles.patched("echo", [4: 1]), to: path)  // EI_CLASS = ELFCLASS32
        let message = try await expectRefused(path, as: "wrong_elf_class", kernel: kernel)
        #expect(message.contains("32-bit ELF; this kernel is 64-bit"), "\(message)")
    }

    @Test func elfThatIsNotASharedObjectIsRefusedAsNotSharedObject() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.scratch("exec.so")
        try PluginFiles.write(try PluginFiles.patched("echo", [16: 2, 17: 0]), to: path)  // e_type = ET_EXEC
        let message = try await expectRefused(path, as: "not_shared_object", kernel: kernel)
        #expect(message.contains("ELF type 2 is not a shared object"), "\(message)")
    }

    @Test func truncatedLibraryIsRefusedAsTruncated() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.scratch("half.so")
        let echo = try PluginFiles.bytes(of: "echo")
        try PluginFiles.write(Array(echo.prefix(echo.count / 2)), to: path)
        let message = try await expectRefused(path, as: "truncated", kernel: kernel)
        #expect(message.contains("truncated or corrupt: ") && message.hasSuffix("past the end of its \(echo.count / 2) bytes"), "\(message)")
    }

    @Test func fileShorterThanAnELFHeaderIsRefusedAsTruncated() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.scratch("stub.so")
        try PluginFiles.write(Array(try PluginFiles.bytes(of: "echo").prefix(40)), to: path)
        let message = try await expectRefused(path, as: "truncated", kernel: kernel)
        #expect(message.contains("shorter than an ELF header"), "\(message)")
    }

    // MARK: Files that are not there

    @Test func missingFileIsRefusedAsFileNotFound() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = try await expectRefused(kernel.scratch("absent.so"), as: "file_not_found", status: 404, kernel: kernel)
        #expect(message.hasSuffix(": no such file or directory"), "\(message)")
    }

    @Test func directoryIsRefusedAsNotARegularFile() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.scratch("folder.so")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let message = try await expectRefused(path, as: "not_regular_file", kernel: kernel)
        #expect(message.hasSuffix(": not a regular file: it is a directory (give the path of a plugin's .so file)"), "\(message)")
    }

    // MARK: The descriptor handshake

    @Test func libraryWithoutDescriptorIsRefusedAsNoDescriptor() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = try await expectRefused(Paths.plugin("nodesc"), as: "no_descriptor", kernel: kernel)
        #expect(message.contains("no aos_plugin symbol"), "\(message)")
    }

    @Test func wrongMagicIsRefusedAsBadMagic() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = try await expectRefused(Paths.plugin("badmagic"), as: "bad_magic", kernel: kernel)
        #expect(message.contains("bad magic 0xdeadbeef (expected 0x414f5350"), "\(message)")
    }

    @Test func newerABIMajorIsRefusedAsABIMismatchNamingBothMajors() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = try await expectRefused(Paths.plugin("abinew"), as: "abi_mismatch", kernel: kernel)
        #expect(message.contains("ABI major 2, kernel speaks 1"), "\(message)")
    }

    @Test func olderABIMajorIsRefusedAsABIMismatchNamingBothMajors() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = try await expectRefused(Paths.plugin("abiold"), as: "abi_mismatch", kernel: kernel)
        #expect(message.contains("ABI major 0, kernel speaks 1"), "\(message)")
    }

    @Test func tooSmallDescriptorIsRefusedAsStructTooSmall() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = try await expectRefused(Paths.plugin("smallstruct"), as: "struct_too_small", kernel: kernel)
        #expect(message.contains("struct_size 16 is smaller than"), "\(message)")
    }

    @Test func otherBuildIsRefusedAsBuildMismatch() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = try await expectRefused(Paths.plugin("wrongbuild"), as: "build_mismatch", kernel: kernel)
        #expect(message.contains("built for 32-bit little-endian, kernel is 64-bit little-endian"), "\(message)")
    }

    @Test func unknownKindIsRefusedAsBadDescriptor() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = try await expectRefused(Paths.plugin("badkind"), as: "bad_descriptor", kernel: kernel)
        #expect(message.contains("plugin kind 7 is not supported"), "\(message)")
    }

    @Test func invalidDescriptorNameIsRefusedAsBadDescriptor() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = try await expectRefused(Paths.plugin("badname"), as: "bad_descriptor", kernel: kernel)
        #expect(message.contains("descriptor name \"bad name!\" is invalid"), "\(message)")
    }

    // MARK: init fails

    @Test func failingInitIsRefusedAsInitFailedAndListedAsFailed() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = try await expectRefused(Paths.plugin("failinit"), as: "init_failed", kernel: kernel)
        #expect(message.contains("init of failinit returned AOS_EPERM"), "\(message)")

        let failed = try #require(try await kernel.listed("failinit"))
        #expect(failed.state == "failed")
        #expect(failed.lastError?.contains("AOS_EPERM") == true, "\(failed.lastError ?? "nil")")
        let ps = try await kernel.agentctlAsync("ps", "-a")
        #expect(ps.stdout.split(separator: "\n").contains { $0.hasPrefix("failinit ") && $0.contains(" failed ") }, "\(ps.stdout)")

        let logs = try await kernel.agentctlAsync("logs", "failinit")
        #expect(logs.status == 0, "\(logs.stderr)")
        #expect(logs.stdout.contains("failinit: refusing to start (AOS_EPERM)"), "\(logs.stdout)")
    }

    @Test func failedInitLeavesTheNameFree() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await expectRefused(Paths.plugin("failinit"), as: "init_failed", kernel: kernel)
        // Not name_taken: the failed instance holds no name.
        try await expectRefused(Paths.plugin("failinit"), as: "init_failed", kernel: kernel)
    }

    // MARK: Through agentctl

    @Test func refusalThroughAgentctlIsOneLineOnStderrAndExitsOne() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let path = kernel.scratch("notes.so")
        try PluginFiles.write("plain text\n", to: path)
        let load = try await kernel.agentctlAsync("load", path)
        #expect(load.status == 1)
        #expect(load.stdout.isEmpty)
        #expect(load.stderr.hasPrefix("agentctl: cannot load \(path): not an ELF file"), "\(load.stderr)")
        #expect(load.stderr.filter { $0 == "\n" }.count == 1 && load.stderr.hasSuffix("\n"), "\(load.stderr)")
        try await kernel.expectHealthy()
    }

    @Test func refusalsLeaveOtherInstancesRunning() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try await kernel.load("counter")
        #expect(try await kernel.ask("counter", "x") == "1")
        for plugin in ["nodesc", "badmagic", "abinew", "smallstruct", "wrongbuild", "failinit"] {
            _ = try? await kernel.load(plugin)
        }
        #expect(try await kernel.ask("counter", "x") == "2")
        #expect(try await kernel.client.instances().map(\.name) == ["counter"])
        #expect(kernel.privateCopies().count == 1, "\(kernel.privateCopies())")
    }

    // MARK: Helper

    /// Loads `path`, which the kernel must refuse with `code` (HTTP `status`) in a
    /// message that names the file; then checks that nothing of it stayed behind
    /// (no instance, no private copy) and that the kernel still works.
    @discardableResult
    private func expectRefused(
        _ path: String, as code: String, status: Int = 422, kernel: KernelProcess,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        let message = await expectAPIError(code, status: status, sourceLocation: sourceLocation) {
            try await kernel.client.load(LoadRequest(path: path))
        }
        #expect(message.hasPrefix("cannot load \(path): "), "\(message)", sourceLocation: sourceLocation)
        #expect(try await kernel.client.instances().isEmpty, sourceLocation: sourceLocation)
        #expect(kernel.privateCopies().isEmpty, "\(kernel.privateCopies())", sourceLocation: sourceLocation)
        try await kernel.expectHealthy(sourceLocation: sourceLocation)
        return message
    }
}
