import Foundation
import Hummingbird
import MeridianServer
import STIX
import Storage

/// ATT&CK and DISARM as matrices: the tactics of an `x-mitre-matrix` as columns, each technique (an `attack-pattern`
/// of the matrix's collection in one of the tactic's phases) as a cell shaded by how many objects the user may read
/// refer to it (``MeridianNode/referenceCounts(to:for:)``).
extension WebUI {
    /// The matrices the user may read, in every collection.
    func matrices(_ session: Session) async throws -> Response {
        var rows: [[String: Any]] = []
        for collection in node.readableCollections(for: session.principal) {
            let page = try await node.read(collection, query: ObjectQuery(types: ["x-mitre-matrix"]), limit: 100, withBytes: true,
                                           for: session.principal, endpoint: "ui matrix")
            for (i, version) in page.versions.enumerated() {
                let object = (try? JSONParser().parse(page.bytes(at: i)))?.objectValue ?? JSONObject()
                rows.append(["id": version.id, "name": Self.displayName(object, id: version.id), "collection": collection.title,
                             "tactics": object["tactic_refs"]?.arrayValue?.count ?? 0])
            }
        }
        return html(render("matrices", ["matrices": rows, "hasMatrices": !rows.isEmpty], title: "Matrices", session: session))
    }

    /// Every version of `type` in `collection` the user may read (the newest of each object), parsed.
    func objects(of type: String, in collection: NodeConfiguration.Collection, _ session: Session) async throws -> [JSONObject] {
        var out: [JSONObject] = []
        let parser = JSONParser()
        try await node.forEachPage(of: collection, query: ObjectQuery(types: [type]), withBytes: true, for: session.principal,
                                   endpoint: "ui matrix") { page in
            for i in page.versions.indices {
                if let object = (try? parser.parse(page.bytes(at: i)))?.objectValue { out.append(object) }
            }
        }
        return out
    }

    func matrix(_ id: String, _ session: Session) async throws -> Response {
        guard id.hasPrefix("x-mitre-matrix--"), let newest = try await node.versions(of: id, for: session.principal).last,
              let matrix = (try? JSONParser().parse(newest.bytes))?.objectValue
        else { throw PageError.notFound }
        let collection = newest.collection
        let live: (JSONObject) -> Bool = { $0["revoked"]?.boolValue != true && $0["x_mitre_deprecated"]?.boolValue != true }
        let tactics = Dictionary(try await objects(of: "x-mitre-tactic", in: collection, session).filter(live).compactMap { t in
            t["id"]?.stringValue.map { ($0, t) }
        }, uniquingKeysWith: { a, _ in a })
        let techniques = try await objects(of: "attack-pattern", in: collection, session)
            .filter { live($0) && $0["x_mitre_is_subtechnique"]?.boolValue != true }
        let counts = try await node.referenceCounts(to: Set(techniques.compactMap { $0["id"]?.stringValue }), for: session.principal)
        var columns: [[String: Any]] = []
        for ref in matrix["tactic_refs"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
            guard let tactic = tactics[ref], let phase = tactic["x_mitre_shortname"]?.stringValue else { continue }
            let cells: [[String: Any]] = techniques.filter { technique in
                technique["kill_chain_phases"]?.arrayValue?.contains { $0["phase_name"]?.stringValue == phase } ?? false
            }.map { technique in
                let id = technique["id"]?.stringValue ?? ""
                let external = technique["external_references"]?.arrayValue?.first { $0["external_id"] != nil }?["external_id"]?.stringValue
                let count = counts[id] ?? 0
                return ["id": id, "name": technique["name"]?.stringValue ?? id, "external": external ?? "", "count": count,
                        "shade": Self.shade(count)]
            }.sorted { ($0["name"] as! String) < ($1["name"] as! String) }
            columns.append(["name": tactic["name"]?.stringValue ?? phase, "cells": cells, "techniques": cells.count])
        }
        let name = Self.displayName(matrix, id: id)
        return html(render("matrix", ["name": name, "collection": collection.title, "columns": columns], title: name, session: session))
    }

    /// The shade of a cell: 0 for none, then 1 to 4 for 1, 2 to 4, 5 to 19, 20 or more referring objects.
    static func shade(_ count: Int) -> Int {
        switch count {
        case 0: return 0
        case 1: return 1
        case 2..<5: return 2
        case 5..<20: return 3
        default: return 4
        }
    }
}
