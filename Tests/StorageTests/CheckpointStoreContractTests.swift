import Crypto
import Foundation
import PostgreSQLStorage
import STIX
import Storage
import TestSupport
import Testing

/// The node's signing keys and audit checkpoints, on SQLite and on PostgreSQL alike.
@Suite struct CheckpointStoreContractTests {
    static func stores() async throws -> [(CheckpointStore, any AuditLog)] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-\(UUID().uuidString).sqlite").path
        let sqlite = try SQLiteObjectStore(path: path)
        var stores: [(CheckpointStore, any AuditLog)] = [(CheckpointStore(sqlite), SQLiteAuditLog(sqlite))]
        if let postgres = try await TestPostgres.store() {
            stores.append((CheckpointStore(PostgresCheckpointRecords(postgres)), PostgresAuditLog(postgres)))
        }
        return stores
    }

    static func event(_ n: Int) -> AuditEvent {
        AuditEvent(at: Int64(n), org: "cert-a", user: nil, action: "read", detail: JSONObject())
    }

    @Test func oneKeyIsMadeOnFirstUseEvenByCallersAtOnceAndRotationRetiresIt() async throws {
        for (checkpoints, _) in try await Self.stores() {
            #expect(try await checkpoints.keys().isEmpty)
            // Several callers at once still make one key.
            let made = try await withThrowingTaskGroup(of: NodeKey.self) { group in
                for _ in 0..<4 { group.addTask { try await checkpoints.currentKey(now: 1_700_000_000_000_000) } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1.id) }
            }
            #expect(made.count == 1)
            let first = try await checkpoints.currentKey(now: 1_700_000_000_000_001)
            #expect(made == [first.id] && first.publicKey.count == 32 && first.id == NodeKey.id(of: first.publicKey))
            let second = try await checkpoints.rotate(now: 1_800_000_000_000_000)
            #expect(second.id != first.id)
            #expect(try await checkpoints.currentKey(now: 1_800_000_000_000_001).id == second.id)
            let keys = try await checkpoints.keys()
            #expect(keys.map(\.id) == [second.id, first.id], "newest first")
            #expect(keys[1].retired == TAXIITimestamp.format(1_800_000_000_000_000) && keys[0].retired == nil)
        }
    }

    @Test func aCheckpointSignsTheLogsHeadOnceAndPeersCheckpointsAreKeptByOrigin() async throws {
        for (checkpoints, log) in try await Self.stores() {
            #expect(try await checkpoints.checkpoint(log, node: "node-a", now: 1) == nil, "an empty log has nothing to sign")
            try await log.append((1...3).map(Self.event))
            let signed = try #require(try await checkpoints.checkpoint(log, node: "node-a", now: 1_700_000_000_000_000))
            let head = try #require(try await log.head())
            #expect(signed.seq == 3 && signed.head == head.hash && signed.node == "node-a")
            let key = try await checkpoints.currentKey(now: 2)
            #expect(signed.keyID == key.id && signed.isSigned(by: [key.id: key.publicKey]))
            #expect(try await checkpoints.checkpoint(log, node: "node-a", now: 3) == nil, "the head has not moved")
            try await log.append([Self.event(4)])
            #expect(try await checkpoints.checkpoint(log, node: "node-a", now: 1_700_000_000_000_004)?.seq == 4)
            #expect(try await checkpoints.checkpoints(origin: CheckpointStore.ownOrigin).map(\.seq) == [4, 3])
            #expect(try await checkpoints.checkpoints(origin: CheckpointStore.ownOrigin, limit: 1).map(\.seq) == [4])
            // A peer's checkpoint, kept under its name once.
            let peers = Checkpoint(node: "node-b", seq: 7, head: String(repeating: "ab", count: 32), at: "2026-01-01T00:00:00Z",
                                   keyID: "0123456789abcdef", signature: "c2ln")
            #expect(try await checkpoints.save(peers, origin: "node-b"))
            #expect(try await checkpoints.save(peers, origin: "node-b") == false)
            #expect(try await checkpoints.checkpoints(origin: "node-b") == [peers])
            #expect(try await checkpoints.origins() == ["node-b", CheckpointStore.ownOrigin])
        }
    }
}
