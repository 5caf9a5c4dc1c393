import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import MeridianServer
import NIOCore
import STIX
import Storage
import Testing

/// The node's side of the transparency report (issue 18): the routes answer without credentials, checkpoints are
/// signed and checked, a peer's checkpoints are kept only when well formed and signed.
@Suite struct TransparencyNodeTests {
    static let config = """
        [node]
        title = "Test"
        owner = "a"
        [[orgs]]
        id = "a"
        name = "A"
        country = "FRA"
        [[api_roots]]
        path = "root"
        title = "Root"
        [[collections]]
        id = "11111111-1111-4111-8111-111111111111"
        api_root = "root"
        alias = "rw"
        title = "Shared"
        read = ["a"]
        write = ["a"]
        [transparency]
        delay_days = 0
        k = 2
        """

    static func store(_ node: MeridianNode, _ count: Int) async throws {
        let objects = (0..<count).map { n in
            #"{"type":"note","spec_version":"2.1","id":"note--\#(UUID().uuidString.lowercased())","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","content":"n \#(n)","object_refs":["identity--0a0a0a0a-0000-4000-8000-000000000000"]}"#
        }
        let incoming = try objects.map { text in
            let bytes = Array(text.utf8)
            return IncomingObject(object: try JSONParser().parse(bytes).objectValue!, bytes: bytes)!
        }
        let collection = "11111111-1111-4111-8111-111111111111"
        let provenance = Provenance(submittedBy: "a", receivedFrom: nil)
        _ = try await node.store.add(incoming, to: collection, provenance: provenance,
                                     audit: MeridianNode.writeEntry(collection: collection, by: nil, provenance: provenance))
    }

    @Test func theReportAndCheckpointsAreServedWithoutCredentials() async throws {
        let node = try await testNode(Self.config)
        try await Self.store(node, 3)
        try await node.makeCheckpoint()
        let app = Application(router: MeridianApplication.router(node: node))
        try await app.test(.router) { client in
            try await client.execute(uri: "/transparency/report.json", method: .get) { response in
                #expect(response.status == .ok)
                let report = try JSONParser().parse(Array(buffer: response.body))
                let category = report["tables"]?.arrayValue?.first
                // Three notes, all consultation, this month: the other categories' zeros are withheld (below k), and
                // so is enough else that they cannot be worked out (3 - 3 = 0 would give them away).
                #expect(category?["columns"]?.arrayValue?[3].stringValue == "consultation")
                #expect(report["months"]?.arrayValue?.count == 1)
                #expect(category?["rows"]?.arrayValue?[0]["cells"]?.arrayValue?.allSatisfy { $0 == .null } == true)
                #expect((report["withheld"]?.numberValue?.integer ?? 0) > 0)
                #expect(report["public_keys"]?.arrayValue?.count == 1)
            }
            try await client.execute(uri: "/transparency/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("<svg"))
            }
            try await client.execute(uri: "/transparency", method: .get) { response in
                #expect(response.status == .movedPermanently)
                #expect(response.headers[.location] == "/transparency/")
            }
            try await client.execute(uri: "/transparency/checkpoints/", method: .get) { response in
                #expect(response.status == .ok)
                let document = try JSONParser().parse(Array(buffer: response.body))
                #expect(document["checkpoints"]?.arrayValue?.count == 1)
            }
        }
    }

    @Test func aPeersCheckpointsAreKeptOnlyWhenWellFormedAndSigned() async throws {
        let peer = try await testNode(Self.config)
        try await Self.store(peer, 2)
        try await peer.makeCheckpoint()
        let document = try await peer.checkpointsDocument()
        let node = try await testNode(Self.config)
        #expect(try await node.storePeerCheckpoints(document, peer: "north") == 1)
        #expect(try await node.storePeerCheckpoints(document, peer: "north") == 0)
        // Malformed, or signed by a key the document does not list, or altered: refused, nothing kept.
        for bad in [#"{"checkpoints":[]}"#, #"{"public_keys":[],"checkpoints":[{"seq":"x"}]}"#] {
            await #expect(throws: NodeConfiguration.Problem.self) {
                try await node.storePeerCheckpoints(try JSONParser().parse(Array(bad.utf8)), peer: "south")
            }
        }
        var altered = document.objectValue!
        var checkpoint = altered["checkpoints"]!.arrayValue![0].objectValue!
        checkpoint["seq"] = .number(JSONNumber(Int64(99)))
        altered["checkpoints"] = .array([.object(checkpoint)])
        await #expect(throws: NodeConfiguration.Problem.self) { try await node.storePeerCheckpoints(.object(altered), peer: "south") }
        // A key of small order (all zeros) "verifies" an all-zero signature of anything: never trusted.
        let zero = Data(count: 32).base64EncodedString(), blank = Data(count: 64).base64EncodedString()
        let weak = #"{"public_keys":[{"id":"k","key":"\#(zero)"}],"checkpoints":[{"node":"x","seq":1,"head":"\#(String(repeating: "ab", count: 32))","at":"2026-01-01T00:00:00Z","key_id":"k","signature":"\#(blank)"}]}"#
        await #expect(throws: NodeConfiguration.Problem.self) {
            try await node.storePeerCheckpoints(try JSONParser().parse(Array(weak.utf8)), peer: "south")
        }
        #expect(try await node.witnessedDocument()["witnessed"]?["south"] == nil)
        #expect(try await node.witnessedDocument()["witnessed"]?["north"]?.arrayValue?.count == 1)
    }

    @Test func aCheckpointIsSignedOnlyWhenTheLogMoved() async throws {
        let node = try await testNode(Self.config)
        try await Self.store(node, 1)
        let first = try #require(try await node.makeCheckpoint())
        #expect(try await node.makeCheckpoint() == nil)
        try await Self.store(node, 1)
        let second = try #require(try await node.makeCheckpoint())
        #expect(second.seq > first.seq && second.keyID == first.keyID)
        let (checked, problems) = try await node.checkCheckpoints()
        #expect(checked == 2 && problems.isEmpty)
    }
}
