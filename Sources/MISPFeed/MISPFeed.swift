import Crypto
import Foundation
import MeridianServer
import MISP
import STIX
import Storage

/// A collection as a MISP feed for one reader: the events (``STIXToMISP``) of what the reader may see, read through
/// the node's gate, with the feed's `manifest.json` and `hashes.csv`.
public struct MISPFeed: Sendable {
    /// `{"Event": {...}}` by event uuid.
    public let events: [String: JSONObject]
    /// Event uuids in order.
    public let order: [String]

    /// Reads what `principal` may read of `collection` (the last version of each object) and makes its events.
    public static func build(node: MeridianNode, collection: NodeConfiguration.Collection, for principal: Principal,
                             endpoint: String = "misp feed") async throws -> MISPFeed {
        var items: [STIXToMISP.Item] = []
        let parser = JSONParser(limits: JSONLimits(maxDepth: 256, maxStringBytes: 64 << 20))
        try await node.forEachPage(of: collection, query: ObjectQuery(), withBytes: true, for: principal, endpoint: endpoint) { page in
            for (i, version) in page.versions.enumerated() {
                guard let object = try? parser.parse(page.bytes(at: i)).objectValue else { continue }
                let submitter = version.provenance.submittedBy ?? version.provenance.receivedFrom ?? node.configuration.node.owner
                items.append(STIXToMISP.Item(object: object, submitter: submitter, dateAdded: version.dateAdded))
            }
        }
        let names = Dictionary(node.configuration.orgs.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let events = STIXToMISP(organisationName: { names[$0] ?? $0 }).events(items)
        var byUUID: [String: JSONObject] = [:]
        var order: [String] = []
        for e in events {
            guard let uuid = e["Event"]?["uuid"]?.stringValue else { continue }
            byUUID[uuid] = e
            order.append(uuid)
        }
        return MISPFeed(events: byUUID, order: order)
    }

    /// `manifest.json`: each event's uuid with what MISP shows before fetching it.
    public var manifest: [UInt8] {
        var manifest = JSONObject()
        for uuid in order {
            guard let e = events[uuid]?["Event"]?.objectValue else { continue }
            var entry = JSONObject()
            for key in ["Orgc", "Tag", "info", "date", "analysis", "threat_level_id", "timestamp"] {
                if let value = e[key] { entry[key] = value }
            }
            manifest[uuid] = .object(entry)
        }
        return JSONValue.object(manifest).serializedBytes()
    }

    /// `hashes.csv`: the MD5 of every attribute value (each part of a composite one) and its event's uuid, as MISP's
    /// feed generator writes it, for MISP's cache of feed values.
    public var hashes: [UInt8] {
        var out: [UInt8] = []
        for uuid in order {
            for a in events[uuid]?["Event"]?["Attribute"]?.arrayValue ?? [] {
                guard let value = a["value"]?.stringValue, let type = a["type"]?.stringValue else { continue }
                let parts = type.contains("|") ? value.split(separator: "|", omittingEmptySubsequences: false).map(String.init) : [value]
                for part in parts {
                    let digest = Insecure.MD5.hash(data: Array(part.utf8)).map { String(format: "%02x", $0) }.joined()
                    out.append(contentsOf: "\(digest),\(uuid)\n".utf8)
                }
            }
        }
        return out
    }

    /// An event file, `{"Event": {...}}`.
    public func event(_ uuid: String) -> [UInt8]? {
        events[uuid].map { JSONValue.object($0).serializedBytes() }
    }

    /// Writes the feed into `directory` (created if needed): `manifest.json`, `hashes.csv` and one file per event.
    public func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func put(_ name: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(name)))
        }
        for uuid in order { try put(uuid + ".json", event(uuid)!) }
        try put("hashes.csv", hashes)
        try put("manifest.json", manifest)
    }
}
