import CLlama
import Foundation
import KernelCore
import Metrics
import Synchronization

/// The embedded engine: llama.cpp in the kernel's process, with continuous batching.
///
/// One thread owns the `llama_context`. Each step it admits queued requests
/// into free slots (one `seq_id` each), then decodes one `llama_batch` that
/// carries one token for every generating sequence plus chunks of waiting
/// prompts (`BatchPlanner`), samples each sequence with its own chain, and
/// frees a finished sequence's KV cells at once. Thread-safe API; the loop
/// runs on its own thread.
public final class LlamaEngine: InferenceEngine, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var modelPath: String
        /// KV cache size in tokens, shared evenly by the slots.
        public var contextTokens = 16384
        /// Sequences decoded together.
        public var slots = 8
        public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
        /// Tokens per `llama_decode` (llama.cpp's n_batch).
        public var batchTokens = 512
        /// Prompt tokens one sequence prefills per step, so long prompts do not stall decoding.
        public var prefillChunk = 128

        public init(modelPath: String) { self.modelPath = modelPath }
    }

    public let info: EngineInfo
    private let configuration: Configuration
    private let model: LlamaModel
    private let context: OpaquePointer
    /// Context per sequence: a prompt plus its output must fit in it.
    private let sequenceContext: Int
    private let planner: BatchPlanner

    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)
    /// Tokens per engine step: `agentos_engine_batch_size`.
    private let batchSize = Recorder(label: MetricName.engineBatchSize)
    private let snapshot = Mutex(EngineStats())
    private var scheduler: InferenceScheduler?

    /// Loads the model and creates the context. Throws `.engineUnavailable`
    /// naming what is wrong with the model file or the settings.
    public init(configuration: Configuration) throws(KernelError) {
        guard configuration.slots >= 1, configuration.slots <= 256 else {
            throw KernelError(.invalidArgument, "--slots \(configuration.slots): use 1 to 256")
        }
        guard configuration.contextTokens >= 256 * configuration.slots else {
            throw KernelError(.invalidArgument, "--ctx \(configuration.contextTokens) gives each of \(configuration.slots) slots fewer than 256 tokens")
        }
        model = try LlamaModel(path: configuration.modelPath)
        var parameters = llama_context_default_params()
        parameters.n_ctx = UInt32(configuration.contextTokens)
        parameters.n_seq_max = UInt32(configuration.slots)
        parameters.n_batch = UInt32(configuration.batchTokens)
        parameters.n_ubatch = UInt32(configuration.batchTokens)
        parameters.n_threads = Int32(configuration.threads)
        parameters.n_threads_batch = Int32(configuration.threads)
        parameters.kv_unified = false
        parameters.no_perf = true
        guard let context = llama_init_from_model(model.pointer, parameters) else {
            throw KernelError(.engineUnavailable, "llama.cpp could not create a context of \(configuration.contextTokens) tokens: \(LlamaBackend.lastError ?? "out of memory?")")
        }
        self.context = context
        self.configuration = configuration
        sequenceContext = Int(llama_n_ctx_seq(context))
        planner = BatchPlanner(tokenBudget: configuration.batchTokens, prefillChunk: configuration.prefillChunk)
        info = EngineInfo(
            kind: "llama.cpp", model: configuration.modelPath, slots: configuration.slots,
            contextTokens: Int(llama_n_ctx(context)), endpoint: "in-process")
        snapshot.withLock { $0.kvCellsTotal = Int(llama_n_ctx(context)) }
    }

    deinit { llama_free(context) }

    // MARK: InferenceEngine

    public func validate(_ parameters: InferenceParameters) throws(KernelError) {
        guard parameters.maxTokens < sequenceContext else {
            throw KernelError(.invalidArgument, "max_tokens \(parameters.maxTokens) does not fit the context of \(sequenceContext) tokens per sequence")
        }
        if let grammar = try grammar(for: parameters) { try model.checkGrammar(grammar) }
        let promptTokens = model.tokenize(try model.prompt(for: messages(for: parameters))).count
        guard promptTokens < sequenceContext else { throw promptTooLong(promptTokens) }
    }

    public func start(serving scheduler: InferenceScheduler) {
        self.scheduler = scheduler
        let thread = Thread { [self] in
            run(scheduler)
            finished.signal()
        }
        thread.name = "aos:engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    public func shutdown() {
        guard running.exchange(false, ordering: .relaxed), let scheduler else { return }
        scheduler.wakeEngine()
        finished.wait()
    }

    public func stats() -> EngineStats { snapshot.withLock { $0 } }

    // MARK: The loop

    private func run(_ scheduler: InferenceScheduler) {
        var slots = [LlamaSequence?](repeating: nil, count: configuration.slots)
        var order: [LlamaSequence] = []
        var batch = llama_batch_init(Int32(configuration.batchTokens), 0, 1)
        defer { llama_batch_free(batch) }
        var pieceBuffer = [CChar](repeating: 0, count: 256)
        let memory = llama_get_memory(context)

        func release(_ sequence: LlamaSequence) {
            llama_memory_seq_rm(memory, sequence.slot, -1, -1)
            slots[Int(sequence.slot)] = nil
            order.removeAll { $0 === sequence }
        }
        func end(_ sequence: LlamaSequence, _ reason: FinishReason) {
            let rest = sequence.route(sequence.text.flush())
            sequence.request.record(tokens: 0, piece: rest, at: monotonicNanos())
            if let call = sequence.toolCallText, reason != .cancelled {
                let turn = sequence.request.parameters.messages.filter { $0.toolCalls != nil }.count
                if let calls = HermesToolFormat.calls(in: call, turn: turn) {
                    sequence.request.finish(reason, toolCalls: calls, at: monotonicNanos())
                } else {
                    sequence.request.fail(KernelError(.engineFailed, "the model's tool call did not end within max_tokens (\(sequence.request.parameters.maxTokens)); raise max_tokens"))
                }
            } else {
                sequence.request.finish(reason, at: monotonicNanos())
            }
            release(sequence)
        }

        while running.load(ordering: .relaxed) {
            // Free the slots of cancelled requests, then admit queued requests
            // into free slots; sleep in `take` only when idle.
            for sequence in order where sequence.request.isCancelled { end(sequence, .cancelled) }
            while let free = slots.firstIndex(where: { $0 == nil }) {
                let deadline: UInt64? = order.isEmpty ? monotonicNanos() + 500_000_000 : nil
                guard let request = scheduler.take(waitingUntil: deadline) else { break }
                if let sequence = admit(request, slot: Int32(free)) {
                    slots[free] = sequence
                    order.append(sequence)
                }
            }
            if order.isEmpty {
                publish(order)
                continue
            }

            // One step: a token for each generating sequence, then prompt chunks.
            let step = planner.plan(order.map { BatchPlanner.Sequence(slot: Int($0.slot), pendingPrompt: $0.pendingPrompt) })
            var outputs: [(LlamaSequence, Int32)] = []
            var promptTokens = 0
            batch.n_tokens = 0
            for slot in step.decode {
                let sequence = slots[slot]!
                outputs.append((sequence, batch.n_tokens))
                add(&batch, sequence.nextToken, position: sequence.position, sequence: sequence.slot, output: true)
                sequence.position += 1
            }
            for (slot, count) in step.prefill {
                let sequence = slots[slot]!
                let start = Int(sequence.position)
                let completes = start + count == sequence.prompt.count
                for offset in 0..<count {
                    let last = offset == count - 1
                    if last && completes { outputs.append((sequence, batch.n_tokens)) }
                    add(&batch, sequence.prompt[start + offset], position: Int32(start + offset), sequence: sequence.slot, output: last && completes)
                }
                sequence.position += Int32(count)
                promptTokens += count
                scheduler.charge(sequence.request, promptTokens: count, completionTokens: 0)
            }

            let began = monotonicNanos()
            let status = llama_decode(context, batch)
            guard status == 0 else {
                let error = KernelError(.engineFailed, "llama_decode failed with status \(status) on a batch of \(batch.n_tokens) tokens")
                for sequence in order {
                    sequence.request.fail(error)
                    release(sequence)
                }
                continue
            }

            // Sample each sequence that produced logits.
            let now = monotonicNanos()
            for (sequence, index) in outputs {
                let token = llama_sampler_sample(sequence.sampler, context, index)
                sequence.generated += 1
                scheduler.charge(sequence.request, promptTokens: 0, completionTokens: 1)
                if model.isEndOfGeneration(token) {
                    sequence.request.record(tokens: 1, piece: "", at: now)
                    end(sequence, .stop)
                    continue
                }
                let piece = sequence.route(sequence.text.append(model.piece(of: token, into: &pieceBuffer)))
                sequence.request.record(tokens: 1, piece: piece, at: now)
                if sequence.text.stopped {
                    end(sequence, .stop)
                } else if sequence.generated >= sequence.request.parameters.maxTokens
                    || Int(sequence.position) + 1 >= sequenceContext {
                    end(sequence, .length)
                } else {
                    sequence.nextToken = token
                }
            }
            batchSize.record(batch.n_tokens)
            snapshot.withLock { stats in
                stats.steps += 1
                stats.batchTokens += UInt64(batch.n_tokens)
                stats.promptTokens += UInt64(promptTokens)
                stats.generatedTokens += UInt64(outputs.count)
                stats.busySeconds += Double(monotonicNanos() - began) / 1e9
            }
            publish(order)
        }

        for sequence in order {
            sequence.request.fail(KernelError(.stopping, "the engine is shutting down"))
            release(sequence)
        }
        publish(order)
    }

    /// Prepares `request` for `slot`, or finishes it with the reason it cannot run.
    private func admit(_ request: InferenceRequest, slot: Int32) -> LlamaSequence? {
        request.markStarted(at: monotonicNanos())
        do throws(KernelError) {
            let prompt = model.tokenize(try model.prompt(for: messages(for: request.parameters)))
            request.setPromptTokens(prompt.count)
            guard prompt.count < sequenceContext else { throw promptTooLong(prompt.count) }
            let grammar = try grammar(for: request.parameters)
            guard let sampler = LlamaSequence.sampler(for: request.parameters, grammar: grammar, vocab: model.vocab) else {
                throw KernelError(.invalidGrammar, "invalid grammar: \(LlamaBackend.lastError ?? "llama.cpp could not parse it")")
            }
            return LlamaSequence(request: request, slot: slot, prompt: prompt, sampler: sampler)
        } catch {
            request.fail(error)
            return nil
        }
    }

    /// The chat as the model reads it: with tools, described in the Hermes way.
    private func messages(for parameters: InferenceParameters) -> [ChatMessage] {
        parameters.tools.isEmpty ? parameters.messages : HermesToolFormat.messages(for: parameters)
    }

    private func grammar(for parameters: InferenceParameters) throws(KernelError) -> String? {
        if !parameters.tools.isEmpty { return try HermesToolFormat.grammar(for: parameters) }
        switch parameters.constraint {
        case nil: return nil
        case .grammar(let grammar): return grammar
        case .jsonSchema(let schema): return try JSONSchemaGrammar.grammar(fromSchema: schema)
        }
    }

    private func promptTooLong(_ tokens: Int) -> KernelError {
        KernelError(.promptTooLong, "the prompt is \(tokens) tokens; the context holds \(sequenceContext) per sequence (raise --ctx or lower --slots)")
    }

    private func publish(_ order: [LlamaSequence]) {
        let used = order.reduce(0) { $0 + Int($1.position) }
        snapshot.withLock {
            $0.activeSequences = order.count
            $0.kvCellsUsed = used
        }
    }

    @inline(__always)
    private func add(_ batch: inout llama_batch, _ token: llama_token, position: Int32, sequence: Int32, output: Bool) {
        let index = Int(batch.n_tokens)
        batch.token[index] = token
        batch.pos[index] = position
        batch.n_seq_id[index] = 1
        batch.seq_id[index]![0] = sequence
        batch.logits[index] = output ? 1 : 0
        batch.n_tokens += 1
    }
}
