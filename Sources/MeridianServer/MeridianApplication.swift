import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import TAXII

func metricsResponse(_ metrics: PrometheusCollectorRegistry) -> Response {
    Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
             body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
}

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

/// A set of routes served beside the node's own (TAXII, admin, transparency), built on the node's public API: the
/// analysts' web pages are one.
public protocol NodeSurface: Sendable {
    func register(on router: Router<MeridianRequestContext>)
}

/// Builds the HTTP application of a node: TAXII routes, health, metrics, and the surfaces given.
public enum MeridianApplication {
    /// The channel handlers each connection adds after HTTP decoding: new ones for each connection.
    public static func channelHandlers() -> [any RemovableChannelHandler] {
        [RefusedBodyHandler()]
    }

    /// The router with every route of the node. `metrics`, when given, is served at `/metrics` in the Prometheus text
    /// format (the process bootstraps swift-metrics with it once, in `meridian serve`).
    public static func router(node: MeridianNode, metrics: PrometheusCollectorRegistry? = nil,
                              surfaces: [any NodeSurface] = []) -> Router<MeridianRequestContext> {
        let router = Router(context: MeridianRequestContext.self, options: .autoGenerateHeadEndpoints)
        let routes = ProtocolMiddleware.Routes()
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProtocolMiddleware(routes: routes))
        // What a browser finds at the node's address: what it is, and where its TAXII discovery is.
        router.get("/") { _, _ in
            let n = node.configuration.node
            func escaped(_ text: String) -> String {
                text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                    .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            }
            let page = """
                <!doctype html>
                <html lang="en"><head><meta charset="utf-8"><title>\(escaped(n.title))</title></head>
                <body>
                <h1>\(escaped(n.title))</h1>
                <p>\(escaped(n.description ?? "A Meridian threat-intelligence exchange node."))</p>
                <p>This is a <a href="https://github.com/oasis-tcs/cti-taxii2">TAXII 2.1</a> server for STIX 2.1 threat
                intelligence. Point a TAXII client (MISP, OpenCTI, taxii2-client) at its discovery endpoint,
                <a href="/taxii2/"><code>/taxii2/</code></a>, with the credentials the node's operator gave you.
                Analysts sign in to its web pages at <a href="/ui/"><code>/ui/</code></a>; what the partnership
                exchanges, in aggregate, is public at <a href="/transparency/"><code>/transparency/</code></a>.</p>
                <p>Health: <a href="/health"><code>/health</code></a>.\(n.contact.map { " Contact: " + escaped($0) + "." } ?? "")</p>
                </body></html>
                """
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
        }
        router.get("/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        let taxii = TAXIIRoutes(node: node)
        if let metrics {
            // Metrics tell how busy the node is and with what: for admins and the scraper's users, unless public.
            router.get("/metrics") { request, context in
                let server = node.configuration.server
                guard server?.public_metrics != true else { return metricsResponse(metrics) }
                return await taxii.respond(request, context, accepting: { _ in true }) { principal in
                    if principal.isAnonymous { throw TAXIIError.unauthorized }
                    guard principal.isAdmin || (principal.user.map { server?.metrics_users?.contains($0) ?? false } ?? false) else {
                        throw TAXIIError(status: 403, title: "Forbidden",
                                         description: "/metrics is for admins and the users listed in [server] metrics_users")
                    }
                    return metricsResponse(metrics)
                }
            }
        }
        taxii.register(on: router)
        AdminRoutes(node: node, taxii: taxii).register(on: router)
        TransparencyRoutes(node: node, taxii: taxii).register(on: router)
        for surface in surfaces { surface.register(on: router) }
        routes.set(router.routes)
        return router
    }
}
