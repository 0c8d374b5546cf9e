import ControlAPI
import HTTPTypes
import KernelCore
import Testing

@testable import ControlServer

/// `KernelError.Code` is the one error table: the wire's `ErrorCode`, the status a
/// plugin sees and the HTTP status are all checked against it here.
@Suite struct ErrorTableTests {
    @Test func everyKernelCodeIsAWireCodeOfTheSameName() {
        for code in KernelError.Code.allCases {
            let wire = ErrorCode(rawValue: code.rawValue)
            #expect(wire != nil, "KernelError.Code.\(code) (\(code.rawValue)) has no ErrorCode in ControlAPI: add it there")
            guard let wire else { continue }
            #expect(wire.source == .kernel, "ErrorCode.\(wire) is the kernel's \(code.rawValue), but its source says .server")
            #expect("\(wire)" == "\(code)", "\(code.rawValue) is ErrorCode.\(wire) on the wire but KernelError.Code.\(code) in the kernel")
        }
    }

    @Test func everyWireCodeOfTheKernelIsAKernelCode() {
        for wire in ErrorCode.allCases where wire.source == .kernel {
            #expect(
                KernelError.Code(rawValue: wire.rawValue) != nil,
                "ErrorCode.\(wire) (\(wire.rawValue)) says the kernel raises it, but KernelError.Code has no such code")
        }
    }

    @Test func theServersOwnCodesAreNotKernelCodes() {
        let server = ErrorCode.allCases.filter { $0.source == .server }
        #expect(server.map(\.rawValue).sorted() == ["bad_json", "bad_request", "body_too_large", "feedback_unavailable", "route_not_found"])
        for wire in server {
            #expect(KernelError.Code(rawValue: wire.rawValue) == nil, "\(wire.rawValue) is a kernel code: its source should be .kernel")
        }
    }

    @Test func onlyTheInternalCodeBecomesAOS_EINTERNALOrHTTP500() {
        for code in KernelError.Code.allCases {
            let status = KernelError(code, "").status
            let http = code.httpStatus
            #expect(status != .ok, "\(code.rawValue) maps to AOS_OK")
            #expect(http.code >= 400, "\(code.rawValue) maps to HTTP \(http.code)")
            #expect((status == .internal) == (code == .internal), "\(code.rawValue) maps to \(status.name)")
            #expect((http == .internalServerError) == (code == .internal), "\(code.rawValue) maps to HTTP \(http.code)")
        }
    }

    @Test func loadFailuresKeepTheStatusesPluginLoadDocuments() {
        let expected: [KernelError.Code: AOSStatus] = [
            .fileNotFound: .notFound, .nameTaken: .exists, .abiMismatch: .abiMismatch, .buildMismatch: .abiMismatch, .runtimeMismatch: .abiMismatch,
            .structTooSmall: .abiMismatch, .badMagic: .abiMismatch, .initFailed: .handlerFailed, .hung: .timedOut,
            .stopping: .stopping, .notELF: .invalidArgument, .dlopenFailed: .invalidArgument, .badName: .invalidArgument,
        ]
        for (code, status) in expected {
            #expect(KernelError(code, "").status == status, "\(code.rawValue) should be \(status.name)")
        }
    }
}
