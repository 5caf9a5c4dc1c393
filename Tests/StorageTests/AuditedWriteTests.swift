import Foundation
import GRDB
import STIX
@testable import Storage
import Synchronization
import Testing

/// A stored version and its write entry commit together; versions stored without one are named, and get one when
/// written again (issue 14, item 5).
@Suite struct AuditedWriteTests {
    static func store() throws -> SQLiteObjectStore {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-audited-\(UUID().uuidString).sqlite").path
        return try SQLiteObjectStore(path: path)
    }

    static func object(_ n: Int) -> IncomingObject {
        let text = #"{"type":"identity","spec_version":"2.1","id":"identity--00000000-0000-4000-8000-\#(String(format: "%012d", n))","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","name":"o"}"#
        return IncomingObject(object: try! JSONParser().parse(text).objectValue!, bytes: Array(text.utf8))!
    }

    static let provenance = Provenance(submittedBy: "own", receivedFrom: nil)

    /// A write entry listing the stored versions, as the node makes it.
    static let entry: AuditEntryMaker = { objects, outcomes in
        let stored = zip(objects, outcomes).filter { $0.1 != .duplicate }.map(\.0)
        guard !stored.isEmpty else { return nil }
        return AuditEvent(at: 1, org: "own", user: nil, action: "write", detail: JSONObject([
            "collection": .string("c"),
            "versions": .array(stored.map { .array([.string($0.id), $0.version.map { .string($0.text) } ?? .null]) }),
        ]))
    }

    @Test func aBatchAndItsEntryCommitTogether() async throws {
        let store = try Self.store()
        let log = SQLiteAuditLog(store)
        try await store.ensureCollection("c")
        _ = try await store.add((0..<3).map(Self.object), to: "c", provenance: Self.provenance, audit: Self.entry)
        #expect(try await log.count() == 1)
        #expect(try await log.unauditedVersions().count == 0)
        // All duplicates: no entry at all.
        _ = try await store.add((0..<3).map(Self.object), to: "c", provenance: Self.provenance, audit: Self.entry)
        #expect(try await log.count() == 1)
        #expect(try await log.verify().broken == nil)
    }

    @Test func aBatchThatFailsLeavesNeitherVersionsNorEntry() async throws {
        let store = try Self.store()
        let log = SQLiteAuditLog(store)
        try await store.ensureCollection("c")
        struct Stop: Error {}
        let batches = Mutex(0)
        await #expect(throws: Stop.self) {
            _ = try await store.addAll(to: "c", provenance: Self.provenance, audit: Self.entry) {
                let n = batches.withLock { $0 += 1; return $0 }
                if n == 3 { throw Stop() }
                return [Self.object(n)]
            }
        }
        #expect(try await log.count() == 0)
        let page = try await store.page("c", query: ObjectQuery(versions: .all), limit: 10, withBytes: false) { _ in true }
        #expect(page.versions.isEmpty)
    }

    @Test func versionsStoredWithoutAnEntryAreNamedAndGetOneWhenWrittenAgain() async throws {
        let store = try Self.store()
        let log = SQLiteAuditLog(store)
        try await store.ensureCollection("c")
        // As an earlier Meridian left them when stopped between a batch's commit and its entry.
        _ = try await store.add((0..<4).map(Self.object), to: "c", provenance: Self.provenance, audit: nil)
        let missing = try await log.unauditedVersions(limit: 2)
        #expect(missing.count == 4)
        #expect(missing.examples.map(\.id) == ["identity--00000000-0000-4000-8000-000000000000", "identity--00000000-0000-4000-8000-000000000001"])
        // A re-run: two already stored, one new. Both the new one and the two found without an entry are listed.
        let outcomes = try await store.add([Self.object(1), Self.object(2), Self.object(9)], to: "c", provenance: Self.provenance,
                                           audit: Self.entry)
        #expect(outcomes.filter { $0 == .duplicate }.count == 2)
        #expect(try await log.count() == 2)
        #expect(try await log.unauditedVersions().count == 2)
        var lines: [String] = []
        try await log.export { lines.append(String(decoding: $0, as: UTF8.self)) }
        #expect(lines.joined().contains("000000000009"))
        #expect(lines.joined().contains("000000000001") && lines.joined().contains("000000000002"))
    }

    @Test func versionsListedByEntriesOfAnEarlierLogAreMarkedAudited() async throws {
        let store = try Self.store()
        let log = SQLiteAuditLog(store)
        try await store.ensureCollection("c")
        _ = try await store.add((0..<3).map(Self.object), to: "c", provenance: Self.provenance, audit: nil)
        // An earlier Meridian wrote the entry after the commit: for the first two only.
        try await log.append([Self.entry([Self.object(0), Self.object(1)], [.stored(dateAdded: 0), .stored(dateAdded: 0)])!])
        try await store.database.write { db in try Migrations.markAuditedVersions(db) }
        let missing = try await log.unauditedVersions()
        #expect(missing.count == 1)
        #expect(missing.examples.first?.id == "identity--00000000-0000-4000-8000-000000000002")
    }
}
