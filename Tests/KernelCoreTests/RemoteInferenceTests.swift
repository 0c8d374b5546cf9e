import Testing
@testable import KernelCore

/// Shared-inference bodies cross the network: what an engine needs travels, bad bodies are named errors.
struct RemoteInferenceTests {
    @Test func aRequestKeepsWhatTheEngineNeedsAcrossTheLink() throws {
        var parameters = InferenceParameters(messages: [ChatMessage(role: "user", content: "hi")], maxTokens: 16)
        parameters.temperature = 0.5
        parameters.stop = ["\n"]
        parameters.tools = [ToolDefinition(name: "catalog.lookup", description: "find", parameters: #"{"type":"object"}"#)]
        parameters.toolChoice = .required
        let sent = RemoteInference.Request(parameters, priority: 3)
        let received = try RemoteInference.Request(decoding: sent.encoded())
        #expect(received == sent && received.priority == 3)
        #expect(try received.parameters() == parameters)
        var constrained = InferenceParameters(messages: [ChatMessage(role: "user", content: "hi")], maxTokens: 4)
        constrained.constraint = .jsonSchema(#"{"type":"object"}"#)
        #expect(try RemoteInference.Request(decoding: RemoteInference.Request(constrained, priority: 0).encoded()).parameters() == constrained)
    }

    @Test func badRequestBodiesAreNamedErrors() {
        #expect(throws: KernelError(.invalidArgument, "a remote inference request is not valid JSON of the request shape")) {
            try RemoteInference.Request(decoding: Array("not json".utf8))
        }
        #expect(throws: KernelError.self) { try RemoteInference.Request(decoding: [UInt8](repeating: 0x20, count: RemoteInference.maxRequestBytes + 1)) }
        let empty = RemoteInference.Request(InferenceParameters(messages: [], maxTokens: 1), priority: 0)
        #expect(throws: KernelError.self) { try empty.parameters() }
    }

    @Test func anEndCarriesUsageOrTheNamedError() throws {
        let failed = RemoteInference.End(decoding: RemoteInference.End(.failure(KernelError(.quotaExceeded, "over quota"))).encoded())
        #expect(failed?.error == KernelError(.quotaExceeded, "over quota"))
        #expect(RemoteInference.End(decoding: Array("{}".utf8)) == nil)
    }

    @Test func inferenceFramesNameTheirNodes() throws {
        let request = ClusterFrame(kind: .inferRequest, id: 1, from: "tester@a", to: "smol", body: [1])
        let bytes = request.encoded()
        #expect(try bytes.withUnsafeBytes { try ClusterFrame(decoding: $0) } == request)
        let stray = ClusterFrame(kind: .inferChunk, id: 1, from: "tester@a", to: "b").encoded()
        #expect(throws: ClusterFrame.Malformed.self) { try stray.withUnsafeBytes { try ClusterFrame(decoding: $0) } }
    }
}
