import Foundation
import Logging
import NIOCore
import PostgresNIO
import STIX
import Storage

/// One page of a collection read in one snapshot, as ``SQLiteObjectStore`` reads it: candidates in `date_added`
/// order, in batches until `limit` + 1 visible versions are found, so hidden versions neither count against the limit
/// nor reveal themselves through `more`; `first` and `last` are the first and last versions the caller may see.
struct PostgresPaging {
    let connection: PostgresConnection
    let logger: Logger
    let collection: String
    let withBytes: Bool
    let isVisible: @Sendable (StoredVersion) -> Bool

    static let columns = "date_added, id, type, spec_version, version_text, revoked, markings, granular_markings, markings_malformed, "
        + "submitted_by, received_from, version_us, is_first, is_last"

    /// A row as a page reads it.
    struct Row {
        let dateAdded: Int64
        let versionUS: Int64
        let isFirst: Bool
        let isLast: Bool
        let version: StoredVersion
        let body: ByteBuffer?

        init(_ row: PostgresRow, withBody: Bool) throws {
            var cells = row.makeIterator()
            func next<T: PostgresDecodable>(_: T.Type) throws -> T { try cells.next()!.decode(T.self) }
            dateAdded = try next(Int64.self)
            let id = try next(String.self)
            let type = try next(String.self)
            let spec = try next(String.self)
            let text = try next(String?.self)
            let revoked = try next(Bool.self)
            let markings = try next(String?.self)
            let granular = try next(String?.self)
            let malformed = try next(Bool.self)
            let submitter = try next(String?.self)
            let peer = try next(String?.self)
            versionUS = try next(Int64.self)
            isFirst = try next(Bool.self)
            isLast = try next(Bool.self)
            body = withBody ? try next(ByteBuffer.self) : nil
            version = StoredVersion(
                dateAdded: dateAdded, id: id, type: type, specVersion: spec, version: text, revoked: revoked,
                markings: MarkingRefs(objectRefs: SQLiteObjectStore.decode(markings), granularRefs: SQLiteObjectStore.decode(granular),
                                      malformed: malformed),
                provenance: Provenance(submittedBy: submitter, receivedFrom: peer))
        }
    }

    /// `SELECT columns FROM object_version WHERE <query's conditions><tail>`, `added_after` left to the caller's tail;
    /// `extra` binds the tail's values after the conditions' own.
    static func statement(collection: String, query: ObjectQuery, withBody: Bool = false, tail: String,
                          extra: [any PostgresThrowingDynamicTypeEncodable] = []) -> PostgresQuery {
        var binds = PostgresBindings()
        func bind(_ value: some PostgresThrowingDynamicTypeEncodable) -> String {
            try! binds.append(value)  // the values bound here (text, integers and their arrays) always encode
            return "$\(binds.count)"
        }
        var clauses = ["collection = \(bind(collection))"]
        if let ids = query.ids { clauses.append("id = ANY(\(bind(ids.sorted())))") }
        if let types = query.types { clauses.append("type = ANY(\(bind(types.sorted())))") }
        if let specs = query.specVersions { clauses.append("spec_version = ANY(\(bind(specs.sorted())))") }
        if let added = query.addedAt { clauses.append("date_added = ANY(\(bind(added.sorted())))") }
        if let markings = query.markings {
            // Stored lists are JSON arrays of ids: a quoted id matches that id, never another it is a prefix of.
            let tests = markings.sorted().map { m in
                let quoted = bind("\"\(m)\"")
                return "strpos(markings, \(quoted)) > 0 OR strpos(granular_markings, \(quoted)) > 0"
            }
            clauses.append("(" + (tests.isEmpty ? "false" : tests.joined(separator: " OR ")) + ")")
        }
        switch query.versions {
        case .last: clauses.append("is_last")
        case .first: clauses.append("is_first")
        case .all: break
        case .some(let timestamps, let first, let last):
            var alternatives: [String] = []
            if !timestamps.isEmpty { alternatives.append("version_us = ANY(\(bind(timestamps.sorted())))") }
            if first { alternatives.append("is_first") }
            if last { alternatives.append("is_last") }
            clauses.append("(" + (alternatives.isEmpty ? "false" : alternatives.joined(separator: " OR ")) + ")")
        }
        // Each `$?` of the tail takes the next of `extra`.
        var parts = tail.components(separatedBy: "$?")
        precondition(parts.count == extra.count + 1, "one value per $? of the tail")
        var sqlTail = parts.removeFirst()
        for (value, part) in zip(extra, parts) { sqlTail += bind(value) + part }
        let sql = "SELECT \(columns)\(withBody ? ", body" : "") FROM object_version WHERE " + clauses.joined(separator: " AND ") + sqlTail
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    func rows(_ query: PostgresQuery, withBody: Bool = false) async throws -> [Row] {
        var out: [Row] = []
        for try await row in try await connection.query(query, logger: logger) { out.append(try Row(row, withBody: withBody)) }
        return out
    }

    func page(_ query: ObjectQuery, limit: Int) async throws -> ObjectPage {
        let (wantFirst, wantLast, exact): (Bool, Bool, Set<Int64>) = switch query.versions {
        case .first: (true, false, [])
        case .last: (false, true, [])
        case .all: (false, false, [])
        case .some(let timestamps, let first, let last): (first, last, timestamps)
        }
        var candidates = query
        if wantFirst || wantLast { candidates.versions = .all }
        if wantFirst || wantLast, let ids = query.ids {
            return try await selectedVersions(ids: ids, query: candidates, first: wantFirst, last: wantLast, exact: exact, limit: limit)
        }
        var found: [StoredVersion] = []
        var page = PageBytes()
        var after = query.addedAfter ?? Int64.min
        // The rows of a batch all cross the network: the first asks for just enough when everything is visible,
        // and each further one (hidden versions were skipped) for four times as many, up to 2,000.
        var batch = min(limit + 1, 2000)
        var ends: [String: (first: Int64?, last: Int64?)] = [:]
        func visibleEnd(_ id: String, ascending: Bool) async throws -> Int64? {
            let statement = Self.statement(collection: collection, query: ObjectQuery(ids: [id], versions: .all),
                                           tail: " ORDER BY version_us \(ascending ? "ASC" : "DESC")")
            for try await row in try await connection.query(statement, logger: logger) {
                let r = try Row(row, withBody: false)
                if isVisible(r.version) { return r.versionUS }
            }
            return nil
        }
        func isCallersEnd(_ id: String, _ versionUS: Int64) async throws -> Bool {
            var known = ends[id]
            if known == nil {
                known = (wantFirst ? try await visibleEnd(id, ascending: true) : nil, wantLast ? try await visibleEnd(id, ascending: false) : nil)
                ends[id] = known
            }
            return known?.first == versionUS || known?.last == versionUS
        }
        func noneVisible(_ id: String, older: Bool, than versionUS: Int64) async throws -> Bool {
            let statement = Self.statement(collection: collection, query: ObjectQuery(ids: [id], versions: .all),
                                           tail: " AND version_us \(older ? "<" : ">") $?", extra: [versionUS])
            for row in try await rows(statement) where isVisible(row.version) { return false }
            return true
        }
        while found.count <= limit {
            let statement = Self.statement(collection: collection, query: candidates, withBody: withBytes,
                                           tail: " AND date_added > $? ORDER BY date_added LIMIT $?", extra: [after, Int64(batch)])
            let batchRows = try await rows(statement, withBody: withBytes)
            for row in batchRows {
                after = row.dateAdded
                if (wantFirst || wantLast) && exact.isEmpty && !((wantFirst && row.isFirst) || (wantLast && row.isLast)) {
                    guard try await isCallersEnd(row.version.id, row.versionUS) else { continue }
                }
                guard isVisible(row.version) else { continue }
                if (wantFirst || wantLast) && !exact.isEmpty {
                    var selected = exact.contains(row.versionUS)
                    if !selected && wantFirst {
                        selected = row.isFirst
                        if !selected { selected = try await noneVisible(row.version.id, older: true, than: row.versionUS) }
                    }
                    if !selected && wantLast {
                        selected = row.isLast
                        if !selected { selected = try await noneVisible(row.version.id, older: false, than: row.versionUS) }
                    }
                    guard selected else { continue }
                }
                found.append(row.version)
                if found.count > limit { break }
                if let body = row.body { page.append(body) }
            }
            if batchRows.count < batch { break }
            batch = min(batch * 4, 2000)
        }
        let more = found.count > limit
        if more { found.removeLast() }
        return ObjectPage(versions: found, more: more, objects: page.objects, ranges: page.ranges,
                          markingGeneration: try await markingGeneration())
    }

    /// A page of the first and/or last versions the caller may see of the objects `ids` (and the `exact` versions),
    /// each object's versions read from its oldest or newest end until a visible one is found.
    func selectedVersions(ids: Set<String>, query: ObjectQuery, first: Bool, last: Bool, exact: Set<Int64>, limit: Int) async throws
        -> ObjectPage
    {
        var selected = Set<Int64>()
        for id in ids.sorted() {
            var one = query
            one.ids = [id]
            one.addedAfter = nil
            var orders: [String] = []
            if first { orders.append("ASC") }
            if last { orders.append("DESC") }
            for order in orders {
                let statement = Self.statement(collection: collection, query: one, tail: " ORDER BY version_us \(order)")
                for try await row in try await connection.query(statement, logger: logger) {
                    let r = try Row(row, withBody: false)
                    if isVisible(r.version) {
                        selected.insert(r.dateAdded)
                        break
                    }
                }
            }
            if !exact.isEmpty {
                var some = one
                some.versions = .some(timestamps: exact, first: false, last: false)
                for row in try await rows(Self.statement(collection: collection, query: some, tail: "")) where isVisible(row.version) {
                    selected.insert(row.dateAdded)
                }
            }
        }
        let after = query.addedAfter ?? Int64.min
        let ordered = selected.filter { $0 > after }.sorted()
        let more = ordered.count > limit
        let chosen = Array(ordered.prefix(limit))
        var chosenQuery = ObjectQuery(versions: .all)
        chosenQuery.addedAt = Set(chosen)
        var page = PageBytes()
        var found: [StoredVersion] = []
        if !chosen.isEmpty {
            for row in try await rows(Self.statement(collection: collection, query: chosenQuery, withBody: withBytes, tail: " ORDER BY date_added"),
                                      withBody: withBytes) {
                found.append(row.version)
                if let body = row.body { page.append(body) }
            }
        }
        return ObjectPage(versions: found, more: more, objects: page.objects, ranges: page.ranges,
                          markingGeneration: try await markingGeneration())
    }

    func markingGeneration() async throws -> Int64 { try await Self.markingGeneration(connection, logger: logger) }

    /// The generation of the known marking-definitions, bumped by a trigger on every change.
    static func markingGeneration(_ connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        var value: Int64 = 0
        for try await v in try await connection.query("SELECT value FROM marking_generation WHERE one = 1", logger: logger).decode(Int64.self) {
            value = v
        }
        return value
    }

    /// The bytes of a page's versions, joined by commas, and where each lies.
    struct PageBytes {
        var objects = ByteBuffer()
        var ranges: [Range<Int>] = []

        mutating func append(_ body: ByteBuffer) {
            if !ranges.isEmpty { objects.writeInteger(UInt8(ascii: ",")) }
            let start = objects.readableBytes
            var body = body
            objects.writeBuffer(&body)
            ranges.append(start ..< objects.readableBytes)
        }
    }
}
