import CLlama
import Foundation
import Synchronization

/// llama.cpp's process-wide setup: the backend, once, and its log routed
/// away from stderr. Errors are kept so refusals can quote llama.cpp's reason.
enum LlamaBackend {
    private static let initialized = Mutex(false)
    private static let lastErrorLine = Mutex<String?>(nil)
    /// Whether llama.cpp's warnings and errors also go to stderr (agentosd --log-level debug).
    nonisolated(unsafe) static var verbose = false

    static func initialize() {
        initialized.withLock { done in
            guard !done else { return }
            done = true
            llama_log_set({ level, text, _ in
                guard let text else { return }
                if level == GGML_LOG_LEVEL_ERROR {
                    let line = String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
                    if !line.isEmpty { LlamaBackend.lastErrorLine.withLock { $0 = line } }
                }
                if LlamaBackend.verbose, level.rawValue >= GGML_LOG_LEVEL_WARN.rawValue { FileHandle.standardError.write(Data(String(cString: text).utf8)) }
            }, nil)
            llama_backend_init()
        }
    }

    /// The last error line llama.cpp logged, taken (so it is not quoted twice).
    static var lastError: String? { lastErrorLine.withLock { line in defer { line = nil }; return line } }
}
