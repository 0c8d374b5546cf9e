/// One frame on the cluster's subjects: a message, a request, its reply, a
/// node's announcement or its leaving. Frames come from the network, so
/// `init(decoding:)` treats every byte as untrusted: a frame is accepted only
/// when each length is exact, the kind is known and the names are valid.
///
/// Layout (little-endian), 28 bytes of header then the variable parts:
///
///     "AOSC" u8 version=1 u8 kind  i32 status  u64 id  u32 timeout_ms
///     u8 from_len  u8 to_len  u32 body_len  from  to  body
///
/// `from` is the sender's full name (NAME@NODE), or the node for node frames;
/// `to` the receiver's local name (empty for node frames). Shared-inference
/// frames (kinds 7-10) name what their kind says.
public struct ClusterFrame: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        /// A plain message (`send`).
        case message = 1
        /// A request (`call`); the reply goes to the sender's node with the same id.
        case request = 2
        /// The answer to a request: `status` 0 with the reply body, or why there is none.
        case reply = 3
        /// A node's announcement: body "VERSION\nENGINE\nAGENT\nAGENT…", `id`
        /// when its kernel started (wall clock, ns; the earlier keeps a contested name).
        case announce = 4
        /// A node leaving the cluster (a clean shutdown).
        case leave = 5
        /// A message the receiving node could not deliver: `status` says why.
        case undeliverable = 6
        /// Shared inference: a request for model `to` from agent `from`
        /// (NAME@NODE), body a `RemoteInference.Request` (JSON); `id` is the caller's stream id.
        case inferRequest = 7
        /// Shared inference: generated text (UTF-8) from serving node `from` to
        /// calling node `to`; an empty body first says the request was taken.
        case inferChunk = 8
        /// Shared inference: the end of a stream, body a `RemoteInference.End` (JSON).
        case inferEnd = 9
        /// Shared inference: the caller (node `from`) cancels stream `id` on node `to`.
        case inferCancel = 10
    }

    public var kind: Kind
    public var status: Int32 = 0
    public var id: UInt64 = 0
    public var timeoutMs: UInt32 = 0
    public var from: String
    public var to: String = ""
    public var body: [UInt8] = []

    public init(kind: Kind, status: Int32 = 0, id: UInt64 = 0, timeoutMs: UInt32 = 0, from: String, to: String = "", body: [UInt8] = []) {
        self.kind = kind
        self.status = status
        self.id = id
        self.timeoutMs = timeoutMs
        self.from = from
        self.to = to
        self.body = body
    }

    static let magic: [UInt8] = Array("AOSC".utf8)
    static let version: UInt8 = 1
    public static let headerSize = 28

    /// The bytes of the frame. Names longer than 255 bytes never occur (names are validated).
    public func encoded() -> [UInt8] {
        let fromBytes = Array(from.utf8), toBytes = Array(to.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerSize + fromBytes.count + toBytes.count + body.count)
        out += Self.magic
        out.append(Self.version)
        out.append(kind.rawValue)
        Self.append(UInt32(bitPattern: status), to: &out)
        Self.append(UInt32(truncatingIfNeeded: id), to: &out)
        Self.append(UInt32(truncatingIfNeeded: id >> 32), to: &out)
        Self.append(timeoutMs, to: &out)
        out.append(UInt8(fromBytes.count))
        out.append(UInt8(toBytes.count))
        Self.append(UInt32(body.count), to: &out)
        out += fromBytes
        out += toBytes
        out += body
        return out
    }

    /// Why a frame was rejected (counted, never fatal).
    public struct Malformed: Error, Equatable, Sendable {
        public let reason: String
    }

    /// Parses and checks `bytes`; throws `Malformed` naming the first problem.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(Malformed) {
        guard bytes.count >= Self.headerSize else { throw Malformed(reason: "\(bytes.count) bytes is shorter than a frame header") }
        guard bytes[0] == Self.magic[0], bytes[1] == Self.magic[1], bytes[2] == Self.magic[2], bytes[3] == Self.magic[3] else {
            throw Malformed(reason: "bad magic")
        }
        guard bytes[4] == Self.version else { throw Malformed(reason: "frame version \(bytes[4]), this kernel speaks \(Self.version)") }
        guard let kind = Kind(rawValue: bytes[5]) else { throw Malformed(reason: "unknown frame kind \(bytes[5])") }
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        let fromLength = Int(bytes[22]), toLength = Int(bytes[23]), bodyLength = Int(u32(24))
        guard Self.headerSize + fromLength + toLength + bodyLength == bytes.count else {
            throw Malformed(reason: "lengths (\(fromLength)+\(toLength)+\(bodyLength)) do not match the frame's \(bytes.count) bytes")
        }
        let fromStart = Self.headerSize, toStart = fromStart + fromLength, bodyStart = toStart + toLength
        guard let from = String(validating: bytes[fromStart..<toStart], as: UTF8.self),
              let to = String(validating: bytes[toStart..<bodyStart], as: UTF8.self)
        else { throw Malformed(reason: "a name is not UTF-8") }
        self.kind = kind
        self.status = Int32(bitPattern: u32(6))
        self.id = UInt64(u32(10)) | UInt64(u32(14)) << 32
        self.timeoutMs = u32(18)
        self.from = from
        self.to = to
        self.body = Array(bytes[bodyStart...])
        try validateNames()
    }

    /// Node frames name a node; agent frames a full sender name and a local receiver.
    private func validateNames() throws(Malformed) {
        switch kind {
        case .announce, .leave:
            guard ClusterName.isValidNode(from), to.isEmpty else { throw Malformed(reason: "a node frame must name a valid node and no receiver") }
        case .reply, .undeliverable:
            guard ClusterName.split(from) != nil, ClusterName.isValidNode(to) || ClusterName.split(to) != nil else {
                throw Malformed(reason: "a reply must come from NAME@NODE to a node or NAME@NODE")
            }
        case .inferRequest:
            guard ClusterName.split(from) != nil, ClusterName.isValidNode(to) else {
                throw Malformed(reason: "an inference request must come from NAME@NODE for a valid model name")
            }
        case .inferChunk, .inferEnd, .inferCancel:
            guard ClusterName.isValidNode(from), ClusterName.isValidNode(to) else {
                throw Malformed(reason: "an inference stream frame must name two valid nodes")
            }
        case .message, .request:
            guard ClusterName.split(from) != nil, ClusterName.isValidAgent(to) else {
                throw Malformed(reason: "a message must come from NAME@NODE to a valid agent name")
            }
        }
    }

    private static func append(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 24))
    }
}
