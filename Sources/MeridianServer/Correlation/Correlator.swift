import Foundation
import MISP
import Logging
import Metrics
import Policy
import STIX
import STIXPattern
import Storage

/// Correlation in the node: every stored indicator with a STIX pattern is in a `CorrelationIndex`; every stored
/// observed-data (and every observable stored without one) is checked against its candidate indicators, and each match
/// becomes a sighting in the sightings collection, marked so that only readers allowed to see every input see it.
///
/// Work runs in the background, one batch at a time, after the write that caused it has been answered: neither the
/// answer nor its timing depends on what correlated.
public actor Correlator {
    struct Settings {
        let sightings: NodeConfiguration.Collection
        let window: Int64
        let cap: Int
        let warningList: WarningList
    }

    /// Where an indexed indicator is stored and how it is marked.
    struct Source {
        let collection: String
        let modified: String
        let markings: MarkingRefs
        let provenance: Provenance
    }

    /// One input of a sighting: its collection, markings and provenance.
    struct Input {
        let collection: String
        let markings: MarkingRefs
        let provenance: Provenance
    }

    struct Job {
        let objects: [IncomingObject]
        let collection: String
        let provenance: Provenance
    }

    let store: any NodeStore
    /// The configuration in force: its collection rules and orgs mark the sightings ([correlation] itself is read once).
    let live: @Sendable () -> NodeConfiguration
    var configuration: NodeConfiguration { live() }
    let settings: Settings
    let policyState: PolicyState
    let audit: AuditTrail
    let logger = Logger(label: "meridian.correlation")
    private var index = CorrelationIndex()
    private var sources: [String: Source] = [:]
    /// The last `date_added` of each collection whose indicators are in the index.
    private var indexedUpTo: [String: Int64] = [:]
    private var prepared = false
    private var queue: [Job] = []
    private var running = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var registeredMarkings = Set<String>()
    /// Sightings made since the node started, and observations refused as over-correlated (for tests and metrics).
    public private(set) var sightingsMade = 0
    public private(set) var overCorrelated = 0

    init?(store: any NodeStore, configuration: NodeConfiguration, live: @escaping @Sendable () -> NodeConfiguration,
          policyState: PolicyState, audit: AuditTrail, warninglists: [MISPWarninglist] = []) {
        guard let c = configuration.correlation, c.enabled ?? true,
            let sightings = (configuration.collections ?? []).first(where: {
                $0.id.lowercased() == c.sightings_collection.lowercased() || $0.alias == c.sightings_collection
            })
        else { return nil }
        self.store = store
        self.live = live
        self.policyState = policyState
        self.audit = audit
        settings = Settings(sightings: sightings, window: Int64(c.retro_window_days ?? 30) * 86_400 * 1_000_000,
                            cap: c.max_matches_per_observation ?? 50, warningList: WarningList(c.warning_list ?? WarningList.defaults, lists: warninglists))
    }

    var sightingsID: String { settings.sightings.id.lowercased() }

    /// The collections whose content correlates (all but the sightings collection).
    var sourceCollections: [NodeConfiguration.Collection] {
        (configuration.collections ?? []).filter { $0.id.lowercased() != sightingsID }
    }

    /// Builds the index from the stored indicators (done once, before the first batch). `serve` announces it in its
    /// log; commands that store objects (import, sync) build it quietly.
    public func prepare(announce: Bool = false) async throws {
        guard !prepared else { return }
        prepared = true
        try await catchUp()
        logger.log(level: announce ? .info : .debug, "correlation index ready", metadata: ["indicators": .stringConvertible(index.count)])
    }

    /// Adds to the index the indicators stored since it was last brought up to date (by this process or another).
    func catchUp() async throws {
        for c in sourceCollections {
            let id = c.id.lowercased()
            var query = ObjectQuery(addedAfter: indexedUpTo[id], types: ["indicator"], versions: .all)
            while true {
                let page = try await store.page(id, query: query, limit: 1000, withBytes: true) { _ in true }
                for (i, v) in page.versions.enumerated() {
                    if let object = try? JSONParser().parse(page.bytes(at: i)) {
                        indexIndicator(object, source: Source(collection: id, modified: v.version ?? "", markings: v.markings,
                                                              provenance: v.provenance))
                    }
                }
                guard let last = page.versions.last else { break }
                indexedUpTo[id] = last.dateAdded
                query.addedAfter = last.dateAdded
                if !page.more { break }
            }
        }
    }

    /// Puts an indicator version in the index, or takes it out when it is revoked or has no STIX pattern. Returns
    /// whether it is now indexed. An older version than the one indexed changes nothing.
    @discardableResult
    func indexIndicator(_ object: JSONValue, source: Source) -> Bool {
        guard let id = object["id"]?.stringValue else { return false }
        if let current = sources[id], let a = Timestamp(current.modified), let b = Timestamp(source.modified), b < a { return false }
        guard object["revoked"]?.boolValue != true, object["pattern_type"]?.stringValue == "stix",
            let pattern = object["pattern"]?.stringValue
        else {
            index.remove(id: id)
            sources[id] = nil
            return false
        }
        let validUntil = object["valid_until"]?.stringValue.flatMap(TAXIITimestamp.parse)
        do {
            try index.add(id: id, pattern: pattern, validUntil: validUntil)
            sources[id] = source
            return true
        } catch {
            index.remove(id: id)
            sources[id] = nil
            return false
        }
    }

    // MARK: - The queue

    /// Queues objects just stored in `collection`; they are correlated in the background.
    func submit(_ objects: [IncomingObject], collection: String, provenance: Provenance) {
        guard collection != sightingsID, !objects.isEmpty else { return }
        queue.append(Job(objects: objects, collection: collection, provenance: provenance))
        if !running {
            running = true
            Task { await self.drain() }
        }
    }

    /// Returns once every queued batch has been correlated.
    public func idle() async {
        guard running || !queue.isEmpty else { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func drain() async {
        while !queue.isEmpty {
            let job = queue.removeFirst()
            do {
                try await prepare()
                try await process(job)
            } catch {
                logger.error("correlation of a batch failed: \(String(describing: type(of: error)))")
                Counter(label: "meridian_correlation_errors_total").increment()
            }
        }
        running = false
        let w = waiters
        waiters = []
        for c in w { c.resume() }
    }

    // MARK: - Correlating a batch

    /// A cyber observable, or a type the specification does not define (a custom observable): what an observed-data
    /// can name and what a pattern can match. Relationships, sightings and the other SDOs are never decoded.
    private static func isObservable(_ type: String) -> Bool {
        let category = STIXType.category(of: type)
        return category == .cyberObservable || category == nil
    }

    func process(_ job: Job) async throws {
        let parser = JSONParser()
        var objects: [(IncomingObject, JSONValue)] = []
        // Only indicators, observed-data and what an observed-data can name are looked at: a batch of ATT&CK
        // techniques is not decoded at all.
        for o in job.objects where o.type == "indicator" || o.type == "observed-data" || Self.isObservable(o.type) {
            guard let value = try? parser.parse(o.bytes) else { continue }
            objects.append((o, value))
        }
        // New indicators join the index, and are matched against recent stored observations.
        var fresh = CorrelationIndex()
        for (incoming, value) in objects where incoming.type == "indicator" {
            let source = Source(collection: job.collection, modified: incoming.version?.text ?? "", markings: incoming.markings,
                                provenance: job.provenance)
            if indexIndicator(value, source: source), let pattern = value["pattern"]?.stringValue {
                try? fresh.add(id: incoming.id, pattern: pattern, validUntil: value["valid_until"]?.stringValue.flatMap(TAXIITimestamp.parse))
            }
        }
        try await catchUp()
        // The batch's observations: each observed-data with the observables it names, and the observables no
        // observed-data of the batch names, together.
        var byID: [String: (IncomingObject, JSONValue)] = [:]
        for pair in objects { byID[pair.0.id] = pair }
        var referenced = Set<String>()
        var observations: [Observation] = []
        for (incoming, value) in objects where incoming.type == "observed-data" {
            let refs = (value["object_refs"]?.arrayValue ?? []).compactMap(\.stringValue)
            referenced.formUnion(refs)
            var members: [(JSONValue, Input)] = []
            var missing: [String] = []
            for ref in refs {
                if let (o, v) = byID[ref] {
                    members.append((v, Input(collection: job.collection, markings: o.markings, provenance: job.provenance)))
                } else {
                    missing.append(ref)
                }
            }
            members += try await storedObjects(missing, in: job.collection)
            observations.append(Observation(sdo: value, stored: true, members: members,
                                            input: Input(collection: job.collection, markings: incoming.markings, provenance: job.provenance)))
        }
        let loose = objects.filter { Self.isObservable($0.0.type) && !referenced.contains($0.0.id) }
        if !loose.isEmpty {
            observations.append(Observation.synthetic(loose.map { ($0.1, Input(collection: job.collection, markings: $0.0.markings, provenance: job.provenance)) }))
        }
        var made: [Made] = []
        for observation in observations {
            made += try await correlate(observation, retroactively: false)
        }
        if fresh.count > 0 {
            retroIndex = fresh
            made += try await retroactive()
            retroIndex = CorrelationIndex()
        }
        try await store(made)
    }

    /// A sighting and the peer its inputs were received from, if any.
    typealias Made = (sighting: IncomingObject, receivedFrom: String?)

    /// The indicators of the batch being correlated retroactively.
    private var retroIndex = CorrelationIndex()

    /// Stored objects by id from a collection (the latest version of each), as sighting inputs.
    func storedObjects(_ ids: [String], in collection: String) async throws -> [(JSONValue, Input)] {
        guard !ids.isEmpty else { return [] }
        let page = try await store.page(collection, query: ObjectQuery(ids: Set(ids), versions: .last), limit: max(ids.count, 1),
                                        withBytes: true) { _ in true }
        return page.versions.enumerated().compactMap { i, v in
            (try? JSONParser().parse(page.bytes(at: i))).map { ($0, Input(collection: collection, markings: v.markings, provenance: v.provenance)) }
        }
    }

    /// Matches the new indicators (`retroIndex`) against the observed-data stored within the window.
    func retroactive() async throws -> [Made] {
        var made: [Made] = []
        let since = SQLiteObjectStore.now() - settings.window
        for c in sourceCollections {
            let id = c.id.lowercased()
            var query = ObjectQuery(addedAfter: since, types: ["observed-data"], versions: .last)
            while true {
                let page = try await store.page(id, query: query, limit: 500, withBytes: true) { _ in true }
                let parsed = page.versions.indices.map { try? JSONParser().parse(page.bytes(at: $0)) }
                // The observables of the whole page in one read, not one read per observed-data (a bulk import of
                // indicators would otherwise cost a read per stored observation for every batch).
                let refs = parsed.map { ($0?["object_refs"]?.arrayValue ?? []).compactMap(\.stringValue) }
                var observables: [String: (JSONValue, Input)] = [:]
                for member in try await storedObjects(Array(Set(refs.joined())), in: id) {
                    if let memberID = member.0["id"]?.stringValue { observables[memberID] = member }
                }
                for (i, v) in page.versions.enumerated() {
                    guard let sdo = parsed[i] else { continue }
                    let members = refs[i].compactMap { observables[$0] }
                    let observation = Observation(sdo: sdo, stored: true, members: members,
                                                  input: Input(collection: id, markings: v.markings, provenance: v.provenance))
                    made += try await correlate(observation, retroactively: true)
                }
                guard page.more, let last = page.versions.last else { break }
                query.addedAfter = last.dateAdded
            }
        }
        return made
    }

    /// An observation as correlation sees it.
    struct Observation {
        let sdo: JSONValue
        /// False for the observed-data made up for observables stored without one (it is not stored or referenced).
        let stored: Bool
        let members: [(JSONValue, Input)]
        let input: Input

        static func synthetic(_ members: [(JSONValue, Input)]) -> Observation {
            let ids = members.compactMap { $0.0["id"]?.stringValue }.sorted()
            let now = TAXIITimestamp.format(SQLiteObjectStore.now() / 1000 * 1000)
            var o = JSONObject()
            o["type"] = .string("observed-data")
            o["spec_version"] = .string("2.1")
            o["id"] = .string("observed-data--" + Identifier.uuidV5(namespace: Correlator.namespace, name: ids.joined(separator: ",")))
            o["created"] = .string(now)
            o["modified"] = .string(now)
            o["first_observed"] = .string(now)
            o["last_observed"] = .string(now)
            o["number_observed"] = .number(JSONNumber(1))
            o["object_refs"] = .array(ids.map(JSONValue.string))
            return Observation(sdo: .object(o), stored: false, members: members, input: members[0].1)
        }
    }

    /// The namespace of the ids correlation derives (sightings, synthetic observations, collection markings).
    static let namespace = "6f1d6f0e-3c55-4a5e-9a83-2f8a1c7b9d41"

    /// The indicators of the node's index (or, retroactively, of the new ones) whose patterns match an observation.
    func matchingIndicators(_ prepared: Observations, _ members: [JSONValue], retroactively: Bool) -> [String] {
        retroactively ? Self.matching(&retroIndex, prepared, members) : Self.matching(&index, prepared, members)
    }

    static func matching(_ index: inout CorrelationIndex, _ prepared: Observations, _ members: [JSONValue]) -> [String] {
        let now = SQLiteObjectStore.now()
        var matched: [String] = []
        for handle in index.candidates(members) {
            if (try? index.matches(handle, observations: prepared, now: now)) == true, let entry = index.entry(handle) {
                matched.append(entry.id)
            }
        }
        return matched
    }

    /// The sightings one observation yields.
    func correlate(_ observation: Observation, retroactively: Bool) async throws -> [Made] {
        // Observables carrying a warning-list value are left out.
        let members = observation.members.filter { !settings.warningList.flags($0.0) }
        guard !members.isEmpty else { return [] }
        // Most observations share no value with any indicator: they are let go before the matcher's view of them is
        // built (a bulk import runs every stored observation past each batch's new indicators).
        guard !(retroactively ? retroIndex : index).candidates(members.map(\.0)).isEmpty else { return [] }
        var objects = [observation.sdo]
        objects += members.map(\.0)
        var bundle = JSONObject()
        bundle["type"] = .string("bundle")
        bundle["id"] = .string("bundle--" + Identifier.uuidV5(namespace: Correlator.namespace, name: observation.sdo["id"]?.stringValue ?? ""))
        bundle["objects"] = .array(objects)
        let prepared: Observations
        do {
            prepared = try Observations([.object(bundle)], stixVersion: "2.1")
        } catch {
            return []
        }
        let matched = matchingIndicators(prepared, members.map(\.0), retroactively: retroactively)
        guard !matched.isEmpty else { return [] }
        guard matched.count <= settings.cap else {
            overCorrelated += 1
            Counter(label: "meridian_correlation_over_correlated_total").increment()
            logger.warning("an observation matched more indicators than max_matches_per_observation; no sightings made",
                           metadata: ["matches": .stringConvertible(matched.count), "cap": .stringConvertible(settings.cap)])
            return []
        }
        var out: [Made] = []
        // An indicator and an observed-data of one uuid are one MISP attribute (misp-stix makes an attribute flagged
        // to_ids into both): the observation is what the indicator was made from, not a sighting of it.
        let observationUUID = observation.sdo["id"]?.stringValue?.split(separator: "--").last
        for id in matched where id.split(separator: "--").last != observationUUID {
            guard let source = sources[id] else { continue }
            guard let s = try await sighting(of: id, source: source, observation: observation, members: members) else { continue }
            let inputs = [source.provenance, observation.input.provenance] + members.map(\.1.provenance)
            out.append((s, inputs.compactMap(\.receivedFrom).first))
        }
        return out
    }

    // MARK: - Sightings

    /// The sighting of indicator `id` in `observation`, marked with the most restrictive TLP and every releasability
    /// of its inputs, and with one releasability marking per input collection naming that collection's readers.
    func sighting(of id: String, source: Source, observation: Observation, members: [(JSONValue, Input)]) async throws -> IncomingObject? {
        let policy = try await policyState.fresh()
        var inputs = [Input(collection: source.collection, markings: source.markings, provenance: source.provenance), observation.input]
        inputs += members.map(\.1)
        var level = TLP.clear
        var carried: [String] = []
        var collections: [String] = []
        for input in inputs {
            guard let rule = (configuration.collections ?? []).first(where: { $0.id.lowercased() == input.collection })?.rule else { return nil }
            var objectTLP: TLP?
            var granularTLP: TLP?
            for (refs, granular) in [(input.markings.objectRefs, false), (input.markings.granularRefs, true)] {
                for ref in refs {
                    switch policy.markings.kind(of: ref) {
                    case .tlp(let l)?:
                        if granular { granularTLP = max(granularTLP ?? l, l) } else { objectTLP = max(objectTLP ?? l, l) }
                    case .statement?, .nonRestrictive?: break
                    default: if !carried.contains(ref) { carried.append(ref) }  // releasability, and unknown ones (fail closed)
                    }
                }
            }
            if input.markings.malformed { return nil }
            level = max(level, max(objectTLP ?? rule.defaultTLP, granularTLP ?? .clear))
            if !collections.contains(input.collection) { collections.append(input.collection) }
        }
        for c in collections { carried.append(try await collectionMarking(c)) }
        let observedID = observation.sdo["id"]?.stringValue ?? ""
        let timestamps = [source.modified, observation.sdo["modified"]?.stringValue ?? observation.sdo["created"]?.stringValue ?? ""]
            .compactMap(Timestamp.init)
        let stamp = timestamps.max()?.text ?? TAXIITimestamp.format(SQLiteObjectStore.now())
        var o = JSONObject()
        o["type"] = .string("sighting")
        o["spec_version"] = .string("2.1")
        o["id"] = .string("sighting--" + Identifier.uuidV5(namespace: Correlator.namespace, name: id + "|" + observedID))
        o["created"] = .string(stamp)
        o["modified"] = .string(stamp)
        let owner = configuration.orgs.first { $0.id == configuration.node.owner }
        if let identity = owner?.identity { o["created_by_ref"] = .string(identity) }
        o["sighting_of_ref"] = .string(id)
        if observation.stored { o["observed_data_refs"] = .array([.string(observedID)]) }
        let submitter = observation.input.provenance.submittedBy.flatMap { org in configuration.orgs.first { $0.id == org }?.identity }
        if let submitter { o["where_sighted_refs"] = .array([.string(submitter)]) }
        if let count = observation.sdo["number_observed"] { o["count"] = count }
        if let first = observation.sdo["first_observed"] { o["first_seen"] = first }
        if let last = observation.sdo["last_observed"] { o["last_seen"] = last }
        o["description"] = .string("Made by Meridian correlation: the indicator's pattern matched this observation.")
        o["object_marking_refs"] = .array(([level.v2ID] + carried).map(JSONValue.string))
        let bytes = Array(JSONValue.object(o).serialized().utf8)
        return IncomingObject(object: o, bytes: bytes)
    }

    /// A releasability marking naming the readers of a collection (its read list), registered with the node so the
    /// policy knows it: a sighting carrying it is visible only to those who may read that collection.
    func collectionMarking(_ collection: String) async throws -> String {
        let c = (configuration.collections ?? []).first { $0.id.lowercased() == collection }
        let readers = (c?.read ?? []).sorted()
        let id = "marking-definition--" + Identifier.uuidV5(namespace: Correlator.namespace,
                                                            name: "collection-readers:" + collection + ":" + readers.joined(separator: ","))
        if !registeredMarkings.contains(id) {
            let definition = Releasability.markingDefinition(
                id: id, name: "REL TO readers of collection \(c?.alias ?? collection)", releasableTo: readers,
                createdBy: configuration.orgs.first { $0.id == configuration.node.owner }?.identity, created: "2026-01-01T00:00:00.000Z")
            try await store.registerMarkingDefinition(id: id, definition: Array(definition.serialized().utf8))
            try await policyState.reload()
            registeredMarkings.insert(id)
        }
        return id
    }

    /// Stores sightings in the sightings collection and records them in the audit log.
    func store(_ made: [Made]) async throws {
        guard !made.isEmpty else { return }
        // Sightings derived from a version received from a peer keep that provenance, so the rules for received
        // content apply to them too; the node itself is their submitter, so nobody reads them as its submitter.
        var stored: [IncomingObject] = []
        let collection = sightingsID
        for receivedFrom in Set(made.map { $0.receivedFrom ?? "" }) {
            let group = made.filter { ($0.receivedFrom ?? "") == receivedFrom }.map(\.sighting)
            // Each group of sightings commits with its audit entry.
            let outcomes = try await store.add(group, to: sightingsID,
                                               provenance: Provenance(submittedBy: nil, receivedFrom: receivedFrom.isEmpty ? nil : receivedFrom),
                                               audit: { objects, outcomes in
                let new = AddOutcome.newlyStored(objects, outcomes)
                guard !new.isEmpty else { return nil }
                return AuditTrail.event("correlation", by: nil, [
                    "collection": .string(collection), "sightings": .array(new.map { .string($0.id) }),
                ])
            })
            stored += AddOutcome.newlyStored(group, outcomes)
        }
        sightingsMade += stored.count
        guard !stored.isEmpty else { return }
        Counter(label: "meridian_sightings_total").increment(by: stored.count)
    }
}
