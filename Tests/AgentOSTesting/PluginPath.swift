import Foundation

/// The path of the built plugin `name`: `build/fixtures/NAME.so` (`make fixtures`)
/// if there is one, else `build/plugins/NAME.so` (`make examples`).
public func pluginPath(_ name: String) -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let fixture = root.appendingPathComponent("build/fixtures/\(name).so").path
    if FileManager.default.fileExists(atPath: fixture) { return fixture }
    return root.appendingPathComponent("build/plugins/\(name).so").path
}
