import ControlAPI
import Foundation
import Testing

/// `agentosd --config FILE` and `$AGENTOS_HOME/agentosd.yaml`: every option by its
/// long name, the command line winning, and each bad file refused by the real
/// `agentosd` with a message naming the file, the line and the key.
@Suite(.serialized) struct ConfigFileTests {
    /// The default file in the home is read; an option given in both places takes
    /// the command line's value (`--plugins`, `--engine none` against the file's
    /// llama engine with a model that does not exist); the file's own options apply.
    @Test func defaultFileInHomeIsReadAndCommandLineWins() async throws {
        let root = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: root + "/home", withIntermediateDirectories: true)
        let file = root + "/home/agentosd.yaml"
        try """
            # agentosd options
            engine: llama
            model: /nonexistent/model.gguf
            plugins: /nonexistent/plugins
            log-format: json
            no-metrics: false
            api-addr: ~
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let kernel = try await KernelProcess(["--engine", "none"], root: root)
        let status = try await kernel.client.status()
        #expect(status.pluginsDir == kernel.pluginsDirectory)
        let log = kernel.stop().log
        #expect(log.contains("config   \(file)"), "\(log)")
        #expect(log.contains(#""message":"read options from \#(file)""#), "\(log)")
    }

    /// Issue 21's cluster settings from the file: the kernel joins a real nats-server as the file's node.
    @Test func clusterSettingsFromTheFileJoinTheCluster() async throws {
        let nats = try NATSServer()
        defer { nats.stop() }
        let root = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let file = root + "/cluster.yaml"
        try "cluster: \(nats.url)\nnode: east\ncluster-required: true\n".write(toFile: file, atomically: true, encoding: .utf8)
        let kernel = try await KernelProcess(["--config", file], root: root)
        defer { kernel.stop() }
        #expect(try await kernel.eventually(10) { try await kernel.client.cluster().nodes.map(\.name) == ["east"] })
    }

    /// A file named with `--config` sets options from the command's option groups too
    /// (`cluster` from the cluster group): ArgumentParser checks them as command-line values (a usage error, 64).
    @Test func explicitFileReachesOptionGroupsAndTheirChecks() throws {
        let result = try run(config: "cluster: nats://127.0.0.1:1\n")
        #expect(result.status == 64)
        #expect(result.stderr.contains("--cluster and --node go together"), "\(result.stderr)")
    }

    /// The example in sdk/examples is a file agentosd accepts.
    @Test func theExampleConfigIsAccepted() async throws {
        let example = Paths.root.appendingPathComponent("sdk/examples/agentosd.yaml").path
        let kernel = try await KernelProcess(["--config", example, "--engine", "none"])
        #expect(try await kernel.client.status().pluginsDir == kernel.pluginsDirectory)
        let log = kernel.stop().log
        #expect(log.contains("config   \(example)"), "\(log)")
    }

    @Test func missingFileIsNamed() throws {
        let root = KernelProcess.newRoot()
        let result = try CommandResult.run(
            Paths.agentosd, ["--config", root + "/absent.yaml", "--engine", "none"], environment: ["AGENTOS_HOME": root + "/home"])
        #expect(result.status == 1)
        #expect(result.stderr == "agentosd: \(root)/absent.yaml: no such file\n", "\(result.stderr)")
    }

    /// `--config /dev/null` reads nothing (and so skips the home's file): the command line alone decides.
    @Test func devNullIsAnEmptyConfig() throws {
        let root = KernelProcess.newRoot()
        let result = try CommandResult.run(
            Paths.agentosd, ["--config", "/dev/null", "--mailbox", "0"], environment: ["AGENTOS_HOME": root + "/home"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--mailbox must be in 1...1000000"), "\(result.stderr)")
    }

    @Test func yamlThatDoesNotParseNamesTheLine() throws {
        let result = try run(config: "engine: none\nnode: a: b\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains("not valid YAML: line 2, column 8: mapping values are not allowed"), "\(result.stderr)")
    }

    @Test func unknownKeyIsNamedWithTheNearestOption() throws {
        let result = try run(config: "engine: none\nenigne: llama\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains(".yaml:2: unknown option `enigne` (did you mean `engine`?)"), "\(result.stderr)")
    }

    @Test func listForASingleValuedOptionIsRefused() throws {
        let result = try run(config: "engine: [llama, none]\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains(".yaml:1: `engine` takes one value, not a list"), "\(result.stderr)")
    }

    @Test func mappingForAnOptionIsRefused() throws {
        let result = try run(config: "cluster:\n  url: nats://127.0.0.1:4222\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains(".yaml:1: `cluster` takes one value, not a mapping"), "\(result.stderr)")
    }

    @Test func flagWithANonBooleanValueIsRefused() throws {
        let result = try run(config: "no-metrics: maybe\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains(".yaml:1: `no-metrics` is a flag: give it true or false"), "\(result.stderr)")
    }

    /// A value of the right shape but the wrong type gets ArgumentParser's own message.
    @Test func badValueGetsTheOptionsOwnError() throws {
        let result = try run(config: "mailbox: lots\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("'lots' is invalid for '--mailbox"), "\(result.stderr)")
    }

    @Test func fileThatIsNotAMappingIsRefused() throws {
        let result = try run(config: "- engine\n- none\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains(".yaml:1: the file must be a mapping of option names to values"), "\(result.stderr)")
    }

    /// The config file cannot name another one.
    @Test func configKeyIsRefused() throws {
        let result = try run(config: "config: other.yaml\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains("unknown option `config`"), "\(result.stderr)")
    }

    /// Runs `agentosd --config FILE --engine none` with `config` as FILE's text, on a fresh home.
    private func run(config: String) throws -> CommandResult {
        let root = KernelProcess.newRoot()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let file = root + "/agentosd.yaml"
        try config.write(toFile: file, atomically: true, encoding: .utf8)
        return try CommandResult.run(
            Paths.agentosd, ["--config", file, "--engine", "none", "--no-plugins-dir"], environment: ["AGENTOS_HOME": root + "/home"])
    }
}
