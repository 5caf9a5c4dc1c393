import Hummingbird
import Logging
import NIOCore

/// Builds the HTTP application of a node: TAXII routes, health.
public enum MeridianApplication {
    /// The router with every route of the node.
    public static func router(node: MeridianNode) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: LogRequestsMiddleware(.info))
        router.get("/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        TAXIIRoutes(node: node).register(on: router)
        return router
    }
}
