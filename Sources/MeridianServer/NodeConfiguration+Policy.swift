import Policy
import STIX

extension NodeConfiguration {
    /// The orgs and groups of the configuration, as the sharing policy sees them.
    public var partnership: Partnership {
        Partnership(
            owner: node.owner,
            organizations: orgs.map { Organization(id: $0.id, name: $0.name, country: $0.country, identity: $0.identity, kind: $0.kind(owner: node.owner)) },
            groups: Dictionary((groups ?? []).map { ($0.name, Set($0.members)) }, uniquingKeysWith: { a, b in a.union(b) }))
    }

    /// The marking-definition ids the configuration declares non-restrictive.
    public var nonRestrictiveMarkings: [String] { node.non_restrictive_markings ?? [] }

    /// Whether reads are recorded in the audit log (on unless the configuration turns it off).
    public var auditsReads: Bool { audit?.reads ?? true }
}

extension NodeConfiguration.Collection {
    /// The collection's access rule.
    public var rule: CollectionRule {
        CollectionRule(read: read ?? [], write: write ?? [], isPublic: self.public ?? false,
                       defaultTLP: default_tlp.flatMap { $0 == "white" ? .clear : TLP(rawValue: $0) } ?? .green)
    }
}
