import ControlAPI
import Foundation
import Hummingbird
import KernelCore

/// The API keys on the control socket (`agentctl keys`):
///
///     POST   /v1/keys        CreateKeyRequest → CreatedKey (201); the secret is shown this once
///     GET    /v1/keys        → [APIKeyInfo]
///     DELETE /v1/keys/NAME   → APIKeyInfo of the revoked key
///
/// Creating and revoking are audited like grants and revokes; each key's
/// quotas are set on the scheduler under its principal (`key:NAME`).
public enum APIKeyRoutes {
    public static func add(to v1: RouterGroup<BasicRequestContext>, kernel: Kernel, keys: APIKeyStore) {
        applyQuotas(of: keys.all, on: kernel)
        v1.post("keys") { request, _ in
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            let body: CreateKeyRequest
            do {
                body = try ControlJSON.decoder().decode(CreateKeyRequest.self, from: buffer)
            } catch {
                throw KernelError(.invalidArgument, "body is not a valid CreateKeyRequest: \(error)")
            }
            let (secret, key) = try keys.create(name: body.name, grants: body.grants, quotas: body.quotas ?? [:])
            applyQuotas(of: [key], on: kernel)
            for grant in key.info.grants {
                kernel.capabilities.audit?.record(AuditRecord(
                    agent: key.principal, syscall: "agentctl", capability: grant, decision: .grant, reason: "API key \(key.name) created"))
            }
            let data = try ControlJSON.encoder().encode(CreatedKey(key: secret, info: key.info))
            return Response(status: .created, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
        v1.get("keys") { _, _ in
            let data = try ControlJSON.encoder().encode(keys.all.map(\.info))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
        v1.delete("keys/:name") { _, context in
            let key = try keys.revoke(try context.parameters.require("name"))
            kernel.inference.scheduler.forgetQuota(of: key.principal)
            kernel.capabilities.audit?.record(AuditRecord(
                agent: key.principal, syscall: "agentctl", decision: .revoke, reason: "API key \(key.name) revoked"))
            let data = try ControlJSON.encoder().encode(key.info)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    /// Sets each key's inference quota on the scheduler (keys without one are unlimited).
    private static func applyQuotas(of keys: [APIKey], on kernel: Kernel) {
        for key in keys where key.quotas != QuotaLimits() {
            kernel.inference.scheduler.setQuota(key.quotas.inference, for: key.principal)
        }
    }
}
