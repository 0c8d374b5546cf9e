import HTTPTypes
import KernelCore

/// The session a request to `agent:NAME` continues: the `X-Session-ID`
/// header, else the body's `user`. It is kept per key, as `key:NAME:ID`
/// (`agentctl sessions ls` shows it so), so that one key's callers never
/// continue another key's conversations; the agent gets it as the message's
/// session.
enum AgentSession {
    static let headerName = "X-Session-ID"
    static let header = HTTPField.Name(headerName)!

    /// The session of a request by `key` with `header` (the header's value)
    /// and `user`; nil when it names none. Throws a 400 naming the header or
    /// `user` when the id breaks `SessionService.rule`.
    static func id(header: String?, user: String?, key: APIKey) throws(OpenAIError) -> String? {
        let named = header.map { ($0, headerName) } ?? user.map { ($0, "user") }
        guard let (raw, param) = named else { return nil }
        let id = "\(key.principal):\(raw)"
        do {
            try SessionService.validate(raw)
            try SessionService.validate(id)
        } catch {
            throw .invalid(
                "\(param) \"\(raw.prefix(40))\" cannot name a session: use 1-\(SessionService.maxIDBytes - key.principal.utf8.count - 1) letters, digits, '_', '.', '-', ':' or '@'",
                param: param)
        }
        return id
    }
}
