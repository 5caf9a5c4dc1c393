import Crypto
import Foundation
import GRDB
import STIX

/// A signed statement that a node's audit log had, at a time, `seq` entries and that entry `seq` hashed to `head`.
/// Published at `/transparency/checkpoints/` and kept by peers: a log rewritten afterwards, even re-hashed from its
/// first entry, no longer has that head at that position.
public struct Checkpoint: Sendable, Equatable {
    /// The node's owner org id, as the node names itself.
    public let node: String
    public let seq: Int64
    /// Hex SHA-256 of entry `seq`.
    public let head: String
    public let at: String
    public let keyID: String
    /// Base64 Ed25519 signature of ``signedText``.
    public let signature: String

    public init(node: String, seq: Int64, head: String, at: String, keyID: String, signature: String) {
        self.node = node
        self.seq = seq
        self.head = head
        self.at = at
        self.keyID = keyID
        self.signature = signature
    }

    /// What is signed: one line per field, in a fixed order.
    public static func signedText(node: String, seq: Int64, head: String, at: String) -> String {
        "meridian-checkpoint/1\n\(node)\n\(seq)\n\(head)\n\(at)\n"
    }

    public var json: JSONValue {
        .object(JSONObject([
            "node": .string(node), "seq": .number(JSONNumber(seq)), "head": .string(head), "at": .string(at),
            "key_id": .string(keyID), "signature": .string(signature),
        ]))
    }

    /// Reads one from its JSON form; nil when a field is missing or of the wrong kind.
    public init?(json: JSONValue) {
        guard let node = json["node"]?.stringValue, let seq = json["seq"]?.numberValue?.integer, let head = json["head"]?.stringValue,
              let at = json["at"]?.stringValue, let keyID = json["key_id"]?.stringValue, let signature = json["signature"]?.stringValue,
              head.count == 64, head.allSatisfy(\.isHexDigit), seq >= 1
        else { return nil }
        self.init(node: node, seq: seq, head: head, at: at, keyID: keyID, signature: signature)
    }

    /// Encodings of the points of small order (RFC 8032's identity and torsion points, as libsodium lists them): a
    /// "key" that is one of them accepts signatures made without any private key, so none is trusted.
    static let weakKeys: Set<String> = [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ]

    /// Whether the signature is `keys[keyID]`'s over this checkpoint.
    public func isSigned(by keys: [String: [UInt8]]) -> Bool {
        guard let raw = keys[keyID], raw.count == 32, !Self.weakKeys.contains(AuditChain.hex(raw)),
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw),
              let signatureBytes = Data(base64Encoded: signature) else { return false }
        return key.isValidSignature(signatureBytes, for: Data(Self.signedText(node: node, seq: seq, head: head, at: at).utf8))
    }
}

/// A node signing key: Ed25519; the private half is erased when the key is retired by a rotation.
public struct NodeKey: Sendable, Equatable {
    public let id: String
    public let publicKey: [UInt8]
    public let created: String
    public let retired: String?

    public init(id: String, publicKey: [UInt8], created: String, retired: String?) {
        self.id = id
        self.publicKey = publicKey
        self.created = created
        self.retired = retired
    }

    /// The key id: the first 16 hex digits of SHA-256 of the raw public key.
    public static func id(of publicKey: [UInt8]) -> String {
        String(SHA256.hash(data: publicKey).map { String(format: "%02x", $0) }.joined().prefix(16))
    }
}

/// Where a node's keys and checkpoints are kept: the database's part of ``CheckpointStore``.
public protocol CheckpointRecords: Sendable {
    /// Every key, newest first.
    func keys() async throws -> [NodeKey]
    /// The key in use and its private half (raw), made in the same transaction when there is none.
    func signingKey(now: Int64) async throws -> (key: NodeKey, privateKey: [UInt8])
    /// Retires the key in use (erasing its private half) and makes `new` the key in use.
    func rotate(to new: NodeKey, privateKey: [UInt8], retiredAt: String) async throws
    /// Keeps a checkpoint under `origin`; true when it was new.
    func save(_ c: Checkpoint, origin: String) async throws -> Bool
    /// Checkpoints held for `origin`, newest first.
    func checkpoints(origin: String, limit: Int) async throws -> [Checkpoint]
    /// Every origin that has checkpoints.
    func origins() async throws -> [String]
}

/// The node's keys and the checkpoints it holds (its own, origin `self`, and each peer's, under the peer's name), in
/// the node's database (SQLite's file is mode 0600, so backups carry them).
public final class CheckpointStore: Sendable {
    let records: any CheckpointRecords

    public init(_ records: any CheckpointRecords) {
        self.records = records
    }

    /// On the node's SQLite database.
    public convenience init(_ store: SQLiteObjectStore) {
        self.init(SQLiteCheckpointRecords(pool: store.database))
    }

    public static let ownOrigin = "self"

    /// Every key, newest first.
    public func keys() async throws -> [NodeKey] { try await records.keys() }

    /// The key in use, made when there is none (a node initialised before keys existed gets one on first use).
    @discardableResult
    public func currentKey(now: Int64) async throws -> NodeKey {
        try await records.signingKey(now: now).key
    }

    /// A new key pair, named by its public key.
    package static func newKey(now: Int64) -> (key: NodeKey, privateKey: [UInt8]) {
        let signer = Curve25519.Signing.PrivateKey()
        let publicKey = Array(signer.publicKey.rawRepresentation)
        return (NodeKey(id: NodeKey.id(of: publicKey), publicKey: publicKey, created: TAXIITimestamp.format(now), retired: nil),
                Array(signer.rawRepresentation))
    }

    /// Retires the key in use (erasing its private half) and makes a new one; returns the new key.
    @discardableResult
    public func rotate(now: Int64) async throws -> NodeKey {
        let (key, privateKey) = Self.newKey(now: now)
        try await records.rotate(to: key, privateKey: privateKey, retiredAt: TAXIITimestamp.format(now))
        return key
    }

    /// Signs a checkpoint of the log's head as `node` and keeps it; nil when the log is empty or has not moved since
    /// the last checkpoint.
    public func checkpoint(_ log: any AuditLog, node: String, now: Int64) async throws -> Checkpoint? {
        guard let head = try await log.head(), head.seq > 0 else { return nil }
        if let last = try await checkpoints(origin: Self.ownOrigin, limit: 1).first, last.seq >= head.seq { return nil }
        let (key, raw) = try await records.signingKey(now: now)
        let signer = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        let at = TAXIITimestamp.format(now)
        let text = Checkpoint.signedText(node: node, seq: head.seq, head: head.hash, at: at)
        let signature = try signer.signature(for: Data(text.utf8)).base64EncodedString()
        let checkpoint = Checkpoint(node: node, seq: head.seq, head: head.hash, at: at, keyID: key.id, signature: signature)
        try await save(checkpoint, origin: Self.ownOrigin)
        return checkpoint
    }

    /// Keeps a checkpoint (a peer's, under its name); true when it was new.
    @discardableResult
    public func save(_ c: Checkpoint, origin: String) async throws -> Bool { try await records.save(c, origin: origin) }

    /// Checkpoints held for `origin`, newest first.
    public func checkpoints(origin: String, limit: Int = 1000) async throws -> [Checkpoint] {
        try await records.checkpoints(origin: origin, limit: limit)
    }

    /// Every origin that has checkpoints.
    public func origins() async throws -> [String] { try await records.origins() }
}

/// Keys and checkpoints in the node's SQLite database.
struct SQLiteCheckpointRecords: CheckpointRecords {
    let pool: DatabasePool

    func keys() async throws -> [NodeKey] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, public_key, created, retired FROM node_key ORDER BY created DESC, id").map {
                NodeKey(id: $0[0], publicKey: Array($0[1] as Data), created: $0[2], retired: $0[3])
            }
        }
    }

    func signingKey(now: Int64) async throws -> (key: NodeKey, privateKey: [UInt8]) {
        try await pool.write { db in
            if let row = try Row.fetchOne(db, sql: """
                SELECT id, public_key, private_key, created FROM node_key WHERE retired IS NULL AND private_key IS NOT NULL
                ORDER BY created DESC LIMIT 1
                """) {
                return (NodeKey(id: row[0], publicKey: Array(row[1] as Data), created: row[3], retired: nil), Array(row[2] as Data))
            }
            let (key, privateKey) = CheckpointStore.newKey(now: now)
            try Self.insert(key, privateKey, db)
            return (key, privateKey)
        }
    }

    func rotate(to new: NodeKey, privateKey: [UInt8], retiredAt: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE node_key SET retired = ?, private_key = NULL WHERE retired IS NULL", arguments: [retiredAt])
            try Self.insert(new, privateKey, db)
        }
    }

    static func insert(_ key: NodeKey, _ privateKey: [UInt8], _ db: Database) throws {
        try db.execute(sql: "INSERT INTO node_key (id, public_key, private_key, created) VALUES (?, ?, ?, ?)",
                       arguments: [key.id, Data(key.publicKey), Data(privateKey), key.created])
    }

    func save(_ c: Checkpoint, origin: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO audit_checkpoint (origin, node, seq, head, at, key_id, signature) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [origin, c.node, c.seq, c.head, c.at, c.keyID, c.signature])
            return db.changesCount > 0
        }
    }

    func checkpoints(origin: String, limit: Int) async throws -> [Checkpoint] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT node, seq, head, at, key_id, signature FROM audit_checkpoint WHERE origin = ? ORDER BY seq DESC LIMIT ?
                """, arguments: [origin, limit]).map {
                Checkpoint(node: $0[0], seq: $0[1], head: $0[2], at: $0[3], keyID: $0[4], signature: $0[5])
            }
        }
    }

    func origins() async throws -> [String] {
        try await pool.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT origin FROM audit_checkpoint ORDER BY origin") }
    }
}

extension SQLiteAuditLog {
    /// The last entry's number and hex hash; nil for an empty log.
    public func head() async throws -> (seq: Int64, hash: String)? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_head WHERE one = 1").map { ($0[0], AuditChain.hex(Array($0[1] as Data))) }
        }
    }

    /// The hex hash of entry `seq` as stored; nil when there is no such entry.
    public func hash(of seq: Int64) async throws -> String? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT hash FROM audit_entry WHERE seq = ?", arguments: [seq]).map { AuditChain.hex(Array($0)) }
        }
    }
}

extension AuditChain {
    /// Checks an exported log (`meridian audit export`, JSON Lines) on its own: each line's hash is SHA-256 of its
    /// entry, each entry names the previous hash, and at each checkpoint's position the hash is the one signed.
    /// Returns how many lines were checked, and the first problem found.
    public static func verifyExport(_ text: [UInt8], against checkpoints: [Checkpoint]) -> (checked: Int, problem: String?) {
        let bySeq = Dictionary(checkpoints.map { ($0.seq, $0) }, uniquingKeysWith: { a, _ in a })
        var previous = AuditChain.hex(AuditChain.genesis)
        var expected: Int64 = 1
        var covered: Set<Int64> = []
        let parser = JSONParser()
        for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            let bytes = Array(line)
            // `…,"hash":"<64 hex>"}` ends every line; the entry is what comes before, closed.
            let suffix = 11 + 64
            guard bytes.count > suffix, let value = try? parser.parse(bytes), let hash = value["hash"]?.stringValue,
                  Array(bytes[(bytes.count - suffix)...]) == Array(#","hash":"\#(hash)"}"#.utf8)
            else { return (Int(expected - 1), "line \(expected) is not an exported audit entry") }
            let entry = Array(bytes[..<(bytes.count - suffix)]) + [UInt8(ascii: "}")]
            guard value["seq"]?.numberValue?.integer == expected else {
                return (Int(expected - 1), "line \(expected) holds entry \(value["seq"]?.numberValue?.integer ?? -1), not \(expected)")
            }
            guard AuditChain.hex(Array(SHA256.hash(data: entry))) == hash else {
                return (Int(expected - 1), "entry \(expected) was altered: its content does not match its hash")
            }
            guard value["prev"]?.stringValue == previous else {
                return (Int(expected - 1), "entry \(expected) does not follow entry \(expected - 1)")
            }
            if let c = bySeq[expected] {
                guard c.head == hash else {
                    return (Int(expected - 1), "entry \(expected) hashes to \(hash.prefix(16))…, but checkpoint \(c.seq) of \(c.at) signed \(c.head.prefix(16))…: the log was rewritten after it")
                }
                covered.insert(expected)
            }
            previous = hash
            expected += 1
        }
        if let missing = checkpoints.first(where: { !covered.contains($0.seq) }) {
            return (Int(expected - 1), "the export ends at entry \(expected - 1), before checkpoint \(missing.seq) of \(missing.at): entries were removed")
        }
        return (Int(expected - 1), nil)
    }
}
