import Foundation

/// The bodies of shared-inference frames (`ClusterFrame.Kind.inferRequest`
/// and `.inferEnd`), as JSON. They come from the network: decoding checks the
/// size and `InferenceParameters.validate`, and any problem is a named error.
///
/// Everything an engine sees travels: messages, sampling, stop strings, a
/// grammar or JSON Schema, tools and the tool choice. Sessions and tool loops
/// stay on the calling kernel (it builds the prompt from the session and runs
/// the tools the model calls), so neither needs to cross the link.
public enum RemoteInference {
    /// The most bytes a request body may take (below NATS' default 1 MiB payload).
    public static let maxRequestBytes = 1 << 20 - 4096

    /// A request as it crosses the link.
    public struct Request: Codable, Sendable, Equatable {
        public var messages: [ChatMessage]
        public var maxTokens: Int
        public var temperature: Float
        public var topP: Float
        public var seed: UInt64
        public var stop: [String]
        public var grammar: String?
        public var jsonSchema: String?
        public var tools: [ToolDefinition]
        public var toolChoice: ToolChoice
        public var priority: Int

        public init(_ parameters: InferenceParameters, priority: Int) {
            messages = parameters.messages
            maxTokens = parameters.maxTokens
            temperature = parameters.temperature
            topP = parameters.topP
            seed = parameters.seed
            stop = parameters.stop
            switch parameters.constraint {
            case .grammar(let text)?: grammar = text
            case .jsonSchema(let text)?: jsonSchema = text
            case nil: break
            }
            tools = parameters.tools
            toolChoice = parameters.toolChoice
            self.priority = priority
        }

        /// The parameters, checked. Throws `.invalidArgument` (or the grammar and schema codes) naming the field.
        public func parameters() throws(KernelError) -> InferenceParameters {
            var parameters = InferenceParameters(messages: messages, maxTokens: maxTokens)
            parameters.temperature = temperature
            parameters.topP = topP
            parameters.seed = seed
            parameters.stop = stop
            if grammar != nil, jsonSchema != nil { throw KernelError(.invalidArgument, "a request cannot carry both a grammar and a JSON Schema") }
            if let grammar { parameters.constraint = .grammar(grammar) }
            if let jsonSchema { parameters.constraint = .jsonSchema(jsonSchema) }
            parameters.tools = tools
            parameters.toolChoice = toolChoice
            try parameters.validate()
            return parameters
        }

        public func encoded() -> [UInt8] { Array((try? JSONEncoder().encode(self)) ?? Data()) }

        /// Decodes `bytes`; throws `.tooBig` or `.invalidArgument` saying why.
        public init(decoding bytes: [UInt8]) throws(KernelError) {
            guard bytes.count <= RemoteInference.maxRequestBytes else {
                throw KernelError(.tooBig, "a remote inference request of \(bytes.count) bytes is over \(RemoteInference.maxRequestBytes)")
            }
            do {
                self = try JSONDecoder().decode(Request.self, from: Data(bytes))
            } catch {
                throw KernelError(.invalidArgument, "a remote inference request is not valid JSON of the request shape")
            }
        }
    }

    /// How a stream ended: `status` 0 with the finish and usage, or the error.
    public struct End: Codable, Sendable, Equatable {
        /// An `aos_status`: 0, or why the request failed.
        public var status: Int32
        /// The failure's `KernelError.Code` and message; empty when it finished.
        public var code: String = ""
        public var message: String = ""
        public var finishReason: String = ""
        public var promptTokens = 0
        public var cachedPromptTokens = 0
        public var completionTokens = 0
        public var toolCalls: [ToolCallRequest] = []

        public init(_ outcome: Result<InferenceResult, KernelError>) {
            switch outcome {
            case .success(let result):
                status = 0
                finishReason = result.finishReason.rawValue
                promptTokens = result.usage.promptTokens
                cachedPromptTokens = result.usage.cachedPromptTokens
                completionTokens = result.usage.completionTokens
                toolCalls = result.toolCalls
            case .failure(let error):
                status = error.status.rawValue
                code = error.code.rawValue
                message = error.message
            }
        }

        public func encoded() -> [UInt8] { Array((try? JSONEncoder().encode(self)) ?? Data()) }

        /// Decodes `bytes`; nil when they are not an end.
        public init?(decoding bytes: [UInt8]) {
            guard let end = try? JSONDecoder().decode(End.self, from: Data(bytes)) else { return nil }
            self = end
        }

        /// The error this end reports, when it reports one (a serving node's
        /// code is kept when this kernel knows it).
        public var error: KernelError? {
            guard status != 0 else { return nil }
            return KernelError(KernelError.Code(rawValue: code) ?? .engineFailed, message)
        }
    }
}
