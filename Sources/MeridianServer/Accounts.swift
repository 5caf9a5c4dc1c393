import Foundation
import HummingbirdBcrypt
import STIX
import Storage

/// Account management, shared by the `meridian user` and `meridian token` commands and the admin API: each change is
/// checked against the configuration, made, and recorded in the audit log. A change reaches a running server before
/// its next request (the accounts' generation, see ``Authenticator``).
extension MeridianNode {
    /// Why an account operation was refused: the user or token it names, and what is wrong.
    public struct AccountProblem: Error, Sendable, CustomStringConvertible {
        public enum Kind: Sendable { case notFound, conflict, invalid }
        public let kind: Kind
        public let description: String
    }

    /// Adds a user, or changes the password (and role) of an existing one. Moving an existing user to another org
    /// must be asked for (`move`): the user would read what the new org reads.
    public func addUser(name: String, org: String, password: String, admin: Bool, move: Bool = false,
                        by principal: Principal?) async throws {
        guard configuration.orgs.contains(where: { $0.id == org }) else {
            throw AccountProblem(kind: .invalid, description: "org '\(org)' is not in the configuration (the [[orgs]] of meridian.toml)")
        }
        guard !name.isEmpty, name.count <= 128, !name.contains(":"), !name.contains(where: \.isWhitespace) else {
            throw AccountProblem(kind: .invalid, description: "user name '\(name)': must be 1 to 128 characters, without ':' or spaces")
        }
        guard password.count >= 12 else {
            throw AccountProblem(kind: .invalid, description: "the password must have at least 12 characters")
        }
        guard !admin || org == configuration.node.owner else {
            throw AccountProblem(kind: .invalid, description: "admin: only users of the node owner '\(configuration.node.owner)' can be admins")
        }
        let existing = try await accounts.user(name)
        if let existing, existing.org != org, !move {
            throw AccountProblem(kind: .conflict, description: "user '\(name)' acts for '\(existing.org)'; moving it to '\(org)' needs --move")
        }
        try await accounts.saveUser(name: name, org: org, passwordHash: Bcrypt.hash(password, cost: 12), isAdmin: admin)
        var detail = JSONObject(["user": .string(name), "org": .string(org), "admin": .bool(admin)])
        if let existing, existing.org != org { detail["moved_from"] = .string(existing.org) }
        try await audit.record(AuditEvent(at: SQLiteObjectStore.now(), org: principal?.org, user: principal?.user,
                                          action: existing == nil ? "user.add" : "user.change", detail: detail))
    }

    /// Removes a user and its tokens.
    public func removeUser(_ name: String, by principal: Principal?) async throws {
        guard try await accounts.removeUser(name) else { throw Self.noUser(name) }
        try await audit.record(AuditTrail.event("user.remove", by: principal, ["user": .string(name)]))
    }

    /// Disables a user (it keeps its tokens, none of which works) or enables it again.
    public func setUserDisabled(_ name: String, _ disabled: Bool, by principal: Principal?) async throws {
        guard try await accounts.setDisabled(name, disabled) else { throw Self.noUser(name) }
        try await audit.record(AuditTrail.event(disabled ? "user.disable" : "user.enable", by: principal, ["user": .string(name)]))
    }

    /// Issues a token for `user`, valid for `lifetime` seconds (nil: until revoked); returns its text, shown once.
    public func issueToken(for user: String, lifetime: TimeInterval?, by principal: Principal?) async throws -> String {
        guard try await accounts.user(user) != nil else { throw Self.noUser(user) }
        if let lifetime, !(lifetime > 0) { throw AccountProblem(kind: .invalid, description: "a token's lifetime must be positive") }
        let expiresAt = lifetime.map { SQLiteObjectStore.now() + Int64($0 * 1_000_000) }
        let token = try await APIToken.issue(for: user, in: accounts, expiresAt: expiresAt)
        var detail = JSONObject(["user": .string(user), "token_id": .string(APIToken(token)?.id ?? "")])
        if let expiresAt { detail["expires"] = .string(TAXIITimestamp.format(expiresAt)) }
        try await audit.record(AuditEvent(at: SQLiteObjectStore.now(), org: principal?.org, user: principal?.user,
                                          action: "token.create", detail: detail))
        return token
    }

    /// Revokes the token whose id is `idOrPrefix`, or the only one whose id starts with it (at least 4 characters);
    /// returns it. It fails at once, in every process serving the node.
    public func revokeToken(_ idOrPrefix: String, by principal: Principal?) async throws -> Account.Token {
        let text = idOrPrefix.hasPrefix("mrd_") ? String(idOrPrefix.dropFirst(4).prefix(16)) : idOrPrefix
        guard text.count >= 4, text.allSatisfy(\.isHexDigit) else {
            throw AccountProblem(kind: .invalid, description: "token '\(idOrPrefix)': give the token's id (16 hex digits, as `token list` shows) or at least its first 4")
        }
        let matches = try await accounts.tokens(withPrefix: text.lowercased())
        guard let token = matches.first else {
            throw AccountProblem(kind: .notFound, description: "no token has an id starting with '\(text)' (see `meridian token list`)")
        }
        guard matches.count == 1 else {
            throw AccountProblem(kind: .conflict, description: "\(matches.count) tokens have ids starting with '\(text)': "
                + matches.map(\.id).joined(separator: ", ") + "; give more of the id")
        }
        try await accounts.removeToken(token.id)
        try await audit.record(AuditTrail.event("token.revoke", by: principal, ["user": .string(token.user), "token_id": .string(token.id)]))
        return token
    }

    static func noUser(_ name: String) -> AccountProblem {
        AccountProblem(kind: .notFound, description: "no user named '\(name)' (see `meridian user list`)")
    }

    /// A duration such as `90d`, `12h`, `30m` or `3600s`, in seconds.
    public static func duration(_ text: String) -> TimeInterval? {
        guard let unit = text.last, let n = Int(text.dropLast()), n > 0, n <= 36_500 * 86_400 else { return nil }
        switch unit {
        case "d": return TimeInterval(n) * 86_400
        case "h": return TimeInterval(n) * 3_600
        case "m": return TimeInterval(n) * 60
        case "s": return TimeInterval(n)
        default: return nil
        }
    }
}
