import ControlAPI
import Foundation
import Hummingbird
import KernelCore

/// The instance part of the control API: `agentctl ps`, `load`, `unload`, `send` and `logs`.
enum InstanceRoutes {
    static func add(to v1: RouterGroup<BasicRequestContext>, kernel: Kernel, environment: ControlEnvironment, bodyLimit: Int) {
        addQueries(to: v1, kernel: kernel)
        addLifecycle(to: v1, kernel: kernel, bodyLimit: bodyLimit)
        addMessages(to: v1, kernel: kernel, answers: environment.recentAnswers, bodyLimit: bodyLimit)
        addLogs(to: v1, kernel: kernel)
    }

    /// `GET /v1/instances[?all=1]`: what `ps` shows of each instance (`InstanceList`);
    /// `GET /v1/instances/NAME`: all there is to say of one (`InstanceInfo`).
    private static func addQueries(to v1: RouterGroup<BasicRequestContext>, kernel: Kernel) {
        v1.get("instances") { request, _ in
            let all = try request.flag("all")
            let accounts = kernel.inference.scheduler.allAccounts()
            let rows = kernel.summaries(all: all).map { summary in
                let live = kernel.instance(named: summary.name).flatMap { $0.id == summary.id ? $0 : nil }
                return InstanceRow(summary, inference: accounts[summary.name], live: live)
            }
            return JSONResponse.make(written: InstanceList(instances: rows).write)
        }

        v1.get("instances/:name") { _, context in
            let name = try context.parameters.require("name")
            guard let instance = kernel.instance(named: name) else { throw noInstance(name) }
            var info = InstanceInfo(instance.summary(), inference: kernel.inference.scheduler.account(of: name))
            info.addSecurity(from: kernel)
            return try JSONResponse.make(info)
        }
    }

    /// `POST /v1/instances` (load), `DELETE /v1/instances/NAME[?timeout_ms=N&force=1]` (unload)
    /// and `POST /v1/instances/NAME/reload` (`ReloadRequest`; answers the new instance's `InstanceInfo`).
    private static func addLifecycle(to v1: RouterGroup<BasicRequestContext>, kernel: Kernel, bodyLimit: Int) {
        v1.post("instances") { request, _ in
            let load = try await JSONResponse.decode(LoadRequest.self, from: request, limit: bodyLimit)
            let grants = try (load.grants ?? []).map { text throws(KernelError) in try Capability(parsing: text) }
            let isolation = try load.isolation.map { text throws(KernelError) in try Isolation(parsing: text) }
            let restart = load.restart == nil && load.restartIntensity == nil && load.restartPeriod == nil
                ? nil : try RestartPolicy(kind: load.restart, intensity: load.restartIntensity, period: load.restartPeriod)
            let instance = try await kernel.lifecycle.load(
                path: load.path, name: load.name, config: load.config ?? "", priority: load.priority ?? 0, grants: grants,
                isolation: isolation, restart: restart)
            var info = InstanceInfo(instance.summary())
            info.addSecurity(from: kernel)
            return try JSONResponse.make(info, status: .created)
        }

        v1.post("instances/:name/reload") { request, context in
            let name = try context.parameters.require("name")
            let reload = try await JSONResponse.decode(ReloadRequest.self, from: request, limit: bodyLimit)
            let timeoutMs = reload.timeoutMs ?? 5000
            guard (0...3_600_000).contains(timeoutMs) else {
                throw KernelError(.invalidArgument, "timeout_ms must be between 0 and 3600000")
            }
            guard kernel.instance(named: name) != nil else { throw noInstance(name) }
            let instance = try await kernel.lifecycle.reload(name: name, path: reload.path, timeout: Double(timeoutMs) / 1000)
            var info = InstanceInfo(instance.summary())
            info.addSecurity(from: kernel)
            return try JSONResponse.make(info)
        }

        // Unloading forgets the instance's record too (it is not restored at the
        // next start), also when the unload ends hung. A recorded instance that
        // was not restored (changed or missing file) has no live instance:
        // unloading it only forgets its record.
        v1.delete("instances/:name") { request, context in
            let name = try context.parameters.require("name")
            let timeoutMs = try request.integer("timeout_ms", in: 0...3_600_000) ?? 5000
            let force = try request.integer("force", in: 0...1) == 1
            guard kernel.instance(named: name) != nil else {
                guard kernel.records.forget(name), var summary = kernel.summaries(all: true).last(where: { $0.name == name }) else {
                    throw noInstance(name)
                }
                summary.lastError = "forgotten: not restored at the next start" + (summary.lastError.map { " (was: \($0))" } ?? "")
                return try JSONResponse.make(InstanceInfo(summary))
            }
            kernel.records.forget(name)
            let summary = try await kernel.lifecycle.unload(name: name, timeout: Double(timeoutMs) / 1000, force: force)
            return try JSONResponse.make(InstanceInfo(summary))
        }
    }

    /// `POST /v1/instances/NAME/messages`: a message from the user, with its reply when `wait` is set.
    private static func addMessages(
        to v1: RouterGroup<BasicRequestContext>, kernel: Kernel, answers: RecentAnswers, bodyLimit: Int
    ) {
        v1.post("instances/:name/messages") { request, context in
            let name = try context.parameters.require("name")
            let message = try await JSONResponse.decode(SendRequest.self, from: request, limit: bodyLimit)
            let started = Date()
            let timeoutMs = message.timeoutMs == 0 ? 30_000 : message.timeoutMs
            let (id, reply, inference) = try await kernel.messages.deliver(
                to: name, body: Array(message.text.utf8), wait: message.wait, timeoutMs: timeoutMs, session: message.session)
            let replyText = reply.map { String(decoding: $0, as: UTF8.self) }
            if let replyText {
                answers.record(id, .init(agent: name, question: message.text, answer: replyText))
            }
            return try JSONResponse.make(SendResponse(
                messageId: id,
                reply: replyText,
                elapsedSeconds: message.wait ? Date().timeIntervalSince(started) : nil,
                inferenceRequests: message.wait ? inference : nil))
        }
    }

    /// `GET /v1/instances/NAME/logs[?tail=N&since=SECONDS&follow=1]`: JSON Lines.
    private static func addLogs(to v1: RouterGroup<BasicRequestContext>, kernel: Kernel) {
        v1.get("instances/:name/logs") { request, context in
            let name = try context.parameters.require("name")
            let tail = try request.integer("tail", in: 0...1_000_000)
            let since = try request.integer("since", in: 0...100_000_000)
            let cutoff = since.map { Date().addingTimeInterval(-Double($0)) } ?? .distantPast
            guard let log = kernel.log(of: name) else { throw noInstance(name) }
            let lines = try request.flag("follow") ? log.follow(tail: tail) : AsyncStream { continuation in
                for line in log.tail(tail) { continuation.yield(line) }
                continuation.finish()
            }
            let encoder = ControlJSON.encoder()
            return Response(
                status: .ok,
                headers: [.contentType: "application/x-ndjson"],
                body: ResponseBody { writer in
                    for await line in lines where line.time >= cutoff {
                        var data = try encoder.encode(LogEntry(line))
                        data.append(UInt8(ascii: "\n"))
                        try await writer.write(ByteBuffer(bytes: data))
                    }
                    try await writer.finish(nil)
                })
        }
    }

    private static func noInstance(_ name: String) -> KernelError {
        KernelError(.notFound, "no instance named \(name) (see `agentctl ps -a`)")
    }
}
