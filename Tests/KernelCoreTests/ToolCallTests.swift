import AgentOSTesting
import Foundation
import KernelCore
import StrictJSON
import Testing

/// Tool plugins loaded with dlopen into an in-process kernel: every C type
/// through libffi, argument checks, result ownership and failures.
@Suite(.serialized) struct ToolCallTests {
    let kernel: Kernel

    init() async throws {
        kernel = try TestKernel.withPluginFiles()
        _ = try await kernel.lifecycle.load(path: pluginPath("tooltypes"))
    }

    @Test func everyScalarTypeRoundTripsThroughLibffi() throws {
        #expect(try kernel.call("tooltypes.echo_i32", #"{"v": -2147483648}"#) == "-2147483648")
        #expect(try kernel.call("tooltypes.echo_i64", #"{"v": -9223372036854775808}"#) == "-9223372036854775808")
        #expect(try kernel.call("tooltypes.echo_u32", #"{"v": 4294967295}"#) == "4294967295")
        #expect(try kernel.call("tooltypes.echo_u64", #"{"v": 18446744073709551615}"#) == "18446744073709551615")
        #expect(try kernel.call("tooltypes.echo_f64", #"{"v": 0.1}"#) == "0.1")
        #expect(try kernel.call("tooltypes.echo_f32", #"{"v": 1.5}"#) == "1.5")
        #expect(try kernel.call("tooltypes.echo_bool", #"{"v": true}"#) == "true")
        #expect(try kernel.call("tooltypes.echo_bool", #"{"v": false}"#) == "false")
        #expect(try kernel.call("tooltypes.echo_str", #"{"s": "héllo \"world\"\n"}"#) == #""héllo \"world\"\n""#)
        #expect(try kernel.call("tooltypes.echo_i32", #"{"v": 7.0}"#) == "7")
    }

    @Test func mixedIntegerAndFloatArgumentsArriveInOrder() throws {
        let result = try JSONParser.parse(try kernel.call(
            "tooltypes.mixed",
            #"{"h": 18446744073709551615, "a": -5, "b": 2.25, "c": 9007199254740993, "d": 0.5, "e": true, "f": "text", "g": 4000000000}"#))
        #expect(result["a"] == .integer(-5))
        #expect(result["b"] == .number(2.25))
        #expect(result["c"] == .integer(9_007_199_254_740_993))
        #expect(result["d"] == .number(0.5))
        #expect(result["e"] == .bool(true))
        #expect(result["f"] == .string("text"))
        #expect(result["g"] == .integer(4_000_000_000))
        #expect(result["h"] == .unsigned(.max))
    }

    @Test func absentOptionalArgumentsAreZeroAndNull() throws {
        let result = try JSONParser.parse(try kernel.call("tooltypes.optional", #"{"x": 3}"#))
        #expect(result["x"] == .integer(3) && result["y"] == .integer(0) && result["s_is_null"] == .bool(true))
        let given = try JSONParser.parse(try kernel.call("tooltypes.optional", #"{"x": 3, "y": 4, "s": ""}"#))
        #expect(given["y"] == .integer(4) && given["s_is_null"] == .bool(false))
    }

    @Test func returnedStringsAreFreedWithTheToolsFunction() throws {
        let before = try kernel.call("tooltypes.live_strings")
        for index in 0..<200 {
            _ = try kernel.call("tooltypes.echo_str", #"{"s": "copy \#(index)"}"#)
        }
        #expect(try kernel.call("tooltypes.live_strings") == before)
    }

    @Test func aJSONToolGetsItsObjectWhole() throws {
        let result = try JSONParser.parse(try kernel.call("tooltypes.concat_json", #"{"items": ["a", "b"], "sep": "-"}"#))
        #expect(result["received"]?["items"] == .array([.string("a"), .string("b")]))
        #expect(throws: KernelError.self) { try kernel.call("tooltypes.concat_json", #"{"sep": "-"}"#) }
        #expect(throws: KernelError.self) { try kernel.call("tooltypes.concat_json", #"{"items": "a"}"#) }
    }

    @Test(arguments: [
        ("tooltypes.echo_i32", #"{"v": "1"}"#, #"argument "v" is a string; expected int32"#),
        ("tooltypes.echo_i32", #"{"v": 2147483648}"#, "out of range for int32"),
        ("tooltypes.echo_i32", #"{"v": 1.5}"#, "expected an integer"),
        ("tooltypes.echo_u32", #"{"v": -1}"#, "out of range for uint32"),
        ("tooltypes.echo_u64", #"{"v": -1}"#, "out of range for uint64"),
        ("tooltypes.echo_i64", #"{"v": 9223372036854775808}"#, "out of range for int64"),
        ("tooltypes.echo_f32", #"{"v": 1e300}"#, "out of range for float"),
        ("tooltypes.echo_f64", #"{"v": NaN}"#, "not valid JSON"),
        ("tooltypes.echo_f64", #"{"v": Infinity}"#, "not valid JSON"),
        ("tooltypes.echo_f64", #"{"v": 1e999}"#, "out of range"),
        ("tooltypes.echo_bool", #"{"v": 1}"#, "expected bool"),
        ("tooltypes.echo_str", #"{"s": null}"#, #"argument "s" is null; expected string"#),
        ("tooltypes.echo_str", #"{}"#, #"missing required argument "s""#),
        ("tooltypes.echo_str", #"{"s": "a", "t": 1}"#, #"unknown argument "t""#),
        ("tooltypes.echo_str", #"{"s": "a\u0000b"}"#, "NUL character"),
        ("tooltypes.echo_str", #"["a"]"#, "must be a JSON object, not an array"),
        ("tooltypes.echo_str", #"{"s": "a", "s": "b"}"#, "duplicate key"),
        ("tooltypes.echo_str", #"{"s": "a""#, "not valid JSON"),
    ])
    func badArgumentsAreRefusedByNameAndNeverReachTheTool(_ tool: String, _ arguments: String, _ reason: String) throws {
        let callsBefore = kernel.tools.toolDescriptions(matching: [tool]).first?.calls
        let record = kernel.tools.callTool(tool, arguments: arguments, deadline: nil)
        guard case .failure(let error) = record.outcome else {
            Issue.record("\(tool) \(arguments) was accepted")
            return
        }
        #expect(error.code == .invalidToolArguments, "\(error)")
        #expect(error.message.contains(reason), "\(error.message)")
        #expect(kernel.tools.toolDescriptions(matching: [tool]).first?.calls == callsBefore)
    }

    @Test func longStringsAreRefused() {
        let long = #"{"s": ""# + String(repeating: "x", count: 100_000) + #""}"#
        #expect {
            try kernel.call("tooltypes.echo_str", long)
        } throws: { error in
            (error as? KernelError)?.code == .invalidToolArguments
                && (error as? KernelError)?.message.contains("strings may be at most 65536") == true
        }
        let megabyte = #"{"s": ""# + String(repeating: "x", count: 1 << 20) + #""}"#
        #expect {
            try kernel.call("tooltypes.echo_str", megabyte)
        } throws: { error in
            (error as? KernelError)?.code == .tooBig
        }
    }

    @Test func toolFailuresCarryTheToolsMessage() throws {
        #expect {
            try kernel.call("tooltypes.fail", #"{"message": "disk on fire"}"#)
        } throws: { error in
            let error = error as? KernelError
            return error?.code == .toolFailed && error?.message == "disk on fire"
        }
        for (tool, reason) in [("tooltypes.null_string", "returned NULL"), ("tooltypes.bad_json", "returned invalid JSON")] {
            #expect {
                try kernel.call(tool)
            } throws: { error in
                (error as? KernelError)?.code == .toolFailed && (error as? KernelError)?.message.contains(reason) == true
            }
        }
    }

    @Test func anUnknownToolIsNotFound() {
        #expect {
            try kernel.call("tooltypes.nope")
        } throws: { error in
            (error as? KernelError)?.code == .toolNotFound
        }
    }

    @Test func aToolThatNeverReturnsTimesOutAndMarksItsPluginHung() async throws {
        #expect {
            try kernel.call("tooltypes.hang", timeoutMs: 300)
        } throws: { error in
            (error as? KernelError)?.code == .timedOut
        }
        #expect(kernel.instance(named: "tooltypes")?.state == .hung)
        // Thread-safe tools of the same plugin still answer; queued ones wait behind the hung call.
        #expect(try kernel.call("tooltypes.ts_add", #"{"a": 2, "b": 3}"#) == "5")
        _ = try kernel.call("tooltypes.unhang")
        #expect(try kernel.call("tooltypes.echo_i32", #"{"v": 9}"#) == "9")
        #expect(kernel.instance(named: "tooltypes")?.state == .running)
    }

    @Test func unloadingInTheMiddleOfACallStopsTheQueuedOnes() async throws {
        let kernel = self.kernel
        let plugin = try #require(kernel.instance(named: "tooltypes"))
        async let slow = onThread { kernel.tools.callTool("tooltypes.sleep_ms", arguments: #"{"ms": 2000}"#, deadline: nil) }
        #expect(await waitUntil { plugin.summary().messagesIn == 1 })
        async let queued = onThread { kernel.tools.callTool("tooltypes.echo_i32", arguments: #"{"v": 1}"#, deadline: nil) }
        // Queued behind the sleeping call (calls run in order on the plugin's thread).
        #expect(await waitUntil { plugin.summary().messagesIn == 2 && plugin.summary().mailboxDepth == 1 })
        _ = try await kernel.lifecycle.unload(name: "tooltypes", timeout: 10)
        #expect(try await slow.outcome.get() == "2000")
        let queuedOutcome = await queued.outcome
        #expect {
            try queuedOutcome.get()
        } throws: { error in
            (error as? KernelError)?.code == .stopping
        }
        #expect {
            try kernel.call("tooltypes.echo_i32", #"{"v": 1}"#)
        } throws: { error in
            (error as? KernelError)?.code == .toolNotFound
        }
    }
}
