/// Who is making a request: an authenticated user acting for an org, or nobody.
public struct Principal: Sendable, Equatable {
    /// The org the caller acts for; nil for anonymous.
    public let org: String?
    public let user: String?
    /// The groups the org belongs to (membership at request time).
    public let groups: Set<String>

    public static let anonymous = Principal(org: nil, user: nil, groups: [])

    public init(org: String?, user: String?, groups: Set<String>) {
        self.org = org
        self.user = user
        self.groups = groups
    }

    public var isAnonymous: Bool { org == nil }
}

/// What a principal may do with a collection (SHARING.md, "Collections"): the same rule binds everyone, the node
/// owner included.
public struct CollectionAccess: Sendable, Equatable {
    public let canRead: Bool
    public let canWrite: Bool

    public init(collection: NodeConfiguration.Collection, principal: Principal) {
        func listed(_ list: [String]?) -> Bool {
            guard let org = principal.org else { return false }
            return (list ?? []).contains { $0 == org || principal.groups.contains($0) }
        }
        let onReadList = listed(collection.read)
        canRead = onReadList || collection.public == true
        canWrite = listed(collection.write)
    }

    /// Whether the collection exists at all for this principal (in lists, and for its endpoints).
    public var isVisible: Bool { canRead || canWrite }
}
