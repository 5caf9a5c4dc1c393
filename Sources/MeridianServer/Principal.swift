import Policy

/// Who is making a request: an authenticated user acting for an org, or nobody.
public struct Principal: Sendable, Equatable {
    /// The org the caller acts for; nil for anonymous.
    public let org: String?
    public let user: String?
    /// An admin of the node (a user of the owner org given the admin role).
    public let isAdmin: Bool

    public static let anonymous = Principal(org: nil, user: nil)

    public init(org: String?, user: String?, isAdmin: Bool = false) {
        self.org = org
        self.user = user
        self.isAdmin = isAdmin
    }

    public var isAnonymous: Bool { org == nil }

    /// The principal as the sharing policy sees it.
    public var reader: Reader { org.map(Reader.organization) ?? .anonymous }
}
