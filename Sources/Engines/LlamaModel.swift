import CLlama
import Foundation
import KernelCore

/// A GGUF model loaded with llama.cpp: its vocabulary, chat template and tokenizer.
///
/// Loading checks the file first so each failure says what is wrong with it.
/// After loading, everything here is read-only and safe from any thread.
final class LlamaModel: @unchecked Sendable {
    let path: String
    let pointer: OpaquePointer
    let vocab: OpaquePointer
    /// The model's own chat template (ChatML for SmolLM2), or nil to use ChatML.
    private let template: String?
    /// Used when a request has no system message: SmolLM2's template would add its own.
    static let defaultSystemPrompt = "You are a helpful assistant."

    /// Loads `path`. Throws `.engineUnavailable` naming the problem: missing,
    /// unreadable, not GGUF, or rejected by llama.cpp (truncated or corrupt).
    init(path: String) throws(KernelError) {
        func refuse(_ reason: String) -> KernelError { KernelError(.engineUnavailable, "cannot load model \(path): \(reason)") }
        guard FileManager.default.fileExists(atPath: path) else {
            throw refuse("no such file (run `make engine` to fetch the default model, or pass --model PATH)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw refuse("cannot open it for reading") }
        let magic = (try? handle.read(upToCount: 4)) ?? nil
        try? handle.close()
        guard magic == Data("GGUF".utf8) else { throw refuse("not a GGUF file (it does not start with \"GGUF\")") }
        LlamaBackend.initialize()
        let parameters = llama_model_default_params()
        guard let model = llama_model_load_from_file(path, parameters) else {
            throw refuse("llama.cpp could not read it; the file is truncated or corrupt (\(LlamaBackend.lastError ?? "no detail"))")
        }
        self.path = path
        self.pointer = model
        self.vocab = llama_model_get_vocab(model)
        self.template = llama_model_chat_template(model, nil).map { String(cString: $0) }
    }

    deinit { llama_model_free(pointer) }

    /// The context length the model was trained for.
    var trainedContext: Int { Int(llama_model_n_ctx_train(pointer)) }

    /// Bytes one token's keys and values take in a KV cache of `type`, over all layers.
    func kvBytesPerToken(_ type: ggml_type) -> Int {
        let heads = Int(llama_model_n_head(pointer))
        let width = heads == 0 ? 0 : Int(llama_model_n_embd(pointer)) / heads * Int(llama_model_n_head_kv(pointer))
        return Int(llama_model_n_layer(pointer)) * 2 * ggml_row_size(type, Int64(width))
    }

    /// `messages` in the model's chat template, ending with the assistant's turn.
    /// A system message is added first when there is none.
    func prompt(for messages: [ChatMessage]) throws(KernelError) -> String {
        var messages = messages
        if messages.first?.role != "system" {
            messages.insert(ChatMessage(role: "system", content: Self.defaultSystemPrompt), at: 0)
        }
        let roles = messages.map { strdup($0.role)! }
        let contents = messages.map { strdup($0.content)! }
        defer { (roles + contents).forEach { free($0) } }
        let chat = (0..<messages.count).map { llama_chat_message(role: roles[$0], content: contents[$0]) }
        let estimate = messages.reduce(256) { $0 + ($1.content.utf8.count + $1.role.utf8.count) * 2 }
        var buffer = [CChar](repeating: 0, count: estimate)
        var length = llama_chat_apply_template(template ?? "chatml", chat, chat.count, true, &buffer, Int32(buffer.count))
        if length > Int32(buffer.count) {
            buffer = [CChar](repeating: 0, count: Int(length))
            length = llama_chat_apply_template(template ?? "chatml", chat, chat.count, true, &buffer, Int32(buffer.count))
        }
        guard length >= 0 else { throw KernelError(.engineFailed, "the model's chat template is not one llama.cpp supports") }
        return String(decoding: buffer[..<Int(length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The tokens of `text`, with the model's BOS token when it wants one, special tokens parsed.
    func tokenize(_ text: String) -> [llama_token] {
        let utf8 = Array(text.utf8CString)
        let length = Int32(utf8.count - 1)
        var tokens = [llama_token](repeating: 0, count: Int(length) + 2)
        var count = llama_tokenize(vocab, utf8, length, &tokens, Int32(tokens.count), true, true)
        if count < 0 {
            tokens = [llama_token](repeating: 0, count: Int(-count))
            count = llama_tokenize(vocab, utf8, length, &tokens, Int32(tokens.count), true, true)
        }
        return Array(tokens.prefix(Int(max(count, 0))))
    }

    /// The bytes of `token` as text, without rendering control tokens.
    func piece(of token: llama_token, into buffer: inout [CChar]) -> ArraySlice<UInt8> {
        var count = llama_token_to_piece(vocab, token, &buffer, Int32(buffer.count), 0, false)
        if count < 0 {
            buffer = [CChar](repeating: 0, count: Int(-count))
            count = llama_token_to_piece(vocab, token, &buffer, Int32(buffer.count), 0, false)
        }
        return buffer.prefix(Int(max(count, 0))).map { UInt8(bitPattern: $0) }[...]
    }

    func isEndOfGeneration(_ token: llama_token) -> Bool { llama_vocab_is_eog(vocab, token) }

    /// Checks that `grammar` parses; throws `.invalidGrammar` with llama.cpp's reason.
    func checkGrammar(_ grammar: String) throws(KernelError) {
        guard let sampler = llama_sampler_init_grammar(vocab, grammar, "root") else {
            throw KernelError(.invalidGrammar, "invalid grammar: \(LlamaBackend.lastError ?? "llama.cpp could not parse it")")
        }
        llama_sampler_free(sampler)
    }
}
