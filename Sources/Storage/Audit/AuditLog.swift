import Crypto
import Foundation
import GRDB
import STIX

/// One thing that happened, as the audit log records it: when, who (org and user), what kind of event, and what
/// it touched (collection, object ids and versions, the admin change), never object content or secrets.
public struct AuditEvent: Sendable {
    /// The entry's members after `seq` and `prev`, as JSON text: `"at":…,"org":…,"user":…,"action":…,"detail":{…}`.
    package let members: [UInt8]

    /// An event whose detail is already a serialized JSON object (the fast path of reads).
    public init(at: Int64, org: String?, user: String?, action: String, detailJSON: [UInt8]) {
        var m: [UInt8] = []
        m.reserveCapacity(detailJSON.count + 128)
        m += Array(#""at":""#.utf8) + Array(TAXIITimestamp.format(at).utf8) + Array(#"","org":"#.utf8)
        if let org { JSONValue.writeEscaped(org, to: &m) } else { m += Array("null".utf8) }
        m += Array(#","user":"#.utf8)
        if let user { JSONValue.writeEscaped(user, to: &m) } else { m += Array("null".utf8) }
        m += Array(#","action":"#.utf8)
        JSONValue.writeEscaped(action, to: &m)
        m += Array(#","detail":"#.utf8)
        m += detailJSON
        members = m
    }

    public init(at: Int64, org: String?, user: String?, action: String, detail: JSONObject) {
        self.init(at: at, org: org, user: user, action: action, detailJSON: Array(JSONValue.object(detail).serialized().utf8))
    }
}

/// The rules of the audit log's hash chain, whichever database holds it.
///
/// Each entry is stored as the exact JSON bytes that were hashed: `{"seq":N,"prev":"<hex SHA-256 of entry N-1>",
/// "at":...,"org":...,"user":...,"action":...,"detail":{...}}`, and its hash is SHA-256 of those bytes. A head
/// row holds the last sequence number and hash, so removing entries from the end is detected too. Anyone holding the
/// database can check the chain (`meridian audit verify`); anchoring the head hash elsewhere makes rewriting the
/// whole chain detectable as well.
public enum AuditChain {
    /// The hash the first entry commits to.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    package static func entryBytes(_ event: AuditEvent, seq: Int64, previous: [UInt8]) -> [UInt8] {
        var entry: [UInt8] = []
        entry.reserveCapacity(event.members.count + 110)
        entry += Array(#"{"seq":\#(seq),"prev":"\#(hex(previous))","#.utf8)
        entry += event.members
        entry.append(UInt8(ascii: "}"))
        return entry
    }

    package static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The outcome of checking the chain.
    public struct Verification: Sendable, Equatable {
        /// How many entries were checked and found sound.
        public let verified: Int64
        /// The hash of the last entry (hex), to anchor elsewhere.
        public let headHash: String
        /// The first entry that breaks the chain, and why; nil when the chain is intact.
        public let broken: (seq: Int64, reason: String)?

        public static func == (a: Verification, b: Verification) -> Bool {
            a.verified == b.verified && a.headHash == b.headHash && a.broken?.seq == b.broken?.seq && a.broken?.reason == b.broken?.reason
        }
    }

    /// The chain checked entry by entry, in `seq` order, whatever database holds it.
    package struct ChainCheck {
        private let parser = JSONParser()
        private var expectedSeq: Int64 = 1
        private var previous = AuditChain.genesis

        package init() {}

        private func broken(_ seq: Int64, _ reason: String) -> Verification {
            Verification(verified: expectedSeq - 1, headHash: AuditChain.hex(previous), broken: (seq, reason))
        }

        /// Checks the next stored entry; the verification to report when it breaks the chain, nil when it holds.
        package mutating func next(seq: Int64, entry: [UInt8], hash stored: [UInt8]) -> Verification? {
            guard seq == expectedSeq else {
                return broken(expectedSeq, "entry \(expectedSeq) is missing (the next stored entry is \(seq))")
            }
            guard Array(SHA256.hash(data: entry)) == stored else {
                return broken(seq, "entry \(seq) was altered: its content does not match its hash")
            }
            guard let value = try? parser.parse(entry), value["seq"]?.numberValue?.integer == seq else {
                return broken(seq, "entry \(seq) is out of place: its content names another sequence number")
            }
            guard value["prev"]?.stringValue == AuditChain.hex(previous) else {
                return broken(seq, "entry \(seq) does not follow entry \(seq - 1): the chain was cut, reordered or rewritten here")
            }
            previous = stored
            expectedSeq += 1
            return nil
        }

        /// The verification once every entry was checked, against the head row.
        package func end(headSeq: Int64, headHash: [UInt8]) -> Verification {
            let last = expectedSeq - 1
            if headSeq != last || headHash != previous {
                return broken(last + 1, headSeq > last
                    ? "entries \(last + 1) to \(headSeq) are missing from the end of the log"
                    : "the log's head (entry \(headSeq)) does not match its last entry (\(last))")
            }
            return Verification(verified: last, headHash: AuditChain.hex(previous), broken: nil)
        }
    }
}

/// The append-only, hash-chained audit log, in the node's database (``AuditChain``). SQLite's and PostgreSQL's
/// logs both are one (`AuditLogTests` and `PostgresReplicaTests`).
public protocol AuditLog: Sendable {
    /// Appends events in order, in one transaction.
    func append(_ events: [AuditEvent]) async throws
    /// Walks the chain from the first entry and names the first one that does not hold.
    func verify() async throws -> AuditChain.Verification
    /// Every entry in order as JSON Lines (the hashed entry with its `hash` added), handed to `write` in chunks.
    func export(_ write: ([UInt8]) throws -> Void) async throws
    /// How many object versions each of `orgs` read from `collections`, month by month (`YYYY-MM` of the entry's
    /// time), from read entries up to `through` (microseconds): what was sent to peer nodes, for the transparency
    /// report.
    func versionsRead(by orgs: Set<String>, from collections: Set<String>, through: Int64) async throws -> [(month: String, org: String, count: Int)]
    /// Stored versions that no write entry of the log lists (at most `limit` of them named), and how many there are.
    func unauditedVersions(limit: Int) async throws -> (count: Int, examples: [(collection: String, id: String, version: String?)])
    /// How many entries the log holds.
    func count() async throws -> Int
    /// The last entry's number and hex hash; nil for an empty log.
    func head() async throws -> (seq: Int64, hash: String)?
    /// The hex hash of entry `seq` as stored; nil when there is no such entry.
    func hash(of seq: Int64) async throws -> String?
}

extension AuditLog {
    public func unauditedVersions() async throws -> (count: Int, examples: [(collection: String, id: String, version: String?)]) {
        try await unauditedVersions(limit: 20)
    }
}

/// The audit log in the node's SQLite database.
public final class SQLiteAuditLog: AuditLog {
    let pool: DatabasePool

    public init(_ store: SQLiteObjectStore) {
        pool = store.database
    }

    /// Appends events in order, in one transaction.
    public func append(_ events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        try await pool.write { db in try SQLiteAuditLog.append(events, in: db) }
    }

    /// Appends events in order in the transaction `db` is in: a write and its entry commit together, or neither does.
    static func append(_ events: [AuditEvent], in db: Database) throws {
        guard !events.isEmpty else { return }
        let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_head WHERE one = 1")
        var seq: Int64 = head?[0] ?? 0
        var previous: [UInt8] = head.map { Array($0[1] as Data) } ?? AuditChain.genesis
        let insert = try db.cachedStatement(sql: "INSERT INTO audit_entry (seq, entry, hash) VALUES (?, ?, ?)")
        for event in events {
            seq += 1
            let entry = AuditChain.entryBytes(event, seq: seq, previous: previous)
            let hash = Array(SHA256.hash(data: entry))
            try insert.execute(arguments: [seq, Data(entry), Data(hash)])
            previous = hash
        }
        try db.execute(sql: "INSERT OR REPLACE INTO audit_head (one, seq, hash) VALUES (1, ?, ?)", arguments: [seq, Data(previous)])
    }

    /// Walks the chain from the first entry and names the first one that does not hold.
    public func verify() async throws -> AuditChain.Verification {
        try await pool.read { db in
            var check = AuditChain.ChainCheck()
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, entry, hash FROM audit_entry ORDER BY seq")
            while let row = try rows.next() {
                if let broken = check.next(seq: row[0], entry: Array(row[1] as Data), hash: Array(row[2] as Data)) { return broken }
            }
            let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_head WHERE one = 1")
            return check.end(headSeq: head?[0] ?? 0, headHash: head.map { Array($0[1] as Data) } ?? AuditChain.genesis)
        }
    }

    /// Every entry in order as JSON Lines (the hashed entry with its `hash` added), handed to `write` in chunks.
    public func export(_ write: ([UInt8]) throws -> Void) async throws {
        var after: Int64 = 0
        while true {
            let start = after
            let chunk: [(Int64, [UInt8])] = try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT seq, entry, hash FROM audit_entry WHERE seq > ? ORDER BY seq LIMIT 2000",
                                 arguments: [start]).map { row in
                    var line = Array(row[1] as Data)
                    if line.last == UInt8(ascii: "}") { line.removeLast() }
                    line += Array(#","hash":"\#(AuditChain.hex(Array(row[2] as Data)))"}"#.utf8)
                    line.append(UInt8(ascii: "\n"))
                    return (row[0], line)
                }
            }
            guard let last = chunk.last else { return }
            var out: [UInt8] = []
            for (_, line) in chunk { out += line }
            try write(out)
            after = last.0
        }
    }

    /// How many object versions each of `orgs` read from `collections`, month by month (`YYYY-MM` of the entry's
    /// time), from read entries up to `through` (microseconds): what was sent to peer nodes, for the transparency
    /// report. One pass over the log in SQLite.
    public func versionsRead(by orgs: Set<String>, from collections: Set<String>, through: Int64) async throws -> [(month: String, org: String, count: Int)] {
        guard !orgs.isEmpty, !collections.isEmpty else { return [] }
        let orgList = Array(orgs).sorted()
        let collectionList = Array(collections).sorted()
        let limit = TAXIITimestamp.format(through)
        return try await pool.read { db in
            let sql = """
                SELECT substr(json_extract(e, '$.at'), 1, 7) AS month, json_extract(e, '$.org') AS org,
                       SUM(json_array_length(e, '$.detail.versions')) AS n
                FROM (SELECT CAST(entry AS TEXT) AS e FROM audit_entry)
                WHERE json_extract(e, '$.action') = 'read' AND json_extract(e, '$.at') <= ?
                  AND json_extract(e, '$.org') IN (\(orgList.map { _ in "?" }.joined(separator: ",")))
                  AND json_extract(e, '$.detail.collection') IN (\(collectionList.map { _ in "?" }.joined(separator: ",")))
                GROUP BY month, org ORDER BY month, org
                """
            let arguments = StatementArguments([limit] + orgList + collectionList)
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { (month: $0[0], org: $0[1], count: $0[2]) }
        }
    }

    /// Stored versions that no write entry of the log lists (at most `limit` of them named), and how many there are.
    public func unauditedVersions(limit: Int) async throws -> (count: Int, examples: [(collection: String, id: String, version: String?)]) {
        try await pool.read { db in
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM object_version WHERE audited = 0") ?? 0
            let examples = try Row.fetchAll(db, sql: """
                SELECT collection, id, version_text FROM object_version WHERE audited = 0 ORDER BY collection, date_added LIMIT ?
                """, arguments: [limit]).map { (collection: $0[0] as String, id: $0[1] as String, version: $0[2] as String?) }
            return (count, examples)
        }
    }

    /// How many entries the log holds.
    public func count() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_entry") ?? 0 }
    }
}
