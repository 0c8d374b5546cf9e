/// The names of the kernel's metrics: Prometheus conventions (prefix
/// `agentos_`, base units, `_total` on counters), labels of low cardinality
/// (agent and tool names; never request ids). Mirrors the OpenTelemetry GenAI
/// conventions (token usage by type, time to first token, operation and tool
/// durations) and vLLM's engine metrics. `deploy/grafana/agentos.json` is
/// checked against these in the tests.
public enum MetricName {
    // Plugins and messages
    public static let instances = "agentos_instances"
    public static let messagesSent = "agentos_messages_sent_total"
    public static let messagesDelivered = "agentos_messages_delivered_total"
    public static let messagesRefused = "agentos_messages_refused_total"
    public static let mailboxDepth = "agentos_mailbox_depth"
    public static let syscalls = "agentos_syscalls_total"
    public static let handlerDuration = "agentos_handler_duration_seconds"
    // Inference
    public static let inferenceRequests = "agentos_inference_requests_total"
    public static let inferenceTokens = "agentos_inference_tokens_total"
    public static let inferenceQueueWait = "agentos_inference_queue_wait_seconds"
    public static let timeToFirstToken = "agentos_inference_time_to_first_token_seconds"
    public static let timePerOutputToken = "agentos_inference_time_per_output_token_seconds"
    public static let inferenceDuration = "agentos_inference_request_duration_seconds"
    public static let engineBatchSize = "agentos_engine_batch_size"
    public static let engineActiveSequences = "agentos_engine_active_sequences"
    public static let engineQueueLength = "agentos_engine_queue_length"
    public static let engineKVCacheUsage = "agentos_engine_kv_cache_usage_ratio"
    /// Prompt tokens by `source`: `computed` (prefilled) or `cache` (KV reused from the prefix cache).
    public static let enginePromptTokens = "agentos_engine_prompt_tokens_total"
    /// Bytes of KV state in host memory: prefixes no slot holds, and paused sequences.
    public static let engineHostCacheBytes = "agentos_engine_kv_host_cache_bytes"
    /// Prefixes dropped from host memory to stay within `--kv-cache-budget`.
    public static let engineHostCacheEvictions = "agentos_engine_kv_host_cache_evictions_total"
    /// Running sequences paused for a request that waited past its fair share.
    public static let enginePreemptions = "agentos_engine_preemptions_total"
    // Tools
    public static let toolCalls = "agentos_tool_calls_total"
    public static let toolDuration = "agentos_tool_duration_seconds"
    // Durable runs
    /// Runs that ended, by final `state` (completed, failed, cancelled, interrupted, agent_gone).
    public static let runsEnded = "agentos_runs_total"
    /// Runs not ended, by `state`: running, or awaiting_approval (read at each scrape).
    public static let runsOpen = "agentos_runs_open"
    // Capabilities and quotas
    public static let capabilityDenials = "agentos_capability_denials_total"
    public static let quotaRefusals = "agentos_quota_refusals_total"
    // Users
    public static let feedback = "agentos_feedback_total"
    // The kernel process
    public static let uptime = "agentos_uptime_seconds"
    /// Process-mode hosts restarted after a crash, by agent and reason (signal, exit, closed, invalid_frame, no_answer).
    public static let instanceRestarts = "agentos_instance_restarts_total"
}
