import ControlAPI
import Foundation
import NIOHTTP1

/// Capabilities, quotas and the audit log: `agentctl caps`, `grant`, `revoke`, `quota` and `audit`.
extension ControlClient {
    /// What instance `name` requests, holds and lacks.
    public func capabilities(of name: String) async throws -> CapabilitiesInfo {
        try await call(.GET, "/v1/instances/\(pathSegment(name))/capabilities")
    }

    /// Grants or revokes one capability of `name`; returns its capabilities afterwards.
    public func changeCapabilities(of name: String, _ change: CapabilityChange) async throws -> CapabilitiesInfo {
        try await call(.POST, "/v1/instances/\(pathSegment(name))/capabilities", body: change)
    }

    /// The quotas of `name`, its use of them and its CPU time.
    public func quotas(of name: String) async throws -> QuotasInfo {
        try await call(.GET, "/v1/instances/\(pathSegment(name))/quotas")
    }

    /// Sets quotas of `name` by key (all or none); returns its quotas afterwards.
    public func setQuotas(of name: String, _ settings: [String: String]) async throws -> QuotasInfo {
        try await call(.PATCH, "/v1/instances/\(pathSegment(name))/quotas", body: QuotaChange(set: settings))
    }

    /// The audit log's records, oldest first: only `agent`'s when given, only
    /// those since `since` (see `SinceTime`) when given.
    public func audit(agent: String? = nil, since: String? = nil) async throws -> [AuditEntry] {
        var query: [String] = []
        if let agent { query.append("agent=" + queryValue(agent)) }
        if let since { query.append("since=" + queryValue(since)) }
        let list: AuditList = try await call(.GET, "/v1/audit" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
        return list.records
    }

    // MARK: - Plumbing (on `raw`, which maps a kernel that is not running; shared by the other extensions)

    func call<Response: Decodable>(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = nil as Never?) async throws -> Response {
        let (status, data) = try await raw(method, path, body: try body.map { try ControlJSON.encoder().encode($0) })
        guard (200..<300).contains(status) else {
            guard let error = try? ControlJSON.decoder().decode(ErrorBody.self, from: data) else {
                throw ControlClientError.api(status: status, code: "http_\(status)", message: "kernel answered \(status)")
            }
            throw ControlClientError.api(status: status, code: error.error.code, message: error.error.message)
        }
        do {
            return try ControlJSON.decoder().decode(Response.self, from: data)
        } catch {
            throw ControlClientError.transport("kernel sent an unreadable \(Response.self): \(error)")
        }
    }

    func pathSegment(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }

    func queryValue(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
    }
}
