import Foundation
import GRDB
import STIX
import Storage
import Testing

/// A new database gets 16 KiB pages; a database made with another page size keeps it and still works.
@Suite struct SQLitePageSizeTests {
    static func path() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("meridian-\(UUID().uuidString).sqlite").path
    }

    @Test func aNewDatabaseUsesSixteenKibibytePages() async throws {
        let store = try SQLiteObjectStore(path: Self.path())
        #expect(try await store.database.read { try Int.fetchOne($0, sql: "PRAGMA page_size") } == 16384)
    }

    @Test func anExistingDatabaseKeepsItsPageSizeAndItsObjects() async throws {
        let path = Self.path()
        // A database from before the change: SQLite's default 4 KiB pages, already in WAL mode.
        let old = try DatabaseQueue(path: path)
        try await old.write { try $0.execute(sql: "PRAGMA page_size = 4096; CREATE TABLE t (x); DROP TABLE t;") }
        try await old.writeWithoutTransaction { _ = try String.fetchOne($0, sql: "PRAGMA journal_mode = WAL") }
        try old.close()
        let store = try SQLiteObjectStore(path: path)
        #expect(try await store.database.read { try Int.fetchOne($0, sql: "PRAGMA page_size") } == 4096)
        try await store.ensureCollection("c")
        let body = #"{"type":"indicator","id":"indicator--1"}"#
        let object = IncomingObject(id: "indicator--1", type: "indicator", specVersion: "2.1", version: nil, revoked: false,
                                    markings: MarkingRefs(objectRefs: []), bytes: Array(body.utf8))
        _ = try await store.add([object], to: "c", provenance: Provenance(submittedBy: "o", receivedFrom: nil))
        let page = try await store.page("c", query: ObjectQuery(), limit: 10, withBytes: true, isVisible: { _ in true })
        #expect(page.versions.indices.map { page.bytes(at: $0) } == [Array(body.utf8)])
    }
}
