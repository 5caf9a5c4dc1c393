import Foundation
import GRDB
@testable import Storage
import Testing

/// Status resources are kept compact: a large one is stored compressed (its failures repeat a few reasons) and read
/// back exactly (issue 15, item 3).
@Suite struct StatusStorageTests {
    static func status(failures: Int) -> [UInt8] {
        let entries = (0..<failures).map { i in
            #"{"id":"identity--00000000-0000-4000-8000-\#(String(format: "%012d", i))","version":"2020-01-01T00:00:00.000Z","message":"object #\#(i): 'identity_class' is a required property [schema]"}"#
        }
        return Array(#"{"id":"s","status":"complete","failures":[\#(entries.joined(separator: ","))]}"#.utf8)
    }

    @Test func aLargeStatusIsStoredCompressedAndReadBackExactly() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-status-\(UUID().uuidString).sqlite").path
        let store = try SQLiteObjectStore(path: path)
        for (id, failures) in [("small", 2), ("large", 10_000)] {
            let json = Self.status(failures: failures)
            try await store.saveStatus(StatusRecord(id: id, apiRoot: "r", owner: "o", json: json, createdAt: 1))
            #expect(try await store.status(id)?.json == json)
            let stored = try await store.database.read { db in
                try Data.fetchOne(db, sql: "SELECT json FROM status WHERE id = ?", arguments: [id])
            }
            if failures > 10 {
                #expect((stored?.count ?? .max) * 10 < json.count, "\(stored?.count ?? 0) bytes stored for \(json.count)")
            } else {
                #expect(stored.map(Array.init) == json)
            }
        }
    }

    @Test func damagedBlobsAreRefusedNotMisread() {
        let packed = CompactBlob.pack(Self.status(failures: 100))
        #expect(packed.first == 0)
        #expect(CompactBlob.unpack(Array(packed.prefix(20))) == nil)
        #expect(CompactBlob.unpack(Array(#"{"plain":true}"#.utf8)) == Array(#"{"plain":true}"#.utf8))
    }
}
