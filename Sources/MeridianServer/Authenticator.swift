import Crypto
import Foundation
import HummingbirdBcrypt
import STIX
import Storage

/// Turns an Authorization header into a principal: HTTP Basic (user and password, bcrypt) or a bearer token.
///
/// Verified Basic credentials are remembered for a few minutes, keyed by a SHA-256 of the header, because TAXII
/// clients send them on every request and bcrypt is deliberately slow. They are forgotten as soon as any user or
/// token changes, in this process or another (`meridian user add`, a token issued): the accounts' generation is
/// read before a remembered principal is used.
public actor Authenticator {
    let accounts: any AccountStore
    /// The configuration in force (it can change while the node runs).
    let current: @Sendable () -> NodeConfiguration
    /// Where counts of failed sign-ins go (`auth.failed` entries), once a minute and when the node stops.
    let audit: AuditTrail?
    private var recent: [Data: (principal: Principal, expires: Date)] = [:]
    /// The accounts' generation the remembered principals were verified at.
    private var generation: Int64 = -1
    /// Checks in progress, so that many requests arriving at once with the same credentials share one bcrypt run.
    private var inFlight: [Data: Task<(Principal, Date), any Error>] = [:]
    /// Failed sign-ins not yet in the audit log, by the name tried and the address it came from.
    private var failures: [FailureKey: (count: Int, first: Int64, last: Int64)] = [:]
    private var failuresFlush: Task<Void, Never>? = nil

    struct FailureKey: Hashable {
        let name: String
        let address: String
    }

    public init(accounts: any AccountStore, audit: AuditTrail? = nil, configuration: @escaping @Sendable () -> NodeConfiguration) {
        self.accounts = accounts
        self.audit = audit
        self.current = configuration
    }

    /// Why credentials were refused. The client is told the same whichever part was wrong; `attempted` (the user
    /// name, or the token's id, as presented) is for the server's log and audit log only.
    public struct Refused: Error, Sendable {
        public var attempted: String = ""
    }

    /// The principal for an Authorization header; anonymous when there is none. A refusal is logged by the caller and
    /// counted here, by the name tried and `address` (the client's).
    public func principal(authorization: String?, from address: String? = nil) async throws -> Principal {
        guard let authorization, !authorization.isEmpty else { return .anonymous }
        do {
            return try await verify(authorization)
        } catch let refused as Refused {
            noteFailure(refused.attempted, from: address ?? "unknown")
            throw refused
        }
    }

    /// The name an Authorization header presents, before it is verified: the user name of Basic credentials, the
    /// id of a bearer token (`token <id>`), else a fixed label; for sign-in throttling.
    public static func presentedName(_ authorization: String) -> String {
        let lower = authorization.lowercased()
        if lower.hasPrefix("basic "), let data = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        {
            return String(text[..<colon].prefix(128))
        }
        if lower.hasPrefix("bearer "), let token = APIToken(String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)) {
            return "token \(token.id)"
        }
        return "(malformed credentials)"
    }

    private func verify(_ authorization: String) async throws -> Principal {
        let key = Data(SHA256.hash(data: Data(authorization.utf8)))
        let current = try await accounts.generation()
        if current != generation {
            recent.removeAll()
            inFlight.removeAll()  // checks already running finish for their own requests, not for later ones
            generation = current
        }
        if let hit = recent[key], hit.expires > Date() { return hit.principal }
        if let running = inFlight[key] { return try await running.value.0 }
        let check = Task { () throws -> (Principal, Date) in
            if authorization.lowercased().hasPrefix("basic ") {
                return (try await self.basic(String(authorization.dropFirst(6))), .distantFuture)
            } else if authorization.lowercased().hasPrefix("bearer ") {
                return try await self.bearer(String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces))
            }
            throw Refused(attempted: "(an Authorization header that is neither Basic nor Bearer)")
        }
        inFlight[key] = check
        defer { inFlight[key] = nil }
        let (principal, validUntil) = try await check.value
        if recent.count > 10_000 { recent.removeAll() }
        // Remembered only when no account changed while it was checked (it may have been checked against the old),
        // and never past the token's expiry.
        if try await accounts.generation() == current && generation == current {
            recent[key] = (principal, min(Date().addingTimeInterval(300), validUntil))
        }
        return principal
    }

    private func noteFailure(_ name: String, from address: String) {
        let now = SQLiteObjectStore.now()
        let key = FailureKey(name: String(name.prefix(128)), address: address)
        if let seen = failures[key] {
            failures[key] = (seen.count + 1, seen.first, now)
        } else if failures.count < 10_000 {
            failures[key] = (1, now, now)
        }
        if failuresFlush == nil, audit != nil {
            failuresFlush = Task {
                try? await Task.sleep(for: .seconds(60))
                try? await self.flushFailures()
            }
        }
    }

    /// Writes the failed sign-ins counted so far to the audit log: one `auth.failed` entry per name and address, with
    /// how many times and when first and last.
    public func flushFailures() async throws {
        failuresFlush = nil
        guard let audit, !failures.isEmpty else { return }
        let counted = failures.sorted { ($0.value.first, $0.key.name) < ($1.value.first, $1.key.name) }
        failures.removeAll()
        for (key, seen) in counted {
            try await audit.record(AuditTrail.event("auth.failed", by: nil, [
                "attempted": .string(key.name), "address": .string(key.address), "count": .number(JSONNumber(Int64(seen.count))),
                "first": .string(TAXIITimestamp.format(seen.first)), "last": .string(TAXIITimestamp.format(seen.last)),
            ]))
        }
    }

    private func principal(for user: Account.User) throws -> Principal {
        // A disabled user, or one whose org has left the configuration, can no longer act; only the owner's users can
        // be admins.
        let configuration = current()
        guard !user.isDisabled, configuration.orgs.contains(where: { $0.id == user.org }) else { throw Refused(attempted: user.name) }
        return Principal(org: user.org, user: user.name, isAdmin: user.isAdmin && user.org == configuration.node.owner)
    }

    private func basic(_ encoded: String) async throws -> Principal {
        guard let data = Data(base64Encoded: encoded.trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { throw Refused(attempted: "(malformed Basic credentials)") }
        let name = String(text[..<colon])
        let password = String(text[text.index(after: colon)...])
        guard let user = try await accounts.user(name) else {
            // Spend the same time as a real check, so timing does not tell which user names exist.
            _ = Bcrypt.verify(password, hash: Authenticator.decoyHash)
            throw Refused(attempted: name)
        }
        guard Bcrypt.verify(password, hash: user.passwordHash) else { throw Refused(attempted: name) }
        return try principal(for: user)
    }

    /// The token's principal and until when it may be remembered (its expiry).
    private func bearer(_ token: String) async throws -> (Principal, Date) {
        guard let parsed = APIToken(token) else { throw Refused(attempted: "(malformed bearer token)") }
        guard let stored = try await accounts.token(parsed.id) else { throw Refused(attempted: "token \(parsed.id)") }
        let presented = Array(SHA256.hash(data: Data(parsed.secret.utf8)))
        // Constant-time comparison of the hashes.
        guard presented.count == stored.secretHash.count,
            zip(presented, stored.secretHash).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0,
            !stored.isExpired(at: SQLiteObjectStore.now()),
            let user = try await accounts.user(stored.user)
        else { throw Refused(attempted: "token \(parsed.id) of \(stored.user)") }
        let validUntil = stored.expiresAt.map { Date(timeIntervalSince1970: Double($0) / 1_000_000) } ?? .distantFuture
        return (try principal(for: user), validUntil)
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
    public static func issue(for user: String, in accounts: any AccountStore, expiresAt: Int64? = nil, isSession: Bool = false) async throws -> String {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let secretBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secret = Data(secretBytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        try await accounts.saveToken(id: id, user: user, secretHash: Array(SHA256.hash(data: Data(secret.utf8))), expiresAt: expiresAt,
                                     isSession: isSession)
        return "mrd_\(id)_\(secret)"
    }
}
