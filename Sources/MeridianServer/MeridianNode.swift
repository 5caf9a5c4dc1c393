import Crypto
import DocumentInput
import Foundation
import MISP
import Logging
import Policy
import STIX
import STIXValidation
import Storage

/// Everything a running node holds: its configuration, its stores, its policy and its audit trail.
///
/// Object versions leave the store only through `read(_:query:limit:withBytes:for:endpoint:)`, which applies the
/// sharing policy to every version and records what was received in the audit log.
public struct MeridianNode: Sendable {
    /// The configuration in force (read again when its file changes: ``refreshConfiguration()``).
    let live: LiveConfiguration
    public var configuration: NodeConfiguration { live.current.configuration }
    /// The configuration's orgs and groups as the policy sees them, built once per configuration (every request asks).
    public var partnership: Partnership { live.current.partnership }
    let store: any NodeStore
    public let accounts: any AccountStore
    public let authenticator: Authenticator
    /// Rates and concurrency per account and address, sign-in throttling (`[limits]`).
    public let limiter: RequestLimiter
    public let audit: AuditTrail
    let auditLog: any AuditLog
    let policyState: PolicyState
    let validator: Validator
    /// Correlation of observations with indicators, when the configuration names a sightings collection.
    public let correlator: Correlator?
    /// Short summaries of versions already shown, for the web pages (``summary(of:)``).
    let summaries = SummaryCache()

    /// Opens a node on `store` with `configuration`; when `configurationPath` names the file it came from, a running
    /// node follows changes to it (``refreshConfiguration()``).
    public init(configuration: NodeConfiguration, store: any NodeStore, configurationPath: String? = nil) async throws {
        let live = LiveConfiguration(configuration, path: configurationPath)
        self.live = live
        self.store = store
        self.accounts = store.accountStore()
        self.auditLog = store.auditLog()
        self.audit = AuditTrail(log: auditLog, recordsReads: configuration.auditsReads)
        self.authenticator = Authenticator(accounts: accounts, audit: audit, configuration: { live.current.configuration })
        self.limiter = RequestLimiter(settings: { live.current.configuration.limits ?? NodeConfiguration.Limits() })
        // Writes are refused only for errors (MUST rules); SHOULD checks would only produce warnings nobody reads here.
        self.validator = try Validator(options: ValidationOptions(disabled: ["all"]))
        for collection in configuration.collections ?? [] {
            try await store.ensureCollection(collection.id.lowercased())
        }
        self.policyState = try await PolicyState(store: store, configuration: configuration, partnership: configuration.partnership)
        let warninglists = try Self.warninglists(configuration.correlation?.misp_warninglists ?? [], relativeTo: configurationPath)
        self.correlator = Correlator(store: store, configuration: configuration, live: { live.current.configuration },
                                     policyState: policyState, audit: audit, warninglists: warninglists)
        try await recordConfigurationChange()
    }

    /// The MISP warninglists `[correlation] misp_warninglists` names (paths relative to the configuration file's
    /// directory), each read whole; one that cannot be read or matched exactly stops the node with its reason.
    static func warninglists(_ paths: [String], relativeTo configurationPath: String?) throws -> [MISPWarninglist] {
        let base = configurationPath.map { ($0 as NSString).deletingLastPathComponent } ?? FileManager.default.currentDirectoryPath
        return try paths.map { path in
            let full = path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
            do {
                let bytes = try DocumentInput(maxBytes: 256 << 20).read(full)
                return try MISPWarninglist.parse(try JSONParser().parse(bytes))
            } catch {
                throw NodeConfiguration.Problem(description: "[correlation] misp_warninglists: \(full): \(error)")
            }
        }
    }

    /// Applies the configuration file's changes, if it changed since it was read: before each request, so no
    /// decision is made on an old copy of the orgs, groups, kinds or collection rules. `[server]`, `[correlation]`
    /// and new API roots take effect at the next start; everything the sharing policy reads, at once.
    /// What SIGHUP does: the configuration file read again if it changed; true when a new configuration is in force
    /// (false: unchanged, or refused with its problem in the log).
    public func reloadConfiguration() async throws -> Bool {
        let before = live.current.stamp
        try await refreshConfiguration()
        return live.current.stamp != before
    }

    public func refreshConfiguration() async throws {
        guard live.changed, let configuration = await policyState.refresh(live) else { return }
        for collection in configuration.collections ?? [] {
            try await store.ensureCollection(collection.id.lowercased())
        }
        try await recordConfigurationChange()
    }

    /// The collection `key` (its id or its alias) in the API root `root`, or in any API root when `root` is nil.
    public func collection(_ key: String, in root: String? = nil) -> NodeConfiguration.Collection? {
        let lower = key.lowercased()
        return (configuration.collections ?? []).first {
            (root == nil || $0.api_root == root) && ($0.id.lowercased() == lower || $0.alias == key)
        }
    }

    /// What `principal` may do with `collection` (SHARING.md, "Collections").
    public func access(_ principal: Principal, to collection: NodeConfiguration.Collection) -> CollectionAccess {
        partnership.access(principal.reader, to: collection.rule)
    }

    /// The collections of `root` that `principal` can see, in configuration order (a stable sort, §5.1).
    func collections(in root: String, for principal: Principal) -> [(NodeConfiguration.Collection, CollectionAccess)] {
        (configuration.collections ?? []).filter { $0.api_root == root }.compactMap { c in
            let access = partnership.access(principal.reader, to: c.rule)
            return access.isVisible ? (c, access) : nil
        }
    }

    /// The current sharing policy, with every marking-definition the database holds now.
    public func policy() async throws -> SharingPolicy {
        try await policyState.fresh()
    }

    // MARK: - The read gate

    /// Why a read was refused before any object was looked at.
    public struct ReadRefused: Error, Sendable {}

    /// Every version of `collection` matching `query` that `principal` may receive, ascending by `date_added`, handed
    /// to `body` a page of at most `pageSize` at a time: ``read(_:query:limit:withBytes:for:endpoint:audited:)``
    /// asked again from where each page ended.
    public func forEachPage(of collection: NodeConfiguration.Collection, query: ObjectQuery, pageSize: Int = 1000, withBytes: Bool,
                            for principal: Principal, endpoint: String, audited: Bool = true,
                            _ body: (ObjectPage) async throws -> Void) async throws {
        var query = query
        while true {
            let page = try await read(collection, query: query, limit: pageSize, withBytes: withBytes, for: principal, endpoint: endpoint,
                                      audited: audited)
            try await body(page)
            guard page.more, let last = page.versions.last else { return }
            query.addedAfter = last.dateAdded
        }
    }

    /// Versions of `collection` matching `query` that `principal` may receive, ascending by `date_added`: at most
    /// `limit` of them, `more` only when a further visible version exists. Every version is decided by the sharing
    /// policy; what was received is recorded in the audit log (unless `audited` is false, for checks that return
    /// nothing to the caller).
    public func read(_ collection: NodeConfiguration.Collection, query: ObjectQuery, limit: Int, withBytes: Bool,
                     for principal: Principal, endpoint: String, audited: Bool = true) async throws -> ObjectPage {
        let access = access(principal, to: collection)
        guard access.canRead else { throw ReadRefused() }
        let reader = access.effectiveReader
        let defaultTLP = collection.rule.defaultTLP
        var (policy, generation) = await policyState.cached()
        var page: ObjectPage
        // The page says which marking-definitions it was read with (a counter that only grows); decided with an older
        // registry (another process stored or removed one since), it is read and decided again with a newer one.
        repeat {
            let decider = policy
            page = try await store.page(collection.id.lowercased(), query: query, limit: limit, withBytes: withBytes) { version in
                decider.decide(effectiveReader: reader, markings: version.markings, origin: version.origin, defaultTLP: defaultTLP).allowed
            }
            if page.markingGeneration <= generation { break }
            try await policyState.reload()
            (policy, generation) = await policyState.cached()
        } while true
        if audited && !page.versions.isEmpty {
            await audit.recordRead(AuditTrail.readEvent(principal, collection: collection.id.lowercased(), endpoint: endpoint,
                                                        versions: page.versions))
        }
        return page
    }

    /// Deletions in `collection` after the cursor `after` that `principal` may learn of: versions it could read
    /// before they were deleted. Returns them with the cursor to continue from and whether more follow.
    public func deletions(_ collection: NodeConfiguration.Collection, after: Int64, limit: Int, for principal: Principal) async throws
        -> (tombstones: [Tombstone], next: Int64, more: Bool)
    {
        let access = access(principal, to: collection)
        guard access.canRead else { throw ReadRefused() }
        let policy = try await policy()
        let batch = try await store.tombstones(collection.id.lowercased(), after: after, limit: limit)
        let visible = batch.filter {
            policy.decide(effectiveReader: access.effectiveReader, markings: $0.markings,
                          origin: VersionOrigin(submittedBy: $0.provenance.submittedBy, receivedFrom: $0.provenance.receivedFrom),
                          defaultTLP: collection.rule.defaultTLP).allowed
        }
        if !visible.isEmpty {
            let detail = AuditTrail.versionsDetail([("collection", collection.id.lowercased()), ("endpoint", "deletions")],
                                                   visible.map { ($0.id, $0.version) })
            await audit.recordRead(AuditEvent(at: SQLiteObjectStore.now(), org: principal.org, user: principal.user, action: "read",
                                              detailJSON: detail))
        }
        return (visible, batch.last?.seq ?? after, batch.count == limit)
    }

    /// Why a delete was refused: the caller may not delete anything in the collection (403), or no version matching
    /// the request is one it may delete (404, as for an object that does not exist).
    public enum DeleteRefused: Error, Sendable { case forbidden, notFound }

    /// Deletes the versions of `id` matching `query` that `principal` may delete, and records it in the audit log.
    ///
    /// A caller with read and write access deletes the versions it can read (TAXII 2.1 §5.7). Any caller with write
    /// access may also delete the versions it submitted, whatever it can read: a peer node that pushed a version can
    /// always withdraw it (docs/FEDERATION.md), though TLP:AMBER received from it is not readable by it here. A caller
    /// with write access only gets 403 when none of the matching versions is its own, so it learns nothing of others'.
    public func delete(id: String, from collection: NodeConfiguration.Collection, query: ObjectQuery, for principal: Principal)
        async throws -> Int
    {
        let access = access(principal, to: collection)
        guard access.canWrite else { throw access.canRead ? DeleteRefused.forbidden : DeleteRefused.notFound }
        let policy = try await policy()
        let reader = access.effectiveReader
        let canRead = access.canRead
        let defaultTLP = collection.rule.defaultTLP
        let org = principal.org
        let deleted = try await store.delete(id: id, from: collection.id.lowercased(), query: query, isDeletable: { version in
            (org != nil && version.provenance.submittedBy == org)
                || (canRead && policy.decide(effectiveReader: reader, markings: version.markings, origin: version.origin,
                                             defaultTLP: defaultTLP).allowed)
        }, audit: { deleted in
            AuditTrail.event("delete", by: principal, [
                "collection": .string(collection.id.lowercased()), "id": .string(id), "versions_deleted": .number(JSONNumber(Int64(deleted))),
            ])
        })
        guard deleted > 0 else { throw canRead ? DeleteRefused.notFound : DeleteRefused.forbidden }
        return deleted
    }

    // MARK: - Versions that became visible

    /// Where a walk of the versions made visible by policy changes stands: the changes after `after` and up to
    /// `through` are being walked, and the versions up to `dateAdded` were returned.
    public struct VisibilityCursor: Sendable, Equatable {
        public var after: Int64
        public var through: Int64
        public var dateAdded: Int64?

        /// `after.through.dateAdded`, as the `next` parameter carries it.
        public var text: String { "\(after).\(through).\(dateAdded.map(String.init) ?? "")" }

        public init(after: Int64, through: Int64, dateAdded: Int64?) {
            self.after = after
            self.through = through
            self.dateAdded = dateAdded
        }

        public init?(_ text: String) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, let after = Int64(parts[0]), let through = Int64(parts[1]), after >= 0, through >= after else { return nil }
            self.after = after
            self.through = through
            if parts[2].isEmpty { dateAdded = nil } else if let d = Int64(parts[2]) { dateAdded = d } else { return nil }
        }
    }

    /// More marking changes than this in one walk are walked as a change of everything (one query, not hundreds).
    static let maxMarkingsPerWalk = 64

    /// The latest policy change: where a peer that has just read everything it may read starts following changes.
    public func latestPolicyChange() async throws -> Int64 {
        try await store.latestPolicyChange()
    }

    /// Versions of `collection` that `principal` may read now and that policy changes after `cursor.after` (up to
    /// `cursor.through`) may have made visible: those referring to a marking-definition learned, registered or removed
    /// since, or every version when the configuration changed. A peer that follows this after each pull receives
    /// every version that became readable by it after its pull cursor had moved past it (docs/FEDERATION.md). The
    /// versions go through the read gate like any read; a reader learns nothing of what it may not read.
    public func visibleAfterPolicyChanges(_ collection: NodeConfiguration.Collection, cursor: VisibilityCursor, limit: Int,
                                          for principal: Principal, endpoint: String) async throws -> (page: ObjectPage, next: VisibilityCursor?) {
        let changes = try await store.policyChanges(after: cursor.after, through: cursor.through)
        guard !changes.isEmpty else { return (ObjectPage(versions: [], more: false), nil) }
        let markings = Set(changes.compactMap(\.marking))
        let everything = changes.contains { $0.marking == nil } || markings.count > Self.maxMarkingsPerWalk
        let query = ObjectQuery(addedAfter: cursor.dateAdded, versions: .all, markings: everything ? nil : markings)
        let page = try await read(collection, query: query, limit: limit, withBytes: true, for: principal, endpoint: endpoint)
        guard page.more, let last = page.versions.last else { return (page, nil) }
        return (page, VisibilityCursor(after: cursor.after, through: cursor.through, dateAdded: last.dateAdded))
    }

    // MARK: - Explain

    /// One stored version and what the policy decides about it for an org.
    public struct Explanation: Sendable {
        public let collection: String
        public let version: String?
        public let dateAdded: Int64
        public let submittedBy: String?
        public let receivedFrom: String?
        public let decision: Decision
    }

    /// The reader as `policy explain` names it: the org, its kind, its country and its groups.
    public func describeReader(_ org: String?) -> String {
        guard let org, let kind = partnership.kind(of: org) else { return "anonymous" }
        let country = partnership.organizations[org]?.country.map { ", \($0)" } ?? ""
        let groups = partnership.groups(of: org).sorted()
        return "\(org) (\(kind.rawValue)\(country))" + (groups.isEmpty ? "" : ", in " + groups.joined(separator: ", "))
    }

    /// Why `org` can or cannot read each stored version of `objectID`, in every collection (an admin question).
    public func explain(objectID: String, org: String?) async throws -> [Explanation] {
        let policy = try await policy()
        let reader: Reader = org.map(Reader.organization) ?? .anonymous
        var out: [Explanation] = []
        for collection in configuration.collections ?? [] {
            var query = ObjectQuery(ids: [objectID], versions: .all)
            while true {
                let page = try await store.page(collection.id.lowercased(), query: query, limit: 1000, withBytes: false) { _ in true }
                for v in page.versions {
                    let decision = policy.decide(reader: reader, markings: v.markings, origin: v.origin, collection: collection.rule)
                    out.append(Explanation(collection: collection.alias ?? collection.id, version: v.version, dateAdded: v.dateAdded,
                                           submittedBy: v.provenance.submittedBy, receivedFrom: v.provenance.receivedFrom,
                                           decision: decision))
                }
                guard page.more, let last = page.versions.last else { break }
                query.addedAfter = last.dateAdded
            }
        }
        return out
    }

    // MARK: - Admin changes

    /// Why an admin request cannot be carried out.
    public struct AdminProblem: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Creates and registers a releasability marking-definition; returns it. Every entry must name an org, a group
    /// or the country of an org this node knows, so a typing mistake cannot silently release to nobody.
    public func createReleasabilityMarking(name: String, releasableTo: [String], by principal: Principal?) async throws -> JSONValue {
        guard !name.isEmpty, name.count <= 256 else { throw AdminProblem(description: "name: must be 1 to 256 characters") }
        if let problem = Releasability.problem(in: .array(releasableTo.map(JSONValue.string))) { throw AdminProblem(description: problem) }
        let unknown = releasableTo.filter { !partnership.knows(releasabilityEntry: $0) }
        guard unknown.isEmpty else {
            throw AdminProblem(description: "releasable_to: \(unknown.map { "'\($0)'" }.joined(separator: ", ")) is not an org id, a group name or the country code of a known org")
        }
        let owner = configuration.orgs.first { $0.id == configuration.node.owner }
        let definition = Releasability.markingDefinition(
            id: "marking-definition--" + UUID().uuidString.lowercased(), name: name, releasableTo: releasableTo,
            createdBy: owner?.identity, created: TAXIITimestamp.format(SQLiteObjectStore.now() / 1000 * 1000).replacingOccurrences(of: "000Z", with: "Z"))
        let id = definition["id"]?.stringValue ?? ""
        try await store.registerMarkingDefinition(id: id, definition: Array(definition.serialized().utf8))
        try await policyState.reload()
        try await audit.record(AuditTrail.event("marking.register", by: principal, [
            "marking": .string(id), "name": .string(name), "releasable_to": .array(releasableTo.map(JSONValue.string)),
        ]))
        return definition
    }

    /// Registers an existing marking-definition (such as a partner's releasability or statement marking whose
    /// definition was not shared with the objects that use it) as the owner's decision; returns what it means. It
    /// must be a valid marking-definition the node understands (SHARING.md, "Markings the node understands").
    public func registerMarking(_ bytes: [UInt8], by principal: Principal?) async throws -> MarkingKind {
        switch ObjectCheck.check(bytes, range: bytes.indices, index: 0, parser: JSONParser(), validator: validator) {
        case .failure(let rejection):
            throw AdminProblem(description: "\(rejection.id.isEmpty ? "the definition" : rejection.id): \(rejection.reason)")
        case .success(let incoming):
            guard incoming.type == "marking-definition" else {
                throw AdminProblem(description: "\(incoming.id): a \(incoming.type), not a marking-definition")
            }
            guard TLP(markingID: incoming.id) == nil else {
                throw AdminProblem(description: "\(incoming.id): a TLP marking; TLP ids are known to every node and cannot be registered")
            }
            let kind = MarkingKind.classify((try? JSONParser().parse(bytes)) ?? .null)
            if case .unrecognized(let why) = kind {
                throw AdminProblem(description: "\(incoming.id): not a marking this node understands: \(why)")
            }
            try await store.registerMarkingDefinition(id: incoming.id, definition: bytes)
            try await policyState.reload()
            try await audit.record(AuditTrail.event("marking.register", by: principal, ["marking": .string(incoming.id)]))
            return kind
        }
    }

    /// The objects of a batch that would take past `max_versions_per_object` the versions of their object that
    /// `submitter` submitted to `collection` (counting those stored and those before it in the batch), by position,
    /// with the reason. Only the submitter's own versions count, so the answer says nothing of versions other orgs
    /// stored; posting one of its own versions again adds none and is not refused.
    func overVersionLimit(_ objects: [IncomingObject], in collection: String, submittedBy submitter: String?) async throws -> [Int: String] {
        let limit = configuration.maxVersionsPerObject
        var counts = try await store.versionCounts(collection, ids: objects.map(\.id), submittedBy: submitter)
        // Only objects whose count could pass the limit are looked at one by one.
        guard counts.values.contains(where: { $0 + objects.count > limit }) || objects.count > limit else { return [:] }
        var seen = Set<String>()
        var over: [Int: String] = [:]
        let ids = Set(counts.filter { $0.value + objects.count > limit }.keys)
        let stored = try await storedVersions(of: ids, in: collection, submittedBy: submitter)
        for (i, object) in objects.enumerated() {
            let key = object.id + "\u{0}" + (object.version?.text ?? "")
            if stored.contains(key) || !seen.insert(key).inserted { continue }  // a duplicate adds no version
            let count = counts[object.id, default: 0]
            if count >= limit {
                over[i] = "\(object.id) already has \(limit) versions from this org in this collection, the most it keeps [max_versions_per_object]"
            } else {
                counts[object.id] = count + 1
            }
        }
        return over
    }

    /// The versions (id and version text) of `ids` that `submitter` submitted: only to count them.
    private func storedVersions(of ids: Set<String>, in collection: String, submittedBy submitter: String?) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        var out = Set<String>()
        var query = ObjectQuery(ids: ids, versions: .all)
        while true {
            let page = try await store.page(collection, query: query, limit: 1000, withBytes: false) { $0.provenance.submittedBy == submitter }
            for v in page.versions { out.insert(v.id + "\u{0}" + (v.version ?? "")) }
            guard page.more, let last = page.versions.last else { return out }
            query.addedAfter = last.dateAdded
        }
    }

    /// Stores objects in `collection` with their write entry in the audit log, in one transaction (no acknowledged
    /// write lacks its entry, whenever the process is stopped), then hands them on (``afterWrite``).
    func write(_ objects: [IncomingObject], to collection: String, by principal: Principal?, provenance: Provenance) async throws
        -> [AddOutcome]
    {
        let outcomes = try await store.add(objects, to: collection, provenance: provenance,
                                           audit: Self.writeEntry(collection: collection, by: principal, provenance: provenance))
        try await afterWrite(objects, outcomes, collection: collection, provenance: provenance)
        return outcomes
    }

    /// The write entry of a stored batch: the versions stored, by id and version (none when every one was already
    /// there). The store appends it in the batch's own transaction.
    static func writeEntry(collection: String, by principal: Principal?, provenance: Provenance) -> AuditEntryMaker {
        { objects, outcomes in
            let stored = AddOutcome.newlyStored(objects, outcomes)
            guard !stored.isEmpty else { return nil }
            let detail = AuditTrail.versionsDetail(
                [("collection", collection), ("submitted_by", provenance.submittedBy), ("received_from", provenance.receivedFrom)],
                stored.map { ($0.id, $0.version?.text) })
            return AuditEvent(at: SQLiteObjectStore.now(), org: principal?.org, user: principal?.user, action: "write", detailJSON: detail)
        }
    }

    /// After a stored batch has committed (with its audit entry): picks up any new marking-definition it brought and
    /// hands the new versions to the correlator.
    func afterWrite(_ objects: [IncomingObject], _ outcomes: [AddOutcome], collection: String, provenance: Provenance) async throws {
        let stored = AddOutcome.newlyStored(objects, outcomes)
        guard !stored.isEmpty else { return }
        if stored.contains(where: { $0.type == "marking-definition" }) { try await policyState.reload() }
        await correlator?.submit(stored, collection: collection, provenance: provenance)
    }

    /// Records the orgs, groups and collections in the audit log when they differ from those last recorded.
    func recordConfigurationChange() async throws {
        var detail = JSONObject()
        detail["owner"] = .string(configuration.node.owner)
        detail["orgs"] = .array(configuration.orgs.map { o in
            .object(JSONObject(["id": .string(o.id), "country": o.country.map(JSONValue.string) ?? .null, "kind": .string(o.kind(owner: configuration.node.owner).rawValue)]))
        })
        detail["groups"] = .array((configuration.groups ?? []).map { g in
            .object(JSONObject(["name": .string(g.name), "members": .array(g.members.map(JSONValue.string))]))
        })
        detail["collections"] = .array((configuration.collections ?? []).map { c in
            .object(JSONObject([
                "id": .string(c.id.lowercased()), "read": .array((c.read ?? []).map(JSONValue.string)),
                "write": .array((c.write ?? []).map(JSONValue.string)), "public": .bool(c.public ?? false),
                "default_tlp": .string(c.rule.defaultTLP.rawValue),
            ]))
        })
        detail["non_restrictive_markings"] = .array(configuration.nonRestrictiveMarkings.map(JSONValue.string))
        let text = JSONValue.object(detail).serialized()
        guard try await store.state("configuration") != text else { return }
        try await audit.record(AuditEvent(at: SQLiteObjectStore.now(), org: nil, user: nil, action: "configuration", detail: detail))
        // Any org may now read more (a group joined, a kind or a read list changed): peers are told to look again.
        try await store.recordConfigurationPolicyChange()
        try await store.setState("configuration", text)
    }
}

extension StoredVersion {
    /// The provenance as the policy reads it.
    var origin: VersionOrigin {
        VersionOrigin(submittedBy: provenance.submittedBy, receivedFrom: provenance.receivedFrom)
    }
}
