import ControlAPI
import Foundation
import Testing

/// A plugin may return any int32 from init: one the header does not name is
/// shown with its value, never as a bare "AOS_E?".
@Suite(.serialized) struct UnknownStatusTests {
    @Test func initReturningAPositiveNumberIsShownWithItsValue() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let message = await expectAPIError("init_failed") {
            try await kernel.load("initstatus", config: "7")
        }
        #expect(message.contains("init of initstatus returned AOS_E?(7) (not an aos_status code)"), "\(message)")
        let failed = try #require(try await kernel.listed("initstatus"))
        #expect(failed.lastError?.contains("AOS_E?(7)") == true, "\(failed.lastError ?? "nil")")
        try await kernel.expectHealthy()
    }
}
