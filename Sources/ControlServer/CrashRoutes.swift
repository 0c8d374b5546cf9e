import ControlAPI
import Foundation
import Hummingbird
import KernelCore

/// The crash records part of the control API: `agentctl crashes`.
///
///     GET    /v1/crashes          → CrashList: the records in force and the unreadable files
///     DELETE /v1/crashes/NAME     → ClearedCrashes (404 not_found when no record is listed as NAME)
///     DELETE /v1/crashes          → ClearedCrashes: every record and unreadable file
enum CrashRoutes {
    static func add(to v1: RouterGroup<BasicRequestContext>, kernel: Kernel) {
        let crashes = kernel.crashes

        v1.get("crashes") { _, _ in
            try JSONResponse.make(CrashList(crashes.report))
        }

        v1.delete("crashes/:name") { _, context in
            let raw = try context.parameters.require("name")
            let name = raw.removingPercentEncoding ?? raw
            let files = crashes.clear(name: name)
            guard !files.isEmpty else {
                throw KernelError(.notFound, "no crash record of \(name) (see `agentctl crashes`)")
            }
            return try JSONResponse.make(ClearedCrashes(files: files))
        }

        v1.delete("crashes") { _, _ in
            try JSONResponse.make(ClearedCrashes(files: crashes.clear(name: nil)))
        }
    }
}
