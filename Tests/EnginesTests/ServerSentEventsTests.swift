@testable import Engines
import Testing

@Suite struct ServerSentEventsTests {
    /// Feeds `text` to a fresh parser in pieces of `size` bytes.
    private func parse(_ text: String, piecesOf size: Int) -> [ServerSentEvents.Event] {
        var parser = ServerSentEvents()
        let bytes = Array(text.utf8)
        return stride(from: 0, to: bytes.count, by: size).flatMap { start in
            parser.feed(bytes[start..<min(start + size, bytes.count)])
        }
    }

    /// The same events whatever the pieces the bytes arrive in: mid-line, mid-CRLF, mid-character.
    @Test(arguments: [1, 2, 3, 5, 7, 64, 4096])
    func chunkBoundariesDoNotMatter(size: Int) {
        let stream = "data: {\"a\":\"héllo 👋\"}\r\n\r\n: ping\r\n\r\ndata: second\n\ndata: [DONE]\r\n\r\n"
        #expect(parse(stream, piecesOf: size) == [.message("{\"a\":\"héllo 👋\"}"), .message("second"), .done])
    }

    @Test func lineEndsMayBeLFCRLFOrCR() {
        #expect(parse("data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\r\n\n", piecesOf: 1)
            == [.message("a"), .message("b"), .message("c"), .message("d")])
    }

    @Test func dataLinesOfOneEventAreJoinedWithNewlines() {
        #expect(parse("data: one\ndata:two\ndata:  three\ndata\n\n", piecesOf: 3) == [.message("one\ntwo\n three\n")])
    }

    @Test func commentsAndOtherFieldsAreIgnored() {
        let stream = ":keep-alive\n\nevent: delta\nid: 7\nretry: 100\ndata: x\nweird\n: comment inside\n\nevent: only\n\n"
        #expect(parse(stream, piecesOf: 2) == [.message("x")])
    }

    @Test func anEventIsNotDeliveredBeforeItsBlankLine() {
        var parser = ServerSentEvents()
        #expect(parser.feed("data: half".utf8).isEmpty)
        #expect(parser.pendingBytes == 10)
        #expect(parser.feed("\n".utf8).isEmpty)
        #expect(parser.pendingBytes == 0)
        #expect(parser.feed("\n".utf8) == [.message("half")])
    }

    @Test func doneIsRecognisedOnlyAsTheWholeData() {
        #expect(parse("data: [DONE] \n\ndata:[DONE]\n\n", piecesOf: 4) == [.message("[DONE] "), .done])
    }

    @Test func aByteOrderMarkMayOpenTheStream() {
        #expect(parse("\u{FEFF}data: x\n\n", piecesOf: 1) == [.message("x")])
    }

    @Test func garbageWithoutDataFieldsYieldsNothing() {
        #expect(parse("<html>not a stream</html>\n\n{\"json\": true}\n\n", piecesOf: 5).isEmpty)
    }
}
