import Logging
import NIOCore
import PostgresNIO
import Storage

/// What `meridian storage copy` moved from a SQLite node into PostgreSQL.
public struct StorageCopySummary: Sendable, CustomStringConvertible {
    public var collections = 0
    public var versions = 0
    public var tombstones = 0
    public var statuses = 0
    public var markingDefinitions = 0
    public var users = 0
    public var tokens = 0
    public var auditEntries = 0
    public var keys = 0
    public var checkpoints = 0
    public var stateKeys = 0
    /// The audit log's head hash, the same in both databases.
    public var auditHead = ""

    public var description: String {
        "\(collections) collection(s), \(versions) object version(s) with their date_added, \(tombstones) tombstone(s), "
            + "\(statuses) status resource(s), \(markingDefinitions) marking-definition(s), \(users) user(s), \(tokens) token(s), "
            + "\(auditEntries) audit entries (chain verified, head \(auditHead.prefix(16))…), \(keys) signing key(s), "
            + "\(checkpoints) checkpoint(s), \(stateKeys) cursor(s) and other node state"
    }
}

extension PostgresObjectStore {
    /// Copies a node's SQLite database into this one, which must be empty: every object version with its
    /// `date_added`, provenance and flags, tombstones, statuses, marking-definitions and policy changes, users and
    /// tokens, the audit log byte for byte, signing keys and checkpoints, and node state (federation cursors). All in
    /// one transaction, committed only once the copied audit chain verifies and ends on the source's head: a copy that
    /// fails leaves the target empty. Search documents are made again by the indexer. `progress` is told the versions
    /// copied so far.
    public func copy(from source: SQLiteObjectStore, progress: @escaping @Sendable (Int) -> Void = { _ in }) async throws
        -> StorageCopySummary
    {
        let sourceChain = try await SQLiteAuditLog(source).verify()
        if let broken = sourceChain.broken {
            throw StorageError("the source's audit log is broken at entry \(broken.seq) (\(broken.reason)); nothing was copied")
        }
        return try await write { [self] connection in
            func rows(_ sql: String, _ arguments: [CopyValue] = []) async throws -> [[CopyValue]] {
                try await source.rowsForCopy(sql, arguments)
            }
            func exec(_ query: PostgresQuery) async throws { try await connection.query(query, logger: logger) }
            var summary = StorageCopySummary()
            var occupied: Int64 = 0
            for try await n in try await connection.query("""
                SELECT (SELECT count(*) FROM collection) + (SELECT count(*) FROM account_user) + (SELECT count(*) FROM audit_entry)
                  + (SELECT count(*) FROM node_state) + (SELECT count(*) FROM marking_definition) + (SELECT count(*) FROM status)
                """, logger: logger).decode(Int64.self) { occupied = n }
            guard occupied == 0 else {
                throw StorageError("the target database already holds a node's data; copy only into a new, empty database")
            }

            for row in try await rows("SELECT id, last_added FROM collection ORDER BY id") {
                let id = row[0].text ?? "", last = row[1].integer ?? 0
                try await exec("SELECT meridian_add_collection(\(id))")
                try await exec("UPDATE collection SET last_added = \(last) WHERE id = \(id)")
                summary.collections += 1
                var after = Int64.min
                while true {
                    let batch = try await rows("""
                        SELECT date_added, id, type, spec_version, version_us, version_text, revoked, markings, granular_markings,
                          markings_malformed, submitted_by, received_from, is_first, is_last, body, audited
                        FROM object_version WHERE collection = ? AND date_added > ? ORDER BY date_added LIMIT 2000
                        """, [.text(id), .integer(after)])
                    guard let lastRow = batch.last else { break }
                    func ints(_ i: Int) -> [Int64] { batch.map { $0[i].integer ?? 0 } }
                    func texts(_ i: Int) -> [String] { batch.map { $0[i].text ?? "" } }  // "" is NULL again below
                    func bools(_ i: Int) -> [Bool] { batch.map { $0[i].bool } }
                    let bodies = batch.map { ByteBuffer(bytes: $0[14].bytes) }
                    try await exec("""
                        INSERT INTO object_version (collection, date_added, id, type, spec_version, version_us, version_text, revoked,
                          markings, granular_markings, markings_malformed, submitted_by, received_from, is_first, is_last, body, audited)
                        SELECT \(id), n.date_added, n.id, n.type, n.spec_version, n.version_us, NULLIF(n.version_text, ''), n.revoked,
                          NULLIF(n.markings, ''), NULLIF(n.granular_markings, ''), n.malformed, NULLIF(n.submitted_by, ''),
                          NULLIF(n.received_from, ''), n.is_first, n.is_last, n.body, n.audited
                        FROM unnest(\(ints(0))::int8[], \(texts(1))::text[], \(texts(2))::text[], \(texts(3))::text[], \(ints(4))::int8[],
                          \(texts(5))::text[], \(bools(6))::bool[], \(texts(7))::text[], \(texts(8))::text[], \(bools(9))::bool[],
                          \(texts(10))::text[], \(texts(11))::text[], \(bools(12))::bool[], \(bools(13))::bool[], \(bodies)::bytea[],
                          \(bools(15))::bool[])
                          AS n(date_added, id, type, spec_version, version_us, version_text, revoked, markings, granular_markings,
                               malformed, submitted_by, received_from, is_first, is_last, body, audited)
                        """)
                    summary.versions += batch.count
                    progress(summary.versions)
                    after = lastRow[0].integer ?? after
                }
            }

            for row in try await rows("""
                SELECT seq, collection, deleted_at, id, version_text, markings, granular_markings, markings_malformed, submitted_by,
                  received_from FROM tombstone ORDER BY seq
                """) {
                try await exec("""
                    INSERT INTO tombstone (seq, collection, deleted_at, id, version_text, markings, granular_markings, markings_malformed,
                      submitted_by, received_from)
                    VALUES (\(row[0].integer ?? 0), \(row[1].text ?? ""), \(row[2].integer ?? 0), \(row[3].text ?? ""), \(row[4].text),
                      \(row[5].text), \(row[6].text), \(row[7].bool), \(row[8].text), \(row[9].text))
                    """)
                summary.tombstones += 1
            }
            for status in try await source.statusesForCopy() {
                try await exec("""
                    INSERT INTO status (id, api_root, owner, json, created_at)
                    VALUES (\(status.id), \(status.apiRoot), \(status.owner), \(ByteBuffer(bytes: status.json)), \(status.createdAt))
                    """)
                summary.statuses += 1
            }
            for row in try await rows("SELECT id, source, definition, registered_at FROM marking_definition ORDER BY rowid") {
                try await exec("""
                    INSERT INTO marking_definition (id, source, definition, registered_at)
                    VALUES (\(row[0].text ?? ""), \(row[1].text ?? ""), \(ByteBuffer(bytes: row[2].bytes)), \(row[3].integer ?? 0))
                    """)
                summary.markingDefinitions += 1
            }
            // The policy changes as the source numbered them (peers' push cursors count them), not as the inserts above
            // logged them again.
            try await exec("DELETE FROM policy_change")
            for row in try await rows("SELECT seq, marking FROM policy_change ORDER BY seq") {
                try await exec("INSERT INTO policy_change (seq, marking) VALUES (\(row[0].integer ?? 0), \(row[1].text))")
            }
            for row in try await rows("SELECT name, org, password_hash, created_at, is_admin, disabled FROM user ORDER BY name") {
                try await exec("""
                    INSERT INTO account_user (name, org, password_hash, created_at, is_admin, disabled)
                    VALUES (\(row[0].text ?? ""), \(row[1].text ?? ""), \(row[2].text ?? ""), \(row[3].integer ?? 0), \(row[4].bool), \(row[5].bool))
                    """)
                summary.users += 1
            }
            for row in try await rows("SELECT id, user, secret_hash, created_at, expires_at, kind FROM token ORDER BY id") {
                try await exec("""
                    INSERT INTO token (id, user_name, secret_hash, created_at, expires_at, kind)
                    VALUES (\(row[0].text ?? ""), \(row[1].text ?? ""), \(ByteBuffer(bytes: row[2].bytes)), \(row[3].integer ?? 0),
                      \(row[4].integer), \(row[5].text ?? "api"))
                    """)
                summary.tokens += 1
            }
            var afterSeq: Int64 = 0
            while true {
                let batch = try await rows("SELECT seq, entry, hash FROM audit_entry WHERE seq > ? ORDER BY seq LIMIT 5000", [.integer(afterSeq)])
                guard let last = batch.last else { break }
                let seqs = batch.map { $0[0].integer ?? 0 }
                let entries = batch.map { ByteBuffer(bytes: $0[1].bytes) }
                let hashes = batch.map { ByteBuffer(bytes: $0[2].bytes) }
                try await exec("INSERT INTO audit_entry (seq, entry, hash) SELECT * FROM unnest(\(seqs)::int8[], \(entries)::bytea[], \(hashes)::bytea[])")
                summary.auditEntries += batch.count
                afterSeq = last[0].integer ?? afterSeq
            }
            for row in try await rows("SELECT seq, hash FROM audit_head WHERE one = 1") {
                try await exec("UPDATE audit_head SET seq = \(row[0].integer ?? 0), hash = \(ByteBuffer(bytes: row[1].bytes)) WHERE one = 1")
            }
            for row in try await rows("SELECT id, public_key, private_key, created, retired FROM node_key ORDER BY created") {
                let privateKey = row[2] == .null ? nil : ByteBuffer(bytes: row[2].bytes)
                try await exec("""
                    INSERT INTO node_key (id, public_key, private_key, created, retired)
                    VALUES (\(row[0].text ?? ""), \(ByteBuffer(bytes: row[1].bytes)), \(privateKey), \(row[3].text ?? ""), \(row[4].text))
                    """)
                summary.keys += 1
            }
            for row in try await rows("SELECT origin, node, seq, head, at, key_id, signature FROM audit_checkpoint ORDER BY origin, seq") {
                try await exec("""
                    INSERT INTO audit_checkpoint (origin, node, seq, head, at, key_id, signature)
                    VALUES (\(row[0].text ?? ""), \(row[1].text ?? ""), \(row[2].integer ?? 0), \(row[3].text ?? ""), \(row[4].text ?? ""),
                      \(row[5].text ?? ""), \(row[6].text ?? ""))
                    """)
                summary.checkpoints += 1
            }
            for row in try await rows("SELECT key, value FROM node_state ORDER BY key") {
                try await exec("INSERT INTO node_state (key, value) VALUES (\(row[0].text ?? ""), \(row[1].text ?? ""))")
                summary.stateKeys += 1
            }
            // Numbering goes on after the copied rows.
            for (table, column) in [("tombstone", "seq"), ("policy_change", "seq"), ("marking_definition", "seq")] {
                try await exec(PostgresQuery(unsafeSQL: """
                    SELECT setval(pg_get_serial_sequence('\(table)', '\(column)'), coalesce((SELECT max(\(column)) FROM \(table)), 0) + 1, false)
                    """))
            }
            // The copied chain must verify and end where the source's does, or nothing is kept.
            let copied = try await PostgresAuditLog.verify(connection, logger: logger)
            guard copied.broken == nil, copied.verified == sourceChain.verified, copied.headHash == sourceChain.headHash else {
                throw StorageError("the copied audit log does not match the source's (\(copied.verified) entries, head \(copied.headHash.prefix(16))…); nothing was copied")
            }
            summary.auditHead = copied.headHash
            return summary
        }
    }
}
