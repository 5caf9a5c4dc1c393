import Foundation
import PostgreSQLStorage
import Storage

/// The PostgreSQL cluster of the test run, when there is one: `scripts/test.sh` starts a throwaway cluster and names
/// it in MERIDIAN_TEST_POSTGRES_URL, and sets MERIDIAN_REQUIRE_POSTGRES so that a run without it fails instead of
/// testing SQLite alone.
public enum TestPostgres {
    public static var url: String? { ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_URL"] }

    /// The server's location, or nil when the run has no cluster (an error when one is required).
    public static func location() throws -> PostgresLocation? {
        guard let url else {
            if ProcessInfo.processInfo.environment["MERIDIAN_REQUIRE_POSTGRES"] == "1" {
                throw StorageError("MERIDIAN_REQUIRE_POSTGRES is set but MERIDIAN_TEST_POSTGRES_URL is not")
            }
            return nil
        }
        return try PostgresLocation(url: url)
    }

    /// A database of its own, new and empty.
    public static func freshLocation() async throws -> PostgresLocation? {
        guard let server = try location() else { return nil }
        return try await server.creatingDatabase("meridian_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
    }

    /// A store on a database of its own.
    public static func store(clock: @escaping @Sendable () -> Int64 = SQLiteObjectStore.now) async throws -> PostgresObjectStore? {
        guard let location = try await freshLocation() else { return nil }
        return try await PostgresObjectStore(location, clock: clock)
    }
}

/// The store a test node runs on: SQLite, or PostgreSQL when MERIDIAN_TEST_BACKEND=postgresql (scripts/test.sh runs
/// the node's suites a second time so, against the test cluster).
public enum TestStores {
    public static var backend: String { ProcessInfo.processInfo.environment["MERIDIAN_TEST_BACKEND"] ?? "sqlite" }

    /// A new, empty store of the run's backend.
    public static func nodeStore() async throws -> any NodeStore {
        if backend == "postgresql" {
            guard let store = try await TestPostgres.store() else {
                throw StorageError("MERIDIAN_TEST_BACKEND=postgresql needs MERIDIAN_TEST_POSTGRES_URL")
            }
            return store
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-test-\(UUID().uuidString).sqlite").path
        return try SQLiteObjectStore(path: path)
    }
}
