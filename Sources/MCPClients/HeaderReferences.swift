import KernelCore

/// `${env:NAME}` in the value of a URL server's header (`agentctl mcp add
/// --header 'Authorization: Bearer ${env:TOKEN}'`): a secret kept in the
/// kernel's environment instead of in `mcp-servers.json`. The registration
/// keeps the text as given; each connect substitutes the variable's value.
/// Any other `${…}` in a header value is refused at add.
enum HeaderReferences {
    /// Checks that every `${…}` in `value` is a well-formed `${env:NAME}`. Throws `.invalidArgument`.
    static func check(_ field: String, _ value: String) throws(KernelError) {
        _ = try substitute(field, value) { _ in "" }
    }

    /// `headers` with each reference replaced by its variable's value in `environment`.
    /// Throws `.unreachable` naming a variable that is not set.
    static func resolve(_ headers: [String: String], environment: [String: String]) throws(KernelError) -> [String: String] {
        var resolved: [String: String] = [:]
        for (field, value) in headers {
            resolved[field] = try substitute(field, value) { name throws(KernelError) in
                guard let value = environment[name] else {
                    throw KernelError(
                        .unreachable,
                        "header \(field) refers to ${env:\(name)}, which is not set in the kernel's environment (set it where agentosd starts)")
                }
                return value
            }
        }
        return resolved
    }

    private static func substitute(
        _ field: String, _ value: String, _ lookup: (String) throws(KernelError) -> String
    ) throws(KernelError) -> String {
        var result = ""
        var rest = Substring(value)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw malformed(field, "an unclosed ${")
            }
            let reference = rest[start.upperBound..<end]
            guard reference.hasPrefix("env:"), isVariableName(reference.dropFirst(4)) else {
                throw malformed(field, "${\(reference.prefix(64))}")
            }
            result += try lookup(String(reference.dropFirst(4)))
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    private static func isVariableName(_ name: Substring) -> Bool {
        guard let first = name.utf8.first, !(0x30...0x39).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == UInt8(ascii: "_")
        }
    }

    private static func malformed(_ field: String, _ what: String) -> KernelError {
        KernelError(.invalidArgument, "header \(field) has \(what): a reference is ${env:NAME}, NAME a variable of the kernel's environment")
    }
}
