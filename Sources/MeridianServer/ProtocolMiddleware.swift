import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import TAXII

/// HTTP rules every endpoint follows (RFC 9110), before and after the routes: HEAD is answered wherever GET is (the
/// same status and headers, no body), a method an endpoint does not support gets 405 with `Allow`, and a URL longer
/// than ``maxURLBytes`` gets 414; errors are TAXII error resources with the TAXII content type.
struct ProtocolMiddleware: RouterMiddleware {
    typealias Context = MeridianRequestContext

    /// The longest request target (path and query) answered; longer ones get 414 before any work is done.
    static let maxURLBytes = 8192

    /// The routes' paths and methods, known once the router is complete.
    final class Routes: Sendable {
        private let table = Mutex<[(segments: [Substring], methods: Set<HTTPRequest.Method>)]>([])

        func set(_ routes: [Router<MeridianRequestContext>.RouteDescription]) {
            var byPath: [String: Set<HTTPRequest.Method>] = [:]
            for route in routes { byPath[route.path.description, default: []].insert(route.method) }
            table.withLock { $0 = byPath.map { (Routes.segments($0.key), $0.value) } }
        }

        /// The methods of the route whose path matches `path` (a `{name}` segment matches any segment), nil for none.
        func methods(for path: String) -> Set<HTTPRequest.Method>? {
            let segments = Routes.segments(path)
            return table.withLock { table in
                table.first { route in
                    route.segments.count == segments.count
                        && zip(route.segments, segments).allSatisfy { ($0.hasPrefix("{") && $0.hasSuffix("}")) || $0 == $1 }
                }?.methods
            }
        }

        static func segments(_ path: String) -> [Substring] { path.split(separator: "/") }
    }

    let routes: Routes

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.description.utf8.count <= Self.maxURLBytes else {
            return TAXIIRoutes.errorResponse(TAXIIError(status: 414, title: "URI too long",
                                                        description: "the request target is longer than \(Self.maxURLBytes) bytes"))
        }
        if request.method == .head {
            var head = request.head
            head.method = .get
            let response = try await handle(Request(head: head, body: request.body), context: context, next: next)
            var headers = response.headers
            if let length = response.body.contentLength { headers[.contentLength] = String(length) }
            return Response(status: response.status, headers: headers, body: ResponseBody())
        }
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let methods = routes.methods(for: request.uri.path), !methods.contains(request.method) else { throw error }
            let allowed = (methods.contains(.get) ? methods.union([.head]) : methods).map(\.rawValue).sorted()
            var response = TAXIIRoutes.errorResponse(TAXIIError(
                status: 405, title: "Method not allowed",
                description: "\(request.method.rawValue) is not supported here; allowed: \(allowed.joined(separator: ", "))"))
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        }
    }
}
