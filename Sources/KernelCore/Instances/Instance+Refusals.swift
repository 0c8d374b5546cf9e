extension Instance {
    /// Records why `syscall` failed with `status` in the instance's log (the
    /// status alone cannot say) and returns `status` for the plugin.
    func refuse(_ syscall: Syscall, _ status: AOSStatus, _ reason: String) -> AOSStatus {
        log.append(.warn, .kernel, "\(syscall.name): \(reason)")
        LastError.record(reason)
        return status
    }
}
