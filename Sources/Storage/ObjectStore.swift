import STIX

/// Where a node keeps its collections' object versions and status resources.
///
/// Every implementation (SQLite now, PostgreSQL later) passes the same contract tests
/// (`Tests/StorageTests/ObjectStoreContractTests.swift`).
public protocol ObjectStore: Sendable {
    /// Creates the collection if it does not exist yet (collections are declared in the configuration).
    func ensureCollection(_ id: String) async throws

    /// Stores object versions in order; a version (id + modified/created) already in the collection is a duplicate.
    /// All objects of a call are stored in one transaction, with the audit entry `audit` makes of them (if any): all
    /// or nothing, so no acknowledged write lacks its entry.
    func add(_ objects: [IncomingObject], to collection: String, provenance: Provenance, audit: AuditEntryMaker?) async throws
        -> [AddOutcome]

    /// Stores the batches `next` hands over, in order, all in one transaction, each with the audit entry `audit`
    /// makes of it: every batch is stored, or (when `next` throws) none is. `next` returns nil after the last batch
    /// and may block until the next one is ready; it is called from the store's writer, which holds the write lock
    /// until the last batch (other writers wait). Returns each batch's outcomes, as `add` would.
    func addAll(
        to collection: String, provenance: Provenance, audit: AuditEntryMaker?,
        next: @escaping @Sendable () throws -> [IncomingObject]?
    ) async throws -> [[AddOutcome]]

    /// Versions matching `query`, ascending by `date_added`, at most `limit` of those `isVisible` lets through.
    /// Bytes are read only when `withBytes` is true.
    func page(
        _ collection: String, query: ObjectQuery, limit: Int, withBytes: Bool,
        isVisible: @Sendable (StoredVersion) -> Bool
    ) async throws -> ObjectPage

    /// Deletes the versions of `id` matching `query` (its `versions` and `specVersions`) that `isDeletable` lets
    /// through, each leaving a tombstone, in one transaction with the audit entry `audit` makes of how many were
    /// deleted (none when nothing was); returns how many were deleted.
    func delete(id: String, from collection: String, query: ObjectQuery, isDeletable: @Sendable (StoredVersion) -> Bool,
                audit: (@Sendable (Int) -> AuditEvent?)?) async throws -> Int

    /// Tombstones of a collection after `seq`, oldest first, at most `limit`.
    func tombstones(_ collection: String, after seq: Int64, limit: Int) async throws -> [Tombstone]

    /// Stores or replaces a status resource.
    func saveStatus(_ status: StatusRecord) async throws

    /// A status resource by id.
    func status(_ id: String) async throws -> StatusRecord?
}

/// An `ObjectStore` that also keeps what the node knows besides object versions: the marking-definitions it knows
/// and their generation, the log of policy changes, and small values kept between runs. SQLite's and PostgreSQL's
/// stores both are one; `ObjectStoreContractTests` holds them to the same behaviour.
public protocol NodeStore: ObjectStore, SearchIndex {
    /// How many versions of each of `ids` `collection` stores that `submitter` submitted (ids with none are absent).
    func versionCounts(_ collection: String, ids: [String], submittedBy submitter: String?) async throws -> [String: Int]

    /// Every marking-definition known to the node, in the order they became known, and their generation.
    func markingDefinitions() async throws -> (generation: Int64, records: [MarkingDefinitionRecord])

    /// Registers a marking-definition as an admin's decision.
    func registerMarkingDefinition(id: String, definition: [UInt8]) async throws

    /// A number that changes whenever the known marking-definitions change, whichever process changes them.
    func markingDefinitionsGeneration() async throws -> Int64

    /// Changes that may have made stored versions visible to more readers, after `seq` and up to `through`: a
    /// marking-definition learned, registered or removed (its id), or the configuration changed (nil).
    func policyChanges(after seq: Int64, through: Int64) async throws -> [(seq: Int64, marking: String?)]

    /// The latest policy change's sequence number (0 before any).
    func latestPolicyChange() async throws -> Int64

    /// Logs a change of the configuration, which may make any version visible to more readers.
    func recordConfigurationPolicyChange() async throws

    /// A value the node keeps between runs (such as the configuration last recorded in the audit log).
    func state(_ key: String) async throws -> String?

    func setState(_ key: String, _ value: String) async throws

    /// Takes or renews the lease `name` for `holder` (one process) for `seconds`: true when `holder` holds it now,
    /// false while another holder's lease has not expired. What a lease guards (federation sync) then runs in one
    /// process of the node at a time, and another takes it over once the holder has stopped renewing it.
    func lease(_ name: String, holder: String, seconds: Int) async throws -> Bool

    /// Gives the lease up, if `holder` holds it, so another process may take it at once.
    func releaseLease(_ name: String, holder: String) async throws

    /// The node's users and tokens, in the same database.
    func accountStore() -> any AccountStore
    /// The node's audit log, in the same database (writes append to it in their own transactions).
    func auditLog() -> any AuditLog
    /// The node's signing keys and the audit checkpoints it holds, in the same database.
    func checkpointRecords() -> any CheckpointRecords
}

/// Where full-text search and references look: locations only (``StoredPlace``, ``VersionLocation``), which callers
/// read again through the sharing policy before they show, rank or count anything.
public protocol SearchIndex: Sendable {
    /// Makes the search documents and references of up to `limit` stored versions not yet indexed, oldest first;
    /// returns how many versions it looked at (0: every stored version is indexed).
    @discardableResult func indexForSearch(limit: Int) async throws -> Int

    /// Versions in `collections` whose searched text holds every word of `text`: first at most `named` whose title
    /// (name and external ids) holds them, then at most `limit` more whose text or title does, each list the most
    /// recently indexed first, without repeats.
    func search(_ text: SearchText, in collections: [String], named: Int, limit: Int) async throws -> [StoredPlace]

    /// Versions in `collections` that refer to `id`, newest first, at most `limit`.
    func referring(to id: String, in collections: [String], limit: Int) async throws -> [StoredPlace]

    /// Every version in `collections` that refers to one of `ids`, with the id it refers to (one row per reference).
    func referring(toAny ids: Set<String>, in collections: [String]) async throws -> [(location: VersionLocation, ref: String)]
}

extension SearchIndex {
    @discardableResult
    public func indexForSearch() async throws -> Int { try await indexForSearch(limit: 500) }
}

/// A marking-definition known to the node, as stored or registered.
public struct MarkingDefinitionRecord: Sendable {
    public let id: String
    /// `object` (stored in a collection) or `admin` (registered by an admin).
    public let source: String
    public let definition: [UInt8]

    public init(id: String, source: String, definition: [UInt8]) {
        self.id = id
        self.source = source
        self.definition = definition
    }
}

/// The audit entry of a batch of objects once stored, made from the objects and what became of each (nil: none).
public typealias AuditEntryMaker = @Sendable (_ objects: [IncomingObject], _ outcomes: [AddOutcome]) -> AuditEvent?

extension ObjectStore {
    /// Stores objects without an audit entry (for tests and tools; the node's write paths audit).
    public func add(_ objects: [IncomingObject], to collection: String, provenance: Provenance) async throws -> [AddOutcome] {
        try await add(objects, to: collection, provenance: provenance, audit: nil)
    }

    /// Stores batches without an audit entry (for tests and tools; the node's write paths audit).
    public func addAll(
        to collection: String, provenance: Provenance, next: @escaping @Sendable () throws -> [IncomingObject]?
    ) async throws -> [[AddOutcome]] {
        try await addAll(to: collection, provenance: provenance, audit: nil, next: next)
    }

    /// Deletes every version of `id` matching `query`, without an audit entry.
    public func delete(id: String, from collection: String, query: ObjectQuery) async throws -> Int {
        try await delete(id: id, from: collection, query: query, isDeletable: { _ in true }, audit: nil)
    }
}

/// A deleted version, as its tombstone keeps it (no content).
public struct Tombstone: Sendable {
    /// Increasing across the node: the cursor of deletions.
    public let seq: Int64
    public let id: String
    public let version: String?
    public let markings: MarkingRefs
    public let provenance: Provenance

    public init(seq: Int64, id: String, version: String?, markings: MarkingRefs, provenance: Provenance) {
        self.seq = seq
        self.id = id
        self.version = version
        self.markings = markings
        self.provenance = provenance
    }
}

/// A TAXII status resource (§4.3.1) as stored, with the org that may read it.
public struct StatusRecord: Sendable, Equatable {
    public let id: String
    public let apiRoot: String
    /// The org that made the request: only it may read the status.
    public let owner: String
    /// The status resource's JSON, ready to send.
    public let json: [UInt8]
    public let createdAt: Int64

    public init(id: String, apiRoot: String, owner: String, json: [UInt8], createdAt: Int64) {
        self.id = id
        self.apiRoot = apiRoot
        self.owner = owner
        self.json = json
        self.createdAt = createdAt
    }
}

/// The database cannot be reached now (it is restarting, or the network to it is down): nothing of the operation was
/// stored, and the same operation may succeed later. Servers answer 503.
public struct StorageUnavailable: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Why a storage operation failed. The message never includes object content.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
