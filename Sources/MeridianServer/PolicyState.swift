import Policy
import STIX
import Storage

/// The node's current sharing policy: the configuration's partnership and the marking-definitions the node knows.
///
/// Marking-definitions change when objects are stored (here or by `meridian import` in another process) or when an
/// admin registers one; the registry is reloaded after local writes and, at most once a second, when the database
/// says it changed. Until a new definition is loaded its references count as unknown: restrictive, never permissive.
actor PolicyState {
    let store: SQLiteObjectStore
    let partnership: Partnership
    let nonRestrictive: [String]
    private var policy: SharingPolicy
    private var generation: Int64 = -1
    private var checkedAt = ContinuousClock.now

    init(store: SQLiteObjectStore, configuration: NodeConfiguration, partnership: Partnership) async throws {
        self.store = store
        self.partnership = partnership
        self.nonRestrictive = configuration.nonRestrictiveMarkings
        self.policy = SharingPolicy(partnership: partnership, markings: MarkingRegistry())
        try await reload()
    }

    /// The policy to decide a request with.
    func current() async throws -> SharingPolicy {
        let now = ContinuousClock.now
        if now - checkedAt > .seconds(1) {
            checkedAt = now
            if try await store.markingDefinitionsGeneration() != generation { try await reload() }
        }
        return policy
    }

    /// Rebuilds the marking registry from the database.
    func reload() async throws {
        let current = try await store.markingDefinitionsGeneration()
        let records = try await store.markingDefinitions()
        policy = SharingPolicy(partnership: partnership, markings: Self.registry(records, nonRestrictive: nonRestrictive))
        generation = current
        checkedAt = ContinuousClock.now
    }

    /// Stored definitions first (two that disagree cancel out), then an admin's registrations, then the
    /// configuration's non-restrictive ids: the later sources are the owner's own decisions and prevail.
    static func registry(_ records: [SQLiteObjectStore.MarkingDefinitionRecord], nonRestrictive: [String]) -> MarkingRegistry {
        var registry = MarkingRegistry()
        let parser = JSONParser()
        func kind(_ record: SQLiteObjectStore.MarkingDefinitionRecord) -> MarkingKind {
            guard let value = try? parser.parse(record.definition), value["id"]?.stringValue == record.id else {
                return .unrecognized("its stored definition cannot be read")
            }
            return MarkingKind.classify(value)
        }
        for record in records where record.source == "object" { registry.learn(record.id, as: kind(record)) }
        for record in records where record.source == "admin" { registry.set(record.id, as: kind(record)) }
        for id in nonRestrictive { registry.set(id, as: .nonRestrictive) }
        return registry
    }
}
