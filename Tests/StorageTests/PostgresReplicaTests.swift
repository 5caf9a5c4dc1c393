import Foundation
@testable import PostgreSQLStorage
import PostgresNIO
import STIX
import Storage
import Synchronization
import TestSupport
import Testing

/// Several stores on one PostgreSQL database (each with its own connections, as each replica of a node has) behave
/// as one store: the promises of `date_added`, paging and the audit chain hold across them.
@Suite struct PostgresReplicaTests {
    static let audited: AuditEntryMaker = { objects, outcomes in
        let ids = AddOutcome.newlyStored(objects, outcomes).map { JSONValue.string($0.id) }
        return AuditEvent(at: SQLiteObjectStore.now(), org: "cert-a", user: nil, action: "write",
                          detail: JSONObject(["versions": .array(ids)]))
    }

    @Test func aReaderWalkingByAddedAfterWhileTwoReplicasWriteMissesAndRepeatsNothing() async throws {
        guard let location = try await TestPostgres.freshLocation() else { return }
        let replicas = [try await PostgresObjectStore(location), try await PostgresObjectStore(location)]
        try await replicas[0].ensureCollection("c")
        try await replicas[1].ensureCollection("c")  // the other replica declares it too: nothing happens
        let writers = 4, batches = 25, perBatch = 20
        let done = Atomic(false)
        // The walk: pages of 7 by `added_after`, alternately through each replica, until the writers are done and a
        // last page comes back empty.
        let walk = Task {
            var seen: [StoredVersion] = []
            var after: Int64? = nil
            var turn = 0
            while true {
                let finished = done.load(ordering: .acquiring)
                let page = try await replicas[turn % 2].page("c", query: ObjectQuery(addedAfter: after, versions: .all), limit: 7,
                                                             withBytes: false, isVisible: { _ in true })
                turn += 1
                seen += page.versions
                after = page.versions.last?.dateAdded ?? after
                if finished && page.versions.isEmpty { return seen }
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    for b in 0..<batches {
                        let objects = (0..<perBatch).map { ObjectStoreContractTests.object("indicator--w\(w)-b\(b)-\($0)") }
                        _ = try await replicas[w % 2].add(objects, to: "c", provenance: ObjectStoreContractTests.submitter,
                                                          audit: Self.audited)
                    }
                }
            }
            try await group.waitForAll()
        }
        done.store(true, ordering: .releasing)
        let seen = try await walk.value
        let total = writers * batches * perBatch
        #expect(seen.count == total, "every version once")
        #expect(Set(seen.map(\.id)).count == total, "no version twice")
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.dateAdded < $1.dateAdded }, "date_added strictly increasing")
        // One audit chain, with the entries of both replicas.
        let verification = try await PostgresAuditLog(replicas[1]).verify()
        #expect(verification.broken == nil)
        #expect(verification.verified == Int64(writers * batches))
    }

    @Test func theAuditChainOfSeveralReplicasIsOneAndATamperedEntryIsFound() async throws {
        guard let location = try await TestPostgres.freshLocation() else { return }
        let a = try await PostgresObjectStore(location)
        let b = try await PostgresObjectStore(location)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, store) in [a, b, a, b].enumerated() {
                group.addTask {
                    for i in 0..<25 {
                        try await PostgresAuditLog(store).append([AuditEvent(at: Int64(i), org: "org-\(n)", user: nil, action: "read",
                                                                detail: JSONObject(["n": .string("\(n)-\(i)")]))])
                    }
                }
            }
            try await group.waitForAll()
        }
        let sound = try await PostgresAuditLog(a).verify()
        #expect(sound.broken == nil && sound.verified == 100)
        // An entry edited in the database no longer matches its hash.
        try await a.client.query(#"UPDATE audit_entry SET entry = convert_to(replace(convert_from(entry, 'UTF8'), '"read"', '"seen"'), 'UTF8') WHERE seq = 40"#)
        let tampered = try await PostgresAuditLog(b).verify()
        #expect(tampered.broken?.seq == 40)
        #expect(tampered.broken?.reason.contains("altered") == true)
    }

    @Test func aWrongPasswordAnUnknownDatabaseAndAnUnreachableServerAreNamed() async throws {
        guard let server = try TestPostgres.location() else { return }
        var wrong = server
        wrong.password = "not-the-password"
        await #expect(performing: { _ = try await PostgresObjectStore(wrong) }, throws: { error in
            "\(error)".contains("refused the credentials of user '\(server.user)'") && !"\(error)".contains("not-the-password")
        })
        var missing = server
        missing.database = "no_such_database"
        await #expect(performing: { _ = try await PostgresObjectStore(missing) }, throws: { error in
            "\(error)".contains("has no database 'no_such_database'")
        })
        var closed = server
        closed.port = try Self.closedPort()
        await #expect(performing: { _ = try await PostgresObjectStore(closed) }, throws: { error in
            "\(error)".contains("cannot reach PostgreSQL at \(server.host):\(closed.port)")
        })
        #expect(throws: PostgresLocation.Problem.self) { try PostgresLocation(url: "mysql://u@h/db") }
        #expect(throws: PostgresLocation.Problem.self) { try PostgresLocation(url: "postgresql://u@h/db?sslmode=sometimes") }
        let parsed = try PostgresLocation(url: "postgresql://meridian:s%40cret@db.example:6432/node?sslmode=verify-full&pool_size=4")
        #expect(parsed.password == "s@cret" && parsed.port == 6432 && parsed.tls == .verifyFull && parsed.poolSize == 4)
        #expect(!parsed.description.contains("cret"), "the password never reaches messages")
    }

    /// A loopback port nothing listens on.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
