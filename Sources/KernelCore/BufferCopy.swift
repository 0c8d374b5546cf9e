import CAgentOS
import Glibc

extension aos_buffer {
    /// A malloc'd copy of `text`'s UTF-8 (ptr never NULL); nil when out of memory.
    init?(copying text: String) {
        var text = text
        let copy: UnsafeMutablePointer<UInt8>? = text.withUTF8 { bytes in
            guard let buffer = malloc(max(bytes.count, 1))?.assumingMemoryBound(to: UInt8.self) else { return nil }
            if let base = bytes.baseAddress { buffer.update(from: base, count: bytes.count) }
            return buffer
        }
        guard let copy else { return nil }
        self.init(ptr: copy, len: text.utf8.count)
    }
}
