import CAgentOSKit

/// Inference (ABI 1.1): blocking, streaming, and submitted with the result as a message.
/// Each needs the "infer" capability. Thread: the instance's own, but for `cancel`.
extension Context {
    /// Generates a completion and waits for it. The wait does not count against
    /// the handler deadline. Throws `.invalidArgument` (the log says which field),
    /// `.tooBig`, `.full`, `.permissionDenied`, `.quotaExceeded`, `.engineUnavailable`,
    /// `.toolLoop`, `.stopping` (this instance is being unloaded: the request was cancelled).
    public func infer(_ request: InferenceRequest) throws(AgentOSError) -> InferenceResult {
        try require(\.infer, "infer", since: 1)
        var result = newResult()
        try check(request.withC { api.pointee.infer(ctx, $0, &result) })
        return finish(&result)
    }

    /// As `infer`, handing each piece of text to `onPiece` as it is generated, on this
    /// thread, before it returns. `onPiece` returns false to stop (the result is then
    /// `.cancelled` with the text so far); an error it throws cancels the request and
    /// is rethrown once the kernel has returned.
    public func infer(
        _ request: InferenceRequest, onPiece: (String) throws -> Bool
    ) throws -> InferenceResult {
        try require(\.infer_stream, "infer_stream", since: 1)
        var result = newResult()
        let status = withoutActuallyEscaping(onPiece) { onPiece in
            let stream = PieceStream(onPiece)
            let status = request.withC { api.pointee.infer_stream(ctx, $0, PieceStream.callback, Unmanaged.passUnretained(stream).toOpaque(), &result) }
            return (status, stream.error)
        }
        if let error = status.1 {
            _ = take(&result.text)
            _ = take(&result.trace)
            throw error
        }
        try check(status.0)
        return finish(&result)
    }

    /// Queues `request` and returns its id at once; the result arrives later as a
    /// message from "kernel" whose `inference` holds it (exactly one per request,
    /// unless this instance is unloaded first). Throws what `infer` throws before queueing.
    public func submit(_ request: InferenceRequest) throws(AgentOSError) -> UInt64 {
        try require(\.infer_submit, "infer_submit", since: 1)
        var id: UInt64 = 0
        try check(request.withC { api.pointee.infer_submit(ctx, $0, &id) })
        return id
    }

    /// Cancels a submitted request; its result message still arrives, `.cancelled`.
    /// Throws `.notFound` when no unfinished request of this instance has that id.
    /// Thread: any while the instance is loaded.
    public func cancel(_ requestID: UInt64) throws(AgentOSError) {
        try require(\.infer_cancel, "infer_cancel", since: 1)
        try check(api.pointee.infer_cancel(ctx, requestID))
    }

    private func newResult() -> aos_infer_result {
        var result = aos_infer_result()
        result.struct_size = UInt32(MemoryLayout<aos_infer_result>.size)
        return result
    }

    /// The result with its text and trace copied; both kernel buffers released.
    private func finish(_ result: inout aos_infer_result) -> InferenceResult {
        let hadTrace = result.trace.ptr != nil
        let text = takeText(&result.text)
        let trace = takeText(&result.trace)
        return InferenceResult(result, text: text, trace: hadTrace ? trace : nil)
    }
}

/// The state behind infer_stream's C callback: the Swift closure and the error it threw.
private final class PieceStream {
    let onPiece: (String) throws -> Bool
    var error: (any Error)?

    init(_ onPiece: @escaping (String) throws -> Bool) { self.onPiece = onPiece }

    static let callback: aos_token_fn = { user, piece, length in
        let stream = Unmanaged<PieceStream>.fromOpaque(user!).takeUnretainedValue()
        let text = piece.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? ""
        do {
            return try stream.onPiece(text) ? AOS_OK : AOS_ECANCELLED
        } catch {
            stream.error = error
            return AOS_ECANCELLED
        }
    }
}
