import Foundation
import PostgreSQLStorage
import Storage
import TestSupport
import Testing

/// The behaviour every AccountStore must have, on SQLite and on PostgreSQL alike.
@Suite struct AccountStoreContractTests {
    static func stores() async throws -> [any AccountStore] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-\(UUID().uuidString).sqlite").path
        var stores: [any AccountStore] = [SQLiteAccountStore(try SQLiteObjectStore(path: path))]
        if let postgres = try await TestPostgres.store() { stores.append(PostgresAccountStore(postgres)) }
        return stores
    }

    @Test func usersAreSavedReplacedDisabledAndRemovedWithTheirTokens() async throws {
        for store in try await Self.stores() {
            let start = try await store.generation()
            try await store.saveUser(name: "bob", org: "cert-b", passwordHash: "h1")
            try await store.saveUser(name: "alice", org: "cert-a", passwordHash: "h2", isAdmin: true)
            let created = try #require(try await store.user("bob")).createdAt
            #expect(created > 0)
            // Saving again replaces org, password and role, not the date it was added.
            try await store.saveUser(name: "bob", org: "cert-c", passwordHash: "h3", isAdmin: true)
            let bob = try #require(try await store.user("bob"))
            #expect(bob.org == "cert-c" && bob.passwordHash == "h3" && bob.isAdmin && !bob.isDisabled && bob.createdAt == created)
            #expect(try await store.users().map(\.name) == ["alice", "bob"])
            #expect(try await store.setDisabled("bob", true))
            #expect(try await store.user("bob")?.isDisabled == true)
            #expect(try await store.setDisabled("bob", false))
            #expect(try await store.setDisabled("nobody", true) == false)
            #expect(try await store.user("nobody") == nil)
            try await store.saveToken(id: "tok-b1", user: "bob", secretHash: [1, 2, 3])
            #expect(try await store.removeUser("bob"))
            #expect(try await store.removeUser("bob") == false)
            #expect(try await store.token("tok-b1") == nil, "a user's tokens go with it")
            #expect(try await store.generation() > start)
        }
    }

    @Test func tokensAreFoundByIdPrefixAndUserAndOnlyForAUserThatExists() async throws {
        for store in try await Self.stores() {
            try await store.saveUser(name: "alice", org: "cert-a", passwordHash: "h")
            try await store.saveUser(name: "bob", org: "cert-b", passwordHash: "h")
            await #expect(throws: StorageError.self) {
                try await store.saveToken(id: "t0", user: "nobody", secretHash: [0])
            }
            try await store.saveToken(id: "abc-1", user: "bob", secretHash: [9, 9], expiresAt: 5_000)
            try await store.saveToken(id: "abd-2", user: "alice", secretHash: [0, 255])
            try await store.saveToken(id: "xyz-3", user: "alice", secretHash: [7])
            let token = try #require(try await store.token("abc-1"))
            #expect(token.user == "bob" && token.secretHash == [9, 9] && token.expiresAt == 5_000 && !token.isSession)
            #expect(token.isExpired(at: 5_000) && !token.isExpired(at: 4_999))
            #expect(try await store.tokens(withPrefix: "ab").map(\.id) == ["abc-1", "abd-2"])
            #expect(try await store.tokens(withPrefix: "abc").map(\.id) == ["abc-1"])
            #expect(try await store.tokens(withPrefix: "%").isEmpty, "a prefix is text, not a pattern")
            #expect(try await store.tokens(of: "alice").map(\.id) == ["abd-2", "xyz-3"])
            #expect(try await store.tokens().map(\.user) == ["alice", "alice", "bob"])
            let before = try await store.generation()
            #expect(try await store.removeToken("abd-2"))
            #expect(try await store.removeToken("abd-2") == false)
            #expect(try await store.generation() > before)
        }
    }

    @Test func aNewSessionClearsTheSessionsThatEndedButNoAPIToken() async throws {
        for store in try await Self.stores() {
            try await store.saveUser(name: "alice", org: "cert-a", passwordHash: "h")
            try await store.saveToken(id: "old-session", user: "alice", secretHash: [1], expiresAt: 1, isSession: true)
            try await store.saveToken(id: "old-api", user: "alice", secretHash: [2], expiresAt: 1, isSession: false)
            try await store.saveToken(id: "new-session", user: "alice", secretHash: [3], expiresAt: Int64.max, isSession: true)
            #expect(try await store.tokens(of: "alice").map(\.id).sorted() == ["new-session", "old-api"])
            #expect(try await store.token("new-session")?.isSession == true)
        }
    }
}
