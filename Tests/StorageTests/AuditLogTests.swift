import Crypto
import Foundation
import GRDB
import STIX
import Storage
import Testing

/// The audit log is a hash chain: editing, deleting or reordering any one entry is detected at that entry.
@Suite struct AuditLogTests {
    static let count: Int64 = 12

    func log() async throws -> (SQLiteObjectStore, AuditLog) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-audit-\(UUID().uuidString).sqlite").path
        let store = try SQLiteObjectStore(path: path)
        let log = SQLiteAuditLog(store)
        for i in 1...Self.count {
            try await log.append([AuditEvent(at: 1_700_000_000_000_000 + i, org: "cert-\(i % 3)", user: "u", action: i % 2 == 0 ? "read" : "write",
                                             detail: JSONObject(["versions": .array([.array([.string("indicator--\(i)"), .null])])]))])
        }
        return (store, log)
    }

    func tamper(_ store: SQLiteObjectStore, _ sql: String, _ arguments: StatementArguments = []) async throws {
        try await store.database.write { db in try db.execute(sql: sql, arguments: arguments) }
    }

    @Test func anUntouchedLogVerifies() async throws {
        let (_, log) = try await log()
        let result = try await log.verify()
        #expect(result.broken == nil)
        #expect(result.verified == Self.count)
        #expect(result.headHash.count == 64)
    }

    @Test func editingAnyEntryIsDetectedAtThatEntry() async throws {
        for k in 1...Self.count {
            let (store, log) = try await log()
            try await tamper(store, "UPDATE audit_entry SET entry = CAST(replace(CAST(entry AS TEXT), 'cert-', 'CERT-') AS BLOB) WHERE seq = ?", [k])
            #expect(try await log.verify().broken?.seq == k, "edited entry \(k)")
        }
    }

    @Test func rewritingAnEntryWithAMatchingHashStillBreaksTheChainThere() async throws {
        let (store, log) = try await log()
        let k: Int64 = 5
        let forged = #"{"seq":5,"at":"x","org":"evil","user":null,"action":"read","detail":{},"prev":"00"}"#
        try await tamper(store, "UPDATE audit_entry SET entry = ?, hash = ? WHERE seq = ?",
                         [Data(forged.utf8), Data(SHA256.hash(data: Data(forged.utf8))), k])
        #expect(try await log.verify().broken?.seq == k)
    }

    @Test func deletingAnyEntryIsDetectedAtThatEntry() async throws {
        for k in 1...Self.count {
            let (store, log) = try await log()
            try await tamper(store, "DELETE FROM audit_entry WHERE seq = ?", [k])
            let broken = try await log.verify().broken
            #expect(broken?.seq == k, "deleted entry \(k): \(broken?.reason ?? "intact")")
        }
    }

    @Test func reorderingEntriesIsDetectedAtTheFirstMovedOne() async throws {
        for k in 1..<Self.count {
            let (store, log) = try await log()
            // Swap the contents (entry and hash) of k and k + 1.
            try await tamper(store, """
                UPDATE audit_entry SET entry = (SELECT entry FROM audit_entry b WHERE b.seq = (CASE audit_entry.seq WHEN ?1 THEN ?2 ELSE ?1 END)),
                                       hash = (SELECT hash FROM audit_entry b WHERE b.seq = (CASE audit_entry.seq WHEN ?1 THEN ?2 ELSE ?1 END))
                WHERE seq IN (?1, ?2)
                """, [k, k + 1])
            #expect(try await log.verify().broken?.seq == k, "swapped \(k) and \(k + 1)")
        }
    }

    @Test func appendingContinuesTheChainAcrossBatches() async throws {
        let (_, log) = try await log()
        try await log.append((0..<3).map { AuditEvent(at: $0, org: nil, user: nil, action: "admin", detail: JSONObject()) })
        let result = try await log.verify()
        #expect(result.broken == nil && result.verified == Self.count + 3)
        var lines = 0
        try await log.export { bytes in lines += bytes.filter { $0 == UInt8(ascii: "\n") }.count }
        #expect(lines == Int(Self.count) + 3)
    }
}
