import CLlama
import KernelCore

/// Where KV state goes: a new prompt into the free slot that saves it the
/// most computing (its own prefix, another slot's, or one kept in host
/// memory); a slot's state into host memory before a new prompt overwrites
/// it; a running sequence out of its slot and back (preemption). Engine
/// thread only.
extension LlamaEngine {
    // MARK: Placing a prompt

    /// Readies a free slot's KV for `prompt`: the longest prefix cached in a
    /// slot or in host memory stays, copied or restored into the slot when
    /// that saves enough, and the rest is cut. What the slot held beyond that
    /// goes to host memory first. Returns the slot and the prompt tokens reused.
    func place(_ prompt: [llama_token], in loop: inout Loop) -> (slot: Int, count: Int) {
        let free = loop.slots.indices.filter { loop.slots[$0] == nil }
        guard configuration.prefixCache else { return (free[0], 0) }
        let memory = llama_get_memory(context)
        var placement = loop.prefixes.place(prompt, free: free)
        var restore: HostPrefixCache.Entry?
        if let stored = loop.hostCache.longestPrefix(of: prompt), stored.reusable >= placement.reused + SlotPrefixes.minimumCopy {
            restore = loop.hostCache.entries[stored.index]
            placement = .init(slot: free.min()!, copyFrom: nil, reused: stored.reusable)
        }
        let slot = Int32(placement.slot)
        keepInHostMemory(slot: placement.slot, overwritingFrom: placement.copyFrom == nil && restore == nil ? placement.reused : 0, in: &loop)
        if let restore {
            if self.restore(restore.state, into: slot) {
                loop.hostCache.touch(restore.id)
                loop.prefixes.hold(restore.tokens, slot: placement.slot)
                snapshot.withLock { $0.hostCacheRestores += 1 }
            } else {
                loop.prefixes.clear(placement.slot)
                placement.reused = 0
            }
        } else if let source = placement.copyFrom {
            llama_memory_seq_cp(memory, Int32(source), slot, -1, -1)
            loop.prefixes.apply(placement)
            snapshot.withLock { $0.prefixCopies += 1 }
        }
        placement.reused = cut(placement.slot, after: placement.reused, in: &loop)
        countCached(placement.reused)
        return (placement.slot, placement.reused)
    }

    /// Frees `slot`'s KV after its first `count` tokens; returns the tokens it
    /// keeps: `count`, or 0 when the cache cannot cut a sequence short
    /// (recurrent models), which empties the slot.
    private func cut(_ slot: Int, after count: Int, in loop: inout Loop) -> Int {
        let memory = llama_get_memory(context)
        var kept = count
        if !llama_memory_seq_rm(memory, Int32(slot), Int32(count), -1) {
            llama_memory_seq_rm(memory, Int32(slot), -1, -1)
            kept = 0
        }
        loop.prefixes.hold(Array(loop.prefixes.tokens[slot].prefix(kept)), slot: slot)
        return kept
    }

    /// `tokens` more prompt tokens were reused instead of computed.
    private func countCached(_ tokens: Int) {
        cachedPromptTokens.increment(by: tokens)
        snapshot.withLock { $0.cachedPromptTokens += UInt64(tokens) }
    }

    // MARK: Prefixes still being computed

    /// The running sequence whose prompt shares the most of `prompt` beyond
    /// its `reused` tokens but has not computed that part yet, and how many
    /// tokens they share: a new sequence waits for it rather than computing
    /// the same tokens beside it (eight agents arriving together with one
    /// system prompt compute it once). Nil when none shares
    /// `SlotPrefixes.minimumCopy` more tokens.
    func prefixInFlight(of prompt: [llama_token], reused: Int, in loop: Loop) -> (source: LlamaSequence, tokens: Int)? {
        guard configuration.prefixCache else { return nil }
        var best: (source: LlamaSequence, tokens: Int)?
        for running in loop.order where running.awaiting == nil {
            let shared = min(SlotPrefixes.commonPrefix(prompt, running.prompt), prompt.count - 1)
            guard shared >= reused + SlotPrefixes.minimumCopy, Int(running.position) < shared, shared > best?.tokens ?? 0 else { continue }
            best = (running, shared)
        }
        return best
    }

    /// Gives each waiting sequence its shared prefix once a slot holds it:
    /// that slot's KV is copied in and cut after the prefix, and the sequence
    /// prefills only the rest. When the source left its slot first
    /// (cancelled, paused, failed), the sequence stops waiting and copies the
    /// longest part of the prefix some slot holds, if that saves
    /// `SlotPrefixes.minimumCopy` tokens, and computes the rest itself.
    func adoptSharedPrefixes(_ loop: inout Loop) {
        for sequence in loop.order {
            guard let (source, tokens) = sequence.awaiting else { continue }
            if loop.slots[Int(source.slot)] === source, Int(source.position) < tokens { continue }
            sequence.awaiting = nil
            let slot = Int(sequence.slot)
            var best = (holder: -1, count: Int(sequence.position) + SlotPrefixes.minimumCopy - 1)
            for holder in loop.prefixes.tokens.indices where holder != slot {
                let count = min(SlotPrefixes.commonPrefix(sequence.prompt, loop.prefixes.tokens[holder]), tokens)
                if count > best.count { best = (holder, count) }
            }
            guard best.holder >= 0 else { continue }
            llama_memory_seq_cp(llama_get_memory(context), Int32(best.holder), sequence.slot, -1, -1)
            loop.prefixes.apply(.init(slot: slot, copyFrom: best.holder, reused: best.count))
            snapshot.withLock { $0.prefixCopies += 1 }
            let kept = cut(slot, after: best.count, in: &loop)
            countCached(max(kept - Int(sequence.position), 0))
            sequence.position = Int32(kept)
            sequence.request.setPromptTokens(sequence.prompt.count, cached: kept)
        }
    }

    /// Saves `slot`'s KV state to host memory when a new prompt is about to
    /// overwrite its tokens from position `keeping` on, and that is at least
    /// `HostPrefixCache.minimumSave` tokens nothing else holds.
    private func keepInHostMemory(slot: Int, overwritingFrom keeping: Int, in loop: inout Loop) {
        let held = loop.prefixes.tokens[slot]
        guard configuration.prefixCache, held.count - keeping >= HostPrefixCache.minimumSave,
              !loop.prefixes.isCoveredElsewhere(slot), !loop.hostCache.covers(held)
        else { return }
        let size = llama_state_seq_get_size(context, Int32(slot))
        guard size <= loop.hostCache.budget - loop.hostCache.pinnedBytes, let state = savedState(of: Int32(slot), size: size) else { return }
        loop.hostCache.insert(tokens: held, state: state)
    }

    /// `slot`'s KV state as llama.cpp serializes it, `size` bytes
    /// (`llama_state_seq_get_size`), or nil when it cannot be read.
    private func savedState(of slot: Int32, size: Int) -> [UInt8]? {
        guard size > 0 else { return nil }
        var written = 0
        let state = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            written = llama_state_seq_get_data(context, buffer.baseAddress, size, slot)
            count = written == size ? size : 0
        }
        return written == size ? state : nil
    }

    /// Loads `state` into `slot`, replacing what it held. False when llama.cpp
    /// refuses it (the slot is then empty).
    private func restore(_ state: [UInt8], into slot: Int32) -> Bool {
        llama_memory_seq_rm(llama_get_memory(context), slot, -1, -1)
        let read = state.withUnsafeBufferPointer { llama_state_seq_set_data(context, $0.baseAddress, $0.count, slot) }
        guard read == state.count else {
            llama_memory_seq_rm(llama_get_memory(context), slot, -1, -1)
            return false
        }
        return true
    }

    // MARK: Preemption

    /// With every slot busy, pauses the running sequence of the most-served
    /// agent when the request the fair policy would take next trails it by
    /// `PreemptionPolicy.gap`, so that request gets the slot.
    func preemptIfDue(_ loop: inout Loop, _ scheduler: InferenceScheduler) {
        guard !loop.slots.contains(where: { $0 == nil }), scheduler.queueLength > 0 else { return }
        let standing = scheduler.fairShare(of: loop.order.map(\.request.agent))
        guard let next = standing.next else { return }
        let running = loop.order.enumerated().map { index, sequence in
            PreemptionPolicy.Running(slot: Int(sequence.slot), agent: sequence.request.agent, counter: standing.counters[index], stepsRun: sequence.stepsRun)
        }
        guard let slot = PreemptionPolicy.victim(among: running, for: next) else { return }
        pause(loop.slots[slot]!, in: &loop)
    }

    /// Moves `sequence`'s KV state into host memory and frees its slot; does
    /// nothing when the state does not fit the budget beside other paused ones.
    private func pause(_ sequence: LlamaSequence, in loop: inout Loop) {
        let size = llama_state_seq_get_size(context, sequence.slot)
        guard loop.hostCache.pin(size) else { return }
        guard let state = savedState(of: sequence.slot, size: size) else {
            loop.hostCache.unpin(size)
            return
        }
        loop.paused.append(PausedSequence(sequence: sequence, state: state, tokens: loop.prefixes.tokens[Int(sequence.slot)]))
        release(sequence, from: &loop, keepingKV: false)
        preemptions.increment()
        snapshot.withLock { $0.preemptions += 1 }
    }

    /// Resumes into `slot` the paused sequence of the least-served agent,
    /// unless the request the fair policy would take next trails it by
    /// `PreemptionPolicy.gap`. Returns whether it resumed one.
    func resumePausedIfDue(into slot: Int, _ loop: inout Loop, _ scheduler: InferenceScheduler) -> Bool {
        guard !loop.paused.isEmpty else { return false }
        let standing = scheduler.fairShare(of: loop.paused.map(\.sequence.request.agent))
        let index = standing.counters.indices.min { standing.counters[$0] < standing.counters[$1] }!
        guard PreemptionPolicy.resumes(pausedCounter: standing.counters[index], before: standing.next?.counter) else { return false }
        keepInHostMemory(slot: slot, overwritingFrom: 0, in: &loop)
        let paused = loop.paused[index]
        guard restore(paused.state, into: Int32(slot)) else {
            loop.prefixes.clear(slot)
            dropPaused(at: index, from: &loop) { $0.fail(KernelError(.engineFailed, "llama.cpp could not restore the paused sequence's KV state")) }
            return true
        }
        loop.hostCache.unpin(paused.state.count)
        loop.paused.remove(at: index)
        let sequence = paused.sequence
        sequence.slot = Int32(slot)
        sequence.stepsRun = 0
        loop.prefixes.hold(paused.tokens, slot: slot)
        loop.slots[slot] = sequence
        loop.order.append(sequence)
        return true
    }

    /// Ends paused sequence `index` with `finish` (cancelled, failed) and frees its memory.
    func dropPaused(at index: Int, from loop: inout Loop, _ finish: (InferenceRequest) -> Void) {
        let paused = loop.paused.remove(at: index)
        loop.hostCache.unpin(paused.state.count)
        finish(paused.sequence.request)
    }
}
