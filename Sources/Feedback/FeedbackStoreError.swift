/// Why the feedback database cannot be used. Each description is one line
/// for the operator: what is wrong with which file, and what to do.
public enum FeedbackStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file (or its folder) cannot be written by this process.
    case readOnly(path: String, detail: String)
    /// The file is not an SQLite database, or one whose pages are damaged.
    case corrupt(path: String, detail: String)
    /// The file cannot be opened or created, or its tables are not ours.
    case unusable(path: String, detail: String)

    public var path: String {
        switch self {
        case .readOnly(let path, _), .corrupt(let path, _), .unusable(let path, _): path
        }
    }

    public var description: String {
        switch self {
        case .readOnly(let path, let detail):
            "feedback database \(path) is read-only (\(detail)): make it and its folder writable by the kernel's user, then restart the kernel"
        case .corrupt(let path, let detail):
            "feedback database \(path) is corrupt (\(detail)): move it aside and restart the kernel to start an empty one"
        case .unusable(let path, let detail):
            "cannot use feedback database \(path) (\(detail)): check the file and its folder, then restart the kernel"
        }
    }
}
