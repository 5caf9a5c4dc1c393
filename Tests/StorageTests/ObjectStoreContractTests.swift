import Foundation
import NIOCore
import STIX
import Storage
import Synchronization
import TestSupport
import Testing

/// The behaviour every ObjectStore must have. Each test runs against every implementation in `stores`.
@Suite struct ObjectStoreContractTests {
    /// A fresh store of each kind: SQLite, and PostgreSQL in a new database of the test cluster (`scripts/test.sh`
    /// starts one and names it in MERIDIAN_TEST_POSTGRES_URL).
    static func stores(clock: @escaping @Sendable () -> Int64 = SQLiteObjectStore.now) async throws -> [any NodeStore] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-\(UUID().uuidString).sqlite").path
        var stores: [any NodeStore] = [try SQLiteObjectStore(path: path, clock: clock)]
        if let postgres = try await TestPostgres.store(clock: clock) { stores.append(postgres) }
        return stores
    }

    static func object(_ id: String, type: String = "indicator", modified: String? = "2020-01-01T00:00:00.000Z",
                       markings: [String] = []) -> IncomingObject {
        let body = #"{"type":"\#(type)","id":"\#(id)","modified":"\#(modified ?? "")"}"#
        return IncomingObject(id: id, type: type, specVersion: "2.1", version: modified.flatMap(Timestamp.init), revoked: false,
                              markings: MarkingRefs(objectRefs: markings), bytes: Array(body.utf8))
    }

    static let everyone: @Sendable (StoredVersion) -> Bool = { _ in true }
    static let submitter = Provenance(submittedBy: "cert-a", receivedFrom: nil)

    @Test func dateAddedIsUniqueAndIncreasingWhenThousandsArriveAtOnce() async throws {
        // A frozen clock: every object arrives in the same microsecond.
        for store in try await Self.stores(clock: { 1_600_000_000_000_000 }) {
            try await store.ensureCollection("c")
            let objects = (0..<5000).map { _ in Self.object("indicator--\(UUID().uuidString.lowercased())") }
            let outcomes = try await store.add(objects, to: "c", provenance: Self.submitter)
            let stamps = outcomes.compactMap { if case .stored(let d) = $0 { return d } else { return nil } }
            #expect(stamps.count == 5000)
            #expect(zip(stamps, stamps.dropFirst()).allSatisfy { $0 < $1 })
            let more = try await store.add([Self.object("indicator--\(UUID().uuidString.lowercased())")], to: "c", provenance: Self.submitter)
            guard case .stored(let next) = more[0] else { Issue.record("not stored"); continue }
            #expect(next > stamps.last!)
        }
    }

    @Test func repostingTheSameVersionIsADuplicateNotAnError() async throws {
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            let o = Self.object("indicator--1")
            #expect(try await store.add([o], to: "c", provenance: Self.submitter).first != .duplicate)
            #expect(try await store.add([o, o], to: "c", provenance: Self.submitter) == [.duplicate, .duplicate])
            let page = try await store.page("c", query: ObjectQuery(versions: .all), limit: 10, withBytes: true, isVisible: Self.everyone)
            #expect(page.versions.count == 1)
            #expect(page.bytes(at: 0) == o.bytes)
            #expect(page.versions[0].provenance == Self.submitter)
        }
    }

    @Test func versionsOfOneObjectInOneWriteInAnyOrderGetTheRightFirstAndLast() async throws {
        let stamps = (1...5).map { "2020-01-0\($0)T00:00:00.000Z" }
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            _ = try await store.add([Self.object("indicator--1", modified: stamps[2])], to: "c", provenance: Self.submitter)
            // The newest, one between it and the stored one, the oldest, one between, the stored one again and the
            // newest again, all in one write.
            let batch = [stamps[4], stamps[3], stamps[0], stamps[1], stamps[2], stamps[4]].map { Self.object("indicator--1", modified: $0) }
            let outcomes = try await store.add(batch, to: "c", provenance: Self.submitter)
            #expect(outcomes.map { $0 == .duplicate } == [false, false, false, false, true, true])
            for (versions, expected) in [(ObjectQuery.Versions.first, [stamps[0]]), (.last, [stamps[4]]), (.all, stamps)] {
                let page = try await store.page("c", query: ObjectQuery(versions: versions), limit: 10, withBytes: false,
                                                isVisible: Self.everyone)
                #expect(page.versions.compactMap(\.version).sorted() == expected, "\(versions)")
            }
        }
    }

    @Test func aPageHoldsTheBytesOfExactlyTheVersionsItReturnsJoinedByCommas() async throws {
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            let objects = (1...5).map { Self.object("indicator--\($0)") }
            _ = try await store.add(objects, to: "c", provenance: Self.submitter)
            // The second is hidden; the fifth is only the one that tells `more`: neither may reach the bytes.
            let page = try await store.page("c", query: ObjectQuery(), limit: 3, withBytes: true) { $0.id != "indicator--2" }
            #expect(page.versions.map(\.id) == ["indicator--1", "indicator--3", "indicator--4"])
            #expect(page.more)
            let expected = [objects[0], objects[2], objects[3]].map(\.bytes)
            #expect(page.versions.indices.map { page.bytes(at: $0) } == expected)
            #expect(Array(page.objects.readableBytesView) == Array(expected.joined(separator: [UInt8(ascii: ",")])))
            let manifest = try await store.page("c", query: ObjectQuery(), limit: 3, withBytes: false, isVisible: Self.everyone)
            #expect(manifest.objects.readableBytes == 0 && manifest.bytes(at: 0).isEmpty)
        }
    }

    @Test func textAndBytesRoundTripExactly() async throws {
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            // Non-ASCII text in every column, a NUL in the markings and the body: nothing is truncated or re-encoded.
            // (Identifiers cannot hold a NUL: the validator refuses them before they reach a store.)
            let id = "x-é--1"
            let body = Array(#"{"type":"x-é","id":"x-é--\u0000 1","name":"日本"}"#.utf8) + [0xFF, 0x00]
            let object = IncomingObject(id: id, type: "x-é", specVersion: "2.1", version: nil, revoked: false,
                                        markings: MarkingRefs(objectRefs: ["marking-definition--ü\u{0}"]), bytes: body)
            _ = try await store.add([object], to: "c", provenance: Provenance(submittedBy: "org-ß", receivedFrom: nil))
            let page = try await store.page("c", query: ObjectQuery(), limit: 10, withBytes: true, isVisible: Self.everyone)
            #expect(page.versions.map(\.id) == [id])
            #expect(page.versions.map(\.type) == ["x-é"])
            #expect(page.versions.count == 1 && page.bytes(at: 0) == body)
            #expect(page.versions.first?.markings.objectRefs == ["marking-definition--ü\u{0}"])
            #expect(page.versions.first?.provenance.submittedBy == "org-ß")
        }
    }

    @Test func pagingByDateAddedNeverSkipsOrRepeatsAnObject() async throws {
        for store in try await Self.stores(clock: { 42 }) {
            try await store.ensureCollection("c")
            let ids = (0..<1234).map { "indicator--\($0)" }
            _ = try await store.add(ids.map { Self.object($0) }, to: "c", provenance: Self.submitter)
            for limit in [1, 7, 100, 1000, 5000] {
                var seen: [String] = []
                var after: Int64? = nil
                var pages = 0
                while true {
                    let page = try await store.page("c", query: ObjectQuery(addedAfter: after), limit: limit, withBytes: false,
                                                    isVisible: Self.everyone)
                    seen += page.versions.map(\.id)
                    after = page.versions.last?.dateAdded ?? after
                    pages += 1
                    if !page.more { break }
                }
                #expect(seen == ids, "limit \(limit)")
                #expect(pages == (ids.count + limit - 1) / limit)
            }
        }
    }

    @Test func versionsAreSelectedFirstLastAllOrByTimestamp() async throws {
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            let stamps = ["2020-01-02T00:00:00.000Z", "2020-01-01T00:00:00.000Z", "2020-01-03T00:00:00.000Z"]
            _ = try await store.add(stamps.map { Self.object("indicator--1", modified: $0) }, to: "c", provenance: Self.submitter)
            func versions(_ v: ObjectQuery.Versions) async throws -> [String?] {
                try await store.page("c", query: ObjectQuery(versions: v), limit: 10, withBytes: false, isVisible: Self.everyone)
                    .versions.map(\.version)
            }
            #expect(try await versions(.last) == ["2020-01-03T00:00:00.000Z"])
            #expect(try await versions(.first) == ["2020-01-01T00:00:00.000Z"])
            #expect(try await versions(.all) == stamps)
            let jan2 = 1_577_923_200_000_000 as Int64
            #expect(try await versions(.some(timestamps: [jan2], first: true, last: false)) == [stamps[0], stamps[1]])
        }
    }

    @Test func filtersByIdTypeAndSpecVersion() async throws {
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            _ = try await store.add([Self.object("indicator--1"), Self.object("malware--2", type: "malware"),
                                     Self.object("indicator--3")], to: "c", provenance: Self.submitter)
            let byType = try await store.page("c", query: ObjectQuery(types: ["malware"]), limit: 10, withBytes: false, isVisible: Self.everyone)
            #expect(byType.versions.map(\.id) == ["malware--2"])
            let byID = try await store.page("c", query: ObjectQuery(ids: ["indicator--3", "indicator--1"]), limit: 10, withBytes: false,
                                            isVisible: Self.everyone)
            #expect(byID.versions.map(\.id) == ["indicator--1", "indicator--3"])
            let none = try await store.page("c", query: ObjectQuery(specVersions: ["2.0"]), limit: 10, withBytes: false, isVisible: Self.everyone)
            #expect(none.versions.isEmpty)
        }
    }

    @Test func invisibleVersionsNeitherCountTowardsTheLimitNorRevealThemselvesThroughMore() async throws {
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            _ = try await store.add((0..<10).map { Self.object("indicator--\($0)", markings: $0 % 2 == 0 ? [] : ["secret"]) },
                                    to: "c", provenance: Self.submitter)
            let visible: @Sendable (StoredVersion) -> Bool = { !$0.markings.objectRefs.contains("secret") }
            let page = try await store.page("c", query: ObjectQuery(), limit: 5, withBytes: false, isVisible: visible)
            #expect(page.versions.map(\.id) == ["indicator--0", "indicator--2", "indicator--4", "indicator--6", "indicator--8"])
            #expect(page.more == false)
        }
    }

    @Test func deletingAVersionMakesTheRemainingOnesFirstAndLast() async throws {
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            let stamps = ["2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z", "2020-01-03T00:00:00.000Z"]
            _ = try await store.add(stamps.map { Self.object("indicator--1", modified: $0) }, to: "c", provenance: Self.submitter)
            #expect(try await store.delete(id: "indicator--1", from: "c", query: ObjectQuery(versions: .last)) == 1)
            let last = try await store.page("c", query: ObjectQuery(), limit: 10, withBytes: false, isVisible: Self.everyone)
            #expect(last.versions.map(\.version) == [stamps[1]])
            #expect(try await store.delete(id: "indicator--1", from: "c", query: ObjectQuery(versions: .all)) == 2)
            let none = try await store.page("c", query: ObjectQuery(versions: .all), limit: 10, withBytes: false, isVisible: Self.everyone)
            #expect(none.versions.isEmpty)
            #expect(try await store.delete(id: "indicator--1", from: "c", query: ObjectQuery(versions: .all)) == 0)
        }
    }

    @Test func onlyTheVersionsTheCallerMayDeleteAreDeletedEachLeavingATombstone() async throws {
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            let stamps = ["2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z", "2020-01-03T00:00:00.000Z"]
            _ = try await store.add([Self.object("indicator--1", modified: stamps[0])], to: "c", provenance: Self.submitter)
            _ = try await store.add([Self.object("indicator--1", modified: stamps[1])], to: "c",
                                    provenance: Provenance(submittedBy: "other", receivedFrom: nil))
            _ = try await store.add([Self.object("indicator--1", modified: stamps[2])], to: "c", provenance: Self.submitter)
            let mine: @Sendable (StoredVersion) -> Bool = { $0.provenance.submittedBy == Self.submitter.submittedBy }
            #expect(try await store.delete(id: "indicator--1", from: "c", query: ObjectQuery(versions: .all), isDeletable: mine, audit: nil) == 2)
            let left = try await store.page("c", query: ObjectQuery(versions: .all), limit: 10, withBytes: false, isVisible: Self.everyone)
            #expect(left.versions.map(\.version) == [stamps[1]])
            // What remains is both the first and the last version.
            let first = try await store.page("c", query: ObjectQuery(versions: .first), limit: 10, withBytes: false, isVisible: Self.everyone)
            #expect(first.versions.map(\.version) == [stamps[1]])
            let tombstones = try await store.tombstones("c", after: 0, limit: 10)
            #expect(tombstones.map(\.version) == [stamps[0], stamps[2]])
        }
    }

    @Test func batchesAddedTogetherAreStoredInOneTransactionInvisibleUntilTheLast() async throws {
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            let batches = (0..<3).map { b in (0..<4).map { Self.object("indicator--\(b)-\($0)") } } + [[Self.object("indicator--0-0")]]
            let handedOver = DispatchSemaphore(value: 0)
            let proceed = DispatchSemaphore(value: 0)
            let calls = Mutex(0)
            let adding = Task {
                try await store.addAll(to: "c", provenance: Self.submitter) {
                    let n = calls.withLock { $0 += 1; return $0 - 1 }
                    if n == 2 {  // two batches written, the transaction still open
                        handedOver.signal()
                        proceed.wait()
                    }
                    return n < batches.count ? batches[n] : nil
                }
            }
            await withCheckedContinuation { c in DispatchQueue.global().async { handedOver.wait(); c.resume() } }
            let during = try await store.page("c", query: ObjectQuery(versions: .all), limit: 100, withBytes: false, isVisible: Self.everyone)
            #expect(during.versions.isEmpty)
            proceed.signal()
            let outcomes = try await adding.value
            #expect(outcomes.map(\.count) == [4, 4, 4, 1])
            #expect(outcomes[3] == [.duplicate])  // a version stored by an earlier batch of the same call
            let stamps = outcomes.joined().compactMap { if case .stored(let d) = $0 { return d } else { return nil } }
            #expect(stamps.count == 12 && zip(stamps, stamps.dropFirst()).allSatisfy { $0 < $1 })
            let after = try await store.page("c", query: ObjectQuery(versions: .all), limit: 100, withBytes: false, isVisible: Self.everyone)
            #expect(after.versions.count == 12)
        }
    }

    @Test func batchesAddedTogetherAreAllDiscardedWhenTheSupplierFails() async throws {
        struct Broken: Error {}
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            let calls = Mutex(0)
            await #expect(throws: Broken.self) {
                _ = try await store.addAll(to: "c", provenance: Self.submitter) {
                    let n = calls.withLock { $0 += 1; return $0 - 1 }
                    guard n < 2 else { throw Broken() }
                    return (0..<5).map { Self.object("indicator--\(n)-\($0)") }
                }
            }
            let page = try await store.page("c", query: ObjectQuery(versions: .all), limit: 100, withBytes: false, isVisible: Self.everyone)
            #expect(page.versions.isEmpty)
            // The store is usable afterwards.
            #expect(try await store.add([Self.object("indicator--9")], to: "c", provenance: Self.submitter).count == 1)
        }
    }

    @Test func aWriteToAnUnknownCollectionFailsAndStoresNothing() async throws {
        for store in try await Self.stores() {
            await #expect(throws: StorageError.self) {
                _ = try await store.add([Self.object("indicator--1")], to: "nope", provenance: Self.submitter)
            }
        }
    }

    @Test func statusResourcesRoundTrip() async throws {
        for store in try await Self.stores() {
            let status = StatusRecord(id: "s1", apiRoot: "root", owner: "cert-a", json: Array("{}".utf8), createdAt: 5)
            try await store.saveStatus(status)
            #expect(try await store.status("s1") == status)
            #expect(try await store.status("s2") == nil)
        }
    }

    // MARK: What the node knows besides object versions

    @Test func aStoredMarkingDefinitionBecomesKnownBumpsTheGenerationAndIsLoggedAsAPolicyChange() async throws {
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            let before = try await store.markingDefinitionsGeneration()
            let startedAt = try await store.latestPolicyChange()
            let marking = "marking-definition--00000000-0000-4000-8000-000000000001"
            let definition = Self.object(marking, type: "marking-definition", modified: nil)
            _ = try await store.add([definition, Self.object("indicator--1", markings: [marking])], to: "c", provenance: Self.submitter)
            let known = try await store.markingDefinitions()
            #expect(known.records.map(\.id) == [marking])
            #expect(known.records.first?.source == "object" && known.records.first?.definition == definition.bytes)
            #expect(known.generation > before)
            #expect(try await store.markingDefinitionsGeneration() == known.generation)
            // Registered by an admin as well: a second record, another change.
            try await store.registerMarkingDefinition(id: marking, definition: definition.bytes)
            try await store.registerMarkingDefinition(id: marking, definition: definition.bytes)  // the same again: nothing
            #expect(try await store.markingDefinitions().records.map(\.source) == ["object", "admin"])
            try await store.recordConfigurationPolicyChange()
            let latest = try await store.latestPolicyChange()
            let changes = try await store.policyChanges(after: startedAt, through: latest)
            #expect(changes.map(\.marking) == [marking, marking, nil])
            #expect(try await store.policyChanges(after: startedAt, through: changes[0].seq).count == 1)
            // Deleting the only stored copy forgets the stored record (the admin's stays), and is a change too.
            #expect(try await store.delete(id: marking, from: "c", query: ObjectQuery(versions: .all)) == 1)
            #expect(try await store.markingDefinitions().records.map(\.source) == ["admin"])
            #expect(try await store.latestPolicyChange() > latest)
        }
    }

    @Test func versionsAreCountedPerObjectAndSubmitter() async throws {
        for store in try await Self.stores() {
            try await store.ensureCollection("c")
            let stamps = ["2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z"]
            _ = try await store.add(stamps.map { Self.object("indicator--1", modified: $0) } + [Self.object("indicator--2")], to: "c",
                                    provenance: Self.submitter)
            _ = try await store.add([Self.object("indicator--3")], to: "c", provenance: Provenance(submittedBy: nil, receivedFrom: "peer"))
            let ids = ["indicator--1", "indicator--2", "indicator--3", "indicator--4", "indicator--1"]
            #expect(try await store.versionCounts("c", ids: ids, submittedBy: "cert-a") == ["indicator--1": 2, "indicator--2": 1])
            #expect(try await store.versionCounts("c", ids: ids, submittedBy: nil) == ["indicator--3": 1])
        }
    }

    @Test func nodeStateIsKeptAndReplaced() async throws {
        for store in try await Self.stores() {
            #expect(try await store.state("cursor") == nil)
            try await store.setState("cursor", "1")
            try await store.setState("cursor", "2 — ü")
            #expect(try await store.state("cursor") == "2 — ü")
        }
    }

    @Test func aLeaseIsHeldByOneHolderUntilReleasedOrExpiredThenTakenOver() async throws {
        for store in try await Self.stores() {
            #expect(try await store.lease("federation", holder: "replica-a", seconds: 1))
            #expect(try await store.lease("federation", holder: "replica-b", seconds: 30) == false, "held by another")
            #expect(try await store.lease("federation", holder: "replica-a", seconds: 1), "renewed by its holder")
            #expect(try await store.lease("correlation", holder: "replica-b", seconds: 30), "leases are independent")
            // The holder stops renewing: once it expires, another takes it over.
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await store.lease("federation", holder: "replica-b", seconds: 30))
            #expect(try await store.lease("federation", holder: "replica-a", seconds: 30) == false)
            // Released by a process that does not hold it: nothing happens. By its holder: free at once.
            try await store.releaseLease("federation", holder: "replica-a")
            #expect(try await store.lease("federation", holder: "replica-a", seconds: 30) == false)
            try await store.releaseLease("federation", holder: "replica-b")
            #expect(try await store.lease("federation", holder: "replica-a", seconds: 30))
        }
    }
}
