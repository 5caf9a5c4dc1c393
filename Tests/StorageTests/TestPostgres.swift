import Foundation
import PostgreSQLStorage
import Storage
import Testing

/// The PostgreSQL cluster of the test run, when there is one: `scripts/test.sh` starts a throwaway cluster and names
/// it in MERIDIAN_TEST_POSTGRES_URL, and sets MERIDIAN_REQUIRE_POSTGRES so that a run without it fails instead of
/// testing SQLite alone.
enum TestPostgres {
    static var url: String? { ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_URL"] }

    /// The server's location, or nil when the run has no cluster (an error when one is required).
    static func location() throws -> PostgresLocation? {
        guard let url else {
            if ProcessInfo.processInfo.environment["MERIDIAN_REQUIRE_POSTGRES"] == "1" {
                throw StorageError("MERIDIAN_REQUIRE_POSTGRES is set but MERIDIAN_TEST_POSTGRES_URL is not")
            }
            return nil
        }
        return try PostgresLocation(url: url)
    }

    /// A database of its own, new and empty.
    static func freshLocation() async throws -> PostgresLocation? {
        guard let server = try location() else { return nil }
        return try await server.creatingDatabase("meridian_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
    }

    /// A store on a database of its own.
    static func store(clock: @escaping @Sendable () -> Int64 = SQLiteObjectStore.now) async throws -> PostgresObjectStore? {
        guard let location = try await freshLocation() else { return nil }
        return try await PostgresObjectStore(location, clock: clock)
    }
}
