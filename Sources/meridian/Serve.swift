import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import MeridianServer
import MISPFeed
import WebUI
import Storage
import Metrics
import Prometheus
import HummingbirdCore
import NIOCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the node: the TAXII 2.1 server.",
        discussion: """
            One serve per data directory (a second one exits naming the first one's pid). The database, the TLS key and \
            the peers' password and token files must be readable by their owner only, and the data directory writable \
            by its owner only: serve refuses to start otherwise, naming the file, unless --allow-readable-files is given. SIGHUP reloads meridian.toml (as an edit does before the next request); \
            SIGINT and SIGTERM stop the server gracefully.
            """)

    @OptionGroup var data: DataOption
    @Option(help: "Address to listen on (default: the configuration's, else 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on, 1 to 65535, or 0 for any free port (default: the configuration's, else 8080).") var port: Int?
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain for HTTPS.") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key for HTTPS.") var tlsKey: String?
    @Flag(name: .customLong("allow-plain-http"), help: "Serve plain HTTP on a non-loopback address (not for production).")
    var allowPlainHTTP = false
    @Flag(name: .customLong("allow-readable-files"), help: "Start even when others may read the database or the TLS key.")
    var allowReadableFiles = false

    func run() async throws {
        let serving = try await failing("serve") { try await Self.prepare(self) }
        // Peers are synchronised in the background for as long as the node serves.
        let node = serving.node
        let synchronizer = Synchronizer(node: node, dataDirectory: data.directory.path)
        let federation = (node.configuration.peers ?? []).isEmpty ? nil : Task { await synchronizer.run() }
        try await serving.run()
        federation?.cancel()
        await synchronizer.shutdown()
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// A node ready to serve: its data directory locked, its files checked, its HTTP application built.
    struct Serving {
        let node: MeridianNode
        let application: Application<RouterResponder<MeridianRequestContext>>
        let host: String
        let port: Int
        let lock: ServingLock
        let logger: Logger

        /// Serves until SIGINT or SIGTERM; a port that cannot be bound is named in the error.
        func run() async throws {
            // SIGHUP reloads the configuration instead of ending the process.
            signal(SIGHUP, SIG_IGN)
            let hangup = DispatchSource.makeSignalSource(signal: SIGHUP)
            let node = self.node
            let logger = self.logger
            hangup.setEventHandler {
                Task {
                    do {
                        let changed = try await node.reloadConfiguration()
                        logger.info(changed ? "SIGHUP: meridian.toml reloaded" : "SIGHUP: meridian.toml unchanged, or refused (see above)")
                    } catch {
                        logger.error("SIGHUP: meridian.toml not reloaded, the previous configuration stays: \(error)")
                    }
                }
            }
            hangup.resume()
            defer { hangup.cancel() }
            // A signed checkpoint of the audit log at start and every [audit] checkpoint_minutes when it moved.
            let checkpoints = Task {
                while !Task.isCancelled {
                    do {
                        if let c = try await node.makeCheckpoint() {
                            logger.info("audit checkpoint signed", metadata: ["seq": .stringConvertible(c.seq), "key": .string(c.keyID)])
                        }
                    } catch {
                        logger.error("audit checkpoint not signed: \(error)")
                    }
                    try? await Task.sleep(for: .seconds(60 * (node.configuration.audit?.checkpoint_minutes ?? 60)))
                }
            }
            defer { checkpoints.cancel() }
            let searchIndexer = Task { await node.runSearchIndexer(logger: logger) }
            defer { searchIndexer.cancel() }
            do {
                try await application.runService()
            } catch let error as IOError where error.errnoCode == EADDRINUSE {
                Terminal.error("meridian serve: port \(port) on \(host) is already in use (another server?); stop it, or choose another port with --port or [server] port in meridian.toml")
                throw ExitCode(2)
            } catch let error as IOError where error.errnoCode == EACCES {
                Terminal.error("meridian serve: no permission to listen on port \(port) (ports below 1024 need privileges); choose a port above 1023 with --port or [server] port")
                throw ExitCode(2)
            } catch let error as IOError where error.errnoCode == EADDRNOTAVAIL {
                Terminal.error("meridian serve: \(host) is not an address of this machine; choose another with --host or [server] host")
                throw ExitCode(2)
            }
            await node.correlator?.idle()
            try await node.authenticator.flushFailures()
            try await node.audit.flush()
            _ = lock
        }
    }

    static func prepare(_ options: Serve, banner: (@Sendable (String) -> Void)? = nil) async throws -> Serving {
        var logger = Logger(label: "meridian")
        logger.logLevel = .info
        let directory = options.data.directory
        guard directory.exists else {
            throw NodeConfiguration.Problem(description: "\(directory.configurationPath) does not exist; run `meridian init --data \(directory.path)` first")
        }
        let lock = try directory.lockForServing()
        let configured = try NodeConfiguration.load(directory.configurationPath)
        let server = configured.server
        let host = options.host ?? server?.host ?? "127.0.0.1"
        let port = options.port ?? server?.port ?? 8080
        guard (0...65535).contains(port) else {
            throw NodeConfiguration.Problem(description: "port \(port) is out of range: give 1 to 65535 (or 0 for any free port) with --port or [server] port")
        }
        // TLS files named in meridian.toml are relative to the data directory; on the command line, to the current one.
        let cert = options.tlsCert ?? server?.tls_cert.map(directory.resolve)
        let key = options.tlsKey ?? server?.tls_key.map(directory.resolve)
        if !options.allowReadableFiles {
            let secrets = (key.map { [$0] } ?? []) + (configured.peers ?? []).flatMap { peer in
                [peer.password_file, peer.token_file].compactMap { $0.map(directory.resolve) }
            }
            let exposed = directory.exposedFiles(secrets)
            if !exposed.isEmpty {
                let list = exposed.map { "\($0.path) (mode \(String($0.mode, radix: 8)))" }.joined(separator: ", ")
                throw NodeConfiguration.Problem(description: "others than its owner may read or write \(list): run `chmod 600` on the files (and `chmod 700` on the directory), or start with --allow-readable-files")
            }
        }
        let node = try await directory.open()
        // Nodes made before signing keys existed get theirs now: the report and checkpoints publish it.
        try await node.ensureSigningKey()
        try await node.correlator?.prepare(announce: true)
        let builder: HTTPServerBuilder
        let scheme: String
        // Silent connections (idle keep-alives, half-open ones, a request's head or body that stopped coming) close.
        // Connections that answered a request whose body is not read (413, 408) end after the answer.
        let http1 = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: MeridianApplication.channelHandlers(),
                                                                 idleTimeout: .seconds(Int64(node.configuration.idleTimeoutSeconds))))
        if let cert, let key {
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: try tlsFile("certificate", cert) {
                try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            }, privateKey: .privateKey(try tlsFile("private key", key) { try NIOSSLPrivateKey(file: key, format: .pem) }))
            // TAXII 2.1 §8: TLS 1.2 or later; SwiftNIO SSL never enables TLS 1.3 early data (0-RTT).
            tls.minimumTLSVersion = .tlsv12
            builder = try .tls(http1, tlsConfiguration: tls)
            scheme = "https"
        } else {
            guard cert == nil && key == nil else {
                throw NodeConfiguration.Problem(description: "HTTPS needs both a certificate and a key (--tls-cert and --tls-key, or tls_cert and tls_key in [server])")
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
        let log = logger
        let announce = banner ?? { url in log.info("Meridian serving TAXII 2.1 at \(url)/taxii2/") }
        let app = Application(
            router: MeridianApplication.router(node: node, metrics: registry, surfaces: [try WebUI(node: node, secureCookies: scheme == "https"), MISPRoutes(node: node)]),
            server: builder,
            configuration: .init(address: .hostname(host, port: port), serverName: "Meridian"),
            // Announced once the socket is bound, with the port it got.
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                let shown = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : (host.contains(":") ? "[\(host)]" : host)
                announce("\(scheme)://\(shown):\(bound)")
            },
            logger: logger
        )
        return Serving(node: node, application: app, host: host, port: port, lock: lock, logger: logger)
    }

    /// Reads a TLS file, its failure naming the file and the reason.
    static func tlsFile<T>(_ what: String, _ path: String, _ read: () throws -> T) throws -> T {
        guard FileManager.default.fileExists(atPath: path) else {
            throw NodeConfiguration.Problem(description: "TLS \(what) \(path) does not exist")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw NodeConfiguration.Problem(description: "TLS \(what) \(path) cannot be read (permissions)")
        }
        do {
            return try read()
        } catch {
            throw NodeConfiguration.Problem(description: "TLS \(what) \(path) is not a PEM \(what) (\(error))")
        }
    }
}
