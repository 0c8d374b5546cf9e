import Foundation

/// llama.cpp's own tools, run on the same model and threads as the kernel:
/// the baselines of the inference rows.
struct LlamaTools {
    /// The directory holding llama-bench, llama-batched-bench and llama-server.
    let bin: String
    let model: String
    let threads: Int

    /// Tokens/s of one `llama-bench` test (pp`prompt` or tg`generate`, after
    /// `depth` tokens already in the cache): the median of `repetitions`
    /// samples. Runs with the kernel's `settings` (`agentctl engine`: threads,
    /// ubatch, flash attention, KV type) and throws if llama-bench reports others.
    func bench(prompt: Int, generate: Int, depth: Int = 0, repetitions: Int, settings: [String: String]) async throws -> Double {
        let data = try await Subprocess.output(of: bin + "/llama-bench", [
            "-m", model, "-p", "\(prompt)", "-n", "\(generate)", "-d", "\(depth)", "-t", "\(threads)", "-r", "\(repetitions)",
            "-ub", settings["ubatch"] ?? "512", "-fa", settings["flash_attn"] ?? "on",
            "-ctk", settings["kv_type"] ?? "f16", "-ctv", settings["kv_type"] ?? "f16", "-o", "json",
        ])
        guard let tests = try JSONSerialization.jsonObject(with: data) as? [[String: Any]], let test = tests.first,
              let samples = test["samples_ts"] as? [NSNumber], !samples.isEmpty
        else { throw BenchError("llama-bench printed no samples_ts: \(String(decoding: data, as: UTF8.self))") }
        let reported = [
            "threads": "\(test["n_threads"] ?? "")", "ubatch": "\(test["n_ubatch"] ?? "")", "kv_type": "\(test["type_k"] ?? "")",
            "flash_attn": ["1", "true", "on", "enabled"].contains("\(test["flash_attn"] ?? "")") ? "on" : "off",
        ]
        for (name, value) in reported where settings[name] != value {
            throw BenchError("llama-bench ran with \(name) \(value), the kernel with \(settings[name] ?? "none"): the row would compare unlike runs")
        }
        return samples.map(\.doubleValue).median
    }

    /// Decode-only tokens/s (S_TG, field `speed_tg`) of one `llama-batched-bench`
    /// run with `parallel` sequences of 128 prompt + 128 generated tokens, with
    /// the kernel's `settings` (as `bench`); throws if it reports others.
    func batchedDecode(parallel: Int, context: Int, settings: [String: String]) async throws -> Double {
        let ubatch = settings["ubatch"] ?? "512"
        let data = try await Subprocess.output(of: bin + "/llama-batched-bench", [
            "-m", model, "-c", "\(context)", "-b", settings["batch"] ?? ubatch, "-ub", ubatch, "-npp", "128", "-ntg", "128",
            "-npl", "\(parallel)", "-t", "\(threads)", "-fa", settings["flash_attn"] ?? "on",
            "-ctk", settings["kv_type"] ?? "f16", "-ctv", settings["kv_type"] ?? "f16", "--output-format", "jsonl",
        ])
        guard let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let run = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
              let speed = run["speed_tg"] as? NSNumber
        else { throw BenchError("llama-batched-bench printed no speed_tg: \(String(decoding: data, as: UTF8.self))") }
        let reported = [
            "threads": "\(run["n_threads"] ?? "")", "ubatch": "\(run["n_ubatch"] ?? "")",
            "flash_attn": "\(run["flash_attn"] ?? "")" == "1" ? "on" : "off",
        ]
        for (name, value) in reported where settings[name] != value {
            throw BenchError("llama-batched-bench ran with \(name) \(value), the kernel with \(settings[name] ?? "none"): the row would compare unlike runs")
        }
        return speed.doubleValue
    }

    /// Runs `body` with the port of a `llama-server` serving `parallel` slots
    /// with continuous batching in `context` tokens, and stops the server afterwards.
    func withServer<Result>(parallel: Int, context: Int, _ body: (Int) async throws -> Result) async throws -> Result {
        let port = try freeLoopbackPort()
        let server = try Subprocess(bin + "/llama-server", [
            "-m", model, "-np", "\(parallel)", "-cb", "-c", "\(context)", "-t", "\(threads)",
            "--host", "127.0.0.1", "--port", "\(port)",
        ])
        do {
            var healthy = false
            for _ in 0..<1200 where server.isRunning {
                if await HTTPLoad.isOK("http://127.0.0.1:\(port)/health") {
                    healthy = true
                    break
                }
                try await Task.sleep(nanoseconds: 25_000_000)
            }
            guard healthy else { throw BenchError("llama-server did not start:\n\(server.errorTail)") }
            let result = try await body(port)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now.
    func freeLoopbackPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("socket() failed: errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(INADDR_LOOPBACK).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let status = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 ? getsockname(descriptor, pointer, &length) : -1
            }
        }
        guard status == 0 else { throw BenchError("cannot find a free port on 127.0.0.1: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
