import Metrics

/// Records an ended inference request in the inference metrics, by agent.
enum InferenceMetrics {
    static func record(agent: String, _ outcome: Result<InferenceResult, KernelError>) {
        let dimensions = [("agent", agent)]
        guard case .success(let result) = outcome else {
            Counter(label: MetricName.inferenceRequests, dimensions: dimensions + [("finish_reason", "error")]).increment()
            return
        }
        let usage = result.usage
        Counter(label: MetricName.inferenceRequests, dimensions: dimensions + [("finish_reason", result.finishReason.rawValue)]).increment()
        Counter(label: MetricName.inferenceTokens, dimensions: dimensions + [("type", "input")]).increment(by: usage.promptTokens)
        Counter(label: MetricName.inferenceTokens, dimensions: dimensions + [("type", "output")]).increment(by: usage.completionTokens)
        Timer(label: MetricName.inferenceQueueWait, dimensions: dimensions).recordNanoseconds(Int64(clamping: usage.queueNanos))
        Timer(label: MetricName.inferenceDuration, dimensions: dimensions).recordNanoseconds(Int64(clamping: usage.totalNanos))
        guard usage.timeToFirstTokenNanos > 0 else { return }
        Timer(label: MetricName.timeToFirstToken, dimensions: dimensions).recordNanoseconds(Int64(clamping: usage.timeToFirstTokenNanos))
        if usage.completionTokens > 1 {
            let decode = usage.totalNanos &- usage.timeToFirstTokenNanos
            Timer(label: MetricName.timePerOutputToken, dimensions: dimensions)
                .recordNanoseconds(Int64(clamping: decode / UInt64(usage.completionTokens - 1)))
        }
    }
}
