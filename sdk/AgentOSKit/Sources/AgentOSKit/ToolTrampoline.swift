import CAgentOSKit

/// A C function of a tool's exact signature (`double f(double, const char *)`),
/// made at load with a libffi closure, that calls the tool's Swift closure: the
/// kernel calls it like any C tool, after checking the arguments against it.
///
/// Made once per tool while the library loads; kept for the library's life
/// (a Swift plugin's library is never unmapped).
final class ToolTrampoline {
    let tool: Tool
    /// The C function; nil when libffi could not make it (the kernel then refuses the table).
    private(set) var function: UnsafeMutableRawPointer?

    init(_ tool: Tool) {
        self.tool = tool
        let types = UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>.allocate(capacity: max(tool.parameters.count, 1))
        for (index, parameter) in tool.parameters.enumerated() {
            types[index] = Self.ffiType(parameter.type)
        }
        let cif = UnsafeMutablePointer<ffi_cif>.allocate(capacity: 1)
        var code: UnsafeMutableRawPointer?
        guard ffi_prep_cif(cif, FFI_DEFAULT_ABI, UInt32(tool.parameters.count), Self.ffiType(tool.returns), types) == FFI_OK,
              let closure = ffi_closure_alloc(MemoryLayout<ffi_closure>.size, &code)?.assumingMemoryBound(to: ffi_closure.self),
              ffi_prep_closure_loc(closure, cif, Self.entry, Unmanaged.passUnretained(self).toOpaque(), code) == FFI_OK
        else { return }
        function = code
    }

    /// What every tool's C function runs: the closure, or on a throw, tool_error and a zero result.
    private static let entry: @convention(c) (
        UnsafeMutablePointer<ffi_cif>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutableRawPointer?
    ) -> Void = { _, result, arguments, user in
        let trampoline = Unmanaged<ToolTrampoline>.fromOpaque(user!).takeUnretainedValue()
        do {
            try trampoline.tool.invoke(arguments!, result!)
        } catch {
            result!.storeBytes(of: 0, as: UInt64.self) // 0, 0.0, false or NULL
            PluginEntry.failToolCall(error)
        }
    }

    private static func ffiType(_ type: UInt32) -> UnsafeMutablePointer<ffi_type> {
        switch Int32(type) {
        case Int32(AOS_TYPE_INT32): aoskit_ffi_sint32()
        case Int32(AOS_TYPE_INT64): aoskit_ffi_sint64()
        case Int32(AOS_TYPE_UINT32): aoskit_ffi_uint32()
        case Int32(AOS_TYPE_UINT64): aoskit_ffi_uint64()
        case Int32(AOS_TYPE_DOUBLE): aoskit_ffi_double()
        case Int32(AOS_TYPE_FLOAT): aoskit_ffi_float()
        case Int32(AOS_TYPE_BOOL): aoskit_ffi_uint8()
        default: aoskit_ffi_pointer()
        }
    }
}
