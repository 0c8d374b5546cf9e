/// What a request does when its session is answering another request.
public enum SessionBusyPolicy: String, Sendable, Equatable, CaseIterable {
    /// Wait for the session, behind the requests already waiting (the default).
    case enqueue
    /// Fail at once with `.conflict`.
    case reject
    /// Cancel the request being answered (it stores nothing) and go next.
    case interrupt
}
