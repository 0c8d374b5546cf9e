import Foundation
import KernelCore
import StrictJSON

/// Reading what a chat-completions server answers: the chunks of a stream, and error bodies.
extension OpenAIChat {
    /// What one stream has delivered so far, and what each new chunk adds.
    /// Not thread-safe: one per stream.
    struct StreamState {
        /// The finish_reason: "length" is `.length`, any other ("stop", "tool_calls") `.stop`.
        private(set) var finish: FinishReason?
        /// Data events taken.
        private(set) var events = 0
        private var completionTokens = 0
        /// Prompt tokens the server computed (not cached), as charged so far.
        private var computedPromptTokens = 0
        /// The tools called so far.
        private(set) var calls: OpenAITools.Assembly

        init(calls: OpenAITools.Assembly) { self.calls = calls }

        struct Update {
            /// New answer text.
            var piece: String?
            /// Tokens generated: one per chunk of content or tool-call fragments.
            var tokens = 0
            /// The server's prompt count, once its usage arrives.
            var promptTokens: Int?
            /// Of those, the ones the server took from its own prompt cache
            /// (`usage.prompt_tokens_details.cached_tokens`: OpenAI, vLLM, llama-server).
            var cachedPromptTokens = 0
            /// Prompt tokens computed that were not charged before.
            var newPromptTokens = 0
            /// Tokens the usage counts beyond the chunks counted.
            var extraTokens = 0
        }

        /// Takes one event's data: a `chat.completion.chunk`, or an `error` object.
        mutating func take(_ data: String) throws(KernelError) -> Update {
            events += 1
            guard let object = jsonObject(data) else {
                throw KernelError(.engineFailed, "engine sent a malformed stream: not JSON: \(quote(data))")
            }
            if object["error"] != nil, let message = errorMessage(object) {
                throw KernelError(isContextError(message, object) ? .promptTooLong : .engineFailed, "engine failed mid-stream: \(oneLine(message))")
            }
            var update = Update()
            let choice = objects(object["choices"])?.first
            let delta = choice?["delta"]
            if let content = delta?["content"]?.asString, !content.isEmpty { update.piece = content }
            let fragments = objects(delta?["tool_calls"]) ?? []
            calls.take(fragments)
            update.tokens = update.piece != nil || !fragments.isEmpty ? 1 : 0
            completionTokens += update.tokens
            if let reason = choice?["finish_reason"]?.asString { finish = reason == "length" ? .length : .stop }
            if let usage = object["usage"] {
                if let prompt = usage["prompt_tokens"]?.asInt {
                    let cached = min(max(usage["prompt_tokens_details"]?["cached_tokens"]?.asInt ?? 0, 0), prompt)
                    update.promptTokens = prompt
                    update.cachedPromptTokens = cached
                    update.newPromptTokens = max(0, prompt - cached - computedPromptTokens)
                    computedPromptTokens = max(computedPromptTokens, prompt - cached)
                }
                // `record` only adds: a usage below the chunks counted leaves the count as it is.
                if let completion = usage["completion_tokens"]?.asInt, completion > completionTokens {
                    update.extraTokens = completion - completionTokens
                    completionTokens = completion
                }
            }
            return update
        }

        /// The elements of an array whose elements are all objects; nil for anything else.
        private func objects(_ value: JSONValue?) -> [JSONValue]? {
            guard let elements = value?.asArray, elements.allSatisfy({ $0.asObject != nil }) else { return nil }
            return elements
        }
    }

    /// The error for a non-200 answer, with the server's own message where it gave one.
    static func refusal(status: UInt, body: String, engine: String) -> KernelError {
        let object = jsonObject(body)
        let message = object.flatMap(errorMessage)
        let text = oneLine(message ?? body)
        switch status {
        case 401, 403:
            return KernelError(.engineUnavailable, "engine at \(engine) refused the API key (HTTP \(status)): \(text)")
        case 404:
            return KernelError(.engineUnavailable, "engine at \(engine) has no such endpoint or model (HTTP 404): \(text)")
        case 429:
            return KernelError(.engineUnavailable, "engine at \(engine) is rate-limiting (HTTP 429): \(text)")
        case 400..<500 where message != nil:
            return KernelError(isContextError(message!, object!) ? .promptTooLong : .invalidArgument, "engine refused the request: \(text)")
        default:
            return KernelError(.engineFailed, "engine returned HTTP \(status): \(text)")
        }
    }

    /// `{"error":{"message"}}` (OpenAI, llama-server, vLLM), `{"error":"…"}` (Ollama) or `{"message"}`.
    private static func errorMessage(_ object: JSONValue) -> String? {
        object["error"]?["message"]?.asString ?? object["error"]?.asString ?? object["message"]?.asString
    }

    /// Whether an error says the prompt does not fit the context, as each server words it.
    private static func isContextError(_ message: String, _ object: JSONValue) -> Bool {
        let error = object["error"]
        let text = [message, error?["type"]?.asString, error?["code"]?.asString].compactMap { $0 }.joined(separator: " ").lowercased()
        return text.contains("too long") || text.contains("context") && ["exceed", "length", "size", "window", "maximum"].contains { text.contains($0) }
    }

    /// `text` on one line, at most `limit` characters.
    static func oneLine(_ text: String, limit: Int = 200) -> String {
        String(text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces).prefix(limit))
    }

    static func quote(_ text: String) -> String { "\"\(oneLine(text, limit: 80))\"" }
}
