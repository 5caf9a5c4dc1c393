import Foundation
import Hummingbird
import MeridianServer
import Policy
import STIX
import Storage

/// The pages themselves. Each reads through the node's gate as the signed-in user (``MeridianNode/read``,
/// ``MeridianNode/search``, ``MeridianNode/versions(of:for:limit:)``, ``MeridianNode/referring(to:for:limit:)``).
extension WebUI {
    static let recentDays = 30
    /// At most this many versions per collection are counted on the home page.
    static let homeCap = 5000
    static let pageRows = 50
    /// The most objects referring to an object (relationships, sightings, notes, the rest) shown on its page.
    static let referringShown = 100

    // MARK: - Home

    func home(_ session: Session) async throws -> Response {
        let since = SQLiteObjectStore.now() - Int64(Self.recentDays) * 86_400_000_000
        var sections: [[String: Any]] = []
        var recent: [MeridianNode.VisibleVersion] = []
        for collection in node.readableCollections(for: session.principal) {
            var query = ObjectQuery(addedAfter: since, versions: .all)
            var kinds: [String: Int] = [:], partners: [String: Int] = [:], count = 0, capped = false
            var last: [(StoredVersion, NodeConfiguration.Collection)] = []
            while true {
                let page = try await node.read(collection, query: query, limit: 1000, withBytes: false, for: session.principal, endpoint: "ui home")
                for version in page.versions {
                    count += 1
                    kinds[version.type, default: 0] += 1
                    partners[orgName(version.provenance.submittedBy ?? version.provenance.receivedFrom) , default: 0] += 1
                }
                last = (last + page.versions.suffix(10).map { ($0, collection) }).suffix(10)
                guard page.more, let end = page.versions.last else { break }
                if count >= Self.homeCap { capped = true; break }
                query.addedAfter = end.dateAdded
            }
            recent += try await node.visible(last.map { $0.0 }, in: collection, for: session.principal, endpoint: "ui home")
            sections.append([
                "key": collection.alias ?? collection.id, "title": collection.title, "count": count, "capped": capped, "cap": Self.homeCap,
                "hasCounts": count > 0,
                "kinds": kinds.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ["name": $0.key, "count": $0.value] },
                "partners": partners.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ["name": $0.key.isEmpty ? "this node" : $0.key, "count": $0.value] },
            ])
        }
        let newest = Array(recent.sorted { $0.version.dateAdded > $1.version.dateAdded }.prefix(10))
        return html(render("home", ["days": Self.recentDays, "collections": sections, "recent": self.rows(newest, .none), "hasRecent": !newest.isEmpty],
                           title: "Home", session: session))
    }

    /// What a table of versions shows beside each name, kind and markings, before the time it was added.
    enum RowColumn {
        case none, from, collection
    }

    /// The rows of a table of versions (name as a link, kind, markings, `column`, time added), built here rather than
    /// by a template section: a page of results renders in a tenth of the time, and every value is escaped by ``HTML``.
    func rows(_ versions: [MeridianNode.VisibleVersion], _ column: RowColumn) -> String {
        var out = ""
        for v in versions {
            let object = node.summary(of: v)
            out += "<tr><td>" + HTML.objectLink(v.version.id, label: Self.displayName(object, id: v.version.id)) + "</td><td>"
                + HTML.escape(v.version.type) + "</td><td>"
                + HTML.markings(object["object_marking_refs"]?.arrayValue?.compactMap(\.stringValue) ?? []) + "</td>"
            switch column {
            case .none: break
            case .from: out += "<td>" + HTML.escape(orgName(v.version.provenance.submittedBy ?? v.version.provenance.receivedFrom)) + "</td>"
            case .collection: out += "<td>" + HTML.escape(v.collection.title) + "</td>"
            }
            out += "<td>" + HTML.time(TAXIITimestamp.format(v.version.dateAdded)) + "</td></tr>"
        }
        return out
    }

    /// What an object is called on a page: its name, else its value (observables), else its type and id.
    static func displayName(_ object: JSONObject, id: String) -> String {
        for key in ["name", "value", "abstract", "path", "display_name", "number"] {
            if let text = object[key]?.stringValue, !text.isEmpty { return text }
        }
        if let text = object["opinion"]?.stringValue { return "Opinion: \(text)" }
        if let text = object["relationship_type"]?.stringValue { return "Relationship: \(text)" }
        if object["sighting_of_ref"] != nil { return "Sighting" + (object["count"].map { " (\($0.serialized()) times)" } ?? "") }
        if let pattern = object["pattern"]?.stringValue { return pattern }
        return id
    }

    // MARK: - Collections

    func collections(_ session: Session) throws -> Response {
        let rows: [[String: Any]] = node.readableCollections(for: session.principal).map { c in
            let access = node.access(session.principal, to: c)
            return ["key": c.alias ?? c.id, "title": c.title, "description": c.description ?? "", "root": c.api_root, "id": c.id,
                    "access": access.canWrite ? "read and write" : "read"]
        }
        return html(render("collections", ["collections": rows], title: "Collections", session: session))
    }

    func readable(_ key: String, _ session: Session) throws -> NodeConfiguration.Collection {
        guard let collection = node.collection(key), node.access(session.principal, to: collection).canRead else { throw PageError.notFound }
        return collection
    }

    /// A collection's objects (the last version of each the user may see), filtered by kind, TLP, partner and date,
    /// paged by the keyset cursor TAXII uses (`date_added` of the last version shown).
    func collection(_ key: String, query parameters: [String: String], _ session: Session) async throws -> Response {
        let collection = try readable(key, session)
        var query = ObjectQuery(versions: .last)
        let type = parameters["type"].flatMap { $0.isEmpty ? nil : $0 }
        if let type {
            guard type.count <= 250, type.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw PageError.badForm("Kind '\(type)' is not a STIX type name (letters, digits and hyphens).")
            }
            query.types = [type]
        }
        let tlp = try parameters["tlp"].flatMap { text -> TLP? in
            guard !text.isEmpty else { return nil }
            guard let level = TLP(rawValue: text) else { throw PageError.badForm("TLP '\(text)' is not one of clear, green, amber, amber+strict, red.") }
            return level
        }
        if let tlp {
            query.markings = Set((TLP.v2IDs.merging(TLP.v1IDs) { a, _ in a }).filter { $0.value == tlp }.keys)
        }
        let partner = parameters["partner"].flatMap { $0.isEmpty ? nil : $0 }
        if let partner, !node.configuration.orgs.contains(where: { $0.id == partner }) {
            throw PageError.badForm("Partner '\(partner)' is not an org of this partnership.")
        }
        let since = parameters["since"].flatMap { $0.isEmpty ? nil : $0 }
        if let since {
            guard let t = Timestamp(since + "T00:00:00Z") else { throw PageError.badForm("Added since '\(since)' is not a date (YYYY-MM-DD).") }
            query.addedAfter = t.seconds * 1_000_000 - 1
        }
        if let after = parameters["after"], !after.isEmpty {
            guard let cursor = Int64(after) else { throw PageError.badForm("The page cursor 'after' must be a number.") }
            query.addedAfter = max(query.addedAfter ?? .min, cursor)
        }
        // Reads pages until the table is full, dropping versions from other partners when one is chosen (at most
        // 20 pages scanned per request; the next link continues from the last version scanned).
        var rows: [MeridianNode.VisibleVersion] = []
        var cursor: Int64? = nil, more = false, scanned = 0
        repeat {
            let page = try await node.read(collection, query: query, limit: 200, withBytes: true, for: session.principal, endpoint: "ui collection")
            scanned += 1
            more = page.more
            for (i, version) in page.versions.enumerated() {
                cursor = version.dateAdded
                if let partner, (version.provenance.submittedBy ?? version.provenance.receivedFrom) != partner { continue }
                rows.append(MeridianNode.VisibleVersion(collection: collection, version: version, bytes: page.bytes(at: i)))
                if rows.count == Self.pageRows {
                    more = more || i < page.versions.count - 1
                    break
                }
            }
            guard let cursor, more, rows.count < Self.pageRows, scanned < 20 else { break }
            query.addedAfter = cursor
        } while true
        var next: String? = nil
        if more, let cursor {
            var items = parameters.filter { $0.key != "after" && !$0.value.isEmpty }.map { ($0.key, $0.value) }
            items.append(("after", String(cursor)))
            next = "/ui/collections/\(Self.percentEncoded(collection.alias ?? collection.id))/?" + items.sorted { $0.0 < $1.0 }
                .map { "\($0.0)=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
        }
        let tlps = TLP.allCases.map { ["name": $0.rawValue, "label": "TLP:" + $0.rawValue.uppercased(), "selected": $0 == tlp] as [String: Any] }
        let types = Self.commonTypes.union(type.map { [$0] } ?? []).sorted().map { ["name": $0, "selected": $0 == type] as [String: Any] }
        let partners = node.configuration.orgs.map { ["id": $0.id, "name": $0.name, "selected": $0.id == partner] as [String: Any] }
        return html(render("collection", [
            "key": collection.alias ?? collection.id, "title": collection.title, "description": collection.description ?? "",
            "types": types, "tlps": tlps, "partners": partners, "since": since ?? "", "rows": self.rows(rows, .from), "hasRows": !rows.isEmpty,
        ].merging(next.map { ["next": $0] } ?? [:]) { a, _ in a }, title: collection.title, session: session))
    }

    static let commonTypes: Set<String> = [
        "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator", "infrastructure",
        "intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data", "opinion", "report",
        "threat-actor", "tool", "vulnerability", "relationship", "sighting", "marking-definition", "domain-name", "ipv4-addr",
        "ipv6-addr", "url", "file", "email-addr",
    ]

    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    // MARK: - Search

    func search(_ parameters: [String: String], _ session: Session) async throws -> Response {
        let text = parameters["q"] ?? ""
        guard text.utf8.count <= 1000 else { throw PageError.badForm("The search is longer than 1,000 characters.") }
        var values: [String: Any] = ["query": text]
        if let words = SearchText(text) {
            let results = try await node.search(words, for: session.principal)
            values["results"] = rows(results, .collection)
            values["hasResults"] = !results.isEmpty
            values["count"] = results.count
            if results.isEmpty { values["message"] = "Nothing you may read matches every word of “\(text)”." }
        } else if !text.isEmpty {
            values["message"] = "Type a word, a name, an id such as T1059, or a value such as an address or a hash."
        }
        return html(render("search", values, title: text.isEmpty ? "Search" : "Search: \(text)", session: session, query: text))
    }

    // MARK: - Object

    func object(_ id: String, query parameters: [String: String], _ session: Session) async throws -> Response {
        guard Identifier(id) != nil else { throw PageError.notFound }
        let versions = try await node.versions(of: id, for: session.principal)
        // A hidden object and one that does not exist get the same page.
        guard let newest = versions.last else { throw PageError.notFound }
        var shown = newest
        if let wanted = parameters["version"], !wanted.isEmpty {
            guard let added = Int64(wanted), let match = versions.first(where: { $0.version.dateAdded == added }) else { throw PageError.notFound }
            shown = match
        }
        guard let object = (try? JSONParser().parse(shown.bytes))?.objectValue else { throw PageError.internal }
        let headerKeys: Set<String> = ["type", "name", "object_marking_refs"]
        let properties = object.members.filter { !headerKeys.contains($0.key) }.map {
            ["label": HTML.label($0.key), "value": HTML.value($0.value, key: $0.key)]
        }
        var provenance: [String] = []
        if let submitted = shown.version.provenance.submittedBy { provenance.append("Submitted by \(orgName(submitted))") }
        if let received = shown.version.provenance.receivedFrom { provenance.append("Received from the peer node \(received)") }
        provenance.append("Added to \(shown.collection.title) on \(TAXIITimestamp.format(shown.version.dateAdded))")
        let versionRows: [[String: Any]] = versions.map { v in
            ["id": id, "added": v.version.dateAdded, "label": v.version.version.map { "Version of \($0)" } ?? "Added \(TAXIITimestamp.format(v.version.dateAdded))",
             "collection": v.collection.title, "current": v.version.dateAdded == shown.version.dateAdded && v.collection.id == shown.collection.id]
        }

        // What refers to it: relationships (with the other end named only when the user may read it), sightings, the rest.
        // The most recent objects that refer to it, at most `referringShown` (the page says when there are more).
        var referring = try await node.referring(to: id, for: session.principal, limit: Self.referringShown + 1)
        let moreReferring = referring.count > Self.referringShown
        referring = Array(referring.prefix(Self.referringShown))
        // Rows and items built here rather than by template sections (``rows(_:_:)``); the other end of a relationship
        // is named once the names of every end are read, in one pass through the gate.
        var relationships: [(outgoing: Bool, id: String, kind: String, other: String)] = []
        var sightings = "", mentions = ""
        var discussion: [[String: Any]] = []
        for v in referring {
            let o = node.summary(of: v)
            switch v.version.type {
            case "relationship":
                let outgoing = o["source_ref"]?.stringValue == id
                relationships.append((outgoing, v.version.id, o["relationship_type"]?.stringValue ?? "related-to",
                                      (outgoing ? o["target_ref"] : o["source_ref"])?.stringValue ?? ""))
            case "sighting":
                let count = o["count"].map { " (\($0.serialized()) times)" } ?? ""
                let label = "Sighted" + count + (o["last_seen"]?.stringValue.map { ", last seen \($0)" } ?? "")
                sightings += "<li>" + HTML.objectLink(v.version.id, label: label) + "</li>"
            case "note", "opinion":
                discussion.append([
                    "id": v.version.id, "kind": v.version.type == "note" ? "Note" : "Opinion (\(o["opinion"]?.stringValue ?? ""))",
                    "author": o["authors"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ", ") ?? orgName(v.version.provenance.submittedBy),
                    "when": HTML.time(o["created"]?.stringValue ?? ""), "abstract": o["abstract"]?.stringValue ?? "",
                    "text": o["content"]?.stringValue ?? o["explanation"]?.stringValue ?? "",
                    "markings": HTML.markings(o["object_marking_refs"]?.arrayValue?.compactMap(\.stringValue) ?? []),
                    "created": o["created"]?.stringValue ?? "",
                ])
            default:
                mentions += "<li>" + HTML.objectLink(v.version.id, label: Self.displayName(o, id: v.version.id)) + " <span class=\"muted\">"
                    + HTML.escape(v.version.type) + "</span></li>"
            }
        }
        let names = try await node.latestNames(of: Set(relationships.map(\.other)), for: session.principal)
        let relationshipRows = relationships.map { r in
            "<tr><td>" + (r.outgoing ? "out" : "in") + "</td><td>" + HTML.objectLink(r.id, label: r.kind) + "</td><td>"
                + (names[r.other].map { HTML.objectLink(r.other, label: $0) } ?? "<em>an object you may not see</em>") + "</td></tr>"
        }.joined()

        var explanation: [[String: Any]] = []
        if session.principal.isAdmin {
            for org in node.configuration.orgs {
                let decisions = try await node.explain(objectID: id, org: org.id)
                guard let decision = decisions.first(where: { $0.dateAdded == shown.version.dateAdded })?.decision else { continue }
                explanation.append(["org": "\(org.name) (\(org.id))", "allowed": decision.allowed ? "yes" : "no", "rule": decision.rule.rawValue])
            }
        }
        let name = Self.displayName(object, id: id)
        var values = try await sharingChoices(session, selected: ["collection": shown.collection.alias ?? shown.collection.id])
        values["csrf"] = session.csrf
        values["objectID"] = id
        values["discussion"] = discussion.sorted { ($0["created"] as! String) < ($1["created"] as! String) }
        return html(render("object", values.merging([
            "type": shown.version.type, "name": name, "revoked": shown.version.revoked,
            "markings": HTML.markings(object["object_marking_refs"]?.arrayValue?.compactMap(\.stringValue) ?? []),
            "properties": properties, "provenance": provenance, "versions": versionRows,
            "relationships": relationshipRows, "hasRelationships": !relationships.isEmpty,
            "sightings": sightings, "hasSightings": !sightings.isEmpty, "mentions": mentions, "hasMentions": !mentions.isEmpty,
            "explanation": explanation, "hasExplanation": !explanation.isEmpty,
            "moreReferring": moreReferring, "referringShown": Self.referringShown,
        ]) { _, new in new }, title: name, session: session))
    }
}
