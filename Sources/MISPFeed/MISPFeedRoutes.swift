import Foundation
import Hummingbird
import MeridianServer
import NIOCore
import Policy
import TAXII

/// Every collection as a MISP feed, at `/misp/feeds/{api_root}/{collection}/` (`manifest.json`, `hashes.csv`,
/// `{event uuid}.json`), for a MISP instance to subscribe to with the node's credentials (MISP sends them in an
/// `Authorization` header). Each reader's feed holds only what that reader may read; every read is audited.
public struct MISPFeedRoutes: NodeSurface {
    let node: MeridianNode
    let taxii: TAXIIRoutes

    public init(node: MeridianNode) {
        self.node = node
        taxii = TAXIIRoutes(node: node)
    }

    public func register(on router: Router<MeridianRequestContext>) {
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
