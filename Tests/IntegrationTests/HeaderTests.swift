import Foundation
import Testing

/// `sdk/include/agentos.h` compiles clean as C11 and C++17 with every warning
/// an error, with gcc and clang, and what it defines works (the checks run);
/// the SDK template builds with nothing but a C compiler and loads.
@Suite(.serialized) struct HeaderTests {
    @Test func headerCompilesAsC11WithCC() async throws {
        try await compileAndRun("cc", standard: "-std=c11", source: "check.c", expect: "agentos.h: all checks passed (C)")
    }

    @Test(.enabled(if: HeaderTests.tool("clang") != nil))
    func headerCompilesAsC11WithClang() async throws {
        try await compileAndRun("clang", standard: "-std=c11", source: "check.c", expect: "agentos.h: all checks passed (C)")
    }

    @Test func headerCompilesAsCPlusPlus17WithCPlusPlus() async throws {
        try await compileAndRun("c++", standard: "-std=c++17", source: "check.cpp", expect: "agentos.h: all checks passed (C++)")
    }

    @Test(.enabled(if: HeaderTests.tool("clang++") != nil))
    func headerCompilesAsCPlusPlus17WithClangPlusPlus() async throws {
        try await compileAndRun("clang++", standard: "-std=c++17", source: "check.cpp", expect: "agentos.h: all checks passed (C++)")
    }

    @Test func templateBuildsWithOnlyACCompilerAndLoads() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let make = try await BackgroundCommand(
            try #require(Self.tool("make")), ["-C", Paths.root.appendingPathComponent("sdk/template").path, "OUT=\(kernel.root)"]
        ).finish(timeout: 120)
        #expect(make.status == 0, "\(make.stdout)\(make.stderr)")
        try await kernel.client.load(.init(path: kernel.root + "/agent.so"))
        #expect(try await kernel.ask("agent", "hi") == "hello, agentctl (greeting 1)")
        try await kernel.expectHealthy()
    }

    /// Compiles `Tests/Fixtures/header/SOURCE` with `compiler` and the strictest
    /// flags, runs the program, and expects exit 0 and `expect` on stdout.
    private func compileAndRun(
        _ compiler: String, standard: String, source: String, expect line: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let directory = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let binary = directory + "/check"
        let compile = try await BackgroundCommand(
            try #require(Self.tool(compiler), sourceLocation: sourceLocation),
            [standard, "-Wall", "-Wextra", "-pedantic", "-Werror",
             "-I", Paths.root.appendingPathComponent("sdk/include").path,
             Paths.root.appendingPathComponent("Tests/Fixtures/header/\(source)").path, "-o", binary]
        ).finish(timeout: 120)
        #expect(compile.status == 0, "\(compiler): \(compile.stderr)", sourceLocation: sourceLocation)
        #expect(compile.stderr.isEmpty, "\(compile.stderr)", sourceLocation: sourceLocation)
        guard compile.status == 0 else { return }
        let run = try await BackgroundCommand(URL(fileURLWithPath: binary), []).finish(timeout: 30)
        #expect(run.status == 0, "\(run.stdout)", sourceLocation: sourceLocation)
        #expect(run.stdout == line + "\n", sourceLocation: sourceLocation)
    }

    /// `name` on PATH, or nil.
    static func tool(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").lazy
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
