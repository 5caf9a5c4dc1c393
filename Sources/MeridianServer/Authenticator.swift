import Crypto
import Foundation
import HummingbirdBcrypt
import Storage

/// Turns an Authorization header into a principal: HTTP Basic (user and password, bcrypt) or a bearer token.
///
/// Verified Basic credentials are remembered for a few minutes, keyed by a SHA-256 of the header, because TAXII
/// clients send them on every request and bcrypt is deliberately slow. They are forgotten as soon as any user or
/// token changes, in this process or another (`meridian user add`, a token issued): the accounts' generation is
/// read before a remembered principal is used.
public actor Authenticator {
    let accounts: AccountStore
    /// The configuration in force (it can change while the node runs).
    let current: @Sendable () -> NodeConfiguration
    private var recent: [Data: (principal: Principal, expires: Date)] = [:]
    /// The accounts' generation the remembered principals were verified at.
    private var generation: Int64 = -1
    /// Checks in progress, so that many requests arriving at once with the same credentials share one bcrypt run.
    private var inFlight: [Data: Task<Principal, any Error>] = [:]

    public init(accounts: AccountStore, configuration: @escaping @Sendable () -> NodeConfiguration) {
        self.accounts = accounts
        self.current = configuration
    }

    /// Why credentials were refused; deliberately the same message whichever part was wrong.
    public struct Refused: Error, Sendable {}

    /// The principal for an Authorization header; anonymous when there is none.
    public func principal(authorization: String?) async throws -> Principal {
        guard let authorization, !authorization.isEmpty else { return .anonymous }
        let key = Data(SHA256.hash(data: Data(authorization.utf8)))
        let current = try await accounts.generation()
        if current != generation {
            recent.removeAll()
            inFlight.removeAll()  // checks already running finish for their own requests, not for later ones
            generation = current
        }
        if let hit = recent[key], hit.expires > Date() { return hit.principal }
        if let running = inFlight[key] { return try await running.value }
        let check = Task { () throws -> Principal in
            if authorization.lowercased().hasPrefix("basic ") {
                return try await self.basic(String(authorization.dropFirst(6)))
            } else if authorization.lowercased().hasPrefix("bearer ") {
                return try await self.bearer(String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces))
            }
            throw Refused()
        }
        inFlight[key] = check
        defer { inFlight[key] = nil }
        let principal = try await check.value
        if recent.count > 10_000 { recent.removeAll() }
        // Remembered only when no account changed while it was checked (it may have been checked against the old).
        if try await accounts.generation() == current && generation == current {
            recent[key] = (principal, Date().addingTimeInterval(300))
        }
        return principal
    }

    private func principal(for user: AccountStore.User) throws -> Principal {
        // A user whose org has left the configuration can no longer act; only the owner's users can be admins.
        let configuration = current()
        guard configuration.orgs.contains(where: { $0.id == user.org }) else { throw Refused() }
        return Principal(org: user.org, user: user.name, isAdmin: user.isAdmin && user.org == configuration.node.owner)
    }

    private func basic(_ encoded: String) async throws -> Principal {
        guard let data = Data(base64Encoded: encoded.trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { throw Refused() }
        let name = String(text[..<colon])
        let password = String(text[text.index(after: colon)...])
        guard let user = try await accounts.user(name) else {
            // Spend the same time as a real check, so timing does not tell which user names exist.
            _ = Bcrypt.verify(password, hash: Authenticator.decoyHash)
            throw Refused()
        }
        guard Bcrypt.verify(password, hash: user.passwordHash) else { throw Refused() }
        return try principal(for: user)
    }

    private func bearer(_ token: String) async throws -> Principal {
        guard let parsed = APIToken(token), let stored = try await accounts.token(parsed.id) else {
            throw Refused()
        }
        let presented = Array(SHA256.hash(data: Data(parsed.secret.utf8)))
        // Constant-time comparison of the hashes.
        guard presented.count == stored.secretHash.count,
            zip(presented, stored.secretHash).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0,
            let user = try await accounts.user(stored.user)
        else { throw Refused() }
        return try principal(for: user)
    }

    static let decoyHash = Bcrypt.hash("meridian-decoy-password", cost: 10)
}

/// An API token, `mrd_<id>_<secret>`: the id finds the stored hash, the secret proves possession.
public struct APIToken: Sendable {
    public let id: String
    public let secret: String

    public init?(_ text: String) {
        let parts = text.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "mrd", parts[1].count == 16, parts[1].allSatisfy(\.isHexDigit),
            parts[2].count >= 32, parts[2].count <= 128
        else { return nil }
        id = String(parts[1])
        secret = String(parts[2])
    }

    /// Creates a new random token for `user` and stores the hash of its secret; returns the token text, shown once.
    public static func issue(for user: String, in accounts: AccountStore) async throws -> String {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let secretBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secret = Data(secretBytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        try await accounts.saveToken(id: id, user: user, secretHash: Array(SHA256.hash(data: Data(secret.utf8))))
        return "mrd_\(id)_\(secret)"
    }
}
