import ControlAPI
import Foundation
import StrictJSON
import Testing

/// The JSON of `GET /v1/instances` and `agentctl ps -o json` (`InstanceList`):
/// its exact shape, which other clients read, and its agreement with `InstanceInfo`.
struct InstanceListWireTests {
    static let inference = InferenceUse(
        requests: 4, completed: 2, failed: 1, cancelled: 1, inFlight: 0, promptTokens: 30, cachedPromptTokens: 20,
        completionTokens: 12,
        meanQueueMs: 1.5, meanTimeToFirstTokenMs: 20.25, meanDecodeMs: 100)

    static let live = {
        var row = InstanceRow(
            name: "echo", id: 7, state: "running", plugin: "/p/echo.so", origin: "agentctl", uptimeSeconds: 12.5,
            cpuSeconds: 0.25, messagesIn: 3, messagesOut: 2, mailboxDepth: 1, mailboxLimit: 1024, sendersWaiting: 2,
            lastError: "handler returned AOS_EINVAL", inference: inference)
        row.isolation = "process"
        row.host = HostRow(pid: 4242, restarts: 1, crashes: 1, lastCrash: "host killed by SIGSEGV (its channel closed)")
        return row
    }()

    static let ended = InstanceRow(
        name: "gone", id: 8, state: "stopped", plugin: "/p/echo.so", origin: "plugins_dir", uptimeSeconds: 3,
        cpuSeconds: nil, messagesIn: 0, messagesOut: 0, mailboxDepth: 0, mailboxLimit: 1024, sendersWaiting: 0,
        lastError: nil, inference: nil)

    /// Other clients parse this text: a change to it is a change to the control API.
    @Test func theWireShapeIsExactlyThis() {
        let expected = #"{"instances":["#
            + #"{"cpu_seconds":0.25,"host":{"crashes":1,"last_crash":"host killed by SIGSEGV (its channel closed)","pid":4242,"restarts":1},"#
            + #""id":7,"inference":{"cached_prompt_tokens":20,"cancelled":1,"completed":2,"completion_tokens":12,"failed":1,"#
            + #""in_flight":0,"mean_decode_ms":100,"mean_queue_ms":1.5,"mean_time_to_first_token_ms":20.25,"#
            + #""prompt_tokens":30,"requests":4},"isolation":"process","last_error":"handler returned AOS_EINVAL","mailbox_depth":1,"#
            + #""mailbox_limit":1024,"messages_in":3,"messages_out":2,"name":"echo","origin":"agentctl","#
            + #""plugin":"/p/echo.so","senders_waiting":2,"state":"running","uptime_seconds":12.5},"#
            + #"{"cpu_seconds":null,"host":null,"id":8,"inference":null,"isolation":"thread","last_error":null,"mailbox_depth":0,"mailbox_limit":1024,"#
            + #""messages_in":0,"messages_out":0,"name":"gone","origin":"plugins_dir","plugin":"/p/echo.so","#
            + #""senders_waiting":0,"state":"stopped","uptime_seconds":3}]}"#
        #expect(Self.text(InstanceList(instances: [Self.live, Self.ended])) == expected)
    }

    @Test func readsBackWhatItWritesCompactOrPretty() throws {
        let list = InstanceList(instances: [Self.live, Self.ended])
        #expect(try InstanceList(json: JSONParser.parse(Self.text(list))) == list)
        #expect(try InstanceList(json: JSONParser.parse(Self.text(list, style: .pretty))) == list)
    }

    /// A row is part of what `GET /v1/instances/NAME` says of the same instance, key for key.
    @Test func eachRowKeyIsAnInstanceInfoKeyWithTheSameValue() throws {
        let row = Self.live
        let info = InstanceInfo(
            name: row.name, id: row.id, state: row.state, plugin: row.plugin, pluginName: "echo", version: "1.0",
            description: "echoes", kind: "agent", capabilities: [], origin: row.origin, loadedAt: Date(),
            uptimeSeconds: row.uptimeSeconds, messagesIn: row.messagesIn, messagesOut: row.messagesOut,
            mailboxDepth: row.mailboxDepth, mailboxLimit: row.mailboxLimit, lastError: row.lastError,
            inference: row.inference, granted: [], missing: [], quotas: [], throttledRequests: 0,
            cpuSeconds: row.cpuSeconds, sendersWaiting: row.sendersWaiting, isolation: row.isolation, host: row.host)
        let infoJSON = try JSONParser.parse(String(decoding: try ControlJSON.encoder().encode(info), as: UTF8.self))
        let rowJSON = try #require(try JSONParser.parse(Self.text(InstanceList(instances: [row])))["instances"]?.asArray?.first)
        for (key, value) in try #require(rowJSON.asObject) {
            #expect(infoJSON[key] == value, "\(key)")
        }
    }

    private static func text(_ list: InstanceList, style: JSONWriter.Style = .compact) -> String {
        var writer = JSONWriter(style: style)
        list.write(to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test(arguments: [
        (#"{"instances":{}}"#, "instances should be an array, not an object"),
        (#"{"instances":[{"name":"a"}]}"#, "instances[0].id is missing"),
        (#"{"instances":[{"name":"a","id":-1}]}"#, "instances[0].id should be an unsigned integer, not -1"),
    ])
    func aListThatDoesNotFitNamesTheMember(_ text: String, _ message: String) throws {
        let json = try JSONParser.parse(text)
        let error = #expect(throws: JSONShapeError.self) { try InstanceList(json: json) }
        #expect(error?.description == message)
    }
}
