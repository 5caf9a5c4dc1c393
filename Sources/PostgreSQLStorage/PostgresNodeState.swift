import Logging
import NIOCore
import PostgresNIO
import Storage

/// What the node knows besides object versions (``NodeStore``): marking-definitions and their generation, policy
/// changes, and values kept between runs, shared by every replica.
extension PostgresObjectStore {
    public func versionCounts(_ collection: String, ids: [String], submittedBy submitter: String?) async throws -> [String: Int] {
        let rows = try await run("""
            SELECT id, COUNT(*) FROM object_version WHERE collection = \(collection) AND submitted_by IS NOT DISTINCT FROM \(submitter)
              AND id = ANY(\(Array(Set(ids)))) GROUP BY id
            """, logger: logger)
        var counts: [String: Int] = [:]
        for try await (id, count) in rows.decode((String, Int64).self) { counts[id] = Int(count) }
        return counts
    }

    public func markingDefinitions() async throws -> (generation: Int64, records: [MarkingDefinitionRecord]) {
        try await read { [self] connection in
            var records: [MarkingDefinitionRecord] = []
            let rows = try await connection.query("SELECT id, source, definition FROM marking_definition ORDER BY seq", logger: logger)
            for try await (id, source, definition) in rows.decode((String, String, ByteBuffer).self) {
                records.append(MarkingDefinitionRecord(id: id, source: source, definition: Array(buffer: definition)))
            }
            return (try await PostgresPaging.markingGeneration(connection, logger: logger), records)
        }
    }

    public func registerMarkingDefinition(id: String, definition: [UInt8]) async throws {
        try await run("""
            INSERT INTO marking_definition (id, source, definition, registered_at) VALUES (\(id), 'admin', \(ByteBuffer(bytes: definition)), \(clock()))
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    public func markingDefinitionsGeneration() async throws -> Int64 {
        try await connection { [logger] connection in try await PostgresPaging.markingGeneration(connection, logger: logger) }
    }

    public func policyChanges(after seq: Int64, through: Int64) async throws -> [(seq: Int64, marking: String?)] {
        var changes: [(seq: Int64, marking: String?)] = []
        let rows = try await run("""
            SELECT seq, marking FROM policy_change WHERE seq > \(seq) AND seq <= \(through) ORDER BY seq
            """, logger: logger)
        for try await (seq, marking) in rows.decode((Int64, String?).self) { changes.append((seq, marking)) }
        return changes
    }

    public func latestPolicyChange() async throws -> Int64 {
        var latest: Int64 = 0
        for try await value in try await run("SELECT COALESCE(MAX(seq), 0) FROM policy_change", logger: logger).decode(Int64.self) {
            latest = value
        }
        return latest
    }

    public func recordConfigurationPolicyChange() async throws {
        try await run("INSERT INTO policy_change (marking) VALUES (NULL)", logger: logger)
    }

    public func state(_ key: String) async throws -> String? {
        var value: String?
        for try await v in try await run("SELECT value FROM node_state WHERE key = \(key)", logger: logger).decode(String.self) {
            value = v
        }
        return value
    }

    public func setState(_ key: String, _ value: String) async throws {
        try await run("""
            INSERT INTO node_state (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
            """, logger: logger)
    }
}

extension PostgresObjectStore {
    /// Leases expire by the database's clock, the one clock every replica shares.
    public func lease(_ name: String, holder: String, seconds: Int) async throws -> Bool {
        let held = try await run("""
            INSERT INTO lease (name, holder, expires_at) VALUES (\(name), \(holder), now() + make_interval(secs => \(Double(seconds))))
            ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
            WHERE lease.holder = EXCLUDED.holder OR lease.expires_at <= now()
            RETURNING holder
            """, logger: logger)
        return !held.rows.isEmpty
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        try await run("DELETE FROM lease WHERE name = \(name) AND holder = \(holder)", logger: logger)
    }

    public func accountStore() -> any AccountStore { PostgresAccountStore(self) }
    public func auditLog() -> any AuditLog { PostgresAuditLog(self) }
    public func checkpointRecords() -> any CheckpointRecords { PostgresCheckpointRecords(self) }
}
