import Foundation
import Logging
import Policy
import STIX
import Storage
import Synchronization

/// Reads for people rather than TAXII clients (the web pages): search, an object's versions across collections, the
/// objects that refer to one. Each goes through ``MeridianNode/read(_:query:limit:withBytes:for:endpoint:audited:)``,
/// so every version shown was decided by the sharing policy for the reader and recorded in the audit log; what the
/// indexes found but the reader may not see is dropped before anything is ranked, counted or returned.
extension MeridianNode {
    /// A version the reader may see, with the collection it was read from and its stored JSON.
    public struct VisibleVersion: Sendable {
        public let collection: NodeConfiguration.Collection
        public let version: StoredVersion
        public let bytes: [UInt8]

        public init(collection: NodeConfiguration.Collection, version: StoredVersion, bytes: [UInt8]) {
            self.collection = collection
            self.version = version
            self.bytes = bytes
        }
    }

    /// Indexes every stored version not yet indexed for search and references (written by this process or another),
    /// in short transactions; returns how many versions were indexed.
    @discardableResult
    public func indexForSearch() async throws -> Int {
        var total = 0
        while case let n = try await store.indexForSearch(), n > 0 { total += n }
        return total
    }

    /// Keeps the search index caught up while the node serves: new versions are searchable within about a second
    /// of being stored, whichever process stored them. While catching up it rests between batches at least as long as
    /// SQLite's busy handler waits between its tries (100 ms), so that another process's write (an import, `policy
    /// explain`, `token revoke`) gets the database within its busy timeout instead of losing every race to the next
    /// batch.
    public func runSearchIndexer(logger: Logger) async {
        while !Task.isCancelled {
            var rest = Duration.milliseconds(500)
            do {
                let started = ContinuousClock.now
                if try await store.indexForSearch() > 0 {
                    rest = max(.milliseconds(100), ContinuousClock.now - started)
                }
            } catch is CancellationError {
                return
            } catch {
                logger.error("search index not updated; will retry: \(String(describing: type(of: error)))")
            }
            try? await Task.sleep(for: rest)
        }
    }

    /// The collections `principal` may read, in configuration order.
    public func readableCollections(for principal: Principal) -> [NodeConfiguration.Collection] {
        (configuration.collections ?? []).filter { access(principal, to: $0).canRead }
    }

    /// The newest version of each object whose searched text holds every word of `text` and that `principal` may read
    /// (that version itself, not another version of the object), best first, at most `limit` objects. The candidates
    /// are at most `named` matching versions whose name or external id holds the words, however old, and the
    /// `candidates` most recent matching versions.
    public func search(_ text: SearchText, for principal: Principal, limit: Int = 50, named: Int = 100, candidates: Int = 200) async throws
        -> [VisibleVersion]
    {
        let collections = readableCollections(for: principal)
        let found = try await store.search(text, in: collections.map { $0.id.lowercased() }, named: named, limit: candidates)
        let newest = Self.newestPerObject(try await visible(found, in: collections, for: principal, endpoint: "ui search"),
                                          limit: named + candidates)
        // Ranked by what each result itself says (so nothing hidden weighs on the order): an object whose external id
        // or name is what was typed first, then those whose name holds every word, then the rest, newest first.
        let ranking = Ranking(text)
        let ranked = newest.enumerated().map { (i, v) in (rank: ranking.rank(summary(of: v)), order: i, version: v) }
        return Array(ranked.sorted { ($0.rank, $0.order) < ($1.rank, $1.order) }.prefix(limit).map(\.version))
    }

    /// How well a result answers what was typed, from the result's own name and external ids (the words lowercased
    /// once per search, compared as UTF-8).
    struct Ranking {
        let typed: [UInt8]
        let words: [[UInt8]]

        init(_ text: SearchText) {
            typed = Array(text.words.joined(separator: " ").lowercased().utf8)
            words = text.words.map { Array($0.lowercased().utf8) }
        }

        /// 0: the typed text is the object's external id or name; 1: its name holds every word; 2: anything else.
        func rank(_ object: JSONObject) -> Int {
            let name = Array((object["name"]?.stringValue ?? "").lowercased().utf8)
            if name == typed { return 0 }
            for reference in object["external_references"]?.arrayValue ?? [] {
                if let id = reference["external_id"]?.stringValue, Array(id.lowercased().utf8) == typed { return 0 }
            }
            if !name.isEmpty, words.allSatisfy({ Self.contains(name, $0) }) { return 1 }
            return 2
        }

        static func contains(_ text: [UInt8], _ part: [UInt8]) -> Bool {
            guard !part.isEmpty else { return true }
            guard part.count <= text.count else { return false }
            for start in 0...(text.count - part.count) where text[start] == part[0] {
                if text[start..<start + part.count].elementsEqual(part) { return true }
            }
            return false
        }
    }

    /// The newest version of each object that refers to `id` (a relationship or sighting end, an object of a report,
    /// note or opinion) that `principal` may read, newest first, at most `limit` objects.
    public func referring(to id: String, for principal: Principal, limit: Int = 200) async throws -> [VisibleVersion] {
        let collections = readableCollections(for: principal)
        let found = try await store.referring(to: id, in: collections.map { $0.id.lowercased() }, limit: limit * 4)
        return Self.newestPerObject(try await visible(found, in: collections, for: principal, endpoint: "ui object"), limit: limit)
    }

    /// For each of `ids`, how many objects that `principal` may read refer to it (relationships, sightings, reports,
    /// notes, opinions, groupings, observed data): an object counts when a version of it the reader may see refers.
    public func referenceCounts(to ids: Set<String>, for principal: Principal) async throws -> [String: Int] {
        let collections = readableCollections(for: principal)
        let found = try await store.referring(toAny: ids, in: collections.map { $0.id.lowercased() })
        let visible = Set(try await self.visible(found.map(\.location.place), in: collections, for: principal, endpoint: "ui matrix",
                                                 withBytes: false).map { StoredPlace(collection: $0.collection.id.lowercased(), dateAdded: $0.version.dateAdded) })
        var referrers: [String: Set<String>] = [:]
        for (location, ref) in found where visible.contains(location.place) {
            referrers[ref, default: []].insert(location.id)
        }
        return referrers.mapValues(\.count)
    }

    /// Every version of `id` that `principal` may read, in every collection it may read, oldest first.
    public func versions(of id: String, for principal: Principal, limit: Int = 1000) async throws -> [VisibleVersion] {
        var out: [VisibleVersion] = []
        for collection in readableCollections(for: principal) {
            let page = try await read(collection, query: ObjectQuery(ids: [id], versions: .all), limit: limit, withBytes: true,
                                      for: principal, endpoint: "ui object")
            for (i, version) in page.versions.enumerated() {
                out.append(VisibleVersion(collection: collection, version: version, bytes: page.bytes(at: i)))
            }
        }
        return out.sorted { ($0.version.version ?? "", $0.version.dateAdded) < ($1.version.version ?? "", $1.version.dateAdded) }
    }

    /// `versions` (returned by a read of `collection` without bytes) again with their bytes, as far as `principal`
    /// may still read them.
    public func visible(_ versions: [StoredVersion], in collection: NodeConfiguration.Collection, for principal: Principal,
                        endpoint: String) async throws -> [VisibleVersion] {
        try await visible(versions.map { StoredPlace(collection: collection.id.lowercased(), dateAdded: $0.dateAdded) }, in: [collection],
                          for: principal, endpoint: endpoint)
    }

    /// The name (else the value, else nil) of the newest version of each of `ids` that `principal` may read, in any
    /// collection it may read; an id it may not read is absent.
    public func latestNames(of ids: Set<String>, for principal: Principal) async throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        var newest: [String: (version: String, VisibleVersion)] = [:]
        for collection in readableCollections(for: principal) {
            // Every visible version in one query (most objects have one or two), the newest kept, without their
            // bodies: names come from summaries already made, and only the versions without one are read whole.
            try await forEachPage(of: collection, query: ObjectQuery(ids: ids, versions: .all), withBytes: false, for: principal,
                                  endpoint: "ui object") { page in
                for version in page.versions where (newest[version.id]?.version ?? "") <= (version.version ?? "") {
                    newest[version.id] = (version.version ?? "", VisibleVersion(collection: collection, version: version, bytes: []))
                }
            }
        }
        var names: [String: String] = [:], unnamed: [VisibleVersion] = []
        func name(_ object: JSONObject, _ id: String) -> String { object["name"]?.stringValue ?? object["value"]?.stringValue ?? id }
        for (id, (_, version)) in newest {
            if let summary = summaries.cached(version) { names[id] = name(summary, id) } else { unnamed.append(version) }
        }
        for versions in Dictionary(grouping: unnamed, by: { $0.collection.id }).values {
            for version in try await visible(versions.map(\.version), in: versions[0].collection, for: principal, endpoint: "ui object") {
                names[version.version.id] = name(summary(of: version), version.version.id)
            }
        }
        return names
    }

    /// The versions at `places` that `principal` may read, each read through the gate by where it is stored.
    func visible(_ places: [StoredPlace], in collections: [NodeConfiguration.Collection], for principal: Principal,
                 endpoint: String, withBytes: Bool = true) async throws -> [VisibleVersion] {
        var out: [VisibleVersion] = []
        for (key, found) in Dictionary(grouping: places, by: \.collection) {
            guard let collection = collections.first(where: { $0.id.lowercased() == key }) else { continue }
            let wanted = Array(Set(found.map(\.dateAdded))).sorted()
            // Read by where they are stored (the collection's date_added), each decided by the policy as any read; in
            // slices, so a long list stays a bounded statement.
            for start in stride(from: 0, to: wanted.count, by: 500) {
                var query = ObjectQuery(versions: .all)
                query.addedAt = Set(wanted[start..<min(wanted.count, start + 500)])
                let page = try await read(collection, query: query, limit: query.addedAt!.count, withBytes: withBytes, for: principal,
                                          endpoint: endpoint)
                for (i, version) in page.versions.enumerated() {
                    out.append(VisibleVersion(collection: collection, version: version, bytes: withBytes ? page.bytes(at: i) : []))
                }
            }
        }
        return out
    }

    static func newestPerObject(_ versions: [VisibleVersion], limit: Int) -> [VisibleVersion] {
        var seen = Set<String>()
        return Array(versions.sorted { $0.version.dateAdded > $1.version.dateAdded }.filter { seen.insert($0.version.id).inserted }.prefix(limit))
    }
}

/// What pages show of a version without its whole body: its name and the other short top-level properties a row, a
/// ranking or a relationship needs (never descriptions), with its external references cut to their ids. Versions never
/// change once stored, so a summary made once stays true; it is only ever given for a version the gate has just let
/// through, so the cache decides nothing about who sees what.
final class SummaryCache: Sendable {
    static let keys: Set<String> = [
        "type", "id", "name", "value", "abstract", "path", "display_name", "number", "opinion", "relationship_type", "pattern",
        "source_ref", "target_ref", "sighting_of_ref", "created", "modified", "content", "explanation", "first_seen", "last_seen",
        "count", "object_marking_refs", "authors", "labels", "x_mitre_is_subtechnique", "revoked",
    ]
    /// Past this many summaries the cache starts over (about 25 MB at most).
    static let capacity = 50_000
    private let entries = Mutex<[VersionKey: JSONObject]>([:])

    struct VersionKey: Hashable {
        let collection: String
        let dateAdded: Int64
    }

    /// The summary of `version` if one was made already.
    func cached(_ version: MeridianNode.VisibleVersion) -> JSONObject? {
        entries.withLock { $0[VersionKey(collection: version.collection.id, dateAdded: version.version.dateAdded)] }
    }

    func summary(of version: MeridianNode.VisibleVersion) -> JSONObject {
        if let known = cached(version) { return known }
        let key = VersionKey(collection: version.collection.id, dateAdded: version.version.dateAdded)
        var summary = JSONObject()
        if case .object(let object)? = try? JSONParser().parse(version.bytes) {
            for member in object.members where Self.keys.contains(member.key) { summary[member.key] = member.value }
            if let references = object["external_references"]?.arrayValue {
                let ids = references.compactMap { $0["external_id"].map { JSONValue.object(JSONObject(["external_id": $0])) } }
                if !ids.isEmpty { summary["external_references"] = .array(ids) }
            }
        }
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = summary
        }
        return summary
    }
}

extension MeridianNode {
    /// The short properties of a version the reader was just given (``SummaryCache``): its name, value, markings,
    /// external ids, relationship ends and the like, without its description.
    public func summary(of version: VisibleVersion) -> JSONObject {
        summaries.summary(of: version)
    }
}
