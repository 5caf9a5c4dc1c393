import Logging
import NIOCore
import PostgresNIO
import Storage

/// The account store in a node's PostgreSQL database, shared by every replica (the same contract as
/// ``SQLiteAccountStore``).
public final class PostgresAccountStore: AccountStore {
    /// The object store whose database and connections this shares (kept open as long as this is).
    let store: PostgresObjectStore
    var client: PostgresClient { store.client }
    var logger: Logger { store.logger }
    var clock: @Sendable () -> Int64 { store.clock }

    public init(_ store: PostgresObjectStore) {
        self.store = store
    }

    static let userColumns = "name, org, password_hash, is_admin, disabled, created_at"
    static let tokenColumns = "id, user_name, secret_hash, created_at, expires_at, kind"

    func users(_ query: PostgresQuery) async throws -> [Account.User] {
        var users: [Account.User] = []
        for try await (name, org, hash, admin, disabled, created)
            in try await store.run(query, logger: logger).decode((String, String, String, Bool, Bool, Int64).self)
        {
            users.append(Account.User(name: name, org: org, passwordHash: hash, isAdmin: admin, isDisabled: disabled, createdAt: created))
        }
        return users
    }

    func tokens(_ query: PostgresQuery) async throws -> [Account.Token] {
        var tokens: [Account.Token] = []
        for try await (id, user, hash, created, expires, kind)
            in try await store.run(query, logger: logger).decode((String, String, ByteBuffer, Int64, Int64?, String).self)
        {
            tokens.append(Account.Token(id: id, user: user, secretHash: Array(buffer: hash), createdAt: created, expiresAt: expires,
                                        isSession: kind == "session"))
        }
        return tokens
    }

    /// Whether `query` (with a RETURNING clause) changed any row.
    func changesAny(_ query: PostgresQuery) async throws -> Bool {
        var any = false
        for try await _ in try await store.run(query, logger: logger) { any = true }
        return any
    }

    public func saveUser(name: String, org: String, passwordHash: String, isAdmin: Bool) async throws {
        try await store.run("""
            INSERT INTO account_user (name, org, password_hash, created_at, is_admin) VALUES (\(name), \(org), \(passwordHash), \(clock()), \(isAdmin))
            ON CONFLICT (name) DO UPDATE SET org = EXCLUDED.org, password_hash = EXCLUDED.password_hash, is_admin = EXCLUDED.is_admin
            """, logger: logger)
    }

    public func user(_ name: String) async throws -> Account.User? {
        try await users(PostgresQuery(unsafeSQL: "SELECT \(Self.userColumns) FROM account_user WHERE name = $1", binds: binds(name))).first
    }

    public func users() async throws -> [Account.User] {
        try await users(PostgresQuery(unsafeSQL: "SELECT \(Self.userColumns) FROM account_user ORDER BY name"))
    }

    public func removeUser(_ name: String) async throws -> Bool {
        // The user's tokens go with it (ON DELETE CASCADE).
        try await changesAny("DELETE FROM account_user WHERE name = \(name) RETURNING name")
    }

    public func setDisabled(_ name: String, _ disabled: Bool) async throws -> Bool {
        try await changesAny("UPDATE account_user SET disabled = \(disabled) WHERE name = \(name) RETURNING name")
    }

    public func saveToken(id: String, user: String, secretHash: [UInt8], expiresAt: Int64?, isSession: Bool) async throws {
        let now = clock()
        try await store.write { [self] connection in
            var known = false
            for try await _ in try await connection.query("SELECT 1 FROM account_user WHERE name = \(user) FOR SHARE", logger: logger) {
                known = true
            }
            guard known else { throw StorageError("no user named \(user)") }
            try await connection.query("""
                INSERT INTO token (id, user_name, secret_hash, created_at, expires_at, kind)
                VALUES (\(id), \(user), \(ByteBuffer(bytes: secretHash)), \(now), \(expiresAt), \(isSession ? "session" : "api"))
                """, logger: logger)
            if isSession {
                // Sessions that ended on their own are of no further use.
                try await connection.query("DELETE FROM token WHERE kind = 'session' AND expires_at <= \(now)", logger: logger)
            }
        }
    }

    public func tokens(of user: String?) async throws -> [Account.Token] {
        if let user {
            return try await tokens(PostgresQuery(
                unsafeSQL: "SELECT \(Self.tokenColumns) FROM token WHERE user_name = $1 ORDER BY created_at, id", binds: binds(user)))
        }
        return try await tokens(PostgresQuery(unsafeSQL: "SELECT \(Self.tokenColumns) FROM token ORDER BY user_name, created_at, id"))
    }

    public func tokens(withPrefix prefix: String) async throws -> [Account.Token] {
        try await tokens(PostgresQuery(unsafeSQL: "SELECT \(Self.tokenColumns) FROM token WHERE starts_with(id, $1) ORDER BY id",
                                       binds: binds(prefix)))
    }

    @discardableResult
    public func removeToken(_ id: String) async throws -> Bool {
        try await changesAny("DELETE FROM token WHERE id = \(id) RETURNING id")
    }

    public func generation() async throws -> Int64 {
        var value: Int64 = 0
        for try await v in try await store.run("SELECT value FROM accounts_generation WHERE one = 1", logger: logger).decode(Int64.self) {
            value = v
        }
        return value
    }

    public func token(_ id: String) async throws -> Account.Token? {
        try await tokens(PostgresQuery(unsafeSQL: "SELECT \(Self.tokenColumns) FROM token WHERE id = $1", binds: binds(id))).first
    }

    private func binds(_ value: String) -> PostgresBindings {
        var b = PostgresBindings()
        b.append(value)
        return b
    }
}
