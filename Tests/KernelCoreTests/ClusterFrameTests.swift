import Testing
@testable import KernelCore

/// Frames from other kernels are untrusted: exact lengths, known kinds, valid names.
struct ClusterFrameTests {
    private func decode(_ bytes: [UInt8]) throws(ClusterFrame.Malformed) -> ClusterFrame {
        // withUnsafeBytes rethrows untyped: carry the typed error out in a Result.
        let result = bytes.withUnsafeBytes { buffer in Result { () throws(ClusterFrame.Malformed) in try ClusterFrame(decoding: buffer) } }
        return try result.get()
    }

    private func reason(_ bytes: [UInt8]) -> String? {
        do {
            _ = try decode(bytes)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func everyKindSurvivesARoundTrip() throws {
        let frames = [
            ClusterFrame(kind: .message, id: 1, timeoutMs: 7, from: "pinger@a", to: "echo", body: Array("hi".utf8)),
            ClusterFrame(kind: .request, id: UInt64.max, timeoutMs: 10_000, from: "agentctl@a", to: "echo", body: []),
            ClusterFrame(kind: .reply, status: AOSStatus.tooBig.rawValue, id: 1 << 40, from: "echo@b", to: "pinger@a"),
            ClusterFrame(kind: .announce, from: "node-1", body: Array("0.1.0\nnone\necho\npinger".utf8)),
            ClusterFrame(kind: .leave, from: "b"),
            ClusterFrame(kind: .undeliverable, status: AOSStatus.notFound.rawValue, id: 9, from: "x@b", to: "pinger@a"),
        ]
        for frame in frames { #expect(try decode(frame.encoded()) == frame) }
    }

    @Test func malformedFramesAreRejectedWithTheirReason() {
        let good = ClusterFrame(kind: .message, id: 1, from: "pinger@a", to: "echo", body: Array("hi".utf8)).encoded()
        #expect(reason([]) == "0 bytes is shorter than a frame header")
        #expect(reason(Array(good.dropLast())) == "lengths (8+4+2) do not match the frame's 41 bytes")
        #expect(reason(good + [0]) == "lengths (8+4+2) do not match the frame's 43 bytes")
        var badMagic = good
        badMagic[0] = UInt8(ascii: "X")
        #expect(reason(badMagic) == "bad magic")
        var badVersion = good
        badVersion[4] = 2
        #expect(reason(badVersion) == "frame version 2, this kernel speaks 1")
        var badKind = good
        badKind[5] = 0
        #expect(reason(badKind) == "unknown frame kind 0")
        // A body length that would overflow a naive sum.
        var huge = good
        huge[24...27] = [0xFF, 0xFF, 0xFF, 0xFF]
        #expect(reason(huge)?.hasPrefix("lengths") == true)
        #expect(reason(ClusterFrame(kind: .message, from: "no-node", to: "echo").encoded()) == "a message must come from NAME@NODE to a valid agent name")
        #expect(reason(ClusterFrame(kind: .message, from: "a@b", to: "../x").encoded()) == "a message must come from NAME@NODE to a valid agent name")
        #expect(reason(ClusterFrame(kind: .announce, from: "a.b").encoded()) == "a node frame must name a valid node and no receiver")
        var notUTF8 = ClusterFrame(kind: .message, from: "p@a", to: "echo").encoded()
        notUTF8[ClusterFrame.headerSize] = 0xFF
        #expect(reason(notUTF8) == "a name is not UTF-8")
    }

    @Test func namesSplitOnlyWhenBothPartsAreValid() {
        #expect(ClusterName.split("echo@b")! == ("echo", "b"))
        #expect(ClusterName.split("echo") == nil)
        #expect(ClusterName.split("@b") == nil)
        #expect(ClusterName.split("echo@") == nil)
        #expect(ClusterName.split("echo@b.c") == nil)
        #expect(ClusterName.split("echo@b@c") == nil)
        #expect(!ClusterName.isValidNode(String(repeating: "n", count: 64)))
        #expect(ClusterName.isValidNode("node_1-a"))
    }
}
