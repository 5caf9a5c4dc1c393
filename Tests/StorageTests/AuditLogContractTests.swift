import Foundation
import PostgreSQLStorage
import STIX
import Storage
import TestSupport
import Testing

/// The audit log on SQLite and on PostgreSQL: the same events make the same chain, byte for byte, and every reading
/// of it agrees.
@Suite struct AuditLogContractTests {
    static func logs() async throws -> [any AuditLog] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-\(UUID().uuidString).sqlite").path
        var logs: [any AuditLog] = [SQLiteAuditLog(try SQLiteObjectStore(path: path))]
        if let postgres = try await TestPostgres.store() { logs.append(PostgresAuditLog(postgres)) }
        return logs
    }

    static func events() -> [AuditEvent] {
        let january = 1_735_689_600_000_000 as Int64  // 2025-01-01
        let february = 1_738_368_000_000_000 as Int64  // 2025-02-01
        func read(_ at: Int64, _ org: String, _ collection: String, _ n: Int) -> AuditEvent {
            AuditEvent(at: at, org: org, user: "u", action: "read", detail: JSONObject([
                "collection": .string(collection),
                "versions": .array((0..<n).map { .array([.string("indicator--\($0)"), .null]) }),
            ]))
        }
        return [
            read(january, "peer-a", "shared", 3), read(january + 1, "peer-a", "shared", 2), read(january + 2, "peer-b", "shared", 1),
            read(january + 3, "peer-a", "private", 7), read(february, "peer-a", "shared", 4),
            AuditEvent(at: february + 1, org: "peer-a", user: nil, action: "write",
                       detail: JSONObject(["collection": .string("shared"), "versions": .array([.string("x")])])),
            // Text JSON allows but some databases' JSON types refuse: a NUL escape, kept exactly.
            AuditEvent(at: february + 2, org: nil, user: "a\u{0}b", action: "auth.failed", detail: JSONObject()),
        ]
    }

    @Test func theSameEventsMakeTheSameChainAndEveryReadingOfItAgrees() async throws {
        var exports: [[UInt8]] = []
        for log in try await Self.logs() {
            #expect(try await log.head() == nil)
            #expect(try await log.count() == 0)
            try await log.append(Array(Self.events().prefix(3)))
            try await log.append(Array(Self.events().dropFirst(3)))
            #expect(try await log.count() == Self.events().count)
            let verification = try await log.verify()
            #expect(verification.broken == nil && verification.verified == Int64(Self.events().count))
            let head = try #require(try await log.head())
            #expect(head.seq == Int64(Self.events().count) && head.hash == verification.headHash)
            #expect(try await log.hash(of: head.seq) == head.hash)
            #expect(try await log.hash(of: 99) == nil)
            var export: [UInt8] = []
            try await log.export { export += $0 }
            #expect(AuditChain.verifyExport(export, against: []).problem == nil)
            exports.append(export)
            let read = try await log.versionsRead(by: ["peer-a", "peer-b"], from: ["shared"], through: 1_738_368_000_000_000)
            #expect(read.map { "\($0.month) \($0.org) \($0.count)" } == ["2025-01 peer-a 5", "2025-01 peer-b 1", "2025-02 peer-a 4"])
            #expect(try await log.versionsRead(by: ["peer-a"], from: ["shared"], through: 1_735_689_600_000_000).map(\.count) == [3])
        }
        #expect(Set(exports).count == 1, "both databases hold the very same chain")
    }

    @Test func versionsStoredWithoutTheirWriteEntryAreNamedUntilAWriteEntryListsThem() async throws {
        for store in try await ObjectStoreContractTests.stores() {
            let log: any AuditLog = if let sqlite = store as? SQLiteObjectStore { SQLiteAuditLog(sqlite) }
                else { PostgresAuditLog(try #require(store as? PostgresObjectStore)) }
            try await store.ensureCollection("c")
            let objects = (1...3).map { ObjectStoreContractTests.object("indicator--\($0)") }
            _ = try await store.add(objects, to: "c", provenance: ObjectStoreContractTests.submitter)  // a tool's write, unaudited
            let unaudited = try await log.unauditedVersions(limit: 2)
            #expect(unaudited.count == 3 && unaudited.examples.map(\.id) == ["indicator--1", "indicator--2"])
            #expect(unaudited.examples.first?.version == "2020-01-01T00:00:00.000Z")
            // Posted again by an audited write: a duplicate, but now listed in a write entry.
            let entry: AuditEntryMaker = { objects, _ in
                AuditEvent(at: 1, org: "cert-a", user: nil, action: "write", detail: JSONObject(["n": .string("\(objects.count)")]))
            }
            _ = try await store.add(Array(objects.prefix(2)), to: "c", provenance: ObjectStoreContractTests.submitter, audit: entry)
            #expect(try await log.unauditedVersions().examples.map(\.id) == ["indicator--3"])
            #expect(try await log.count() == 2, "the batch's entry and the entry of the versions it recovered")
        }
    }
}
