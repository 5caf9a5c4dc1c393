import Crypto
import Logging
import NIOCore
import PostgresNIO
import STIX
import Storage

/// The audit log's hash chain on PostgreSQL: one chain for every replica. Each append locks the head row, so the
/// entries of concurrent transactions are chained one after the other, in commit order, and `audit verify` sees one
/// unbroken chain.
public final class PostgresAuditLog: AuditLog {
    /// The object store whose database and connections this shares (kept open as long as this is).
    let store: PostgresObjectStore
    var logger: Logger { store.logger }

    public init(_ store: PostgresObjectStore) {
        self.store = store
    }

    public func append(_ events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        try await store.write { [self] connection in try await Self.append(events, connection, logger: logger) }
    }

    public func verify() async throws -> AuditChain.Verification {
        try await store.read { [self] connection in try await Self.verify(connection, logger: logger) }
    }

    public func export(_ write: ([UInt8]) throws -> Void) async throws {
        var after: Int64 = 0
        while true {
            var out: [UInt8] = []
            var last: Int64?
            let rows = try await store.run("""
                SELECT seq, entry, hash FROM audit_entry WHERE seq > \(after) ORDER BY seq LIMIT 2000
                """, logger: logger)
            for try await (seq, entry, hash) in rows.decode((Int64, ByteBuffer, ByteBuffer).self) {
                var line = Array(buffer: entry)
                if line.last == UInt8(ascii: "}") { line.removeLast() }
                out += line
                out += Array(#","hash":"\#(AuditChain.hex(Array(buffer: hash)))"}"#.utf8)
                out.append(UInt8(ascii: "\n"))
                last = seq
            }
            guard let last else { return }
            try write(out)
            after = last
        }
    }

    public func versionsRead(by orgs: Set<String>, from collections: Set<String>, through: Int64) async throws
        -> [(month: String, org: String, count: Int)]
    {
        guard !orgs.isEmpty, !collections.isEmpty else { return [] }
        // PostgreSQL's JSON refuses to read text holding the escape of NUL (which an entry may hold, say in a user
        // name tried at sign-in): it is read as U+FFFD, one six-character escape for another, so the JSON stays valid.
        let rows = try await store.run(#"""
            SELECT substr(e->>'at', 1, 7) AS month, e->>'org' AS org, SUM(json_array_length(e->'detail'->'versions'))::int8
            FROM (SELECT replace(convert_from(entry, 'UTF8'), '\u0000', '\ufffd')::json AS e FROM audit_entry) AS entries
            WHERE e->>'action' = 'read' AND e->>'at' <= \#(TAXIITimestamp.format(through))
              AND e->>'org' = ANY(\#(orgs.sorted())) AND e->'detail'->>'collection' = ANY(\#(collections.sorted()))
            GROUP BY month, org ORDER BY month, org
            """#, logger: logger)
        var out: [(month: String, org: String, count: Int)] = []
        for try await (month, org, count) in rows.decode((String, String, Int64?).self) { out.append((month, org, Int(count ?? 0))) }
        return out
    }

    public func unauditedVersions(limit: Int) async throws -> (count: Int, examples: [(collection: String, id: String, version: String?)]) {
        try await store.read { [self] connection in
            var count = 0
            for try await n in try await connection.query("SELECT COUNT(*) FROM object_version WHERE NOT audited", logger: logger)
                .decode(Int64.self) { count = Int(n) }
            var examples: [(collection: String, id: String, version: String?)] = []
            let rows = try await connection.query("""
                SELECT collection, id, version_text FROM object_version WHERE NOT audited ORDER BY collection, date_added LIMIT \(limit)
                """, logger: logger)
            for try await (collection, id, version) in rows.decode((String, String, String?).self) { examples.append((collection, id, version)) }
            return (count, examples)
        }
    }

    public func count() async throws -> Int {
        var count = 0
        for try await n in try await store.run("SELECT COUNT(*) FROM audit_entry", logger: logger).decode(Int64.self) { count = Int(n) }
        return count
    }

    public func head() async throws -> (seq: Int64, hash: String)? {
        var head: (seq: Int64, hash: String)?
        for try await (seq, hash) in try await store.run("SELECT seq, hash FROM audit_head WHERE one = 1", logger: logger)
            .decode((Int64, ByteBuffer).self) where seq > 0 { head = (seq, AuditChain.hex(Array(buffer: hash))) }
        return head
    }

    public func hash(of seq: Int64) async throws -> String? {
        var found: String?
        for try await hash in try await store.run("SELECT hash FROM audit_entry WHERE seq = \(seq)", logger: logger)
            .decode(ByteBuffer.self) { found = AuditChain.hex(Array(buffer: hash)) }
        return found
    }

    /// Appends events in order in the transaction `connection` is in: a write and its entry commit together.
    static func append(_ events: [AuditEvent], _ connection: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else { return }
        var seq: Int64 = 0
        var previous = AuditChain.genesis
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
            let entry = AuditChain.entryBytes(event, seq: seq, previous: previous)
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
    static func verify(_ connection: PostgresConnection, logger: Logger) async throws -> AuditChain.Verification {
        var check = AuditChain.ChainCheck()
        let rows = try await connection.query("SELECT seq, entry, hash FROM audit_entry ORDER BY seq", logger: logger)
        for try await (seq, entry, hash) in rows.decode((Int64, ByteBuffer, ByteBuffer).self) {
            if let broken = check.next(seq: seq, entry: Array(buffer: entry), hash: Array(buffer: hash)) { return broken }
        }
        var head: (Int64, [UInt8]) = (0, AuditChain.genesis)
        for try await (seq, hash) in try await connection.query("SELECT seq, hash FROM audit_head WHERE one = 1", logger: logger)
            .decode((Int64, ByteBuffer).self)
        {
            head = (seq, Array(buffer: hash))
        }
        return check.end(headSeq: head.0, headHash: head.1)
    }
}
