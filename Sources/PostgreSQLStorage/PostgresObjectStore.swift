import Dispatch
import Foundation
import Logging
import NIOCore
import PostgresNIO
import STIX
import Storage
import Synchronization
import _ConnectionPoolModule

/// Why a PostgreSQL store could not open. The message names the setting to fix and never repeats a password.
public struct PostgresStoreError: Error, Sendable, CustomStringConvertible {
    public let description: String
    static func setting(_ text: String) -> Self { Self(description: text) }
}

/// The store of a node that outgrows one machine: the same contract as ``SQLiteObjectStore`` on a PostgreSQL
/// database, which several replicas of the node may share (docs/SCALING.md).
///
/// `date_added` is assigned in the write transaction, under a lock on the collection's row, as max(now, last + 1)
/// microseconds. The lock is held until the commit, so within a collection versions become visible in `date_added`
/// order whichever replica writes them: a reader paging by `added_after` can never be shown a version and later find
/// an earlier one.
public final class PostgresObjectStore: NodeStore {
    let client: PostgresClient
    private let running: Task<Void, Never>
    let logger: Logger
    /// Where time comes from, in microseconds since 1970 (replaceable in tests).
    let clock: @Sendable () -> Int64
    /// Where the database is, without its password (for messages).
    public let location: String

    /// Connects to the database at `location`, checks it answers, and brings its schema up to date. Fails with a
    /// message naming what to fix when the database cannot be reached, refuses the credentials or does not exist.
    public init(_ location: PostgresLocation, clock: @escaping @Sendable () -> Int64 = SQLiteObjectStore.now,
                logger: Logger = Logger(label: "meridian.postgresql")) async throws {
        // One connection first, whose failure is reported at once and as it is (the pool would retry for a minute
        // and then say only that it gave up); it brings the schema up to date.
        do {
            let connection = try await PostgresConnection.connect(configuration: location.connectionConfiguration(), id: 0, logger: logger)
            do {
                try await PostgresMigrations.migrate(connection, logger: logger)
                try await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        } catch let error as PSQLError {
            throw PostgresStoreError.setting(Self.explain(error, location))
        } catch let error as PostgresTransactionError {
            let cause = [error.beginError, error.closureError, error.commitError].compactMap { $0 as? PSQLError }.first
            throw cause.map { PostgresStoreError.setting(Self.explain($0, location)) } ?? error
        }
        let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: logger)
        self.client = client
        // The pool serves leases only while run() runs: start it before the first query.
        var task: Task<Void, Never>?
        await withCheckedContinuation { (started: CheckedContinuation<Void, Never>) in
            task = Task {
                started.resume()
                await client.run()
            }
        }
        self.running = task!
        self.logger = logger
        self.clock = clock
        self.location = location.description
    }

    deinit { running.cancel() }

    /// Closes every connection.
    public func close() async {
        running.cancel()
        _ = await running.value
    }

    /// What went wrong reaching the database, in words an operator can act on.
    static func explain(_ error: PSQLError, _ location: PostgresLocation) -> String {
        let state = error.serverInfo?[.sqlState]
        let at = "PostgreSQL at \(location.host):\(location.port)"
        switch state {
        case "28P01", "28000":
            return "\(at) refused the credentials of user '\(location.user)' (check [storage] url and password_file)"
        case "3D000":
            return "\(at) has no database '\(location.database)' (create it, or fix the database in [storage] url)"
        case "42501":
            return "user '\(location.user)' may not create Meridian's tables in '\(location.database)' on \(at) (grant it CREATE)"
        default:
            break
        }
        if let message = error.serverInfo?[.message] {
            return "\(at) answered: \(message)"
        }
        switch error.code {
        case .sslUnsupported:
            return "\(at) does not offer TLS, which [storage] url's sslmode requires"
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return "cannot reach \(at) (is it running, and is [storage] url's host and port right?)"
        default:
            return "cannot use \(at): \(String(reflecting: error.code))"
        }
    }

    // MARK: - Connections and transactions

    /// How long an operation waits for a connection before it fails as ``StorageUnavailable`` (the pool itself would
    /// keep a request waiting while it retries for a minute). A connection once held has no deadline: a long import
    /// is not cut short.
    static let leaseTimeout: Duration = .seconds(5)

    /// Runs `body` on a connection of the pool, leased within ``leaseTimeout``. A connection that fails as the
    /// database goes away fails the operation as ``StorageUnavailable`` too; the pool opens new ones by itself when the
    /// database is back.
    func connection<T: Sendable>(_ body: @Sendable @escaping (PostgresConnection) async throws -> T) async throws -> T {
        let leased = LeaseFlag()
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await self.client.withConnection { connection in
                        leased.isSet.store(true, ordering: .releasing)
                        return try await body(connection)
                    }
                }
                group.addTask {
                    // Cancelled once the operation is done: no deadline left to keep.
                    guard (try? await Task.sleep(for: Self.leaseTimeout)) != nil else { return nil }
                    guard leased.isSet.load(ordering: .acquiring) else { throw StorageUnavailable("no connection to the database within 5 s") }
                    return nil
                }
                var result: T?
                while let next = try await group.next() {
                    if let value = next {
                        result = value
                        group.cancelAll()
                    }
                }
                return result!
            }
        } catch let error where Self.isUnavailable(error) {
            throw StorageUnavailable("the database cannot be reached")
        }
    }

    /// Whether `error` says the database cannot be reached (rather than refusing a statement).
    static func isUnavailable(_ error: any Error) -> Bool {
        if error is StorageUnavailable || error is ConnectionPoolError { return true }
        if let error = error as? PostgresTransactionError {
            return [error.beginError, error.closureError, error.commitError, error.rollbackError].contains { $0.map(isUnavailable) ?? false }
        }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return true
        default:
            // Class 08 (connection exception), 57P01-57P03 (the server shutting down or starting), 53300 (too many
            // connections).
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(state)
        }
    }

    /// Runs `query` on a connection of the pool (leased within ``leaseTimeout``) and returns its rows, read whole.
    @discardableResult
    func run(_ query: PostgresQuery, logger: Logger) async throws -> CollectedRows {
        CollectedRows(rows: try await connection { connection in try await connection.query(query, logger: logger).collect() })
    }

    /// Runs `body` in a read-write transaction on one connection: committed when it returns, rolled back when it
    /// throws.
    func write<T: Sendable>(_ body: @Sendable @escaping (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction("BEGIN", body)
    }

    /// Runs `body` in a read-only transaction that sees one snapshot of the database throughout.
    func read<T: Sendable>(_ body: @Sendable @escaping (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    private func transaction<T: Sendable>(_ begin: PostgresQuery, _ body: @Sendable @escaping (PostgresConnection) async throws -> T)
        async throws -> T
    {
        try await connection { [logger] connection in
            try await connection.query(begin, logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    // MARK: - Collections and writes

    public func ensureCollection(_ id: String) async throws {
        try await write { [self] connection in
            try await connection.query("SELECT meridian_add_collection(\(id))", logger: logger)
        }
    }

    public func add(_ objects: [IncomingObject], to collection: String, provenance: Provenance, audit: AuditEntryMaker?) async throws
        -> [AddOutcome]
    {
        let now = clock()
        return try await write { [self] connection in
            try await insert(objects, into: collection, provenance: provenance, now: now, audit: audit, connection)
        }
    }

    public func addAll(
        to collection: String, provenance: Provenance, audit: AuditEntryMaker?,
        next: @escaping @Sendable () throws -> [IncomingObject]?
    ) async throws -> [[AddOutcome]] {
        try await write { [self] connection in
            var outcomes: [[AddOutcome]] = []
            // `next` may block until its batch is ready: it waits on a thread of its own, not one of the tasks'.
            while let batch = try await Self.blocking(next) {
                outcomes.append(try await insert(batch, into: collection, provenance: provenance, now: clock(), audit: audit, connection))
            }
            return outcomes
        }
    }

    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Inserts `objects` in the transaction `connection` is in, in order, with the audit entry `audit` makes of them.
    /// The collection's row is locked first: other writers of the collection, in this process or another, wait for
    /// the commit, so `date_added` order is commit order.
    private func insert(
        _ objects: [IncomingObject], into collection: String, provenance: Provenance, now: Int64, audit: AuditEntryMaker?,
        _ connection: PostgresConnection
    ) async throws -> [AddOutcome] {
        let locked = try await connection.query("SELECT last_added FROM collection WHERE id = \(collection) FOR UPDATE", logger: logger)
        var last: Int64?
        for try await value in locked.decode(Int64.self) { last = value }
        guard var last else { throw StorageError("no collection \(collection)") }
        guard !objects.isEmpty else { return [] }

        // Every stored version of the batch's objects (the lock keeps them as they are until the commit).
        let ids = Array(Set(objects.map(\.id)))
        var stored: [String: [Int64: Bool]] = [:]  // id → version → audited
        let rows = try await connection.query("""
            SELECT id, version_us, audited FROM object_version WHERE collection = \(collection) AND id = ANY(\(ids))
            """, logger: logger)
        for try await (id, version, audited) in rows.decode((String, Int64, Bool).self) { stored[id, default: [:]][version] = audited }
        var bounds: [String: (oldest: Int64, newest: Int64)] = [:]
        for (id, versions) in stored { bounds[id] = (versions.keys.min()!, versions.keys.max()!) }
        let storedBounds = bounds

        var outcomes: [AddOutcome] = []
        outcomes.reserveCapacity(objects.count)
        var new = NewRows()
        var recovered: [IncomingObject] = []
        var recoveredKeys: (ids: [String], versions: [Int64]) = ([], [])
        var markingDefinitions: [(id: String, body: ByteBuffer)] = []
        for object in objects {
            let version = object.version.map(SQLiteObjectStore.microseconds) ?? Int64.min
            if let audited = stored[object.id]?[version] {
                // A duplicate. One stored without its write entry (by a tool) gets one now, as SQLite's store does.
                if audit != nil && !audited {
                    recovered.append(object)
                    recoveredKeys.ids.append(object.id)
                    recoveredKeys.versions.append(version)
                    stored[object.id]?[version] = true
                }
                outcomes.append(.duplicate)
                continue
            }
            let dateAdded = max(now, last + 1)
            last = dateAdded
            stored[object.id, default: [:]][version] = audit != nil
            bounds[object.id] = bounds[object.id].map { (min($0.oldest, version), max($0.newest, version)) } ?? (version, version)
            new.append(object, dateAdded: dateAdded, version: version)
            if object.type == "marking-definition" { markingDefinitions.append((object.id, ByteBuffer(bytes: object.bytes))) }
            outcomes.append(.stored(dateAdded: dateAdded))
        }

        if !new.isEmpty {
            // The first and last versions once the batch is in: new rows are flagged as such, and a stored end that a
            // new version displaces is unflagged.
            for i in new.ids.indices {
                let b = bounds[new.ids[i]]!
                new.isFirst.append(new.versions[i] == b.oldest)
                new.isLast.append(new.versions[i] == b.newest)
            }
            var displacedFirst: (ids: [String], versions: [Int64]) = ([], [])
            var displacedLast: (ids: [String], versions: [Int64]) = ([], [])
            for (id, old) in storedBounds {
                let now = bounds[id]!
                if now.oldest != old.oldest { displacedFirst.ids.append(id); displacedFirst.versions.append(old.oldest) }
                if now.newest != old.newest { displacedLast.ids.append(id); displacedLast.versions.append(old.newest) }
            }
            let audited = audit != nil
            try await connection.query("""
                INSERT INTO object_version (collection, date_added, id, type, spec_version, version_us, version_text, revoked,
                  markings, granular_markings, markings_malformed, submitted_by, received_from, is_first, is_last, body, audited)
                SELECT \(collection), n.date_added, n.id, n.type, n.spec_version, n.version_us, NULLIF(n.version_text, ''), n.revoked,
                  NULLIF(n.markings, ''), NULLIF(n.granular_markings, ''), n.malformed, \(provenance.submittedBy), \(provenance.receivedFrom),
                  n.is_first, n.is_last, n.body, \(audited)
                FROM unnest(\(new.dateAdded)::int8[], \(new.ids)::text[], \(new.types)::text[], \(new.specVersions)::text[],
                  \(new.versions)::int8[], \(new.versionTexts)::text[], \(new.revoked)::bool[], \(new.markings)::text[],
                  \(new.granularMarkings)::text[], \(new.malformed)::bool[], \(new.isFirst)::bool[], \(new.isLast)::bool[],
                  \(new.bodies)::bytea[])
                  AS n(date_added, id, type, spec_version, version_us, version_text, revoked, markings, granular_markings, malformed,
                       is_first, is_last, body)
                """, logger: logger)
            if !displacedFirst.ids.isEmpty {
                try await connection.query("""
                    UPDATE object_version SET is_first = false WHERE collection = \(collection)
                      AND (id, version_us) IN (SELECT * FROM unnest(\(displacedFirst.ids)::text[], \(displacedFirst.versions)::int8[]))
                    """, logger: logger)
            }
            if !displacedLast.ids.isEmpty {
                try await connection.query("""
                    UPDATE object_version SET is_last = false WHERE collection = \(collection)
                      AND (id, version_us) IN (SELECT * FROM unnest(\(displacedLast.ids)::text[], \(displacedLast.versions)::int8[]))
                    """, logger: logger)
            }
            for definition in markingDefinitions {
                // Known to the node from now on (SHARING.md: "stored in any of its collections").
                try await connection.query("""
                    INSERT INTO marking_definition (id, source, definition, registered_at) VALUES (\(definition.id), 'object', \(definition.body), \(now))
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            try await connection.query("UPDATE collection SET last_added = \(last) WHERE id = \(collection)", logger: logger)
        }
        if !recovered.isEmpty {
            try await connection.query("""
                UPDATE object_version SET audited = true WHERE collection = \(collection)
                  AND (id, version_us) IN (SELECT * FROM unnest(\(recoveredKeys.ids)::text[], \(recoveredKeys.versions)::int8[]))
                """, logger: logger)
        }
        if let audit {
            var events: [AuditEvent] = []
            if let event = audit(objects, outcomes) { events.append(event) }
            if !recovered.isEmpty, let event = audit(recovered, recovered.map { _ in .stored(dateAdded: 0) }) { events.append(event) }
            try await PostgresAuditLog.append(events, connection, logger: logger)
        }
        return outcomes
    }

    /// The columns of the versions a write inserts, one array each, bound as one `unnest` (one round trip per batch).
    private struct NewRows {
        var dateAdded: [Int64] = []
        var ids: [String] = []
        var types: [String] = []
        var specVersions: [String] = []
        var versions: [Int64] = []
        /// Empty for none (a version timestamp is never empty), made NULL by the INSERT.
        var versionTexts: [String] = []
        var revoked: [Bool] = []
        var markings: [String] = []
        var granularMarkings: [String] = []
        var malformed: [Bool] = []
        var isFirst: [Bool] = []
        var isLast: [Bool] = []
        var bodies: [ByteBuffer] = []

        var isEmpty: Bool { ids.isEmpty }

        mutating func append(_ object: IncomingObject, dateAdded: Int64, version: Int64) {
            self.dateAdded.append(dateAdded)
            ids.append(object.id)
            types.append(object.type)
            specVersions.append(object.specVersion)
            versions.append(version)
            versionTexts.append(object.version?.text ?? "")
            revoked.append(object.revoked)
            markings.append(SQLiteObjectStore.encode(object.markings.objectRefs) ?? "")
            granularMarkings.append(SQLiteObjectStore.encode(object.markings.granularRefs) ?? "")
            malformed.append(object.markings.malformed)
            bodies.append(ByteBuffer(bytes: object.bytes))
        }
    }

    // MARK: - Deletion, tombstones, statuses

    public func delete(id: String, from collection: String, query: ObjectQuery, isDeletable: @Sendable (StoredVersion) -> Bool,
                       audit: (@Sendable (Int) -> AuditEvent?)?) async throws -> Int
    {
        var scoped = query
        scoped.ids = [id]
        scoped.types = nil
        scoped.addedAfter = nil
        let selection = PostgresPaging.statement(collection: collection, query: scoped, tail: " ORDER BY date_added")
        let now = clock()
        return try await withoutActuallyEscaping(isDeletable) { isDeletable in try await write { [self] connection in
            // The collection's lock, as writes take it: a deletion and a write of the same collection do not interleave.
            let locked = try await connection.query("SELECT 1 FROM collection WHERE id = \(collection) FOR UPDATE", logger: logger)
            for try await _ in locked {}
            var doomed: [Int64] = []
            for try await row in try await connection.query(selection, logger: logger) {
                let r = try PostgresPaging.Row(row, withBody: false)
                if isDeletable(r.version) { doomed.append(r.dateAdded) }
            }
            guard !doomed.isEmpty else { return 0 }
            // Each deleted version leaves a tombstone, so peers that received it can delete their copy.
            try await connection.query("""
                INSERT INTO tombstone (collection, deleted_at, id, version_text, markings, granular_markings, markings_malformed,
                  submitted_by, received_from)
                SELECT collection, \(now), id, version_text, markings, granular_markings, markings_malformed, submitted_by, received_from
                FROM object_version WHERE collection = \(collection) AND date_added = ANY(\(doomed)) ORDER BY date_added
                """, logger: logger)
            try await connection.query("DELETE FROM object_version WHERE collection = \(collection) AND date_added = ANY(\(doomed))",
                                       logger: logger)
            // The first and last versions of what remains.
            try await connection.query("""
                UPDATE object_version SET
                  is_first = (version_us = (SELECT MIN(version_us) FROM object_version WHERE collection = \(collection) AND id = \(id))),
                  is_last = (version_us = (SELECT MAX(version_us) FROM object_version WHERE collection = \(collection) AND id = \(id)))
                WHERE collection = \(collection) AND id = \(id)
                """, logger: logger)
            // A marking-definition no collection stores any more is no longer known to the node.
            try await connection.query("""
                DELETE FROM marking_definition WHERE id = \(id) AND source = 'object'
                  AND NOT EXISTS (SELECT 1 FROM object_version WHERE id = \(id))
                """, logger: logger)
            if let event = audit?(doomed.count) { try await PostgresAuditLog.append([event], connection, logger: logger) }
            return doomed.count
        } }
    }

    public func tombstones(_ collection: String, after seq: Int64, limit: Int) async throws -> [Tombstone] {
        let rows = try await run("""
            SELECT seq, id, version_text, markings, granular_markings, markings_malformed, submitted_by, received_from
            FROM tombstone WHERE collection = \(collection) AND seq > \(seq) ORDER BY seq LIMIT \(limit)
            """, logger: logger)
        var out: [Tombstone] = []
        for try await (seq, id, version, markings, granular, malformed, submitter, peer)
            in rows.decode((Int64, String, String?, String?, String?, Bool, String?, String?).self)
        {
            out.append(Tombstone(
                seq: seq, id: id, version: version,
                markings: MarkingRefs(objectRefs: SQLiteObjectStore.decode(markings), granularRefs: SQLiteObjectStore.decode(granular),
                                      malformed: malformed),
                provenance: Provenance(submittedBy: submitter, receivedFrom: peer)))
        }
        return out
    }

    public func saveStatus(_ status: StatusRecord) async throws {
        try await run("""
            INSERT INTO status (id, api_root, owner, json, created_at)
            VALUES (\(status.id), \(status.apiRoot), \(status.owner), \(ByteBuffer(bytes: status.json)), \(status.createdAt))
            ON CONFLICT (id) DO UPDATE SET api_root = EXCLUDED.api_root, owner = EXCLUDED.owner, json = EXCLUDED.json,
              created_at = EXCLUDED.created_at
            """, logger: logger)
    }

    public func status(_ id: String) async throws -> StatusRecord? {
        let rows = try await run("SELECT id, api_root, owner, json, created_at FROM status WHERE id = \(id)", logger: logger)
        var found: StatusRecord?
        for try await (id, root, owner, json, created) in rows.decode((String, String, String, ByteBuffer, Int64).self) {
            found = StatusRecord(id: id, apiRoot: root, owner: owner, json: Array(buffer: json), createdAt: created)
        }
        return found
    }

    // MARK: - Reading

    public func page(
        _ collection: String, query: ObjectQuery, limit: Int, withBytes: Bool,
        isVisible: @Sendable (StoredVersion) -> Bool
    ) async throws -> ObjectPage {
        precondition(limit > 0)
        return try await withoutActuallyEscaping(isVisible) { isVisible in
            try await read { [self] connection in
                try await PostgresPaging(connection: connection, logger: logger, collection: collection, withBytes: withBytes,
                                         isVisible: isVisible).page(query, limit: limit)
            }
        }
    }
}

/// Whether an operation got its connection, set by the operation and read by its deadline.
private final class LeaseFlag: Sendable {
    let isSet = Atomic(false)
}

/// The rows of a statement, read whole before its connection went back to the pool.
struct CollectedRows: AsyncSequence, Sendable {
    typealias Element = PostgresRow
    let rows: [PostgresRow]

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: IndexingIterator<[PostgresRow]>
        mutating func next() async throws -> PostgresRow? { base.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: rows.makeIterator()) }

    /// Each row decoded as `types`.
    func decode<each Column: PostgresDecodable>(_ types: (repeat each Column).Type) throws -> [(repeat each Column)] {
        try rows.map { try $0.decode((repeat each Column).self) }
    }
}
