import ArgumentParser
import ClusterNATS
import KernelCore

/// `agentosd --cluster nats://HOST:PORT --node NAME`: join a cluster of kernels over NATS.
struct ClusterOptions: ParsableArguments {
    @Option(name: .customLong("cluster"), help: ArgumentHelp("Join the cluster whose NATS server is here.", valueName: "nats://host:port"))
    var url: String?

    @Option(name: .long, help: "This kernel's node name in the cluster (letters, digits, '_', '-'); agents are reachable as NAME@NODE.")
    var node: String?

    @Flag(name: .long, help: "Stop at start when the NATS server cannot be reached (default: work locally and keep retrying).")
    var clusterRequired = false

    @Option(name: .long, help: ArgumentHelp("NATS user (with --cluster-password).", valueName: "user"))
    var clusterUser: String?

    @Option(name: .long, help: ArgumentHelp("NATS password.", valueName: "password"))
    var clusterPassword: String?

    @Option(name: .long, help: ArgumentHelp("NATS token.", valueName: "token"))
    var clusterToken: String?

    @Option(name: .long, help: ArgumentHelp("NATS credentials file (JWT and NKey seed).", valueName: "file"))
    var clusterCreds: String?

    @Option(name: .long, help: ArgumentHelp("TLS: CA certificates to trust for the NATS server.", valueName: "file"))
    var clusterTlsCa: String?

    @Option(name: .long, help: ArgumentHelp("TLS: client certificate (with --cluster-tls-key).", valueName: "file"))
    var clusterTlsCert: String?

    @Option(name: .long, help: ArgumentHelp("TLS: client key.", valueName: "file"))
    var clusterTlsKey: String?

    @Option(name: .long, help: ArgumentHelp(
        "Serve this kernel's engine to the cluster as MODEL (subject agentos.infer.MODEL, one queue group per model); kernels use it with --engine cluster:MODEL. Default: serve nothing.",
        valueName: "model"))
    var serveEngine: String?

    func validate() throws {
        guard (url == nil) == (node == nil) else { throw ValidationError("--cluster and --node go together") }
        if let url {
            guard url.hasPrefix("nats://") || url.hasPrefix("tls://") else {
                throw ValidationError("--cluster must be a NATS URL, e.g. nats://127.0.0.1:4222")
            }
        }
        if let node, !ClusterName.isValidNode(node) {
            throw ValidationError("invalid --node \"\(node)\": use 1-63 letters, digits, '_' or '-'")
        }
        guard (clusterTlsCert == nil) == (clusterTlsKey == nil) else {
            throw ValidationError("--cluster-tls-cert and --cluster-tls-key go together")
        }
        if url == nil, clusterRequired || clusterUser != nil || clusterToken != nil || clusterCreds != nil || clusterTlsCa != nil || clusterTlsCert != nil {
            throw ValidationError("the --cluster-* options need --cluster and --node")
        }
    }

    /// The checks that involve the engine flags too: `--engine cluster:MODEL`
    /// needs a cluster; `--serve-engine` needs one and a local engine.
    func validate(engine: EngineOptions.Kind) throws {
        if case .cluster = engine, url == nil { throw ValidationError("--engine cluster:MODEL needs --cluster and --node") }
        guard let serveEngine else { return }
        guard url != nil else { throw ValidationError("--serve-engine needs --cluster and --node") }
        guard ClusterName.isValidNode(serveEngine) else {
            throw ValidationError("invalid --serve-engine \"\(serveEngine)\": a model name is 1-63 letters, digits, '_' or '-'")
        }
        guard engine == .llama || engine == .openai else { throw ValidationError("--serve-engine needs a local engine (--engine llama or openai)") }
    }

    /// What libnats is given; nil when not in a cluster.
    var settings: NATSSettings? {
        guard let url else { return nil }
        var settings = NATSSettings(url: url)
        settings.user = clusterUser
        settings.password = clusterPassword
        settings.token = clusterToken
        settings.credentialsFile = clusterCreds
        settings.tlsCAFile = clusterTlsCa
        settings.tlsCertFile = clusterTlsCert
        settings.tlsKeyFile = clusterTlsKey
        return settings
    }
}
