import CNATS
import Foundation
import KernelCore
import Logging
import Synchronization

/// The cluster link over NATS (the official C client, libnats): connects to
/// `--cluster`, subscribes to this node's subject and the announcements, and
/// feeds `ClusterService` what arrives; publishes what it sends. With
/// `--serve-engine MODEL` it also takes requests on `agentos.infer.MODEL`
/// (queue group of the same name).
///
/// libnats reconnects by itself (forever, every `reconnectWait`); while it is
/// disconnected `publish` returns AOS_EUNREACHABLE at once instead of
/// buffering. Thread-safe: libnats calls the handlers on its own threads (one
/// per subscription, which keeps each sender's order); a timer thread of the
/// link calls `ClusterService.tick`.
public final class NATSLink: ClusterLink, @unchecked Sendable {
    // @unchecked: `connection` and `subscriptions` are set in `start` before any
    // other thread sees the link and only read afterwards; libnats' connection is thread-safe.
    private let settings: NATSSettings
    private let service: ClusterService
    private let logger: Logger
    private var connection: OpaquePointer?
    private var subscriptions: [OpaquePointer?] = []
    private let stopped = Atomic<Bool>(false)
    private let maxPayload = Atomic<Int>(1 << 20)

    /// Why the link cannot start: the URL is unreachable (with
    /// `--cluster-required`), the node name is taken, or a client option is refused.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(settings: NATSSettings, service: ClusterService, logger: Logger) {
        self.settings = settings
        self.service = service
        self.logger = logger
    }

    /// Connects and joins. When the server cannot be reached: with `required`,
    /// throws; else logs it and keeps trying in the background (remote sends
    /// fail with AOS_EUNREACHABLE meanwhile). Throws when another running
    /// kernel answers for the node name.
    public func start(required: Bool) throws {
        guard let node = service.node else { return }
        var status = connect(retrying: false)
        if status != NATS_OK {
            let refused = status == NATS_CONNECTION_AUTH_FAILED || status == NATS_NOT_PERMITTED
            let reason = refused
                ? "the cluster at \(settings.url) refused this kernel's credentials (\(Self.text(status)))"
                : "cannot reach the cluster at \(settings.url): \(Self.text(status))"
            if required {
                let next = refused ? "check --cluster-user, --cluster-password, --cluster-token or --cluster-creds" : "start its nats-server"
                throw StartError(description: "\(reason) (\(next), or drop --cluster-required to start without it)")
            }
            logger.warning("\(reason); working locally and retrying in the background")
            status = connect(retrying: true)
            guard status == NATS_OK || status == NATS_NOT_YET_CONNECTED else {
                throw StartError(description: "cannot set up the cluster link to \(settings.url): \(Self.text(status))")
            }
        } else {
            try checkNameFree(node)
        }
        try subscribe(node)
        if natsConnection_Status(connection) == NATS_CONN_STATUS_CONNECTED { connected() }
        let timer = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                usleep(200_000)
                service.tick()
            }
        }
        timer.name = "agentos-cluster"
        timer.start()
    }

    /// Announces the leaving, then closes the connection.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed), let connection else { return }
        service.leave()
        natsConnection_FlushTimeout(connection, 500)
        for subscription in subscriptions { natsSubscription_Destroy(subscription) }
        natsConnection_Close(connection)
        natsConnection_Destroy(connection)
        self.connection = nil
    }

    public func publish(_ subject: String, _ bytes: [UInt8]) -> AOSStatus {
        guard let connection, natsConnection_Status(connection) == NATS_CONN_STATUS_CONNECTED else { return .unreachable }
        guard bytes.count <= maxPayload.load(ordering: .relaxed) else { return .tooBig }
        let status = bytes.withUnsafeBytes { natsConnection_Publish(connection, subject, $0.baseAddress, Int32($0.count)) }
        switch status {
        case NATS_OK: return .ok
        case NATS_MAX_PAYLOAD: return .tooBig
        default: return .unreachable
        }
    }

    // MARK: Connecting

    private func connect(retrying: Bool) -> natsStatus {
        var options: OpaquePointer?
        guard natsOptions_Create(&options) == NATS_OK else { return NATS_NO_MEMORY }
        defer { natsOptions_Destroy(options) }
        let me = Unmanaged.passUnretained(self).toOpaque()
        var status = natsOptions_SetURL(options, settings.url)
        func set(_ next: @autoclosure () -> natsStatus) { if status == NATS_OK { status = next() } }
        set(natsOptions_SetName(options, "agentosd \(service.node ?? "")"))
        set(natsOptions_SetTimeout(options, 2000))
        set(natsOptions_SetAllowReconnect(options, true))
        set(natsOptions_SetMaxReconnect(options, -1))
        set(natsOptions_SetReconnectWait(options, 250))
        set(natsOptions_SetPingInterval(options, 1000))
        set(natsOptions_SetMaxPingsOut(options, 2))
        set(natsOptions_SetNoEcho(options, true))
        // Write each frame at once: left to libnats' flusher thread, a round trip costs milliseconds.
        set(natsOptions_SetSendAsap(options, true))
        set(natsOptions_SetDisconnectedCB(options, { _, closure in
            Unmanaged<NATSLink>.fromOpaque(closure!).takeUnretainedValue().disconnected()
        }, me))
        set(natsOptions_SetReconnectedCB(options, { _, closure in
            Unmanaged<NATSLink>.fromOpaque(closure!).takeUnretainedValue().connected()
        }, me))
        if retrying {
            set(natsOptions_SetRetryOnFailedConnect(options, true, { _, closure in
                Unmanaged<NATSLink>.fromOpaque(closure!).takeUnretainedValue().connected()
            }, me))
        }
        if let token = settings.token { set(natsOptions_SetToken(options, token)) }
        if let user = settings.user { set(natsOptions_SetUserInfo(options, user, settings.password)) }
        if let creds = settings.credentialsFile { set(natsOptions_SetUserCredentialsFromFiles(options, creds, nil)) }
        if let ca = settings.tlsCAFile {
            set(natsOptions_SetSecure(options, true))
            set(natsOptions_LoadCATrustedCertificates(options, ca))
        }
        if let cert = settings.tlsCertFile, let key = settings.tlsKeyFile {
            set(natsOptions_SetSecure(options, true))
            set(natsOptions_LoadCertificatesChain(options, cert, key))
        }
        guard status == NATS_OK else { return status }
        var made: OpaquePointer?
        status = natsConnection_Connect(&made, options)
        if status == NATS_OK || status == NATS_NOT_YET_CONNECTED { connection = made } else if let made { natsConnection_Destroy(made) }
        return status
    }

    /// A running kernel answers on its node's hello subject: a reply means the name is taken.
    private func checkNameFree(_ node: String) throws {
        var reply: OpaquePointer?
        let status = natsConnection_RequestString(&reply, connection, ClusterName.helloSubject(of: node), "", 1000)
        if status == NATS_OK {
            let owner = String(cString: natsMsg_GetData(reply))
            natsMsg_Destroy(reply)
            natsConnection_Destroy(connection)
            connection = nil
            throw StartError(description: "node name \(node) is in use in the cluster at \(settings.url) (\(owner)): choose another --node")
        }
    }

    private func subscribe(_ node: String) throws {
        let me = Unmanaged.passUnretained(self).toOpaque()
        let handler: natsMsgHandler = { _, _, message, closure in
            let link = Unmanaged<NATSLink>.fromOpaque(closure!).takeUnretainedValue()
            link.received(message)
        }
        let hello: natsMsgHandler = { connection, _, message, closure in
            let link = Unmanaged<NATSLink>.fromOpaque(closure!).takeUnretainedValue()
            // A kernel that yielded its node name no longer claims it.
            if link.service.nameConflict == nil, let reply = natsMsg_GetReply(message) {
                natsConnection_PublishString(connection, reply, "pid \(getpid()), agentosd \(link.settings.url)")
            }
            natsMsg_Destroy(message)
        }
        for (subject, callback) in [
            (ClusterName.subject(of: node), handler), (ClusterName.announceSubject, handler), (ClusterName.helloSubject(of: node), hello),
        ] {
            var subscription: OpaquePointer?
            let status = natsConnection_Subscribe(&subscription, connection, subject, callback, me)
            guard status == NATS_OK else { throw StartError(description: "cannot subscribe to \(subject): \(Self.text(status))") }
            // Room for bursts: past these, libnats drops (and counts) messages as a slow consumer.
            natsSubscription_SetPendingLimits(subscription, 1 << 20, 1 << 30)
            subscriptions.append(subscription)
        }
        if let model = service.servedModel {
            // One queue group per model: each request goes to one of the kernels serving it.
            let subject = ClusterName.inferSubject(of: model)
            var subscription: OpaquePointer?
            let status = natsConnection_QueueSubscribe(&subscription, connection, subject, subject, handler, me)
            guard status == NATS_OK else { throw StartError(description: "cannot serve \(subject): \(Self.text(status))") }
            natsSubscription_SetPendingLimits(subscription, 1 << 16, 1 << 30)
            subscriptions.append(subscription)
        }
    }

    private func received(_ message: OpaquePointer?) {
        defer { natsMsg_Destroy(message) }
        let length = Int(natsMsg_GetDataLength(message))
        let data = natsMsg_GetData(message)
        service.receive(UnsafeRawBufferPointer(start: data.map(UnsafeRawPointer.init), count: data == nil ? 0 : length))
    }

    private func connected() {
        if let connection { maxPayload.store(Int(natsConnection_GetMaxPayload(connection)), ordering: .relaxed) }
        logger.info("cluster link up", metadata: ["url": "\(settings.url)", "node": "\(service.node ?? "")"])
        service.linkChanged(up: true)
    }

    private func disconnected() {
        guard !stopped.load(ordering: .relaxed) else { return }
        logger.warning("cluster link down: reconnecting", metadata: ["url": "\(settings.url)"])
        service.linkChanged(up: false)
    }

    private static func text(_ status: natsStatus) -> String { String(cString: natsStatus_GetText(status)) }
}

/// How to reach the cluster: the URL and what libnats is given to
/// authenticate and encrypt (passed through as they are).
public struct NATSSettings: Sendable {
    public var url: String
    public var user: String?
    public var password: String?
    public var token: String?
    public var credentialsFile: String?
    public var tlsCAFile: String?
    public var tlsCertFile: String?
    public var tlsKeyFile: String?

    public init(url: String) { self.url = url }
}
