/// Instance names: 1-63 bytes of [A-Za-z0-9_.-], not starting with '.' or '-'.
enum InstanceName {
    /// Throws `.badName` saying what a name may hold.
    static func validate(_ name: String) throws(KernelError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2E || byte == 0x2D
        }
        guard !name.isEmpty, name.utf8.count <= 63, allowed, let first = name.utf8.first, first != 0x2E, first != 0x2D
        else {
            throw KernelError(.badName, "invalid instance name \"\(name)\": use 1-63 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
        }
    }
}
