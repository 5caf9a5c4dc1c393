import Crypto
import Logging
import NIOCore
import PostgresNIO
import Storage

/// The audit log's hash chain on PostgreSQL: one chain for every replica. Each append locks the head row, so the
/// entries of concurrent transactions are chained one after the other, in commit order, and `audit verify` sees one
/// unbroken chain.
enum PostgresAuditLog {
    /// Appends events in order in the transaction `connection` is in: a write and its entry commit together.
    static func append(_ events: [AuditEvent], _ connection: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else { return }
        var seq: Int64 = 0
        var previous = AuditLog.genesis
        for try await (s, h) in try await connection.query("SELECT seq, hash FROM audit_head WHERE one = 1 FOR UPDATE", logger: logger)
            .decode((Int64, ByteBuffer).self)
        {
            seq = s
            previous = Array(buffer: h)
        }
        var seqs: [Int64] = []
        var entries: [ByteBuffer] = []
        var hashes: [ByteBuffer] = []
        for event in events {
            seq += 1
            let entry = AuditLog.entryBytes(event, seq: seq, previous: previous)
            let hash = Array(SHA256.hash(data: entry))
            seqs.append(seq)
            entries.append(ByteBuffer(bytes: entry))
            hashes.append(ByteBuffer(bytes: hash))
            previous = hash
        }
        try await connection.query("""
            INSERT INTO audit_entry (seq, entry, hash) SELECT * FROM unnest(\(seqs)::int8[], \(entries)::bytea[], \(hashes)::bytea[])
            """, logger: logger)
        try await connection.query("UPDATE audit_head SET seq = \(seq), hash = \(ByteBuffer(bytes: previous)) WHERE one = 1", logger: logger)
    }

    /// Walks the chain from the first entry, in one snapshot, and names the first entry that does not hold.
    static func verify(_ connection: PostgresConnection, logger: Logger) async throws -> AuditLog.Verification {
        var check = AuditLog.ChainCheck()
        let rows = try await connection.query("SELECT seq, entry, hash FROM audit_entry ORDER BY seq", logger: logger)
        for try await (seq, entry, hash) in rows.decode((Int64, ByteBuffer, ByteBuffer).self) {
            if let broken = check.next(seq: seq, entry: Array(buffer: entry), hash: Array(buffer: hash)) { return broken }
        }
        var head: (Int64, [UInt8]) = (0, AuditLog.genesis)
        for try await (seq, hash) in try await connection.query("SELECT seq, hash FROM audit_head WHERE one = 1", logger: logger)
            .decode((Int64, ByteBuffer).self)
        {
            head = (seq, Array(buffer: hash))
        }
        return check.end(headSeq: head.0, headHash: head.1)
    }
}

extension PostgresObjectStore {
    /// Appends events to the audit log in order, in one transaction.
    public func appendAudit(_ events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        try await write { connection in try await PostgresAuditLog.append(events, connection, logger: logger) }
    }

    /// Checks the audit log's whole chain, as `meridian audit verify` does.
    public func verifyAudit() async throws -> AuditLog.Verification {
        try await read { connection in try await PostgresAuditLog.verify(connection, logger: logger) }
    }
}
