import ControlAPI
import Foundation
import Testing

/// Who may use the control socket: the kernel's user and root, plus the members
/// of the group named with `--socket-group`. The socket file's mode keeps others
/// out, and each connection's peer credentials (`SO_PEERCRED`) are checked too,
/// so a loosened mode still lets nobody else in. Other users are played with
/// `setpriv`, which needs root.
@Suite(.serialized) struct SocketPeerTests {
    static let canSwitchUsers = getuid() == 0 && FileManager.default.isExecutableFile(atPath: setpriv.path)
    static let setpriv = URL(fileURLWithPath: "/usr/bin/setpriv")
    static let needsRoot = "needs root and /usr/bin/setpriv to run agentctl as another user"
    /// `nobody` and `nogroup` (Debian); 4242 has no entry in /etc/passwd or /etc/group.
    static let nobody: uid_t = 65534, nogroup: gid_t = 65534, stranger: uid_t = 4242

    @Test func socketIsOwnerOnlyByDefault() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        let socket = try FileManager.default.attributesOfItem(atPath: kernel.home.socketPath)
        #expect((socket[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect((socket[.ownerAccountID] as? NSNumber)?.uint32Value == geteuid())
    }

    @Test(.enabled(if: SocketPeerTests.canSwitchUsers, Comment(rawValue: SocketPeerTests.needsRoot)))
    func anotherUserIsStoppedByTheSocketFilesMode() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try openFolders(kernel)
        let result = try await agentctl(kernel, uid: Self.nobody, gid: Self.nogroup, "status")
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr == """
            agentctl: permission denied on the kernel's control socket \(kernel.home.displaySocketPath) \
            (only the kernel's user and root may use it, or a group named with agentosd --socket-group)\n
            """)
        // The OS refused it: the kernel never saw the connection.
        #expect(!kernel.log().contains("refused a connection"), "\(kernel.log())")
        try await kernel.expectHealthy()
    }

    @Test(.enabled(if: SocketPeerTests.canSwitchUsers, Comment(rawValue: SocketPeerTests.needsRoot)))
    func anotherUserPastTheFileModeIsRefusedByItsCredentials() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try openFolders(kernel)
        try loosen(kernel.home.socketPath)
        let result = try await agentctl(kernel, uid: Self.nobody, gid: Self.nogroup, "ps")
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        #expect(result.stderr == """
            agentctl: uid 65534 may not use this kernel's control socket: \
            only root (the kernel's user) may (agentosd --socket-group names a group that may)\n
            """)
        let log = kernel.log()
        #expect(log.contains("refused a connection to the control socket"), "\(log)")
        #expect(log.contains("uid=65534") && log.contains("gid=65534"), "\(log)")
        try await kernel.expectHealthy()
    }

    /// What curl shows a refused user: 403 and the JSON error; a load is never routed.
    @Test(.enabled(if: SocketPeerTests.canSwitchUsers && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), Comment(rawValue: SocketPeerTests.needsRoot)))
    func refusedPeerGetsA403WithTheJSONErrorAndIsNeverRouted() async throws {
        let kernel = try await KernelProcess()
        defer { kernel.stop() }
        try openFolders(kernel)
        try loosen(kernel.home.socketPath)
        let curl = try await runAs(
            uid: Self.nobody, gid: Self.nogroup, URL(fileURLWithPath: "/usr/bin/curl"),
            ["-s", "--unix-socket", kernel.home.socketPath, "-H", "Content-Type: application/json",
             "-d", #"{"path":"\#(Paths.plugin("echo"))"}"#, "http://localhost/v1/instances", "-w", "\n%{http_code}"],
            environment: [:])
        #expect(curl.status == 0, "\(curl.stderr)")
        #expect(curl.stdout == """
            {"error":{"code":"permission_denied","message":"uid 65534 may not use this kernel's control socket: \
            only root (the kernel's user) may (agentosd --socket-group names a group that may)"}}
            403
            """)
        #expect(try await kernel.client.instances(all: true).isEmpty)
        try await kernel.expectHealthy()
    }

    @Test(.enabled(if: SocketPeerTests.canSwitchUsers, Comment(rawValue: SocketPeerTests.needsRoot)))
    func socketGroupLetsItsMembersIn() async throws {
        let kernel = try await KernelProcess(["--socket-group", "nogroup"])
        defer { kernel.stop() }
        #expect(chmod(kernel.root, 0o711) == 0)
        let socket = try FileManager.default.attributesOfItem(atPath: kernel.home.socketPath)
        #expect((socket[.posixPermissions] as? NSNumber)?.intValue == 0o660)
        #expect((socket[.groupOwnerAccountID] as? NSNumber)?.uint32Value == Self.nogroup)
        let home = try FileManager.default.attributesOfItem(atPath: kernel.home.path)
        #expect((home[.posixPermissions] as? NSNumber)?.intValue == 0o710)
        #expect((home[.groupOwnerAccountID] as? NSNumber)?.uint32Value == Self.nogroup)

        let member = try await agentctl(kernel, uid: Self.nobody, gid: Self.nogroup, "status")
        #expect(member.status == 0, "\(member.stderr)")
        #expect(!member.stdout.isEmpty, "\(member.stdout)")
        // Admitted by its group id alone: uid 4242 is in no user database.
        let byGID = try await agentctl(kernel, uid: Self.stranger, gid: Self.nogroup, "ps")
        #expect(byGID.status == 0, "\(byGID.stderr)")
        #expect(!kernel.log().contains("refused a connection"), "\(kernel.log())")
        try await kernel.expectHealthy()
    }

    /// nobody's group in /etc/passwd is nogroup: it is a member even when it connects with another gid.
    @Test(.enabled(if: SocketPeerTests.canSwitchUsers, Comment(rawValue: SocketPeerTests.needsRoot)))
    func socketGroupMembershipComesFromTheUserDatabaseToo() async throws {
        let kernel = try await KernelProcess(["--socket-group", "nogroup"])
        defer { kernel.stop() }
        try openFolders(kernel)
        try loosen(kernel.home.socketPath)
        let result = try await agentctl(kernel, uid: Self.nobody, gid: Self.stranger, "status")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!kernel.log().contains("refused a connection"), "\(kernel.log())")
    }

    @Test(.enabled(if: SocketPeerTests.canSwitchUsers, Comment(rawValue: SocketPeerTests.needsRoot)))
    func userOutsideTheSocketGroupIsRefused() async throws {
        let kernel = try await KernelProcess(["--socket-group", "nogroup"])
        defer { kernel.stop() }
        try openFolders(kernel)
        let byMode = try await agentctl(kernel, uid: Self.stranger, gid: Self.stranger, "status")
        #expect(byMode.status == 1, "\(byMode.stderr)")
        #expect(byMode.stderr.hasPrefix("agentctl: permission denied on the kernel's control socket "), "\(byMode.stderr)")

        try loosen(kernel.home.socketPath)
        let byCredentials = try await agentctl(kernel, uid: Self.stranger, gid: Self.stranger, "status")
        #expect(byCredentials.status == 1, "\(byCredentials.stderr)")
        #expect(byCredentials.stderr == """
            agentctl: uid 4242 may not use this kernel's control socket: \
            only root (the kernel's user) and members of group nogroup (gid 65534) may\n
            """)
        #expect(kernel.log().contains("uid=4242"), "\(kernel.log())")
        try await kernel.expectHealthy()
    }

    @Test func unknownSocketGroupStopsTheKernelAtStartup() async throws {
        let root = KernelProcess.newRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let home = AgentOSHome(path: root + "/home")
        let result = try await BackgroundCommand(
            Paths.agentosd, ["--engine", "none", "--no-plugins-dir", "--socket-group", "no-such-group-agentos"],
            environment: ["AGENTOS_HOME": home.path]
        ).finish(timeout: 30)
        #expect(result.status == 1)
        #expect(result.stderr == "agentosd: no group named no-such-group-agentos (--socket-group)\n")
        #expect(!FileManager.default.fileExists(atPath: home.socketPath))
    }

    // MARK: Helpers

    /// Lets any user reach the socket through the test's folder and the home
    /// (0711: enter, not list), so that only the socket's own mode stands in the way.
    private func openFolders(_ kernel: KernelProcess, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for folder in [kernel.root, kernel.home.path] {
            try #require(chmod(folder, 0o711) == 0, "chmod \(folder)", sourceLocation: sourceLocation)
        }
    }

    /// Makes the socket file usable by everyone (0666), as a careless operator might.
    private func loosen(_ socket: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(chmod(socket, 0o666) == 0, "chmod \(socket)", sourceLocation: sourceLocation)
    }

    /// Runs `agentctl` against `kernel` as `uid`:`gid`, with no supplementary groups.
    private func agentctl(_ kernel: KernelProcess, uid: uid_t, gid: gid_t, _ arguments: String...) async throws -> CommandResult {
        try await runAs(uid: uid, gid: gid, Paths.agentctl, arguments, environment: ["AGENTOS_HOME": kernel.home.path])
    }

    private func runAs(uid: uid_t, gid: gid_t, _ executable: URL, _ arguments: [String], environment: [String: String]) async throws -> CommandResult {
        let switchUser = ["--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", executable.path]
        return try await BackgroundCommand(Self.setpriv, switchUser + arguments, environment: environment).finish(timeout: 30)
    }
}
