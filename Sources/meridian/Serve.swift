import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import MeridianServer
import Metrics
import Prometheus
import HummingbirdCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the node: the TAXII 2.1 server.")

    @OptionGroup var data: DataOption
    @Option(help: "Address to listen on (default: the configuration's, else 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (default: the configuration's, else 8080).") var port: Int?
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain for HTTPS.") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key for HTTPS.") var tlsKey: String?
    @Flag(name: .customLong("allow-plain-http"), help: "Serve plain HTTP on a non-loopback address (not for production).")
    var allowPlainHTTP = false

    func run() async throws {
        let (application, _, node) = try await failing("serve") { try await Self.application(self) }
        // Peers are synchronised in the background for as long as the node serves.
        let synchronizer = Synchronizer(node: node, dataDirectory: data.directory.path)
        let federation = (node.configuration.peers ?? []).isEmpty ? nil : Task { await synchronizer.run() }
        try await application.runService()
        federation?.cancel()
        await synchronizer.shutdown()
        await node.correlator?.idle()
        try await node.audit.flush()
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    static func application(_ options: Serve) async throws -> (some ApplicationProtocol, String, MeridianNode) {
        var logger = Logger(label: "meridian")
        logger.logLevel = .info
        let node = try await options.data.directory.open()
        try await node.correlator?.prepare()
        let server = node.configuration.server
        let host = options.host ?? server?.host ?? "127.0.0.1"
        let port = options.port ?? server?.port ?? 8080
        let cert = options.tlsCert ?? server?.tls_cert
        let key = options.tlsKey ?? server?.tls_key
        let builder: HTTPServerBuilder
        let scheme: String
        // Silent connections (idle keep-alives, half-open ones, a request's head or body that stopped coming) close.
        // Connections that answered a request whose body is not read (413, 408) end after the answer.
        let http1 = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: MeridianApplication.channelHandlers(),
                                                                 idleTimeout: .seconds(Int64(node.configuration.idleTimeoutSeconds))))
        if let cert, let key {
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            // TAXII 2.1 §8: TLS 1.2 or later; SwiftNIO SSL never enables TLS 1.3 early data (0-RTT).
            tls.minimumTLSVersion = .tlsv12
            builder = try .tls(http1, tlsConfiguration: tls)
            scheme = "https"
        } else {
            guard cert == nil && key == nil else {
                throw NodeConfiguration.Problem(description: "HTTPS needs both --tls-cert and --tls-key")
            }
            if !isLoopback(host) {
                guard options.allowPlainHTTP || server?.allow_plain_http == true else {
                    throw NodeConfiguration.Problem(description: "refusing plain HTTP on \(host): TAXII 2.1 requires TLS; give --tls-cert and --tls-key, or --allow-plain-http for a test network")
                }
                logger.warning("serving plain HTTP on a non-loopback address; TAXII 2.1 requires TLS in production")
            }
            builder = http1
            scheme = "http"
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let app = Application(
            router: MeridianApplication.router(node: node, metrics: registry),
            server: builder,
            configuration: .init(address: .hostname(host, port: port), serverName: "Meridian"),
            logger: logger
        )
        let url = "\(scheme)://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"
        logger.info("Meridian serving TAXII 2.1 at \(url)/taxii2/")
        return (app, url, node)
    }
}
