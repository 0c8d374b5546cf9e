import Foundation

/// What a thread-mode crash left in `$AGENTOS_HOME/crash/`: the signal, the
/// instance whose thread faulted, the tool running there, where it faulted and
/// the innermost frame in a plugin (its file and SHA-256). Written by the
/// kernel's fatal-signal handler (`aos_crash_write`, CCrashRecord) as text,
/// one "key value" pair a line between "agentos-crash 1" and "end"; parsed
/// here. A value.
public struct CrashRecord: Sendable, Equatable {
    /// The record's file name in the crash folder: its identity.
    public var file: String
    public var time: Date
    public var pid: Int
    /// "SIGSEGV", "SIGABRT", ...
    public var signal: String
    public var signalNumber: Int
    /// The OS's name of the thread that faulted ("aos:NAME" for an instance's thread).
    public var thread: String?
    /// The instance whose thread faulted; nil on a kernel thread.
    public var instance: String?
    /// The tool call running on the thread ("INSTANCE.tool"), if any.
    public var tool: String?
    /// Where the fault happened: the function (when the library exports it)
    /// and the library's file and offset.
    public var pcSymbol: String?
    public var pcObject: String?
    public var pcObjectOffset: UInt64?
    /// The innermost frame in a plugin's code, when there is one: the file the
    /// plugin was loaded from, its content's SHA-256, the offset in it and the function.
    public var plugin: String?
    public var pluginSHA256: String?
    public var pluginOffset: UInt64?
    public var pluginSymbol: String?

    public init(
        file: String, time: Date, pid: Int, signal: String, signalNumber: Int, thread: String? = nil, instance: String? = nil,
        tool: String? = nil, pcSymbol: String? = nil, pcObject: String? = nil, pcObjectOffset: UInt64? = nil,
        plugin: String? = nil, pluginSHA256: String? = nil, pluginOffset: UInt64? = nil, pluginSymbol: String? = nil
    ) {
        self.file = file
        self.time = time
        self.pid = pid
        self.signal = signal
        self.signalNumber = signalNumber
        self.thread = thread
        self.instance = instance
        self.tool = tool
        self.pcSymbol = pcSymbol
        self.pcObject = pcObject
        self.pcObjectOffset = pcObjectOffset
        self.plugin = plugin
        self.pluginSHA256 = pluginSHA256
        self.pluginOffset = pluginOffset
        self.pluginSymbol = pluginSymbol
    }

    /// Who it is listed as: the instance, else the tool's instance, else the
    /// plugin file's name, else "kernel".
    public var name: String {
        if let instance { return instance }
        if let tool, let dot = tool.firstIndex(of: ".") { return String(tool[..<dot]) }
        if let plugin { return URL(fileURLWithPath: plugin).deletingPathExtension().lastPathComponent }
        return "kernel"
    }

    /// "crasher_fault (crasher.so+0x1139)": the plugin's innermost frame when
    /// there is one, else the faulting instruction's function and library.
    public var location: String {
        if let plugin, let pluginOffset {
            let object = "\(URL(fileURLWithPath: plugin).lastPathComponent)+0x\(String(pluginOffset, radix: 16))"
            return pluginSymbol.map { "\($0) (\(object))" } ?? object
        }
        if let pcObject, let pcObjectOffset {
            let object = "\(URL(fileURLWithPath: pcObject).lastPathComponent)+0x\(String(pcObjectOffset, radix: 16))"
            return pcSymbol.map { "\($0) (\(object))" } ?? object
        }
        return pcSymbol ?? "an unknown place"
    }

    /// "crashed: SIGSEGV in crasher_fault (crasher.so+0x1139) at 2026-12-05T18:40:00Z",
    /// with the tool when one was running.
    public var reason: String {
        let tool = tool.map { " (tool \($0))" } ?? ""
        return "crashed: \(signal) in \(location)\(tool) at \(Self.timeText(time))"
    }

    /// Whether the next start keeps this plugin from loading by itself: it
    /// names a plugin's content (the fault was in, or under, its code).
    public var blocksPlugin: Bool { pluginSHA256 != nil }

    static func timeText(_ time: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: time)
    }

    /// The largest record read; a longer file is not one.
    public static let maxBytes = 64 << 10

    /// Parses the text of the record `file`. Throws a `CrashRecordError`
    /// naming what is wrong: not a crash record, cut short (no "end" line), a
    /// missing or malformed field. Unknown keys are skipped (newer kernels may add some).
    public static func parse(_ bytes: [UInt8], file: String) throws(CrashRecordError) -> CrashRecord {
        guard bytes.count <= maxBytes else { throw CrashRecordError("\(bytes.count) bytes; a crash record has at most \(maxBytes)") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw CrashRecordError("not UTF-8 text") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.first == "agentos-crash 1" else {
            throw CrashRecordError(lines.first?.hasPrefix("agentos-crash ") == true
                ? "unknown format \(lines[0].dropFirst(14)) (this kernel reads 1)" : "not a crash record (no \"agentos-crash 1\" line first)")
        }
        guard lines.count >= 2, lines.last == "end" else { throw CrashRecordError("cut short (no \"end\" line)") }
        var fields: [String: String] = [:]
        for (index, line) in lines.dropFirst().dropLast().enumerated() {
            guard let space = line.firstIndex(of: " "), space != line.startIndex else {
                throw CrashRecordError("line \(index + 2) is not \"key value\"")
            }
            let key = String(line[..<space])
            guard fields[key] == nil else { throw CrashRecordError("\(key) appears twice") }
            fields[key] = try unescape(String(line[line.index(after: space)...]), key: key)
        }
        func required(_ key: String) throws(CrashRecordError) -> String {
            guard let value = fields[key], !value.isEmpty else { throw CrashRecordError("no \(key)") }
            return value
        }
        func decimal(_ key: String) throws(CrashRecordError) -> Int {
            let text = try required(key)
            guard let value = Int(text), value >= 0 else { throw CrashRecordError("\(key) \"\(text)\" is not a number") }
            return value
        }
        func hex(_ key: String) throws(CrashRecordError) -> UInt64? {
            guard let text = fields[key] else { return nil }
            guard text.hasPrefix("0x"), let value = UInt64(text.dropFirst(2), radix: 16) else {
                throw CrashRecordError("\(key) \"\(text)\" is not a hex number")
            }
            return value
        }
        let signal = try required("signal")
        guard signal.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) || signal == "signal" else {
            throw CrashRecordError("signal \"\(signal)\" is not a signal's name")
        }
        let sha256 = fields["plugin_sha256"]
        if let sha256, sha256.utf8.count != 64 || !sha256.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) {
            throw CrashRecordError("plugin_sha256 is not 64 lowercase hex digits")
        }
        if sha256 != nil, fields["plugin"] == nil { throw CrashRecordError("plugin_sha256 without plugin") }
        let instance = fields["instance"]
        if let instance, instance.isEmpty || instance.utf8.count > 63 { throw CrashRecordError("instance \"\(instance)\" is not an instance name") }
        return CrashRecord(
            file: file, time: Date(timeIntervalSince1970: Double(try decimal("time_ms")) / 1000), pid: try decimal("pid"),
            signal: signal, signalNumber: try decimal("signal_number"), thread: fields["thread"], instance: instance,
            tool: fields["tool"], pcSymbol: fields["pc_symbol"], pcObject: fields["pc_object"],
            pcObjectOffset: try hex("pc_object_offset"), plugin: fields["plugin"], pluginSHA256: sha256,
            pluginOffset: try hex("plugin_offset"), pluginSymbol: fields["plugin_symbol"])
    }

    /// A value with its \xHH escapes undone.
    private static func unescape(_ value: String, key: String) throws(CrashRecordError) -> String {
        guard value.contains("\\") else { return value }
        var bytes: [UInt8] = []
        var utf8 = Array(value.utf8)[...]
        while let byte = utf8.popFirst() {
            guard byte == 0x5C else {
                bytes.append(byte)
                continue
            }
            guard utf8.count >= 3, utf8.first == 0x78,
                  let escaped = UInt8(String(decoding: utf8.dropFirst().prefix(2), as: UTF8.self), radix: 16)
            else { throw CrashRecordError("\(key) has a bad escape") }
            bytes.append(escaped)
            utf8 = utf8.dropFirst(3)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Why a file in the crash folder is not a crash record; the text is the operator's.
public struct CrashRecordError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
