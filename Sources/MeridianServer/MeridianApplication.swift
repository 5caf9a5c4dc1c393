import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus

/// The context of a request: Hummingbird's, with the client's address (for the log of refused credentials).
public struct MeridianRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address, for logs.
    public var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}

/// Builds the HTTP application of a node: TAXII routes, health, metrics.
public enum MeridianApplication {
    /// The channel handlers each connection adds after HTTP decoding: new ones for each connection.
    public static func channelHandlers() -> [any RemovableChannelHandler] {
        [RefusedBodyHandler()]
    }

    /// The router with every route of the node. `metrics`, when given, is served at `/metrics` in the Prometheus text
    /// format (the process bootstraps swift-metrics with it once, in `meridian serve`).
    public static func router(node: MeridianNode, metrics: PrometheusCollectorRegistry? = nil) -> Router<MeridianRequestContext> {
        let router = Router(context: MeridianRequestContext.self, options: .autoGenerateHeadEndpoints)
        let routes = ProtocolMiddleware.Routes()
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProtocolMiddleware(routes: routes))
        router.get("/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        if let metrics {
            router.get("/metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                         body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
            }
        }
        let taxii = TAXIIRoutes(node: node)
        taxii.register(on: router)
        AdminRoutes(node: node, taxii: taxii).register(on: router)
        routes.set(router.routes)
        return router
    }
}
