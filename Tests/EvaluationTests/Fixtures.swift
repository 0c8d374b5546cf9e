import Foundation
@testable import Evaluation

/// A fresh folder for a test's suite and cases files, removed at deinit.
final class Folder {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("eval-test-\(UUID().uuidString.prefix(8))").path

    init() {
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` in the folder and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        let file = path + "/" + name
        _ = FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
        return file
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Loads `yaml` as `suite.yaml` (with `files` beside it); the error's text when it fails.
func load(_ yaml: String, files: [String: String] = [:]) -> Result<Suite, EvaluationError> {
    let folder = Folder()
    for (name, text) in files { folder.write(name, text) }
    let path = folder.write("suite.yaml", yaml)
    return Result { () throws(EvaluationError) in try SuiteLoader.load(path) }
}

/// The message of the error loading `yaml` gives; "" when it loads.
func loadError(_ yaml: String, files: [String: String] = [:]) -> String {
    if case .failure(let error) = load(yaml, files: files) { return error.description }
    return ""
}

/// The repository's root, for the examples.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// An observation of an answer `reply` with `calls`, for assertion tests.
func observation(_ reply: String, calls: [ToolCall]? = [], latencyMs: Double = 100, generated: Int? = 40) -> Observation {
    Observation(reply: reply, latencyMs: latencyMs, inferenceRequests: [1], toolCalls: calls, promptTokens: generated.map { _ in 300 }, generatedTokens: generated)
}
