/// What an org is to this node (SHARING.md, "Principals"), as its configuration declares it.
public enum OrgKind: String, Sendable, Hashable, CaseIterable {
    /// The org that operates this node.
    case owner
    /// An org the owner serves on its own node (a ministry, an operator of critical infrastructure): it reads TLP:AMBER
    /// received from peers as the owner does.
    case client
    /// Any other org reading or writing this node, such as another nation's CERT: never a client unless declared one.
    case partner
    /// A peer node (another Meridian or any TAXII node) that pulls from or pushes to this one.
    case node
}

/// An organization: the unit of trust (SHARING.md, "Principals").
public struct Organization: Sendable, Hashable {
    public let id: String
    public let name: String
    /// ISO 3166-1 alpha-3, or `INT` for international bodies.
    public let country: String?
    /// The org's STIX `identity` id.
    public let identity: String?
    /// Owner, client, partner or peer node; an org not declared a client is not one.
    public let kind: OrgKind

    public init(id: String, name: String, country: String? = nil, identity: String? = nil, kind: OrgKind = .partner) {
        self.id = id
        self.name = name
        self.country = country
        self.identity = identity
        self.kind = kind
    }

    /// A peer node rather than an org reading through its people and tools.
    public var isNode: Bool { kind == .node }
}

/// Who takes part in the exchange as this node sees it: its orgs, the groups they form, and the owner.
public struct Partnership: Sendable {
    public let owner: String
    public let organizations: [String: Organization]
    /// Group name to member org ids.
    public let groups: [String: Set<String>]
    /// Org id to the names of the groups it belongs to (computed once).
    let membership: [String: Set<String>]

    public init(owner: String, organizations: [Organization], groups: [String: Set<String>]) {
        self.owner = owner
        self.organizations = Dictionary(organizations.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.groups = groups
        var membership: [String: Set<String>] = [:]
        for (group, members) in groups {
            for org in members { membership[org, default: []].insert(group) }
        }
        self.membership = membership
    }

    /// The groups `org` belongs to.
    public func groups(of org: String) -> Set<String> { membership[org] ?? [] }

    /// What `org` is to this node: the owner whatever its entry says, otherwise its declared kind; nil for an org
    /// this node does not know.
    public func kind(of org: String) -> OrgKind? {
        org == owner ? .owner : organizations[org]?.kind
    }

    /// True when `org` is declared a peer node.
    public func isNode(_ org: String) -> Bool { kind(of: org) == .node }

    /// True when `entry` of a read or write list (an org id or a group name) covers `org`.
    func listEntry(_ entry: String, covers org: String) -> Bool {
        entry == org || (groups[entry]?.contains(org) ?? false)
    }

    /// True when `org` matches an entry of a releasability list: its id, one of its groups, or its country code.
    public func matches(_ org: String, releasableTo entries: [String]) -> Bool {
        guard let organization = organizations[org] else { return false }
        let groups = self.groups(of: org)
        return entries.contains { $0 == org || groups.contains($0) || (organization.country != nil && $0 == organization.country) }
    }

    /// Whether `entry` names something this node knows: an org id, a group name, or the country of one of its orgs.
    public func knows(releasabilityEntry entry: String) -> Bool {
        organizations[entry] != nil || groups[entry] != nil || organizations.values.contains { $0.country == entry }
    }
}

/// Who is reading: an org (through one of its users or tokens, or as a peer node) or nobody.
public enum Reader: Sendable, Hashable, CustomStringConvertible {
    case anonymous
    case organization(String)

    public var org: String? {
        if case .organization(let id) = self { return id }
        return nil
    }

    public var description: String { org ?? "anonymous" }
}
