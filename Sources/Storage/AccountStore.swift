import Foundation
import GRDB

/// A user and an API token as the node's account stores keep them.
public enum Account {
    /// A user: a login that acts for one organisation.
    public struct User: Sendable, Equatable {
        public let name: String
        public let org: String
        public let passwordHash: String
        /// May use the admin API and commands (with an org that owns the node).
        public let isAdmin: Bool
        /// A disabled user keeps its account and tokens but cannot sign in until enabled again.
        public var isDisabled: Bool = false
        /// When the user was added, in microseconds since 1970.
        public var createdAt: Int64 = 0

        public init(name: String, org: String, passwordHash: String, isAdmin: Bool, isDisabled: Bool = false, createdAt: Int64 = 0) {
            self.name = name
            self.org = org
            self.passwordHash = passwordHash
            self.isAdmin = isAdmin
            self.isDisabled = isDisabled
            self.createdAt = createdAt
        }
    }

    /// An API token as stored: its public id, its user, and the hash of its secret.
    public struct Token: Sendable, Equatable {
        public let id: String
        public let user: String
        public let secretHash: [UInt8]
        /// When it was issued and when it stops working (nil: never), in microseconds since 1970.
        public var createdAt: Int64 = 0
        public var expiresAt: Int64? = nil
        /// A sign-in session of the web pages (kept in a cookie), rather than a token made for a client.
        public var isSession: Bool = false

        public init(id: String, user: String, secretHash: [UInt8], createdAt: Int64 = 0, expiresAt: Int64? = nil, isSession: Bool = false) {
            self.id = id
            self.user = user
            self.secretHash = secretHash
            self.createdAt = createdAt
            self.expiresAt = expiresAt
            self.isSession = isSession
        }

        public func isExpired(at now: Int64) -> Bool { expiresAt.map { $0 <= now } ?? false }
    }

}

/// Users and API tokens, kept in the node's database. Secrets are stored only as hashes (passwords with bcrypt,
/// computed by the caller; token secrets with SHA-256, as they are long random values). SQLite's and PostgreSQL's
/// stores both are one (`AccountStoreContractTests`).
public protocol AccountStore: Sendable {
    /// Adds a user, or replaces the password, org and role of an existing one.
    func saveUser(name: String, org: String, passwordHash: String, isAdmin: Bool) async throws
    func user(_ name: String) async throws -> Account.User?
    /// Every user, by name.
    func users() async throws -> [Account.User]
    /// Removes a user and its tokens; false when there was no such user.
    func removeUser(_ name: String) async throws -> Bool
    /// Disables or enables a user; false when there is no such user.
    func setDisabled(_ name: String, _ disabled: Bool) async throws -> Bool
    /// Stores a token of an existing user (a session also clears the sessions that ended on their own).
    func saveToken(id: String, user: String, secretHash: [UInt8], expiresAt: Int64?, isSession: Bool) async throws
    /// The tokens of one user, or of every user, by user then date of issue.
    func tokens(of user: String?) async throws -> [Account.Token]
    /// The tokens whose id starts with `prefix`.
    func tokens(withPrefix prefix: String) async throws -> [Account.Token]
    /// Removes a token; true when it existed. A server that remembered it forgets it before its next request.
    @discardableResult func removeToken(_ id: String) async throws -> Bool
    /// A number that changes whenever a user or a token changes, in any process (triggers count the changes).
    func generation() async throws -> Int64
    func token(_ id: String) async throws -> Account.Token?
}

extension AccountStore {
    public func saveUser(name: String, org: String, passwordHash: String) async throws {
        try await saveUser(name: name, org: org, passwordHash: passwordHash, isAdmin: false)
    }

    public func saveToken(id: String, user: String, secretHash: [UInt8], expiresAt: Int64? = nil) async throws {
        try await saveToken(id: id, user: user, secretHash: secretHash, expiresAt: expiresAt, isSession: false)
    }

    public func tokens() async throws -> [Account.Token] { try await tokens(of: nil) }
}

/// The account store in the node's SQLite database.
public final class SQLiteAccountStore: AccountStore {
    let pool: DatabasePool

    /// Shares the database of an object store.
    public init(_ store: SQLiteObjectStore) {
        pool = store.database
    }

    /// Adds a user, or replaces the password, org and role of an existing one.
    public func saveUser(name: String, org: String, passwordHash: String, isAdmin: Bool) async throws {
        let now = SQLiteObjectStore.now()
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO user (name, org, password_hash, created_at, is_admin) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET org = excluded.org, password_hash = excluded.password_hash, is_admin = excluded.is_admin
                """, arguments: [name, org, passwordHash, now, isAdmin])
        }
    }

    static let userColumns = "name, org, password_hash, is_admin, disabled, created_at"

    static func user(_ row: Row) -> Account.User {
        Account.User(name: row[0], org: row[1], passwordHash: row[2], isAdmin: row[3], isDisabled: row[4], createdAt: row[5])
    }

    public func user(_ name: String) async throws -> Account.User? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.userColumns) FROM user WHERE name = ?", arguments: [name]).map(Self.user)
        }
    }

    /// Every user, by name.
    public func users() async throws -> [Account.User] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.userColumns) FROM user ORDER BY name").map(Self.user)
        }
    }

    /// Removes a user and its tokens; false when there was no such user.
    public func removeUser(_ name: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM token WHERE user = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM user WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    /// Disables or enables a user; false when there is no such user.
    public func setDisabled(_ name: String, _ disabled: Bool) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE user SET disabled = ? WHERE name = ?", arguments: [disabled, name])
            return db.changesCount > 0
        }
    }

    public func saveToken(id: String, user: String, secretHash: [UInt8], expiresAt: Int64?, isSession: Bool) async throws {
        let now = SQLiteObjectStore.now()
        try await pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM user WHERE name = ?", arguments: [user]) == true else {
                throw StorageError("no user named \(user)")
            }
            try db.execute(sql: "INSERT INTO token (id, user, secret_hash, created_at, expires_at, kind) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [id, user, Data(secretHash), now, expiresAt, isSession ? "session" : "api"])
            if isSession {
                // Sessions that ended on their own are of no further use.
                try db.execute(sql: "DELETE FROM token WHERE kind = 'session' AND expires_at <= ?", arguments: [now])
            }
        }
    }

    static let tokenColumns = "id, user, secret_hash, created_at, expires_at, kind"

    static func token(_ row: Row) -> Account.Token {
        Account.Token(id: row[0], user: row[1], secretHash: Array(row[2] as Data), createdAt: row[3], expiresAt: row[4],
              isSession: row[5] == "session")
    }

    /// The tokens of one user, or of every user, by user then date of issue.
    public func tokens(of user: String?) async throws -> [Account.Token] {
        try await pool.read { db in
            if let user {
                return try Row.fetchAll(db, sql: "SELECT \(Self.tokenColumns) FROM token WHERE user = ? ORDER BY created_at, id",
                                        arguments: [user]).map(Self.token)
            }
            return try Row.fetchAll(db, sql: "SELECT \(Self.tokenColumns) FROM token ORDER BY user, created_at, id").map(Self.token)
        }
    }

    /// The tokens whose id starts with `prefix`.
    public func tokens(withPrefix prefix: String) async throws -> [Account.Token] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.tokenColumns) FROM token WHERE substr(id, 1, ?) = ? ORDER BY id",
                             arguments: [prefix.count, prefix]).map(Self.token)
        }
    }

    /// Removes a token; true when it existed. A server that remembered it forgets it before its next request.
    @discardableResult
    public func removeToken(_ id: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM token WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// A number that changes whenever a user or a token changes, in any process (triggers count the changes).
    public func generation() async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM accounts_generation WHERE one = 1")) ?? 0
        }
    }

    public func token(_ id: String) async throws -> Account.Token? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.tokenColumns) FROM token WHERE id = ?"), arguments: [id]).map(Self.token)
        }
    }
}

extension SQLiteObjectStore {
    public func accountStore() -> any AccountStore { SQLiteAccountStore(self) }
    public func auditLog() -> any AuditLog { SQLiteAuditLog(self) }
    public func checkpointRecords() -> any CheckpointRecords { SQLiteCheckpointRecords(pool: pool) }
}
