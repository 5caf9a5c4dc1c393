import Foundation
import GRDB
import STIX
import Storage
import Testing

/// The write-ahead log is copied into the database file in the background, and a closed store leaves one file.
@Suite struct SQLiteCheckpointTests {
    static func objects(_ count: Int) -> [IncomingObject] {
        (0..<count).map { i in
            let id = "indicator--\(UUID().uuidString.lowercased())"
            let body = #"{"type":"indicator","id":"\#(id)","description":"\#(String(repeating: "x", count: 2000))"}"#
            return IncomingObject(id: id, type: "indicator", specVersion: "2.1", version: nil, revoked: false,
                                  markings: MarkingRefs(objectRefs: []), bytes: Array(body.utf8))
        }
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    @Test func writesReachTheDatabaseFileWithoutACommitPayingForIt() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-\(UUID().uuidString).sqlite").path
        let store = try SQLiteObjectStore(path: path)
        try await store.ensureCollection("c")
        // Let the migrations' own pages settle in the file first.
        try await Task.sleep(for: .milliseconds(600))
        let before = Self.size(path)
        // About 1 MB: far below the size at which a commit checkpoints by itself, so only the background
        // checkpoint can copy it into the file.
        _ = try await store.add(Self.objects(500), to: "c", provenance: Provenance(submittedBy: "o", receivedFrom: nil))
        var grown = false
        for _ in 0..<100 where !grown {  // up to 10 s on a loaded machine; about 0.3 s usually
            try await Task.sleep(for: .milliseconds(100))
            grown = Self.size(path) > before + 500_000
        }
        #expect(grown, "the background checkpoint did not copy the log into the database file")
        withExtendedLifetime(store) {}
    }

    @Test func aLongReadDoesNotHoldWritesBackWhileTheLogIsLarge() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-\(UUID().uuidString).sqlite").path
        let store = try SQLiteObjectStore(path: path)
        try await store.ensureCollection("c")
        // Another connection keeps an old snapshot open: the log cannot be started over while it reads.
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        let reader = try DatabaseQueue(path: path, configuration: configuration)
        try reader.inDatabase { db in
            try db.execute(sql: "BEGIN")
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM object_version")
        }
        // About 40 MB of writes: past the size at which the background checkpoint asks for a restart.
        let provenance = Provenance(submittedBy: "o", receivedFrom: nil)
        for _ in 0..<20 { _ = try await store.add(Self.objects(1000), to: "c", provenance: provenance) }
        // Writes keep answering promptly while the restart waits for the reader.
        for _ in 0..<10 {
            let start = ContinuousClock.now
            _ = try await store.add(Self.objects(1), to: "c", provenance: provenance)
            // (A write held back by a pending restart would wait up to the restart's busy timeout.)
            #expect(ContinuousClock.now - start < .seconds(3))
            try await Task.sleep(for: .milliseconds(100))
        }
        try reader.inDatabase { try $0.execute(sql: "COMMIT") }
    }

    @Test func aClosedStoreLeavesNoLog() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-\(UUID().uuidString).sqlite").path
        do {
            let store = try SQLiteObjectStore(path: path)
            try await store.ensureCollection("c")
            _ = try await store.add(Self.objects(50), to: "c", provenance: Provenance(submittedBy: "o", receivedFrom: nil))
            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        }
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        let reopened = try SQLiteObjectStore(path: path)
        let page = try await reopened.page("c", query: ObjectQuery(), limit: 100, withBytes: false, isVisible: { _ in true })
        #expect(page.versions.count == 50)
    }
}
