import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl kv ls|get|put|rm`: the kernel's storage namespaces.
struct Kv: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv",
        abstract: "List, read, write and remove keys in the kernel's storage namespaces.",
        discussion: """
            Agents store keys with the kv_* syscalls: their own namespace has \
            their name (capability kv); another namespace NS needs kv:NS, or \
            kv:NS:ro to read. Values live in $AGENTOS_HOME/state.sqlite and \
            outlast the kernel. The operator needs no capability here.

            Examples:
              agentctl kv ls
              agentctl kv ls support --prefix customer/
              agentctl kv get support customer/42
              agentctl kv put support greeting 'Hello!' --expect 0
              agentctl kv rm support greeting
            """,
        subcommands: [List.self, Get.self, Put.self, Remove.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List the namespaces, or one namespace's keys (every page).")

        @Argument(help: "A namespace; without it, every namespace that holds keys.")
        var namespace: String?

        @Option(help: "Only keys that start with this.")
        var prefix: String = ""

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let client = ControlClient()
            guard let namespace else {
                let namespaces = try await client.kvNamespaces()
                switch output {
                case .json: try printJSON(KVNamespaceList(namespaces: namespaces))
                case .table:
                    printTable([["NAMESPACE", "KEYS", "BYTES"]] + namespaces.map { [$0.namespace, "\($0.keys)", "\($0.bytes)"] })
                }
                return
            }
            var keys: [KVKeyInfo] = []
            var after: String?
            repeat {
                let page = try await client.kvKeys(of: namespace, prefix: prefix, after: after)
                keys += page.keys
                after = page.next
            } while after != nil
            switch output {
            case .json: try printJSON(KVPageInfo(namespace: namespace, keys: keys, next: nil))
            case .table: printTable([["KEY", "VERSION", "BYTES"]] + keys.map { [$0.key, "\($0.version)", "\($0.bytes)"] })
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one key's value (as text; with -o json also its version and base64).")

        @Argument(help: "The namespace.")
        var namespace: String

        @Argument(help: "The key.")
        var key: String

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let entry = try await ControlClient().kvGet(namespace, key: key)
            switch output {
            case .json: try printJSON(entry)
            case .table: FileHandle.standardOutput.write(Data(entry.bytes) + Data("\n".utf8))
            }
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store a text value at a key.")

        @Argument(help: "The namespace.")
        var namespace: String

        @Argument(help: "The key.")
        var key: String

        @Argument(help: "The value (text).")
        var value: String

        @Option(help: ArgumentHelp("Store only if the key is at this version (0: only if absent).", valueName: "version"))
        var expect: UInt64?

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let entry = try await ControlClient().kvPut(namespace, KVPut(key: key, value: value, expectedVersion: expect))
            switch output {
            case .json: try printJSON(entry)
            case .table: print("\(entry.namespace) \(entry.key): version \(entry.version)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a key.")

        @Argument(help: "The namespace.")
        var namespace: String

        @Argument(help: "The key.")
        var key: String

        @Option(name: .shortAndLong, help: ArgumentHelp("Output format.", valueName: "format"))
        var output: OutputFormat = .table

        func run() async throws {
            let usage = try await ControlClient().kvDelete(namespace, key: key)
            switch output {
            case .json: try printJSON(usage)
            case .table: print("\(usage.namespace): \(usage.keys) keys, \(usage.bytes) bytes")
            }
        }
    }
}
