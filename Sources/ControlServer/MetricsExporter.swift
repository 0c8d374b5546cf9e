import Foundation
import KernelCore
import Metrics
import Prometheus

/// The kernel's Prometheus exposition: what the kernel records through
/// swift-metrics, the per-agent series the kernel keeps itself
/// (`AgentMetricsText`), and gauges read at each scrape (instances by state,
/// the engine's load, the process). Thread-safe.
public final class MetricsExporter: Sendable {
    private let registry: PrometheusCollectorRegistry

    private init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Makes swift-metrics record into a new Prometheus registry, with buckets
    /// fit for each histogram. Call once, at startup, before the kernel exists.
    public static func bootstrap() -> MetricsExporter {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let fast: [Duration] = [
            .microseconds(10), .microseconds(50), .microseconds(100), .microseconds(500), .milliseconds(1),
            .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500),
            .seconds(1), .seconds(5), .seconds(10),
        ]
        let inference: [Duration] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120),
        ]
        factory.durationHistogramBuckets = [
            MetricName.toolDuration: fast,
            MetricName.inferenceQueueWait: inference, MetricName.timeToFirstToken: inference,
            MetricName.inferenceDuration: inference,
            MetricName.timePerOutputToken: [
                .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
            ],
        ]
        factory.valueHistogramBuckets = [MetricName.engineBatchSize: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]]
        MetricsSystem.bootstrap(factory)
        return MetricsExporter(registry: registry)
    }

    /// The Prometheus text exposition, with the scrape-time gauges brought up to date.
    public func scrape(_ kernel: Kernel) -> [UInt8] {
        refreshGauges(kernel)
        var text = registry.emitToBuffer()
        AgentMetricsText.append(kernel.agentMetrics(), to: &text)
        ClusterMetricsText.append(kernel.cluster, to: &text)
        return text
    }

    private func refreshGauges(_ kernel: Kernel) {
        var perState = Dictionary(uniqueKeysWithValues: InstanceState.allCases.map { ($0.rawValue, 0) })
        let summaries = kernel.summaries(all: true)
        for summary in summaries { perState[summary.state.rawValue, default: 0] += 1 }
        for (state, count) in perState {
            registry.makeGauge(name: MetricName.instances, labels: [("state", state)]).set(Double(count))
        }

        let stats = kernel.inference.engine?.stats() ?? EngineStats()
        registry.makeGauge(name: MetricName.engineActiveSequences).set(Double(stats.activeSequences))
        registry.makeGauge(name: MetricName.engineQueueLength).set(Double(kernel.inference.scheduler.queueLength))
        registry.makeGauge(name: MetricName.engineKVCacheUsage)
            .set(stats.kvCellsTotal == 0 ? 0 : Double(stats.kvCellsUsed) / Double(stats.kvCellsTotal))
        registry.makeGauge(name: MetricName.engineHostCacheBytes).set(Double(stats.hostCacheBytes))
        registry.makeGauge(name: MetricName.uptime).set(Date().timeIntervalSince(kernel.startedAt))
        for (state, count) in kernel.runs.openCounts() {
            registry.makeGauge(name: MetricName.runsOpen, labels: [("state", state.rawValue)]).set(Double(count))
        }

        let process = ProcessMetrics.read()
        registry.makeGauge(name: "process_resident_memory_bytes").set(process.residentBytes)
        registry.makeGauge(name: "process_virtual_memory_bytes").set(process.virtualBytes)
        registry.makeGauge(name: "process_cpu_seconds_total").set(process.cpuSeconds)
        registry.makeGauge(name: "process_start_time_seconds").set(process.startTimeSeconds)
        registry.makeGauge(name: "process_open_fds").set(process.openFileDescriptors)
        registry.makeGauge(name: "process_max_fds").set(process.maxFileDescriptors)
        registry.makeGauge(name: "process_threads").set(process.threads)
    }
}
