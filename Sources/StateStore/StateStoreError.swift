/// Why the state database cannot be used. Each description is one line for
/// the operator: what is wrong with which file, and what to do.
public enum StateStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file (or its folder) cannot be written by this process.
    case readOnly(path: String, detail: String)
    /// The file is not an SQLite database, or one whose pages are damaged.
    case corrupt(path: String, detail: String)
    /// The disk (or the database's page limit) is full.
    case full(path: String, detail: String)
    /// The file cannot be opened or created, or its tables are not ours.
    case unusable(path: String, detail: String)

    public var path: String {
        switch self {
        case .readOnly(let path, _), .corrupt(let path, _), .full(let path, _), .unusable(let path, _): path
        }
    }

    public var description: String {
        switch self {
        case .readOnly(let path, let detail):
            "state database \(path) is read-only (\(detail)): make it and its folder writable by the kernel's user, then restart the kernel"
        case .corrupt(let path, let detail):
            "state database \(path) is corrupt (\(detail)): stop the kernel, move the file aside (or recover it with `sqlite3 FILE .recover`), and restart"
        case .full(let path, let detail):
            "state database \(path) is full (\(detail)): free disk space or delete keys (`agentctl kv rm`)"
        case .unusable(let path, let detail):
            "cannot use state database \(path) (\(detail)): check the file and its folder, then restart the kernel"
        }
    }
}
