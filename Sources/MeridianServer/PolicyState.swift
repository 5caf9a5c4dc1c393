import Policy
import STIX
import Storage

/// The node's current sharing policy: the configuration's partnership and the marking-definitions the node knows.
///
/// Marking-definitions change when objects are stored (here or by `meridian import` or `sync` in another process) or
/// when an admin registers one; a trigger in the database counts every change in a generation number. No read is
/// decided on an older registry than the database it reads: a page carries the generation it was read at (in the
/// same transaction), and the read gate decides it again with a reloaded registry when they differ; other decisions
/// first ask the database for its generation (``fresh()``).
actor PolicyState {
    let store: any NodeStore
    private var partnership: Partnership
    private var nonRestrictive: [String]
    private var policy: SharingPolicy
    private var generation: Int64 = -1
    /// The stored marking-definitions the registry was built from.
    private var records: [MarkingDefinitionRecord] = []

    init(store: any NodeStore, configuration: NodeConfiguration, partnership: Partnership) async throws {
        self.store = store
        self.partnership = partnership
        self.nonRestrictive = configuration.nonRestrictiveMarkings
        self.policy = SharingPolicy(partnership: partnership, markings: MarkingRegistry())
        try await reload()
    }

    /// The policy as last loaded and its generation, without asking the database: for a read that checks the
    /// generation its page was read at.
    func cached() -> (policy: SharingPolicy, generation: Int64) { (policy, generation) }

    /// The policy, reloaded first when the database's marking-definitions changed since it was loaded.
    func fresh() async throws -> SharingPolicy {
        if try await store.markingDefinitionsGeneration() > generation { try await reload() }
        return policy
    }

    /// Reads the configuration file again if it changed and, in the same step (nothing else runs on this actor
    /// meanwhile), decides from then on with its orgs, groups and non-restrictive markings. Returns the new
    /// configuration, if any.
    func refresh(_ live: LiveConfiguration) -> NodeConfiguration? {
        guard let configuration = live.refresh() else { return nil }
        partnership = configuration.partnership
        nonRestrictive = configuration.nonRestrictiveMarkings
        policy = SharingPolicy(partnership: partnership, markings: Self.registry(records, nonRestrictive: nonRestrictive))
        return configuration
    }

    /// Rebuilds the marking registry from the database.
    func reload() async throws {
        let (current, records) = try await store.markingDefinitions()
        guard current > generation else { return }
        self.records = records
        policy = SharingPolicy(partnership: partnership, markings: Self.registry(records, nonRestrictive: nonRestrictive))
        generation = current
    }

    /// Stored definitions first (two that disagree cancel out), then an admin's registrations, then the
    /// configuration's non-restrictive ids: the later sources are the owner's own decisions and prevail.
    static func registry(_ records: [MarkingDefinitionRecord], nonRestrictive: [String]) -> MarkingRegistry {
        var registry = MarkingRegistry()
        let parser = JSONParser()
        func kind(_ record: MarkingDefinitionRecord) -> MarkingKind {
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
