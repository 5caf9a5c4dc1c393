import Foundation
import Hummingbird
import Logging
import MeridianServer
import NIOCore
import Policy
import STIX
import TAXII

/// The node's MISP surface. Every collection as a MISP feed, at `/misp/feeds/{api_root}/{collection}/`
/// (`manifest.json`, `hashes.csv`, `{event uuid}.json`), for a MISP instance to subscribe to with the node's
/// credentials (MISP sends them in an `Authorization` header): each reader's feed holds only what that reader may
/// read, and every read is audited. And `POST /admin/misp/import/`, MISP JSON imported by an admin.
public struct MISPRoutes: NodeSurface {
    let node: MeridianNode
    let taxii: TAXIIRoutes

    public init(node: MeridianNode) {
        self.node = node
        taxii = TAXIIRoutes(node: node)
    }

    public func register(on router: Router<MeridianRequestContext>) {
        // POST MISP JSON (an event, a list of events, a REST API response) with ?collection=<id or alias>: converted
        // and imported as `meridian misp import` does, by an admin; 200 with what was stored.
        router.post("/admin/misp/import/") { request, context in
            await taxii.respond(request, context, accepting: { _ in true }) { principal in
                if principal.isAnonymous { throw TAXIIError.unauthorized }
                guard principal.isAdmin else { throw TAXIIError.forbidden }
                guard let key = request.uri.queryParameters.get("collection"), let collection = node.collection(key) else {
                    throw TAXIIError.badRequest("name a collection of the node: ?collection=<id or alias>")
                }
                let body = try await taxii.body(of: request)
                let converted: (objects: [[UInt8]], events: Int)
                let stricter = request.uri.queryParameters.get("stricter") == "true"
                let options = try await MISPImport.options(for: node, stricter: stricter)
                do {
                    converted = try MISPImport.convert(document: Array(buffer: body), options: options)
                } catch {
                    throw TAXIIError.unprocessable("\(error)")
                }
                try await MISPImport.registerMarkings(converted.objects, on: node, by: principal)
                let summary = try await Importer(node: node, submittedBy: principal.org)
                    .run(objects: converted.objects, source: "POST /admin/misp/import/", collection: collection.id)
                context.logger.info("MISP JSON imported", metadata: [
                    "collection": .string(collection.id), "events": .stringConvertible(converted.events),
                    "stored": .stringConvertible(summary.stored),
                ])
                return taxii.json(.object(JSONObject([
                    "events": .number(JSONNumber(Int64(converted.events))), "objects": .number(JSONNumber(Int64(converted.objects.count))),
                    "stored": .number(JSONNumber(Int64(summary.stored))), "already_present": .number(JSONNumber(Int64(summary.duplicates))),
                    "rejected": .array(summary.rejected.map { .object(JSONObject(["id": .string($0.id), "reason": .string($0.reason)])) }),
                ])))
            }
        }
        router.get("/misp/feeds/:root/:collection/:file") { request, context in
            await taxii.respond(request, context, accepting: { _ in true }) { principal in
                let root = try context.parameters.require("root"), key = try context.parameters.require("collection")
                let file = try context.parameters.require("file")
                // Nothing tells an unknown collection from one the reader may not read.
                guard let collection = node.collection(key, in: root), node.access(principal, to: collection).canRead else {
                    if principal.isAnonymous { throw TAXIIError.unauthorized }
                    throw TAXIIError(status: 404, title: "Not Found", description: "no feed '\(key)' under '\(root)' that you may read")
                }
                // The file is named first, so that a bad name costs nothing.
                let wanted: String?
                switch file {
                case "manifest.json", "hashes.csv": wanted = nil
                case _ where file.hasSuffix(".json") && file.count == 41: wanted = String(file.dropLast(5)).lowercased()
                default: throw TAXIIError(status: 404, title: "Not Found", description: "a feed has manifest.json, hashes.csv and {event uuid}.json")
                }
                let feed = try await MISPFeed.build(node: node, collection: collection, for: principal)
                let bytes: [UInt8]
                switch file {
                case "manifest.json": bytes = feed.manifest
                case "hashes.csv": bytes = feed.hashes
                default:
                    guard let wanted, let event = feed.event(wanted) else {
                        throw TAXIIError(status: 404, title: "Not Found", description: "no event \(file.dropLast(5)) in this feed")
                    }
                    bytes = event
                }
                let type = file.hasSuffix(".csv") ? "text/csv; charset=utf-8" : "application/json"
                return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store"],
                                body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
            }
        }
    }
}
