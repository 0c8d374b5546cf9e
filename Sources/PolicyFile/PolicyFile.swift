import Foundation
import KernelCore
import Yams

/// `$AGENTOS_HOME/policy.yaml`: what each plugin is granted and may use.
///
///     defaults:                 # quotas of every plugin, under its own
///       quotas: {tokens_per_minute: 60000}
///     plugins:
///       support:                # an instance name
///         grants: [infer, "tool:catalog.*"]
///         quotas: {tokens_per_minute: 20000, token_budget: 1M}
///         isolation: process    # thread (default) or process
///         restart: {policy: transient, intensity: 3, period: 5}   # process mode only
///     socket:
///       group: agentos          # may use the control socket too
///
/// Read at each load, so an edit applies to the plugins loaded after it. A
/// missing file is the empty policy: nothing is granted. Thread-safe.
public struct PolicyFile: PolicySource {
    public let path: String

    public init(path: String) { self.path = path }

    /// The policy in the file now; `Policy()` when there is no file.
    /// Throws `.badPolicy` naming the file, the line and the problem.
    public func current() throws(KernelError) -> Policy {
        guard let data = FileManager.default.contents(atPath: path) else {
            guard FileManager.default.fileExists(atPath: path) else { return Policy() }
            throw KernelError(.badPolicy, "\(path): cannot be read (check its permissions)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw KernelError(.badPolicy, "\(path): not UTF-8 text")
        }
        return try Self.parse(text, file: path)
    }

    /// Parses a policy document; `file` names it in errors. Throws `.badPolicy`.
    public static func parse(_ text: String, file: String) throws(KernelError) -> Policy {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw KernelError(.badPolicy, "\(file): not valid YAML: \(error)")
        }
        guard let root else { return Policy() }
        let reader = Reader(file: file)
        var policy = Policy()
        for (key, value) in try reader.mapping(root, allowed: ["defaults", "plugins", "socket"], what: "the policy") {
            switch key {
            case "defaults":
                for (field, node) in try reader.mapping(value, allowed: ["quotas"], what: "defaults") where field == "quotas" {
                    policy.defaultQuotas = try reader.quotas(node)
                }
            case "plugins":
                for (name, node) in try reader.mapping(value, allowed: nil, what: "plugins") {
                    policy.plugins[name] = try reader.plugin(node, name: name)
                }
            default:
                for (field, node) in try reader.mapping(value, allowed: ["group"], what: "socket") where field == "group" {
                    policy.socketGroup = try reader.string(node, what: "socket.group")
                }
            }
        }
        return policy
    }

    /// Walks the document, naming the line of whatever is wrong.
    private struct Reader {
        let file: String

        func plugin(_ node: Node, name: String) throws(KernelError) -> Policy.Entry {
            var entry = Policy.Entry()
            for (field, value) in try mapping(node, allowed: ["grants", "quotas", "isolation", "restart"], what: "plugins.\(name)") {
                switch field {
                case "quotas":
                    entry.quotas = try quotas(value)
                    continue
                case "isolation":
                    do { entry.isolation = try Isolation(parsing: try string(value, what: "plugins.\(name).isolation")) } catch {
                        throw self.error(value, "plugins.\(name).isolation: \(error.message)")
                    }
                    continue
                case "restart":
                    entry.restart = try restart(value, plugin: name)
                    continue
                default: break
                }
                guard let items = value.sequence else { throw error(value, "plugins.\(name).grants must be a list of capabilities") }
                for item in items {
                    do { entry.grants.append(try Capability(parsing: try string(item, what: "a capability"))) } catch {
                        throw self.error(item, "plugins.\(name).grants: \(error.message)")
                    }
                }
            }
            return entry
        }

        /// `{policy: permanent|transient|temporary, intensity: N, period: SECONDS}`, each optional.
        func restart(_ node: Node, plugin name: String) throws(KernelError) -> RestartPolicy {
            let what = "plugins.\(name).restart"
            var kind: String?
            var intensity: Int?
            var period: Double?
            for (key, value) in try mapping(node, allowed: ["policy", "intensity", "period"], what: what) {
                let text = try string(value, what: "\(what).\(key)")
                switch key {
                case "policy": kind = text
                case "intensity":
                    guard let number = Int(text) else { throw error(value, "\(what).intensity must be a whole number, not \"\(text)\"") }
                    intensity = number
                default:
                    guard let number = Double(text) else { throw error(value, "\(what).period must be a number of seconds, not \"\(text)\"") }
                    period = number
                }
            }
            do { return try RestartPolicy(kind: kind, intensity: intensity, period: period) } catch {
                throw self.error(node, "\(what): \(error.message)")
            }
        }

        func quotas(_ node: Node) throws(KernelError) -> QuotaLimits {
            var limits = QuotaLimits()
            for (key, value) in try mapping(node, allowed: nil, what: "quotas") {
                do { try limits.set(key, try string(value, what: key)) } catch {
                    throw self.error(value, error.message)
                }
            }
            return limits
        }

        /// A mapping's pairs in order; keys outside `allowed` (nil: any) are refused.
        func mapping(_ node: Node, allowed: Set<String>?, what: String) throws(KernelError) -> [(String, Node)] {
            guard let mapping = node.mapping else { throw error(node, "\(what) must be a mapping") }
            var pairs: [(String, Node)] = []
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { throw error(key, "keys of \(what) must be strings") }
                if let allowed, !allowed.contains(name) {
                    throw error(key, "unknown key \"\(name)\" in \(what) (known: \(allowed.sorted().joined(separator: ", ")))")
                }
                pairs.append((name, value))
            }
            return pairs
        }

        func string(_ node: Node, what: String) throws(KernelError) -> String {
            guard let scalar = node.scalar else { throw error(node, "\(what) must be a single value") }
            return scalar.string
        }

        func error(_ node: Node, _ message: String) -> KernelError {
            let line = node.mark.map { ":\($0.line)" } ?? ""
            return KernelError(.badPolicy, "\(file)\(line): \(message)")
        }
    }
}
