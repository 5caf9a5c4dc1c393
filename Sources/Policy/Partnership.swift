/// An organization: the unit of trust (SHARING.md, "Principals").
public struct Organization: Sendable, Hashable {
    public let id: String
    public let name: String
    /// ISO 3166-1 alpha-3, or `INT` for international bodies.
    public let country: String?
    /// The org's STIX `identity` id.
    public let identity: String?
    /// A peer node (another Meridian or TAXII node) rather than a client of this one.
    public let isNode: Bool

    public init(id: String, name: String, country: String? = nil, identity: String? = nil, isNode: Bool = false) {
        self.id = id
        self.name = name
        self.country = country
        self.identity = identity
        self.isNode = isNode
    }
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

    /// True when `org` is flagged as a peer node.
    public func isNode(_ org: String) -> Bool { organizations[org]?.isNode ?? false }

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
