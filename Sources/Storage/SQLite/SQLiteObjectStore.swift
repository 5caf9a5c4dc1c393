import Foundation
import GRDB
import NIOCore
import STIX

/// The embedded store: one SQLite file in WAL mode, through GRDB.
///
/// Each object version is one row holding its indexed fields and its original bytes. `date_added` is assigned here,
/// in the write transaction, as max(now, last + 1) microseconds, so it is unique and strictly increasing within a
/// collection however many objects arrive at once, and `added_after` paging never skips or repeats a version.
public final class SQLiteObjectStore: NodeStore {
    let pool: DatabasePool
    private let checkpointer: Checkpointer
    /// Where time comes from, in microseconds since 1970 (replaceable in tests).
    let clock: @Sendable () -> Int64

    /// Opens (creating if needed) the database at `path` and brings its schema up to date. A write waits at most
    /// `busyTimeout` seconds for another process's write to end.
    public init(path: String, busyTimeout: TimeInterval = 10, clock: @escaping @Sendable () -> Int64 = SQLiteObjectStore.now) throws {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")  // WAL: durable at checkpoints, consistent always
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // The search indexer's text function (ValueTokens).
            db.add(function: ValueTokens.function)
            // 16 KiB pages for a new database (a no-op on an existing one): most STIX objects then fit in their row
            // instead of spilling into overflow pages, and a bulk store writes half the pages and syscalls it would
            // with SQLite's default 4 KiB (docs/PERFORMANCE.md).
            try db.execute(sql: "PRAGMA page_size = 16384")
            // Checkpoints run in the background (Checkpointer); a commit checkpoints only past this size.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Checkpointer.fallbackPages)")
            // After a burst of writes, the emptied log file is cut back to this size.
            try db.execute(sql: "PRAGMA journal_size_limit = \(32 << 20)")
            if db.configuration.readonly {
                // Readers see the file through a shared mapping instead of copying each page they touch into their
                // own cache with a read(2): the pages of a busy web page or TAXII page are read in place.
                try db.execute(sql: "PRAGMA mmap_size = \(Self.readerMapBytes)")
            }
        }
        config.busyMode = .timeout(busyTimeout)
        pool = try DatabasePool(path: path, configuration: config)
        self.clock = clock
        try Migrations.migrator.migrate(pool)
        checkpointer = try Checkpointer(path: path)
    }

    /// How much of the database file each reader maps (SQLite reads the rest with read(2)).
    static let readerMapBytes = 1 << 30

    /// The current time in microseconds since 1970.
    @Sendable public static func now() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded(.down))
    }

    /// The database, for the other stores that share the file (accounts, audit).
    public var database: DatabasePool { pool }

    public func ensureCollection(_ id: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO collection (id, last_added) VALUES (?, 0)", arguments: [id])
        }
    }

    public func add(_ objects: [IncomingObject], to collection: String, provenance: Provenance, audit: AuditEntryMaker?) async throws
        -> [AddOutcome]
    {
        let now = clock()
        return try await pool.write { db in
            try SQLiteObjectStore.insert(objects, into: collection, provenance: provenance, now: now, audit: audit, db)
        }
    }

    public func addAll(
        to collection: String, provenance: Provenance, audit: AuditEntryMaker?,
        next: @escaping @Sendable () throws -> [IncomingObject]?
    ) async throws -> [[AddOutcome]] {
        let clock = self.clock
        return try await pool.write { db in
            var outcomes: [[AddOutcome]] = []
            while let batch = try next() {
                outcomes.append(try SQLiteObjectStore.insert(batch, into: collection, provenance: provenance, now: clock(), audit: audit, db))
            }
            return outcomes
        }
    }

    /// Inserts `objects` in the transaction `db` is in, in order, with the audit entry `audit` makes of them, and
    /// tells what became of each. A version already stored without a write entry (by a version of Meridian that
    /// wrote the entry after the commit, and was stopped in between) gets one now, listing it as written by this
    /// writer, so a re-run leaves nothing unaudited.
    private static func insert(
        _ objects: [IncomingObject], into collection: String, provenance: Provenance, now: Int64, audit: AuditEntryMaker?,
        _ db: Database
    ) throws -> [AddOutcome] {
        guard var last = try Int64.fetchOne(db, sql: "SELECT last_added FROM collection WHERE id = ?", arguments: [collection]) else {
            throw StorageError("no collection \(collection)")
        }
        var outcomes: [AddOutcome] = []
        outcomes.reserveCapacity(objects.count)
        let insert = try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO object_version (collection, date_added, id, type, spec_version, version_us, version_text,
              revoked, markings, granular_markings, markings_malformed, submitted_by, received_from, is_first, is_last, body, audited)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let unaudited = try db.cachedStatement(sql: """
            UPDATE object_version SET audited = 1 WHERE collection = ? AND id = ? AND version_us = ? AND audited = 0
            """)
        var recovered: [IncomingObject] = []
        let clearLast = try db.cachedStatement(sql: """
            UPDATE object_version SET is_last = 0 WHERE collection = ? AND id = ? AND is_last = 1 AND version_us <> ?
            """)
        let clearFirst = try db.cachedStatement(sql: """
            UPDATE object_version SET is_first = 0 WHERE collection = ? AND id = ? AND is_first = 1 AND version_us <> ?
            """)
        // The oldest and newest stored version of each object of the batch, read in a few queries rather than one
        // per object, and kept up to date as the batch's own versions are inserted.
        var bounds = try SQLiteObjectStore.versionBounds(db, collection: collection, ids: objects.map(\.id))
        for object in objects {
            let version = object.version.map(SQLiteObjectStore.microseconds) ?? Int64.min
            let stored = bounds[object.id]
            // The new version is the first and/or last of its object: flag it so, and unflag the one it displaces.
            let isLast = stored.map { version > $0.newest } ?? true
            let isFirst = stored.map { version < $0.oldest } ?? true
            let dateAdded = max(now, last + 1)
            let row = InsertRow(
                collection: collection, dateAdded: dateAdded, id: object.id, type: object.type,
                specVersion: object.specVersion, versionUS: version, versionText: object.version?.text,
                revoked: object.revoked, markings: SQLiteObjectStore.encode(object.markings.objectRefs),
                granularMarkings: SQLiteObjectStore.encode(object.markings.granularRefs),
                markingsMalformed: object.markings.malformed, submittedBy: provenance.submittedBy,
                receivedFrom: provenance.receivedFrom, isFirst: isFirst, isLast: isLast, audited: audit != nil)
            guard try row.insert(with: insert, body: object.bytes, in: db) else {
                if audit != nil {
                    try unaudited.execute(arguments: [collection, object.id, version])
                    if db.changesCount > 0 { recovered.append(object) }
                }
                outcomes.append(.duplicate)
                continue
            }
            last = dateAdded
            bounds[object.id] = stored.map { (min($0.oldest, version), max($0.newest, version)) } ?? (version, version)
            if object.type == "marking-definition" {
                // Known to the node from now on (SHARING.md: "stored in any of its collections").
                try db.execute(sql: """
                    INSERT OR IGNORE INTO marking_definition (id, source, definition, registered_at) VALUES (?, 'object', ?, ?)
                    """, arguments: [object.id, Data(object.bytes), now])
            }
            if isLast && stored != nil { try clearLast.execute(arguments: [collection, object.id, version]) }
            if isFirst && stored != nil { try clearFirst.execute(arguments: [collection, object.id, version]) }
            outcomes.append(.stored(dateAdded: dateAdded))
        }
        try db.execute(sql: "UPDATE collection SET last_added = ? WHERE id = ?", arguments: [last, collection])
        if let audit {
            var events: [AuditEvent] = []
            if let event = audit(objects, outcomes) { events.append(event) }
            if !recovered.isEmpty, let event = audit(recovered, recovered.map { _ in .stored(dateAdded: 0) }) { events.append(event) }
            try SQLiteAuditLog.append(events, in: db)
        }
        return outcomes
    }

    /// How many versions of each of `ids` `collection` stores that `submitter` submitted (ids with none are absent).
    public func versionCounts(_ collection: String, ids: [String], submittedBy submitter: String?) async throws -> [String: Int] {
        try await pool.read { db in
            var counts: [String: Int] = [:]
            for (chunk, marks) in Self.chunks(of: ids) {
                var arguments: StatementArguments = [collection, submitter]
                _ = arguments.append(contentsOf: StatementArguments(chunk))
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT id, COUNT(*) FROM object_version WHERE collection = ? AND submitted_by IS ? AND id IN (\(marks)) GROUP BY id
                    """, arguments: arguments)
                while let row = try rows.next() { counts[row[0]] = row[1] }
            }
            return counts
        }
    }

    /// The distinct `ids` in chunks that stay well under SQLite's limit on bound parameters, each with its `?` list.
    static func chunks(of ids: [String]) -> [(ids: [String], marks: String)] {
        let unique = Array(Set(ids))
        return stride(from: 0, to: unique.count, by: 500).map { start in
            let chunk = Array(unique[start..<min(unique.count, start + 500)])
            return (chunk, Array(repeating: "?", count: chunk.count).joined(separator: ","))
        }
    }

    /// The oldest and newest stored version (in microseconds) of each of `ids` that has any in `collection`.
    static func versionBounds(_ db: Database, collection: String, ids: [String]) throws -> [String: (oldest: Int64, newest: Int64)] {
        var bounds: [String: (oldest: Int64, newest: Int64)] = [:]
        for (chunk, marks) in chunks(of: ids) {
            var arguments: StatementArguments = [collection]
            _ = arguments.append(contentsOf: StatementArguments(chunk))
            let rows = try Row.fetchCursor(db, sql: """
                SELECT id, MIN(version_us), MAX(version_us) FROM object_version WHERE collection = ? AND id IN (\(marks)) GROUP BY id
                """, arguments: arguments)
            while let row = try rows.next() { bounds[row[0]] = (row[1], row[2]) }
        }
        return bounds
    }

    public func page(
        _ collection: String, query: ObjectQuery, limit: Int, withBytes: Bool,
        isVisible: @Sendable (StoredVersion) -> Bool
    ) async throws -> ObjectPage {
        precondition(limit > 0)
        // `first` and `last` mean the first and last versions the caller may see (SHARING.md: "`last` is the latest
        // version *it* may see"), so they are decided here, after visibility, not by the stored flags alone.
        let (wantFirst, wantLast, exact): (Bool, Bool, Set<Int64>) = switch query.versions {
        case .first: (true, false, [])
        case .last: (false, true, [])
        case .all: (false, false, [])
        case .some(let timestamps, let first, let last): (first, last, timestamps)
        }
        var candidates = query
        if wantFirst || wantLast { candidates.versions = .all }
        if wantFirst || wantLast, let ids = query.ids {
            let selection = candidates
            return try await pool.read { db in
                try Self.selectedVersions(db, collection: collection, ids: ids, query: selection, first: wantFirst, last: wantLast,
                                          exact: exact, limit: limit, withBytes: withBytes, isVisible: isVisible)
            }
        }
        let (whereSQL, baseArguments) = SQLiteObjectStore.whereClause(collection: collection, query: candidates)
        // Without statistics SQLite may walk the date_added order and test each row's type or id; these filters are
        // selective, so their index is always the better plan.
        let index = query.ids != nil ? " INDEXED BY object_version_identity" : query.types != nil ? " INDEXED BY object_version_type" : ""
        let columns = Self.pageColumns + (withBytes ? ", body" : "")
        return try await pool.read { db in
            var found: [StoredVersion] = []
            var objects = ByteBuffer()
            var ranges: [Range<Int>] = []
            if withBytes {
                objects.reserveCapacity(min(limit, 1000) * 4096)
                ranges.reserveCapacity(min(limit, 1000))
            }
            var after = query.addedAfter ?? Int64.min
            // Fetch in batches until limit + 1 visible versions are found (the extra one only tells `more`), so
            // versions the caller may not see neither count against the limit nor reveal themselves through `more`.
            let batch = min(max(limit + 1, 64), 2000)
            // Most versions of a collection share a few marking lists: each distinct text is decoded once.
            var decoded: [String: [String]] = [:]
            func refs(_ text: String?) -> [String] {
                guard let text else { return [] }
                if let known = decoded[text] { return known }
                let value = SQLiteObjectStore.decode(text)
                decoded[text] = value
                return value
            }
            // Whether a visible version is the first (or last) the caller may see: no older (newer) version of the
            // same object is visible. Stored flags answer at once in the common case.
            let neighbours = "SELECT \(Self.pageColumns) FROM object_version WHERE collection = ? AND id = ? AND version_us "
            func noneVisible(_ id: String, _ comparison: String, _ versionUS: Int64) throws -> Bool {
                let statement = try db.cachedStatement(sql: neighbours + comparison + " ?")
                let rows = try Row.fetchCursor(statement, arguments: [collection, id, versionUS])
                while try rows.next() != nil {
                    if isVisible(PageRow(statement: statement.sqliteStatement).version(refs: refs)) { return false }
                }
                return true
            }
            // The first and last version of an object that the caller may see, found once per object and page from
            // each end of its version index: a row that is neither is skipped before it is decoded or decided, so
            // the many versions between an object's ends cost a lookup each.
            var ends: [String: (first: Int64?, last: Int64?)] = [:]
            let fromOldest = try db.cachedStatement(sql: neighbours.replacingOccurrences(of: " AND version_us ", with: "") + " ORDER BY version_us ASC")
            let fromNewest = try db.cachedStatement(sql: neighbours.replacingOccurrences(of: " AND version_us ", with: "") + " ORDER BY version_us DESC")
            func visibleEnd(_ statement: Statement, _ id: String) throws -> Int64? {
                let rows = try Row.fetchCursor(statement, arguments: [collection, id])
                let end = PageRow(statement: statement.sqliteStatement)
                while try rows.next() != nil {
                    if isVisible(end.version(refs: refs)) { return end.versionUS }
                }
                return nil
            }
            func isCallersEnd(_ id: String, _ versionUS: Int64) throws -> Bool {
                var known = ends[id]
                if known == nil {
                    known = (wantFirst ? try visibleEnd(fromOldest, id) : nil, wantLast ? try visibleEnd(fromNewest, id) : nil)
                    ends[id] = known
                }
                return known?.first == versionUS || known?.last == versionUS
            }
            // Compiled once per connection for the few shapes plain paging uses; a filter listing several ids,
            // types, spec versions or timestamps is compiled for the request (its shapes are unbounded).
            // With a list of date_added values, the list is the search: `+` keeps SQLite from walking the range instead.
            let range = query.addedAt != nil ? "+date_added" : "date_added"
            let sql = "SELECT \(columns) FROM object_version\(index) WHERE \(whereSQL) AND \(range) > ? ORDER BY date_added LIMIT ?"
            let statement = query.hasLists ? try db.makeStatement(sql: sql) : try db.cachedStatement(sql: sql)
            let row = PageRow(statement: statement.sqliteStatement)
            while found.count <= limit {
                var arguments = baseArguments
                _ = arguments.append(contentsOf: [after, batch])
                // The cursor steps the statement; each row is read in place through `row`.
                let rows = try Row.fetchCursor(statement, arguments: arguments)
                var count = 0
                while try rows.next() != nil {
                    count += 1
                    after = row.dateAdded
                    if (wantFirst || wantLast) && exact.isEmpty && !((wantFirst && row.isFirst) || (wantLast && row.isLast)) {
                        guard try isCallersEnd(row.id, row.versionUS) else { continue }
                    }
                    let v = row.version(refs: refs)
                    guard isVisible(v) else { continue }
                    // Without exact versions the selection was made above: a visible stored end, or the caller's end.
                    if (wantFirst || wantLast) && !exact.isEmpty {
                        let versionUS = row.versionUS
                        var selected = exact.contains(versionUS)
                        if !selected && wantFirst { selected = try row.isFirst || noneVisible(v.id, "<", versionUS) }
                        if !selected && wantLast { selected = try row.isLast || noneVisible(v.id, ">", versionUS) }
                        guard selected else { continue }
                    }
                    found.append(v)
                    if found.count > limit { break }
                    if withBytes {
                        if !ranges.isEmpty { objects.writeInteger(UInt8(ascii: ",")) }
                        let start = objects.readableBytes
                        ranges.append(start ..< start + row.writeBody(to: &objects))
                    }
                }
                if count < batch { break }
            }
            let more = found.count > limit
            if more { found.removeLast() }
            return ObjectPage(versions: found, more: more, objects: objects, ranges: ranges,
                              markingGeneration: try Self.markingGeneration(db))
        }
    }

    /// A page of the first and/or last versions the caller may see of the objects `ids` (and the `exact` versions):
    /// each object's versions are read from its oldest (first) or newest (last) in its version index until a visible
    /// one is found, so the cost grows with the number of ids and of the versions hidden from the caller at that end,
    /// never with the versions in between; the selected versions are then read in `date_added` order.
    static func selectedVersions(
        _ db: Database, collection: String, ids: Set<String>, query: ObjectQuery, first: Bool, last: Bool, exact: Set<Int64>,
        limit: Int, withBytes: Bool, isVisible: (StoredVersion) -> Bool
    ) throws -> ObjectPage {
        var selected = Set<Int64>()
        for id in ids.sorted() {
            var one = query
            one.ids = [id]
            one.addedAfter = nil
            let (whereSQL, arguments) = whereClause(collection: collection, query: one)
            var orders: [String] = []
            if first { orders.append("ASC") }
            if last { orders.append("DESC") }
            for order in orders {
                // One id at a time, so the SQL is the same for every id of a request (and of most requests): prepared once.
                let statement = try db.cachedStatement(sql: """
                    SELECT \(pageColumns) FROM object_version INDEXED BY object_version_identity WHERE \(whereSQL)
                    ORDER BY version_us \(order)
                    """)
                let row = PageRow(statement: statement.sqliteStatement)
                let rows = try Row.fetchCursor(statement, arguments: arguments)
                while try rows.next() != nil {
                    if isVisible(row.version(refs: decode)) {
                        selected.insert(row.dateAdded)
                        break
                    }
                }
            }
            if !exact.isEmpty {
                var some = one
                some.versions = .some(timestamps: exact, first: false, last: false)
                let (whereSQL, arguments) = whereClause(collection: collection, query: some)
                let statement = try db.makeStatement(sql: "SELECT \(pageColumns) FROM object_version WHERE \(whereSQL)")
                let row = PageRow(statement: statement.sqliteStatement)
                let rows = try Row.fetchCursor(statement, arguments: arguments)
                while try rows.next() != nil {
                    if isVisible(row.version(refs: decode)) { selected.insert(row.dateAdded) }
                }
            }
        }
        let after = query.addedAfter ?? Int64.min
        let ordered = selected.filter { $0 > after }.sorted()
        let more = ordered.count > limit
        let chosen = Array(ordered.prefix(limit))
        var found: [StoredVersion] = []
        var objects = ByteBuffer()
        var ranges: [Range<Int>] = []
        let statement = try db.cachedStatement(sql: """
            SELECT \(pageColumns)\(withBytes ? ", body" : "") FROM object_version WHERE collection = ? AND date_added = ?
            """)
        let row = PageRow(statement: statement.sqliteStatement)
        for dateAdded in chosen {
            let rows = try Row.fetchCursor(statement, arguments: [collection, dateAdded])
            guard try rows.next() != nil else { continue }
            found.append(row.version(refs: decode))
            if withBytes {
                if !ranges.isEmpty { objects.writeInteger(UInt8(ascii: ",")) }
                let start = objects.readableBytes
                ranges.append(start ..< start + row.writeBody(to: &objects))
            }
        }
        return ObjectPage(versions: found, more: more, objects: objects, ranges: ranges, markingGeneration: try markingGeneration(db))
    }

    /// The columns a page reads, in the order ``PageRow`` reads them (the body, when read, follows).
    static let pageColumns = "date_added, id, type, spec_version, version_text, revoked, markings, granular_markings, markings_malformed, "
        + "submitted_by, received_from, version_us, is_first, is_last"

    public func delete(id: String, from collection: String, query: ObjectQuery, isDeletable: @Sendable (StoredVersion) -> Bool,
                       audit: (@Sendable (Int) -> AuditEvent?)?) async throws -> Int
    {
        var scoped = query
        scoped.ids = [id]
        scoped.types = nil
        scoped.addedAfter = nil
        let (whereSQL, arguments) = SQLiteObjectStore.whereClause(collection: collection, query: scoped)
        let now = clock()
        return try await pool.write { db in
            // The versions to delete: those matching the query that the caller may delete.
            let statement = try db.makeStatement(sql: "SELECT \(Self.pageColumns) FROM object_version WHERE \(whereSQL) ORDER BY date_added")
            let row = PageRow(statement: statement.sqliteStatement)
            let rows = try Row.fetchCursor(statement, arguments: arguments)
            var doomed: [Int64] = []
            while try rows.next() != nil {
                if isDeletable(row.version(refs: SQLiteObjectStore.decode)) { doomed.append(row.dateAdded) }
            }
            // Each deleted version leaves a tombstone, so peers that received it can delete their copy.
            let tombstone = try db.cachedStatement(sql: """
                INSERT INTO tombstone (collection, deleted_at, id, version_text, markings, granular_markings, markings_malformed,
                  submitted_by, received_from)
                SELECT collection, ?, id, version_text, markings, granular_markings, markings_malformed, submitted_by, received_from
                FROM object_version WHERE collection = ? AND date_added = ?
                """)
            let remove = try db.cachedStatement(sql: "DELETE FROM object_version WHERE collection = ? AND date_added = ?")
            for dateAdded in doomed {
                try tombstone.execute(arguments: [now, collection, dateAdded])
                try remove.execute(arguments: [collection, dateAdded])
            }
            let deleted = doomed.count
            if deleted > 0 {
                // The first and last versions of what remains.
                try db.execute(sql: """
                    UPDATE object_version SET
                      is_first = (version_us = (SELECT MIN(version_us) FROM object_version WHERE collection = ?1 AND id = ?2)),
                      is_last = (version_us = (SELECT MAX(version_us) FROM object_version WHERE collection = ?1 AND id = ?2))
                    WHERE collection = ?1 AND id = ?2
                    """, arguments: [collection, id])
                // A marking-definition no collection stores any more is no longer known to the node.
                try db.execute(sql: """
                    DELETE FROM marking_definition WHERE id = ?1 AND source = 'object'
                      AND NOT EXISTS (SELECT 1 FROM object_version WHERE id = ?1)
                    """, arguments: [id])
                if let event = audit?(deleted) { try SQLiteAuditLog.append([event], in: db) }
            }
            return deleted
        }
    }

    public typealias Tombstone = Storage.Tombstone

    /// Tombstones of a collection after `seq`, oldest first, at most `limit`.
    public func tombstones(_ collection: String, after seq: Int64, limit: Int) async throws -> [Tombstone] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT seq, id, version_text, markings, granular_markings, markings_malformed, submitted_by, received_from
                FROM tombstone WHERE collection = ? AND seq > ? ORDER BY seq LIMIT ?
                """, arguments: [collection, seq, limit]).map {
                Tombstone(seq: $0[0], id: $0[1], version: $0[2],
                          markings: MarkingRefs(objectRefs: SQLiteObjectStore.decode($0[3]), granularRefs: SQLiteObjectStore.decode($0[4]),
                                                malformed: $0[5]),
                          provenance: Provenance(submittedBy: $0[6], receivedFrom: $0[7]))
            }
        }
    }

    public func saveStatus(_ status: StatusRecord) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO status (id, api_root, owner, json, created_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [status.id, status.apiRoot, status.owner, Data(CompactBlob.pack(status.json)), status.createdAt])
        }
    }

    public func status(_ id: String) async throws -> StatusRecord? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, api_root, owner, json, created_at FROM status WHERE id = ?", arguments: [id])
            else { return nil }
            // Kept compressed when large (a status of many failures repeats its reasons).
            guard let json = CompactBlob.unpack(Array(row[3] as Data)) else { throw StorageError("status \(id) is damaged") }
            return StatusRecord(id: row[0], apiRoot: row[1], owner: row[2], json: json, createdAt: row[4])
        }
    }

    // MARK: - Marking definitions

    public typealias MarkingDefinitionRecord = Storage.MarkingDefinitionRecord

    /// Every marking-definition known to the node, in the order they became known, and their generation.
    public func markingDefinitions() async throws -> (generation: Int64, records: [MarkingDefinitionRecord]) {
        try await pool.read { db in
            let records = try Row.fetchAll(db, sql: "SELECT id, source, definition FROM marking_definition ORDER BY rowid").map {
                MarkingDefinitionRecord(id: $0[0], source: $0[1], definition: Array($0[2] as Data))
            }
            return (try Self.markingGeneration(db), records)
        }
    }

    /// Registers a marking-definition as an admin's decision.
    public func registerMarkingDefinition(id: String, definition: [UInt8]) async throws {
        let now = clock()
        try await pool.write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO marking_definition (id, source, definition, registered_at) VALUES (?, 'admin', ?, ?)
                """, arguments: [id, Data(definition), now])
        }
    }

    /// A number that changes whenever the known marking-definitions change, in any process (a trigger counts them).
    public func markingDefinitionsGeneration() async throws -> Int64 {
        try await pool.read { db in try Self.markingGeneration(db) }
    }

    static func markingGeneration(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM marking_generation WHERE one = 1")) ?? 0
    }

    // MARK: - Policy changes

    /// Changes that may have made stored versions visible to more readers, after `seq` and up to `through`: a
    /// marking-definition learned, registered or removed (its id), or the configuration changed (nil).
    public func policyChanges(after seq: Int64, through: Int64) async throws -> [(seq: Int64, marking: String?)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, marking FROM policy_change WHERE seq > ? AND seq <= ? ORDER BY seq",
                             arguments: [seq, through]).map { ($0[0], $0[1]) }
        }
    }

    /// The latest policy change's sequence number (0 before any).
    public func latestPolicyChange() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM policy_change") ?? 0 }
    }

    /// Logs a change of the configuration (orgs, groups, collection rules), which may make any version visible to more
    /// readers.
    public func recordConfigurationPolicyChange() async throws {
        try await pool.write { db in try db.execute(sql: "INSERT INTO policy_change (marking) VALUES (NULL)") }
    }

    /// A value the node keeps between runs (such as the configuration last recorded in the audit log).
    public func state(_ key: String) async throws -> String? {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM node_state WHERE key = ?", arguments: [key]) }
    }

    public func setState(_ key: String, _ value: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO node_state (key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }

    // MARK: - Leases

    public func lease(_ name: String, holder: String, seconds: Int) async throws -> Bool {
        let now = clock()
        return try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO lease (name, holder, expires_at) VALUES (?1, ?2, ?3 + ?4)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE lease.holder = excluded.holder OR lease.expires_at <= ?3
                """, arguments: [name, holder, now, Int64(seconds) * 1_000_000])
            return try String.fetchOne(db, sql: "SELECT holder FROM lease WHERE name = ?", arguments: [name]) == holder
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM lease WHERE name = ? AND holder = ?", arguments: [name, holder])
        }
    }

    // MARK: - Encoding

    /// A timestamp as microseconds since 1970 (finer digits are dropped: TAXII timestamps are microseconds).
    package static func microseconds(_ t: Timestamp) -> Int64 {
        let digits = t.fraction.prefix(6)
        let padded = digits + String(repeating: "0", count: 6 - digits.count)
        return t.seconds * 1_000_000 + (Int64(padded) ?? 0)
    }

    package static func encode(_ refs: [String]) -> String? {
        refs.isEmpty ? nil : JSONValue.array(refs.map(JSONValue.string)).serialized()
    }

    package static func decode(_ text: String?) -> [String] {
        guard let text, let value = try? JSONParser().parse(text) else { return [] }
        return value.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// The SQL condition and its arguments for `query` (without `added_after`, which paging adds).
    static func whereClause(collection: String, query: ObjectQuery) -> (String, StatementArguments) {
        var clauses = ["collection = ?"]
        var arguments: StatementArguments = [collection]
        func list(_ column: String, _ values: Set<String>) {
            clauses.append("\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ",")))")
            _ = arguments.append(contentsOf: StatementArguments(values.sorted()))
        }
        if let ids = query.ids {
            if ids.count > 1 {
                // One argument, a JSON array, however many ids: the statement is compiled once per connection.
                clauses.append("id IN (SELECT value FROM json_each(?))")
                _ = arguments.append(contentsOf: [JSONValue.array(ids.sorted().map(JSONValue.string)).serialized()])
            } else {
                list("id", ids)
            }
        }
        if let types = query.types { list("type", types) }
        if let specs = query.specVersions { list("spec_version", specs) }
        if let added = query.addedAt {
            // One argument, a JSON array, whatever the list's length: the statement is compiled once per connection.
            clauses.append("date_added IN (SELECT value FROM json_each(?))")
            _ = arguments.append(contentsOf: ["[" + added.sorted().map(String.init).joined(separator: ",") + "]"])
        }
        if let markings = query.markings {
            // Stored lists are JSON arrays of ids: a quoted id matches that id, never another it is a prefix of.
            let tests = markings.sorted().map { _ in "instr(markings, ?) > 0 OR instr(granular_markings, ?) > 0" }
            clauses.append("(" + (tests.isEmpty ? "0" : tests.joined(separator: " OR ")) + ")")
            for marking in markings.sorted() { _ = arguments.append(contentsOf: ["\"\(marking)\"", "\"\(marking)\""]) }
        }
        switch query.versions {
        case .last: clauses.append("is_last = 1")
        case .first: clauses.append("is_first = 1")
        case .all: break
        case .some(let timestamps, let first, let last):
            var alternatives: [String] = []
            if !timestamps.isEmpty {
                alternatives.append("version_us IN (\(Array(repeating: "?", count: timestamps.count).joined(separator: ",")))")
                _ = arguments.append(contentsOf: StatementArguments(timestamps.sorted()))
            }
            if first { alternatives.append("is_first = 1") }
            if last { alternatives.append("is_last = 1") }
            clauses.append("(" + (alternatives.isEmpty ? "0" : alternatives.joined(separator: " OR ")) + ")")
        }
        return (clauses.joined(separator: " AND "), arguments)
    }
}
