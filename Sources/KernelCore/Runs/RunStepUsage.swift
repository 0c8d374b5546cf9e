/// The tokens one model turn of a run used, checkpointed with its step so a
/// resumed run's totals include the turns before the restart.
public struct RunStepUsage: Sendable, Equatable {
    public var promptTokens: Int
    /// Of `promptTokens`, those whose KV the engine reused.
    public var cachedPromptTokens: Int
    public var completionTokens: Int

    public init(promptTokens: Int = 0, cachedPromptTokens: Int = 0, completionTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.completionTokens = completionTokens
    }

    /// The token counts of an engine's `usage`.
    public init(_ usage: InferenceUsage) {
        self.init(
            promptTokens: usage.promptTokens, cachedPromptTokens: usage.cachedPromptTokens, completionTokens: usage.completionTokens)
    }
}
