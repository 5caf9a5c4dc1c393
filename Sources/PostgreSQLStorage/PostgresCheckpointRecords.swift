import Logging
import NIOCore
import PostgresNIO
import Storage

/// The node's keys and the checkpoints it holds, in its PostgreSQL database: one key in use for every replica.
public struct PostgresCheckpointRecords: CheckpointRecords {
    let store: PostgresObjectStore
    var logger: Logger { store.logger }

    public init(_ store: PostgresObjectStore) {
        self.store = store
    }

    /// The advisory lock replicas take before they make or replace the key in use, so only one is made.
    static let keyLock: Int64 = 0x6B65_7973  // "keys"

    public func keys() async throws -> [NodeKey] {
        var keys: [NodeKey] = []
        let rows = try await store.run("SELECT id, public_key, created, retired FROM node_key ORDER BY created DESC, id", logger: logger)
        for try await (id, publicKey, created, retired) in rows.decode((String, ByteBuffer, String, String?).self) {
            keys.append(NodeKey(id: id, publicKey: Array(buffer: publicKey), created: created, retired: retired))
        }
        return keys
    }

    public func signingKey(now: Int64) async throws -> (key: NodeKey, privateKey: [UInt8]) {
        try await store.write { [self] connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.keyLock))", logger: logger)
            let rows = try await connection.query("""
                SELECT id, public_key, private_key, created FROM node_key WHERE retired IS NULL AND private_key IS NOT NULL
                ORDER BY created DESC LIMIT 1
                """, logger: logger)
            for try await (id, publicKey, privateKey, created) in rows.decode((String, ByteBuffer, ByteBuffer, String).self) {
                return (NodeKey(id: id, publicKey: Array(buffer: publicKey), created: created, retired: nil), Array(buffer: privateKey))
            }
            let (key, privateKey) = CheckpointStore.newKey(now: now)
            try await insert(key, privateKey, connection)
            return (key, privateKey)
        }
    }

    public func rotate(to new: NodeKey, privateKey: [UInt8], retiredAt: String) async throws {
        try await store.write { [self] connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.keyLock))", logger: logger)
            try await connection.query("UPDATE node_key SET retired = \(retiredAt), private_key = NULL WHERE retired IS NULL", logger: logger)
            try await insert(new, privateKey, connection)
        }
    }

    func insert(_ key: NodeKey, _ privateKey: [UInt8], _ connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO node_key (id, public_key, private_key, created)
            VALUES (\(key.id), \(ByteBuffer(bytes: key.publicKey)), \(ByteBuffer(bytes: privateKey)), \(key.created))
            """, logger: logger)
    }

    public func save(_ c: Checkpoint, origin: String) async throws -> Bool {
        var inserted = false
        for try await _ in try await store.run("""
            INSERT INTO audit_checkpoint (origin, node, seq, head, at, key_id, signature)
            VALUES (\(origin), \(c.node), \(c.seq), \(c.head), \(c.at), \(c.keyID), \(c.signature))
            ON CONFLICT DO NOTHING RETURNING seq
            """, logger: logger) { inserted = true }
        return inserted
    }

    public func checkpoints(origin: String, limit: Int) async throws -> [Checkpoint] {
        var out: [Checkpoint] = []
        let rows = try await store.run("""
            SELECT node, seq, head, at, key_id, signature FROM audit_checkpoint WHERE origin = \(origin) ORDER BY seq DESC LIMIT \(Int64(limit))
            """, logger: logger)
        for try await (node, seq, head, at, keyID, signature) in rows.decode((String, Int64, String, String, String, String).self) {
            out.append(Checkpoint(node: node, seq: seq, head: head, at: at, keyID: keyID, signature: signature))
        }
        return out
    }

    public func origins() async throws -> [String] {
        var out: [String] = []
        for try await origin in try await store.run("SELECT DISTINCT origin FROM audit_checkpoint ORDER BY origin", logger: logger)
            .decode(String.self) { out.append(origin) }
        return out
    }
}
