import Foundation
@testable import MeridianServer
import Policy
import STIX
import Storage
import Testing

/// Reads are never decided on a marking registry older than the database they read, whichever process changed it,
/// and the versions that a policy change makes visible to a reader are found again for it (issue 14, item 2).
@Suite struct PolicyChangeTests {
    static let config = """
        [node]
        title = "t"
        owner = "own"
        [[orgs]]
        id = "own"
        name = "Owner"
        country = "FRA"
        [[orgs]]
        id = "peer"
        name = "Peer node"
        country = "DEU"
        kind = "node"
        [[orgs]]
        id = "other"
        name = "Other node"
        country = "JPN"
        kind = "node"
        [[groups]]
        name = "g"
        members = ["own"]
        [[api_roots]]
        path = "r"
        title = "r"
        [[collections]]
        id = "5a5a5a5a-0000-4000-8000-00000000c011"
        api_root = "r"
        alias = "c"
        title = "c"
        read = ["own", "peer", "other"]
        write = ["own"]
        """

    static let relPeer = "marking-definition--7e1e0000-0000-4000-8000-000000000001"
    static let relGroup = "marking-definition--7e1e0000-0000-4000-8000-000000000002"
    static let collection = "5a5a5a5a-0000-4000-8000-00000000c011"

    /// Two nodes on one database file, as `serve` and `sync --once` (or `import`) are two processes on one file.
    static func twoProcesses(_ config: String = config) async throws -> (MeridianNode, MeridianNode) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-policy-\(UUID().uuidString).sqlite").path
        let configuration = try NodeConfiguration.parse(config)
        let first = try await MeridianNode(configuration: configuration, store: SQLiteObjectStore(path: path))
        let second = try await MeridianNode(configuration: configuration, store: SQLiteObjectStore(path: path))
        return (first, second)
    }

    static func incoming(_ text: String) -> IncomingObject {
        IncomingObject(object: try! JSONParser().parse(text).objectValue!, bytes: Array(text.utf8))!
    }

    static func indicator(_ n: Int, markings: [String]) -> IncomingObject {
        let refs = markings.map { "\"\($0)\"" }.joined(separator: ",")
        return incoming(#"{"type":"indicator","spec_version":"2.1","id":"indicator--7e1e0000-0000-4000-8000-\#(String(format: "%012d", n))","created":"2021-01-01T00:00:00.000Z","modified":"2021-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2021-01-01T00:00:00Z","object_marking_refs":[\#(refs)]}"#)
    }

    static func definition(_ id: String, releasableTo: [String]) -> IncomingObject {
        incoming(Releasability.markingDefinition(id: id, name: "rel", releasableTo: releasableTo, createdBy: nil,
                                                 created: "2020-01-01T00:00:00.000Z").serialized())
    }

    static let owner = Provenance(submittedBy: "own", receivedFrom: nil)

    func visibleIDs(_ node: MeridianNode, _ org: String) async throws -> [String] {
        let page = try await node.read(node.collection("c")!, query: ObjectQuery(versions: .all), limit: 100, withBytes: false,
                                       for: Principal(org: org, user: nil), endpoint: "test")
        return page.versions.map(\.id)
    }

    @Test func aMarkingStoredByAnotherProcessDecidesTheVeryNextRead() async throws {
        let (serving, other) = try await Self.twoProcesses()
        _ = try await serving.store.add([Self.indicator(1, markings: [TLP.green.v2ID, Self.relPeer])], to: Self.collection,
                                        provenance: Self.owner)
        // Read once: the serving process holds a registry without the marking; the indicator is hidden from the peer.
        #expect(try await visibleIDs(serving, "peer").isEmpty)
        _ = try await other.store.add([Self.definition(Self.relPeer, releasableTo: ["peer"])], to: Self.collection, provenance: Self.owner)
        // No waiting: the page read tells the serving process its registry is older than the database.
        #expect(try await visibleIDs(serving, "peer").contains("indicator--7e1e0000-0000-4000-8000-000000000001"))
        #expect(try await visibleIDs(serving, "other") == ["marking-definition--7e1e0000-0000-4000-8000-000000000001"])
    }

    @Test func aMarkingRemovedByAnotherProcessRestrictsTheVeryNextRead() async throws {
        let (serving, other) = try await Self.twoProcesses()
        _ = try await serving.store.add([Self.definition(Self.relPeer, releasableTo: ["peer"]),
                                         Self.indicator(1, markings: [TLP.green.v2ID, Self.relPeer])], to: Self.collection, provenance: Self.owner)
        #expect(try await visibleIDs(serving, "peer").count == 2)
        // The definition deleted in another process: the marking is unknown again, so its objects are restricted.
        #expect(try await other.store.delete(id: Self.relPeer, from: Self.collection, query: ObjectQuery(versions: .all)) == 1)
        #expect(try await visibleIDs(serving, "peer").isEmpty)
        let policy = try await serving.policy()
        #expect(policy.markings.kind(of: Self.relPeer) == nil)
    }

    @Test func anAdminRegistrationInAnotherProcessIsSeenByDecisionsOutsideReads() async throws {
        let (serving, other) = try await Self.twoProcesses()
        _ = try await serving.policy()
        let definition = Releasability.markingDefinition(id: Self.relPeer, name: "rel", releasableTo: ["peer"], createdBy: nil,
                                                         created: "2020-01-01T00:00:00.000Z")
        try await other.store.registerMarkingDefinition(id: Self.relPeer, definition: Array(definition.serialized().utf8))
        #expect(try await serving.policy().markings.kind(of: Self.relPeer) == .releasability(["peer"]))
    }

    /// Walks `visibleAfterPolicyChanges` for `org` from `after`, a page of `limit` at a time.
    func madeVisible(_ node: MeridianNode, for org: String, after: Int64, limit: Int = 2) async throws -> [String] {
        var cursor: MeridianNode.VisibilityCursor? = MeridianNode.VisibilityCursor(after: after, through: try await node.latestPolicyChange(),
                                                                                    dateAdded: nil)
        var ids: [String] = []
        while let current = cursor {
            let (page, next) = try await node.visibleAfterPolicyChanges(node.collection("c")!, cursor: current, limit: limit,
                                                                        for: Principal(org: org, user: nil), endpoint: "test")
            #expect(next == nil || page.versions.count == limit)
            ids += page.versions.map(\.id)
            cursor = next
        }
        return ids
    }

    @Test func versionsReferringToALateMarkingAreListedForTheReadersItNowAdmits() async throws {
        let node = try await testNode(Self.config)
        _ = try await node.store.add((1...5).map { Self.indicator($0, markings: [TLP.green.v2ID, Self.relPeer]) }
                                     + [Self.indicator(6, markings: [TLP.green.v2ID])], to: Self.collection, provenance: Self.owner)
        let before = try await node.latestPolicyChange()
        #expect(try await madeVisible(node, for: "peer", after: before).isEmpty)
        _ = try await node.store.add([Self.definition(Self.relPeer, releasableTo: ["peer"])], to: Self.collection, provenance: Self.owner)
        let listed = try await madeVisible(node, for: "peer", after: before)
        // The five indicators (paged two at a time) and the definition itself (it refers to no marking: not listed).
        #expect(listed == (1...5).map { "indicator--7e1e0000-0000-4000-8000-\(String(format: "%012d", $0))" })
        // The other node is not named: nothing is listed for it, though the marking changed.
        #expect(try await madeVisible(node, for: "other", after: before).isEmpty)
        // Nothing after the change itself.
        #expect(try await madeVisible(node, for: "peer", after: try await node.latestPolicyChange()).isEmpty)
    }

    @Test func aConfigurationChangeListsEveryVersionTheReaderMayReadNow() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-policy-\(UUID().uuidString).sqlite").path
        let old = try await MeridianNode(configuration: try NodeConfiguration.parse(Self.config), store: SQLiteObjectStore(path: path))
        _ = try await old.store.add([Self.definition(Self.relGroup, releasableTo: ["g"]),
                                     Self.indicator(1, markings: [TLP.green.v2ID, Self.relGroup])], to: Self.collection, provenance: Self.owner)
        #expect(try await visibleIDs(old, "peer") == [Self.relGroup])
        let before = try await old.latestPolicyChange()
        // The peer joins group g: the node restarts with the new configuration, which records the change.
        let joined = Self.config.replacingOccurrences(of: #"members = ["own"]"#, with: #"members = ["own", "peer"]"#)
        let new = try await MeridianNode(configuration: try NodeConfiguration.parse(joined), store: SQLiteObjectStore(path: path))
        #expect(try await new.latestPolicyChange() > before)
        #expect(try await madeVisible(new, for: "peer", after: before) == [Self.relGroup, "indicator--7e1e0000-0000-4000-8000-000000000001"])
        // Restarting with the same configuration records nothing.
        let again = try await MeridianNode(configuration: try NodeConfiguration.parse(joined), store: SQLiteObjectStore(path: path))
        #expect(try await again.latestPolicyChange() == new.latestPolicyChange())
    }

    @Test func cursorsRoundTripAndMalformedOnesAreRefused() {
        let c = MeridianNode.VisibilityCursor(after: 3, through: 9, dateAdded: 1_700_000_000_000_000)
        #expect(MeridianNode.VisibilityCursor(c.text) == c)
        #expect(MeridianNode.VisibilityCursor("3.9.") == MeridianNode.VisibilityCursor(after: 3, through: 9, dateAdded: nil))
        for bad in ["", "3", "3.2.", "a.b.c", "-1.2.", "3.9.x"] { #expect(MeridianNode.VisibilityCursor(bad) == nil, "\(bad)") }
    }
}
