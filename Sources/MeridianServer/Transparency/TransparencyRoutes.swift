import Foundation
import Hummingbird
import NIOCore
import STIX
import TAXII
import Transparency

/// The public transparency report (docs/TRANSPARENCY.md): `/transparency/` (the page, charts drawn as SVG),
/// `/transparency/report.json`, and the signed checkpoints of the audit log under `/transparency/checkpoints/` (with
/// the peers' checkpoints this node holds at `/transparency/checkpoints/witnessed`); checkpoints are served whether or
/// not the report is enabled.
/// No credentials are needed; the request limits per address apply as everywhere. The served report counts up to the
/// moment it is made (minus the delay) and is made again after five minutes or when the day changes.
struct TransparencyRoutes: Sendable {
    let node: MeridianNode
    let taxii: TAXIIRoutes
    let cache = ReportCache()

    actor ReportCache {
        var made: (day: String, at: Date, report: TransparencyReport)?

        func report(_ node: MeridianNode) async throws -> TransparencyReport {
            let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
            let day = String(TAXIITimestamp.format(now).prefix(10))
            if let made, made.day == day, Date().timeIntervalSince(made.at) < 300 { return made.report }
            let report = try await node.transparencyReport(asOf: day, at: now, publicKeys: try await node.publicKeyEntries())
            made = (day, Date(), report)
            return report
        }
    }

    func register(on router: Router<MeridianRequestContext>) {
        router.get("/transparency/") { request, context in
            // The page links to report.json beside it: served at the folder's address.
            if !request.uri.path.hasSuffix("/") { return Response(status: .movedPermanently, headers: [.location: "/transparency/"]) }
            return await respond(request, context) { report in
                Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                         body: ResponseBody(byteBuffer: ByteBuffer(string: ReportPage.html(report))))
            }
        }
        router.get("/transparency/checkpoints/") { request, context in
            await taxii.respond(request, context, accepting: { _ in true }) { _ in
                try json(await node.checkpointsDocument())
            }
        }
        router.get("/transparency/checkpoints/witnessed") { request, context in
            await taxii.respond(request, context, accepting: { _ in true }) { _ in
                try json(await node.witnessedDocument())
            }
        }
        router.get("/transparency/report.json") { request, context in
            await respond(request, context) { report in
                Response(status: .ok, headers: [.contentType: "application/json"],
                         body: ResponseBody(byteBuffer: ByteBuffer(string: report.json.serialized())))
            }
        }
    }

    func json(_ value: JSONValue) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized())))
    }

    func respond(_ request: Request, _ context: MeridianRequestContext, _ body: @escaping (TransparencyReport) -> Response) async -> Response {
        await taxii.respond(request, context, accepting: { _ in true }) { _ in
            guard node.configuration.transparencyEnabled else {
                throw TAXIIError(status: 404, title: "Not Found", description: "this node publishes no transparency report")
            }
            return body(try await cache.report(node))
        }
    }
}
