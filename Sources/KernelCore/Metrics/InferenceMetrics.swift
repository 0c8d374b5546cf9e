import Metrics

/// Records an ended inference request in the inference metrics, by agent:
/// an instance's into its own series (dropped at its unload; a request that
/// outlived its instance is not recorded), the control API's (`owner` 0,
/// under the agent name the client gave) into the control API's series.
enum InferenceMetrics {
    /// The series of the control API's requests.
    private static let controlAPI = MetricSeries(agent: SenderIdentity.controlAPI.name)

    static func record(agent: String, owner: UInt64, _ outcome: Result<InferenceResult, KernelError>) {
        let series = owner == 0 ? controlAPI : MetricSeriesDirectory.series(of: agent)
        guard let series else { return }
        let dimensions = [("agent", agent)]
        guard case .success(let result) = outcome else {
            series.counter(MetricName.inferenceRequests, dimensions + [("finish_reason", "error")]).increment()
            return
        }
        let usage = result.usage
        series.counter(MetricName.inferenceRequests, dimensions + [("finish_reason", result.finishReason.rawValue)]).increment()
        series.counter(MetricName.inferenceTokens, dimensions + [("type", "input")]).increment(by: usage.promptTokens)
        series.counter(MetricName.inferenceTokens, dimensions + [("type", "output")]).increment(by: usage.completionTokens)
        series.timer(MetricName.inferenceQueueWait, dimensions).recordNanoseconds(Int64(clamping: usage.queueNanos))
        series.timer(MetricName.inferenceDuration, dimensions).recordNanoseconds(Int64(clamping: usage.totalNanos))
        guard usage.timeToFirstTokenNanos > 0 else { return }
        series.timer(MetricName.timeToFirstToken, dimensions).recordNanoseconds(Int64(clamping: usage.timeToFirstTokenNanos))
        if usage.completionTokens > 1 {
            let decode = usage.totalNanos &- usage.timeToFirstTokenNanos
            series.timer(MetricName.timePerOutputToken, dimensions)
                .recordNanoseconds(Int64(clamping: decode / UInt64(usage.completionTokens - 1)))
        }
    }
}
