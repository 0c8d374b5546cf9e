import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl keys create|ls|revoke`: API keys of the OpenAI-compatible API.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke API keys for the OpenAI-compatible API (agentosd --api-addr).",
        discussion: """
            Each key is a principal with capabilities and quotas, like an instance: \
            `infer` (ask the model), `send:GLOB` (talk to agents as model "agent:NAME"), \
            `tool:GLOB` (call tools). Only a hash of the secret is kept, in \
            $AGENTOS_HOME/api-keys.json; the secret is printed once, at creation.

            Examples:
              agentctl keys create webapp --grant infer --grant 'send:support' --quota tokens_per_minute=20k
              agentctl keys ls
              agentctl keys revoke webapp
            """,
        subcommands: [Create.self, List.self, RevokeKey.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print its secret (shown this once).")

        @Argument(help: "The key's name (1 to 64 of A-Z a-z 0-9 . _ -).")
        var name: String

        @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("A capability: infer, send:GLOB or tool:GLOB (repeat, or separate with commas).", valueName: "caps"))
        var grant: [String] = []

        @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("A quota, as `agentctl quota` takes it (repeat, or separate with commas).", valueName: "key=value"))
        var quota: [String] = []

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func validate() throws {
            guard !grants.isEmpty else { throw ValidationError("give at least one --grant (infer, send:GLOB, tool:GLOB)") }
            _ = try quotas()
        }

        private var grants: [String] { grant.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } }

        private func quotas() throws -> [String: String] {
            var parsed: [String: String] = [:]
            for setting in quota.flatMap({ $0.split(separator: ",").map(String.init) }) {
                guard let equals = setting.firstIndex(of: "="), equals != setting.startIndex else {
                    throw ValidationError("--quota \"\(setting)\" is not KEY=VALUE (e.g. tokens_per_minute=20k)")
                }
                parsed[String(setting[..<equals])] = String(setting[setting.index(after: equals)...])
            }
            return parsed
        }

        func run() async throws {
            let created = try await ControlClient().createKey(CreateKeyRequest(name: name, grants: grants, quotas: try quotas()))
            switch output {
            case .json: try printJSON(created)
            case .table:
                print(created.key)
                FileHandle.standardError.write(Data("agentctl: key \(name) created with \(created.info.grants.joined(separator: ", ")); the secret above is not shown again\n".utf8))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the keys (never their secrets).")

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let keys = try await ControlClient().keys()
            switch output {
            case .json: try printJSON(keys)
            case .table:
                printTable([["NAME", "PREFIX", "GRANTS", "QUOTAS", "CREATED"]] + keys.map { key in
                    [key.name, key.prefix + "…", key.grants.joined(separator: ","),
                     key.quotas.isEmpty ? "-" : key.quotas.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                     ISO8601DateFormatter().string(from: key.createdAt)]
                })
            }
        }
    }

    struct RevokeKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a key: its secret stops working at once.")

        @Argument(help: "The key's name.")
        var name: String

        func run() async throws {
            let key = try await ControlClient().revokeKey(name)
            print("revoked \(key.name)")
        }
    }
}
