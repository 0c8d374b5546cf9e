import CAgentOS

/// Plugin code the kernel can run: a validated descriptor in a loaded library.
///
/// The kernel calls `close()` exactly once, after the last thread that could
/// run the plugin's code has been joined. Implementations: `DynamicLibraryImage`
/// (dlopen) in KernelPOSIX, and in-process descriptors in tests.
public protocol PluginImage: AnyObject, Sendable {
    /// The descriptor; valid until `close()`.
    var descriptor: UnsafePointer<aos_plugin_descriptor> { get }
    /// The file the operator named (not the private copy).
    var sourcePath: String { get }
    /// Unmaps the code and removes any private copy.
    func close()
}

/// Opens plugin files: checks them and returns an image ready to run.
public protocol PluginLoading: Sendable {
    /// Opens `path`. Throws a `KernelError` naming the file and what is wrong with it.
    func open(path: String) throws(KernelError) -> PluginImage
}
