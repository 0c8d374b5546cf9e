import CLlama
import KernelCore

/// The engine thread's loop: each step admits queued requests into free
/// slots, hands waiting sequences the shared prefixes computed for them,
/// plans one `llama_batch` (a token for every generating sequence, then
/// prompt chunks), decodes it and samples every sequence that produced
/// logits. Everything here runs on the engine thread only.
extension LlamaEngine {
    /// The engine thread's working state: the slots, what their KV holds,
    /// the sequences in admission order, the batch and a buffer for token pieces.
    struct Loop {
        var slots: [LlamaSequence?]
        var prefixes: SlotPrefixes
        /// KV state in host memory: evicted prefixes and paused sequences.
        var hostCache: HostPrefixCache
        /// Sequences taken out of their slots by preemption, oldest first.
        var paused: [PausedSequence] = []
        var order: [LlamaSequence] = []
        var batch: llama_batch
        var pieceBuffer = [CChar](repeating: 0, count: 256)
        /// Where each sequence that produces logits this step finds them in the batch.
        var outputs: [(sequence: LlamaSequence, index: Int32)] = []
        /// This step's work per slot: nil for none, 0 to decode a token, n to prefill n prompt tokens.
        var work: [Int?]

        init(slots: Int, batchTokens: Int, hostCacheBudget: Int) {
            self.slots = [LlamaSequence?](repeating: nil, count: slots)
            prefixes = SlotPrefixes(slots: slots)
            hostCache = HostPrefixCache(budget: hostCacheBudget)
            batch = llama_batch_init(Int32(batchTokens), 0, 1)
            work = [Int?](repeating: nil, count: slots)
        }
    }

    /// A sequence paused to let a waiting request run: its KV state in host
    /// memory (pinned in the host cache's budget) and the tokens it holds.
    struct PausedSequence {
        let sequence: LlamaSequence
        let state: [UInt8]
        let tokens: [llama_token]
    }

    /// Runs steps until `shutdown`, then fails what still runs with `.stopping`.
    func run(_ scheduler: InferenceScheduler) {
        var loop = Loop(slots: configuration.slots, batchTokens: configuration.batchTokens, hostCacheBudget: hostCacheBudget)
        defer { llama_batch_free(loop.batch) }
        while running.load(ordering: .relaxed) {
            admit(into: &loop, from: scheduler)
            adoptSharedPrefixes(&loop)
            guard !loop.order.isEmpty else {
                publish(loop)
                continue
            }
            let promptTokens = plan(&loop, charging: scheduler)
            let began = monotonicNanos()
            guard decode(&loop) else { continue }
            sample(&loop, charging: scheduler)
            batchSize.record(loop.batch.n_tokens)
            computedPromptTokens.increment(by: promptTokens)
            snapshot.withLock { stats in
                stats.steps += 1
                stats.batchTokens += UInt64(loop.batch.n_tokens)
                stats.promptTokens += UInt64(promptTokens)
                stats.generatedTokens += UInt64(loop.outputs.count)
                stats.busySeconds += Double(monotonicNanos() - began) / 1e9
            }
            publish(loop)
        }
        let stopping = KernelError(.stopping, "the engine is shutting down")
        for sequence in loop.order {
            sequence.request.fail(stopping)
            release(sequence, from: &loop, keepingKV: false)
        }
        while !loop.paused.isEmpty { dropPaused(at: 0, from: &loop) { $0.fail(stopping) } }
        publish(loop)
    }

    // MARK: Admit

    /// Frees the slots and memory of cancelled requests, pauses a running
    /// sequence for a request that waited past its fair share (`--preempt`),
    /// then fills free slots with paused sequences and queued requests in
    /// fair-share order; waits in `take` only when nothing runs.
    private func admit(into loop: inout Loop, from scheduler: InferenceScheduler) {
        for sequence in loop.order where sequence.request.isCancelled { end(sequence, .cancelled, in: &loop) }
        for index in loop.paused.indices.reversed() where loop.paused[index].sequence.request.isCancelled {
            dropPaused(at: index, from: &loop) { $0.finish(.cancelled, at: monotonicNanos()) }
        }
        if configuration.preempt { preemptIfDue(&loop, scheduler) }
        while let free = loop.slots.firstIndex(where: { $0 == nil }) {
            if resumePausedIfDue(into: free, &loop, scheduler) { continue }
            let deadline: UInt64? = loop.order.isEmpty ? monotonicNanos() + 500_000_000 : nil
            guard let request = scheduler.take(waitingUntil: deadline) else { break }
            if let sequence = sequence(for: request, in: &loop) {
                loop.slots[Int(sequence.slot)] = sequence
                loop.order.append(sequence)
            }
        }
    }

    /// `request` as a sequence in a free slot, from what `prepare` made of it
    /// (or prepared now), reusing the KV of the longest cached prefix of its
    /// prompt, or waiting for a running prompt that computes a longer one;
    /// nil when it cannot run, after finishing it with the reason.
    private func sequence(for request: InferenceRequest, in loop: inout Loop) -> LlamaSequence? {
        request.markStarted(at: monotonicNanos())
        do throws(KernelError) {
            let prepared = if let carried = request.prepared as? LlamaPreparedPrompt { carried } else { try preparedPrompt(for: request.parameters) }
            guard let sampler = TokenSampler(for: request.parameters, grammar: prepared.grammar, vocab: model.vocab) else {
                throw KernelError(.invalidGrammar, "invalid grammar: \(LlamaBackend.lastError ?? "llama.cpp could not parse it")")
            }
            let reused = place(prepared.tokens, in: &loop)
            request.setPromptTokens(prepared.tokens.count, cached: reused.count)
            let sequence = LlamaSequence(request: request, slot: Int32(reused.slot), prompt: prepared.tokens, reused: reused.count, sampler: sampler)
            sequence.awaiting = prefixInFlight(of: prepared.tokens, reused: reused.count, in: loop)
            return sequence
        } catch {
            request.fail(error)
            return nil
        }
    }

    // MARK: Plan

    /// Fills the batch for one step: a token for each generating sequence and
    /// prompt chunks (`BatchPlanner`), charging each chunk to its request.
    /// The tokens go in slot order, each sequence's together: with one KV
    /// stream per slot, llama.cpp cuts a batch into ubatches of consecutive
    /// slots taking equally many tokens (`split_equal`), each a pass over the
    /// weights, so eight decoding sequences in admission order could cost
    /// eight passes where slot order costs one. Returns the prompt tokens it holds.
    private func plan(_ loop: inout Loop, charging scheduler: InferenceScheduler) -> Int {
        let step = planner.plan(loop.order.compactMap { $0.awaiting == nil ? BatchPlanner.Sequence(slot: Int($0.slot), pendingPrompt: $0.pendingPrompt) : nil })
        for slot in loop.work.indices { loop.work[slot] = nil }
        for slot in step.decode { loop.work[slot] = 0 }
        for (slot, count) in step.prefill { loop.work[slot] = count }
        var promptTokens = 0
        loop.outputs.removeAll(keepingCapacity: true)
        loop.batch.n_tokens = 0
        for slot in loop.work.indices {
            guard let count = loop.work[slot], let sequence = loop.slots[slot] else { continue }
            sequence.stepsRun += 1
            guard count > 0 else {
                loop.outputs.append((sequence, loop.batch.n_tokens))
                add(&loop.batch, sequence.nextToken, position: sequence.position, sequence: sequence.slot, output: true)
                loop.prefixes.append(sequence.nextToken, slot: slot)
                sequence.position += 1
                continue
            }
            let start = Int(sequence.position)
            let completes = start + count == sequence.prompt.count
            for offset in 0..<count {
                let last = offset == count - 1
                if last && completes { loop.outputs.append((sequence, loop.batch.n_tokens)) }
                add(&loop.batch, sequence.prompt[start + offset], position: Int32(start + offset), sequence: sequence.slot, output: last && completes)
                loop.prefixes.append(sequence.prompt[start + offset], slot: slot)
            }
            sequence.position += Int32(count)
            promptTokens += count
            scheduler.charge(sequence.request, promptTokens: count, completionTokens: 0)
        }
        return promptTokens
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

    // MARK: Decode

    /// Decodes the batch; on failure fails every running request and clears its slot.
    private func decode(_ loop: inout Loop) -> Bool {
        let status = llama_decode(context, loop.batch)
        guard status != 0 else { return true }
        let error = KernelError(.engineFailed, "llama_decode failed with status \(status) on a batch of \(loop.batch.n_tokens) tokens")
        for sequence in loop.order {
            sequence.request.fail(error)
            release(sequence, from: &loop, keepingKV: false)
        }
        return false
    }

    // MARK: Sample

    /// Samples a token for each sequence that produced logits, streams its
    /// text, and ends the sequences that stop or reach their limit.
    private func sample(_ loop: inout Loop, charging scheduler: InferenceScheduler) {
        let now = monotonicNanos()
        for (sequence, index) in loop.outputs {
            let token = sequence.sampler.next(from: context, row: index)
            sequence.generated += 1
            scheduler.charge(sequence.request, promptTokens: 0, completionTokens: 1)
            if model.isEndOfGeneration(token) {
                sequence.request.record(tokens: 1, piece: "", at: now)
                end(sequence, .stop, in: &loop)
                continue
            }
            let piece = sequence.route(sequence.text.append(model.piece(of: token, into: &loop.pieceBuffer)))
            sequence.request.record(tokens: 1, piece: piece, at: now)
            if sequence.text.stopped {
                end(sequence, .stop, in: &loop)
            } else if sequence.generated >= sequence.request.parameters.maxTokens || Int(sequence.position) + 1 >= sequenceContext {
                end(sequence, .length, in: &loop)
            } else {
                sequence.nextToken = token
            }
        }
    }

    // MARK: Ending sequences

    /// Finishes `sequence`'s request for `reason` (with its tool call, if it
    /// wrote one) and frees its slot.
    private func end(_ sequence: LlamaSequence, _ reason: FinishReason, in loop: inout Loop) {
        let request = sequence.request
        request.record(tokens: 0, piece: sequence.route(sequence.text.flush()), at: monotonicNanos())
        if let call = sequence.toolCallText, reason != .cancelled {
            let turn = request.parameters.messages.filter { $0.toolCalls != nil }.count
            if let calls = HermesToolFormat.calls(in: call, turn: turn) {
                request.finish(reason, toolCalls: calls, at: monotonicNanos())
            } else {
                request.fail(KernelError(.engineFailed, "the model's tool call did not end within max_tokens (\(request.parameters.maxTokens)); raise max_tokens"))
            }
        } else {
            request.finish(reason, at: monotonicNanos())
        }
        release(sequence, from: &loop, keepingKV: configuration.prefixCache)
    }

    /// Frees `sequence`'s slot; its KV cells stay for later prompts with the
    /// same prefix when `keepingKV`, else they are freed.
    func release(_ sequence: LlamaSequence, from loop: inout Loop, keepingKV: Bool) {
        if !keepingKV {
            llama_memory_seq_rm(llama_get_memory(context), sequence.slot, -1, -1)
            loop.prefixes.clear(Int(sequence.slot))
        }
        loop.slots[Int(sequence.slot)] = nil
        loop.order.removeAll { $0 === sequence }
    }

    /// Publishes the load for `stats`.
    private func publish(_ loop: Loop) {
        let used = loop.order.reduce(0) { $0 + Int($1.position) }
        snapshot.withLock {
            $0.activeSequences = loop.order.count
            $0.kvCellsUsed = used
            $0.kvCellsCached = loop.prefixes.cellsHeld - used
            $0.hostCacheBytes = loop.hostCache.bytes
            $0.hostCacheEntries = loop.hostCache.entries.count
            if loop.hostCache.evictions > $0.hostCacheEvictions {
                hostCacheEvictions.increment(by: Int(loop.hostCache.evictions - $0.hostCacheEvictions))
            }
            $0.hostCacheEvictions = loop.hostCache.evictions
            $0.pausedSequences = loop.paused.count
        }
    }
}
