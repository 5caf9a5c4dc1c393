import Foundation
import GRDB

/// Users and API tokens, kept in the node's database. Secrets are stored only as hashes (passwords with bcrypt,
/// computed by the caller; token secrets with SHA-256, as they are long random values).
public final class AccountStore: Sendable {
    /// A user: a login that acts for one organisation.
    public struct User: Sendable, Equatable {
        public let name: String
        public let org: String
        public let passwordHash: String
        /// May use the admin API and commands (with an org that owns the node).
        public let isAdmin: Bool
    }

    /// An API token as stored: its public id, its user, and the hash of its secret.
    public struct Token: Sendable, Equatable {
        public let id: String
        public let user: String
        public let secretHash: [UInt8]
    }

    let pool: DatabasePool

    /// Shares the database of an object store.
    public init(_ store: SQLiteObjectStore) {
        pool = store.database
    }

    /// Adds a user, or replaces the password, org and role of an existing one.
    public func saveUser(name: String, org: String, passwordHash: String, isAdmin: Bool = false) async throws {
        let now = SQLiteObjectStore.now()
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO user (name, org, password_hash, created_at, is_admin) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET org = excluded.org, password_hash = excluded.password_hash, is_admin = excluded.is_admin
                """, arguments: [name, org, passwordHash, now, isAdmin])
        }
    }

    public func user(_ name: String) async throws -> User? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT name, org, password_hash, is_admin FROM user WHERE name = ?", arguments: [name]).map {
                User(name: $0[0], org: $0[1], passwordHash: $0[2], isAdmin: $0[3])
            }
        }
    }

    public func saveToken(id: String, user: String, secretHash: [UInt8]) async throws {
        let now = SQLiteObjectStore.now()
        try await pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM user WHERE name = ?", arguments: [user]) == true else {
                throw StorageError("no user named \(user)")
            }
            try db.execute(sql: "INSERT INTO token (id, user, secret_hash, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [id, user, Data(secretHash), now])
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

    public func token(_ id: String) async throws -> Token? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT id, user, secret_hash FROM token WHERE id = ?", arguments: [id]).map {
                Token(id: $0[0], user: $0[1], secretHash: Array($0[2] as Data))
            }
        }
    }
}
