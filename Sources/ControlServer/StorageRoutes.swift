import ControlAPI
import Foundation
import Hummingbird
import KernelCore

/// The storage part of the control API: `agentctl kv`. The operator's
/// requests need no capability; names, keys and sizes are checked as the
/// syscalls check them.
///
///     GET    /v1/kv                                      → KVNamespaceList
///     GET    /v1/kv/NS[?prefix=P&after=K&limit=N]         → KVPageInfo
///     GET    /v1/kv/NS/entry?key=K                        → KVEntryInfo (404 not_found)
///     PUT    /v1/kv/NS/entry   KVPut                      → KVEntryInfo (409 conflict)
///     DELETE /v1/kv/NS/entry?key=K                        → KVNamespaceInfo, what NS holds afterwards
///
/// Without a usable state database every route is 503 `storage_unavailable` with the reason.
enum StorageRoutes {
    static func add(to v1: RouterGroup<BasicRequestContext>, kernel: Kernel) {
        let storage = kernel.storage
        // A value of AOS_KV_MAX_VALUE_BYTES as JSON text, with room for escapes.
        let bodyLimit = StorageNamespace.maxValueBytes * 6 + 4096

        v1.get("kv") { _, _ in
            try JSONResponse.make(KVNamespaceList(namespaces: try storage.namespaces().map(Self.info)))
        }

        v1.get("kv/:namespace") { request, context in
            let namespace = try Self.namespace(context)
            let query = request.uri.queryParameters
            let limit = try query.get("limit").map { text in
                guard let limit = Int(text), (1...StorageNamespace.maxPage).contains(limit) else {
                    throw RequestError.badQuery("query parameter limit=\(text) should be 1 to \(StorageNamespace.maxPage)")
                }
                return limit
            }
            let page = try storage.list(
                namespace: namespace, prefix: query.get("prefix") ?? "", after: query.get("after"), limit: limit ?? StorageNamespace.maxPage)
            return try JSONResponse.make(KVPageInfo(
                namespace: namespace, keys: page.keys.map { KVKeyInfo(key: $0.key, version: $0.version, bytes: $0.bytes) }, next: page.next))
        }

        v1.get("kv/:namespace/entry") { request, context in
            let namespace = try Self.namespace(context)
            let key = try Self.key(request)
            let entry = try storage.get(namespace: namespace, key: key)
            return try JSONResponse.make(KVEntryInfo(namespace: namespace, key: key, version: entry.version, bytes: entry.value))
        }

        v1.put("kv/:namespace/entry") { request, context in
            let namespace = try Self.namespace(context)
            let put = try await JSONResponse.decode(KVPut.self, from: request, limit: bodyLimit)
            let bytes = Array(put.value.utf8)
            let version = try storage.put(
                namespace: namespace, key: put.key, value: bytes, expected: put.expectedVersion.map(ExpectedVersion.init(abi:)) ?? .any)
            return try JSONResponse.make(KVEntryInfo(namespace: namespace, key: put.key, version: version, bytes: bytes))
        }

        v1.delete("kv/:namespace/entry") { request, context in
            let namespace = try Self.namespace(context)
            try storage.delete(namespace: namespace, key: try Self.key(request))
            let usage = try storage.namespaces().first { $0.namespace == namespace } ?? NamespaceUsage(namespace: namespace, keys: 0, bytes: 0)
            return try JSONResponse.make(Self.info(usage))
        }
    }

    /// The path's namespace, percent-decoded (the router leaves it encoded).
    private static func namespace(_ context: BasicRequestContext) throws -> String {
        let segment = try context.parameters.require("namespace")
        return segment.removingPercentEncoding ?? segment
    }

    private static func key(_ request: Request) throws -> String {
        guard let key = request.uri.queryParameters.get("key") else {
            throw RequestError.badQuery("give the key as query parameter key=KEY")
        }
        return key
    }

    private static func info(_ usage: NamespaceUsage) -> KVNamespaceInfo {
        KVNamespaceInfo(namespace: usage.namespace, keys: usage.keys, bytes: usage.bytes)
    }
}
