import Foundation
import Glibc
import Synchronization

/// Keeps the ids of messages and requests unique across kernel runs, so
/// feedback exports and traces never hold two answers under one id.
///
/// `$AGENTOS_HOME/next-id` holds an id no run has used yet. A run starts
/// there and, before it can reach it, moves it ahead (`keepAhead`, called on
/// the kernel's periodic tick): a run that crashes leaves a mark past every
/// id it handed out. Written atomically (temp file + rename). Thread-safe.
public final class IdentifierReservation: Sendable {
    /// How far ahead of the ids handed out the mark is kept.
    public static let headroom: UInt64 = 1 << 24
    private let path: String
    private let reserved: Mutex<UInt64>

    /// Reads the mark (1 when there is no file) and reserves `headroom` ids past it.
    /// Throws when the file holds no number or the mark cannot be written.
    public init(path: String) throws {
        self.path = path
        if FileManager.default.fileExists(atPath: path) {
            let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let mark = UInt64(text), mark > 0 else {
                throw CocoaError(.fileReadCorruptFile, userInfo: [
                    NSLocalizedDescriptionKey: "\(path) holds \"\(text.prefix(40))\", not an id (remove the file to start ids at 1)",
                ])
            }
            firstID = mark
        } else {
            firstID = 1
        }
        reserved = Mutex(firstID)
        try keepAhead(of: firstID)
    }

    /// The first id this run may hand out.
    public let firstID: UInt64

    /// Moves the mark `headroom` past `next` (the next id the kernel will hand
    /// out) once `next` has used half of the headroom. Throws when the mark cannot be written.
    public func keepAhead(of next: UInt64) throws {
        try reserved.withLock { reserved in
            guard next + Self.headroom / 2 > reserved else { return }
            let mark = next + Self.headroom
            let temporary = path + ".tmp"
            try "\(mark)\n".write(toFile: temporary, atomically: false, encoding: .utf8)
            guard rename(temporary, path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            reserved = mark
        }
    }
}
