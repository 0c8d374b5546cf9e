import CAgentOS
import Glibc
import StrictJSON

/// The `kv_*` syscalls: the C arguments checked and turned into Swift, the
/// caller's rights to the namespace checked, the store called, and every
/// failure logged in the instance's log and `last_error` (quota refusals and
/// capability denials also counted and audited). Any thread of the plugin.
extension StorageService {
    func kvGet(
        from instance: Instance, namespace: UnsafePointer<CChar>?, key: UnsafePointer<CChar>?,
        value: UnsafeMutablePointer<aos_buffer>?, version: UnsafeMutablePointer<UInt64>?
    ) -> AOSStatus {
        guard let value else { return instance.refuse(.kvGet, .invalidArgument, "kv_get: value is NULL") }
        value.pointee = aos_buffer(ptr: nil, len: 0)
        do throws(AOSStatus) {
            let (namespace, key) = try target(instance, namespace, key, write: false, .kvGet)
            guard let entry = try call(instance, .kvGet, { store throws(KeyValueStoreError) in try store.get(namespace: namespace, key: key) })
            else {
                return instance.refuse(.kvGet, .notFound, "namespace \(namespace) has no key \"\(key.prefix(80))\"")
            }
            guard let copy = malloc(max(entry.value.count, 1)) else { return .outOfMemory }
            entry.value.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(copy), byteCount: $0.count) }
            value.pointee = aos_buffer(ptr: copy.assumingMemoryBound(to: UInt8.self), len: entry.value.count)
            version?.pointee = entry.version
            return .ok
        } catch {
            return error
        }
    }

    func kvPut(
        from instance: Instance, namespace: UnsafePointer<CChar>?, key: UnsafePointer<CChar>?, value: aos_bytes,
        expected: UInt64, newVersion: UnsafeMutablePointer<UInt64>?
    ) -> AOSStatus {
        do throws(AOSStatus) {
            let (namespace, key) = try target(instance, namespace, key, write: true, .kvPut)
            guard value.ptr != nil || value.len == 0 else {
                return instance.refuse(.kvPut, .invalidArgument, "kv_put: value.ptr is NULL with value.len \(value.len)")
            }
            do { try StorageNamespace.checkValue(bytes: value.len) } catch { return instance.refuse(.kvPut, error.status, error.message) }
            let limits = instance.checksPolicy
                ? instance.quotas.withLock { NamespaceLimits(keys: $0.limits.kvKeys, bytes: $0.limits.kvBytes) } : NamespaceLimits()
            let bytes = UnsafeRawBufferPointer(start: value.ptr, count: value.len)
            let version = try call(instance, .kvPut) { store throws(KeyValueStoreError) in
                try store.put(namespace: namespace, key: key, value: bytes, expected: ExpectedVersion(abi: expected), limits: limits)
            }
            newVersion?.pointee = version
            return .ok
        } catch {
            return error
        }
    }

    func kvDelete(from instance: Instance, namespace: UnsafePointer<CChar>?, key: UnsafePointer<CChar>?, expected: UInt64) -> AOSStatus {
        do throws(AOSStatus) {
            let (namespace, key) = try target(instance, namespace, key, write: true, .kvDelete)
            let removed = try call(instance, .kvDelete) { store throws(KeyValueStoreError) in
                try store.delete(namespace: namespace, key: key, expected: ExpectedVersion(abi: expected))
            }
            return removed ? .ok : instance.refuse(.kvDelete, .notFound, "namespace \(namespace) has no key \"\(key.prefix(80))\"")
        } catch {
            return error
        }
    }

    func kvList(
        from instance: Instance, namespace: UnsafePointer<CChar>?, prefix: UnsafePointer<CChar>?, after: UnsafePointer<CChar>?,
        limit: UInt32, json: UnsafeMutablePointer<aos_buffer>?
    ) -> AOSStatus {
        guard let json else { return instance.refuse(.kvList, .invalidArgument, "kv_list: json is NULL") }
        json.pointee = aos_buffer(ptr: nil, len: 0)
        do throws(AOSStatus) {
            let namespace = try self.namespace(instance, namespace, write: false, .kvList)
            guard let prefixText = prefix.map({ String(validatingCString: $0) }) ?? "",
                let afterText = after.map({ String(validatingCString: $0) }) ?? .some(nil)
            else {
                return instance.refuse(.kvList, .invalidArgument, "kv_list: prefix or after is not valid UTF-8")
            }
            let pageSize = (1...UInt32(StorageNamespace.maxPage)).contains(limit) ? Int(limit) : StorageNamespace.maxPage
            let page = try call(instance, .kvList) { store throws(KeyValueStoreError) in
                try store.list(namespace: namespace, prefix: prefixText, after: afterText, limit: pageSize)
            }
            guard let buffer = aos_buffer(copying: Self.json(page)) else { return .outOfMemory }
            json.pointee = buffer
            return .ok
        } catch {
            return error
        }
    }

    /// `{"keys": [{"key", "version", "bytes"}...], "next": KEY or null}`.
    static func json(_ page: KeyValuePage) -> String {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("keys")
        writer.beginArray()
        for listing in page.keys {
            writer.beginObject()
            writer.member("key", listing.key)
            writer.member("version", listing.version)
            writer.member("bytes", listing.bytes)
            writer.endObject()
        }
        writer.endArray()
        writer.member("next", page.next)
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    // MARK: Checks

    /// The namespace and key a call names, once both are valid and the caller may use them.
    private func target(
        _ instance: Instance, _ namespace: UnsafePointer<CChar>?, _ key: UnsafePointer<CChar>?, write: Bool, _ syscall: Syscall
    ) throws(AOSStatus) -> (String, String) {
        guard let key else { throw instance.refuse(syscall, .invalidArgument, "\(syscall.name): key is NULL") }
        let text: String
        do {
            text = try key.withMemoryRebound(to: UInt8.self, capacity: 1) { bytes throws(KernelError) in
                try StorageNamespace.key(UnsafeBufferPointer(start: bytes, count: strlen(key)))
            }
        } catch {
            throw instance.refuse(syscall, error.status, "\(syscall.name): \(error.message)")
        }
        return (try self.namespace(instance, namespace, write: write, syscall), text)
    }

    /// The namespace a call names (NULL: the caller's own), once the caller may read or `write` it.
    private func namespace(_ instance: Instance, _ namespace: UnsafePointer<CChar>?, write: Bool, _ syscall: Syscall) throws(AOSStatus) -> String {
        let name: String
        if let namespace {
            guard let text = String(validatingCString: namespace), StorageNamespace.isValid(text) else {
                throw instance.refuse(syscall, .invalidArgument, "\(syscall.name): invalid storage namespace: \(StorageNamespace.rule)")
            }
            name = text
        } else {
            name = instance.name
        }
        guard instance.checksPolicy else { return name }
        let own = name == instance.name
        if instance.grants.withLock({ $0.permitsStorage(name, own: own, write: write) }) { return name }
        if instance.isOwnThread, instance.own.delegation?.permitsStorage(name, own: own, write: write) == true { return name }
        instance.deny(own ? .kv : .kvNamespace(name, readOnly: !write), syscall: syscall.name)
        throw .permissionDenied
    }

    /// Runs `body` on the store; a failure is logged (a quota refusal also counted and audited) and becomes a status.
    private func call<T>(_ instance: Instance, _ syscall: Syscall, _ body: (KeyValueStore) throws(KeyValueStoreError) -> T) throws(AOSStatus) -> T {
        guard let store else { throw instance.refuse(syscall, .storageUnavailable, "\(syscall.name): storage is unavailable: \(absence)") }
        do {
            return try body(store)
        } catch {
            if case .quota(let quota, let limit, let wouldBe) = error {
                instance.refuseQuota(quota, syscall: syscall.name, reason: "the namespace would hold \(wouldBe) (\(quota) of \(instance.name) is \(limit))")
                throw .quotaExceeded
            }
            let failure = Self.kernelError(error)
            throw instance.refuse(syscall, failure.status, "\(syscall.name): \(failure.message)")
        }
    }
}
