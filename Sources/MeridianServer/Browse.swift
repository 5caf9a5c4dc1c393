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
    /// (that version itself, not another version of the object), newest first, at most `limit` objects. At most
    /// `candidates` matching versions are considered, newest first.
    public func search(_ text: SearchText, for principal: Principal, limit: Int = 50, candidates: Int = 500) async throws -> [VisibleVersion] {
        let collections = readableCollections(for: principal)
        let found = try await store.search(text, in: collections.map { $0.id.lowercased() }, limit: candidates)
        let newest = Self.newestPerObject(try await visible(found, in: collections, for: principal, endpoint: "ui search"), limit: candidates)
        // Ranked by what each result itself says (so nothing hidden weighs on the order): an object whose external id
        // or name is what was typed first, then those whose name holds every word, then the rest, newest first.
        let ranked = newest.enumerated().map { (i, v) in (rank: Self.rank(.object(summary(of: v)), text), order: i, version: v) }
        return Array(ranked.sorted { ($0.rank, $0.order) < ($1.rank, $1.order) }.prefix(limit).map(\.version))
    }

    /// 0: the typed text is the object's external id or name; 1: its name holds every word; 2: anything else.
    static func rank(_ object: JSONValue?, _ text: SearchText) -> Int {
        let typed = text.words.joined(separator: " ").lowercased()
        let name = object?["name"]?.stringValue?.lowercased() ?? ""
        let ids = object?["external_references"]?.arrayValue?.compactMap { $0["external_id"]?.stringValue?.lowercased() } ?? []
        if name == typed || ids.contains(typed) { return 0 }
        if !name.isEmpty, text.words.allSatisfy({ name.contains($0.lowercased()) }) { return 1 }
        return 2
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
        let visible = Set(try await self.visible(found.map(\.location), in: collections, for: principal, endpoint: "ui matrix",
                                                 withBytes: false).map { Placed(collection: $0.collection.id.lowercased(), dateAdded: $0.version.dateAdded) })
        var referrers: [String: Set<String>] = [:]
        for (location, ref) in found where visible.contains(Placed(collection: location.collection, dateAdded: location.dateAdded)) {
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
        try await visible(versions.map { VersionLocation(collection: collection.id.lowercased(), version: $0) }, in: [collection],
                          for: principal, endpoint: endpoint)
    }

    /// The name (else the value, else nil) of the newest version of each of `ids` that `principal` may read, in any
    /// collection it may read; an id it may not read is absent.
    public func latestNames(of ids: Set<String>, for principal: Principal) async throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        var newest: [String: (version: String, String)] = [:]
        for collection in readableCollections(for: principal) {
            // Every visible version in one query (most objects have one or two), the newest kept: cheaper than asking
            // for each id's last visible version on its own.
            try await forEachPage(of: collection, query: ObjectQuery(ids: ids, versions: .all), withBytes: true, for: principal,
                                  endpoint: "ui object") { page in
                for (i, version) in page.versions.enumerated() where (newest[version.id]?.version ?? "") <= (version.version ?? "") {
                    let object = summary(of: VisibleVersion(collection: collection, version: version, bytes: page.bytes(at: i)))
                    let name = object["name"]?.stringValue ?? object["value"]?.stringValue ?? version.id
                    newest[version.id] = (version.version ?? "", name)
                }
            }
        }
        return newest.mapValues(\.1)
    }

    /// Where a version is stored: its collection and `date_added`, which name it alone.
    struct Placed: Hashable {
        let collection: String
        let dateAdded: Int64
    }

    /// The versions at `locations` that `principal` may read, each read through the gate by where it is stored.
    func visible(_ locations: [VersionLocation], in collections: [NodeConfiguration.Collection], for principal: Principal,
                 endpoint: String, withBytes: Bool = true) async throws -> [VisibleVersion] {
        var out: [VisibleVersion] = []
        for (key, found) in Dictionary(grouping: locations, by: \.collection) {
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

    func summary(of version: MeridianNode.VisibleVersion) -> JSONObject {
        let key = VersionKey(collection: version.collection.id, dateAdded: version.version.dateAdded)
        if let known = entries.withLock({ $0[key] }) { return known }
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
