import Foundation
@testable import MeridianServer
import STIX
import Storage
import TAXII
import Testing

/// What the web pages write (issue 17): a form's objects are stored all or nothing after validation, as the user,
/// with the user's org as provenance; an upload is stored as a TAXII POST would be.
@Suite struct SubmissionTests {
    static let config = """
        [node]
        title = "Test"
        owner = "a"
        [[orgs]]
        id = "a"
        name = "A"
        country = "FRA"
        [[orgs]]
        id = "b"
        name = "B"
        country = "JPN"
        [[api_roots]]
        path = "root"
        title = "Root"
        [[collections]]
        id = "33333333-3333-4333-8333-333333333333"
        api_root = "root"
        alias = "shared"
        title = "Shared"
        read = ["a", "b"]
        write = ["a"]
        """
    static let a = Principal(org: "a", user: "alice")

    static func note(_ n: Int, content: String = "A note") throws -> JSONValue {
        try JSONParser().parse(#"{"type":"note","spec_version":"2.1","id":"note--0b0b0b0b-0000-4000-8000-00000000000\#(n)","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","content":"\#(content)","object_refs":["identity--0b0b0b0b-0000-4000-8000-000000000000"]}"#)
    }

    static func stored(_ node: MeridianNode) async throws -> [StoredVersion] {
        try await node.read(try #require(node.collection("shared")), query: ObjectQuery(versions: .all), limit: 100, withBytes: false,
                            for: a, endpoint: "test").versions
    }

    @Test func aFormsObjectsAreStoredTogetherWithTheUsersOrgAsProvenance() async throws {
        let node = try await testNode(Self.config)
        let status = try await node.submit([try Self.note(1), try Self.note(2)], to: try #require(node.collection("shared")), by: Self.a)
        #expect(status.successes.count == 2)
        let versions = try await Self.stored(node)
        #expect(versions.map(\.id).sorted() == ["note--0b0b0b0b-0000-4000-8000-000000000001", "note--0b0b0b0b-0000-4000-8000-000000000002"])
        #expect(versions.allSatisfy { $0.provenance.submittedBy == "a" && $0.provenance.receivedFrom == nil })
        // What was submitted is searchable at once.
        #expect(try await node.search(SearchText("note")!, for: Self.a).count == 2)
    }

    @Test func oneInvalidObjectStoresNothingAndIsNamedWithItsRule() async throws {
        let node = try await testNode(Self.config)
        var invalid = try Self.note(2).objectValue!
        invalid["created"] = .string("yesterday")
        do {
            _ = try await node.submit([try Self.note(1), .object(invalid)], to: try #require(node.collection("shared")), by: Self.a)
            Issue.record("an invalid object was accepted")
        } catch let refused as MeridianNode.SubmissionRefused {
            #expect(refused.problems.count == 1 && refused.problems[0].id == "note--0b0b0b0b-0000-4000-8000-000000000002")
            #expect(refused.problems[0].reason.contains("created"))
        }
        #expect(try await Self.stored(node).isEmpty)
    }

    @Test func aReaderWhoMayNotWriteStoresNothing() async throws {
        let node = try await testNode(Self.config)
        let collection = try #require(node.collection("shared"))
        await #expect(throws: MeridianNode.ReadRefused.self) {
            _ = try await node.submit([try Self.note(1)], to: collection, by: Principal(org: "b", user: "bob"))
        }
        await #expect(throws: MeridianNode.ReadRefused.self) {
            _ = try await node.upload(Array(#"{"objects":[]}"#.utf8), to: collection, by: Principal(org: "b", user: "bob"))
        }
        #expect(try await Self.stored(node).isEmpty)
    }

    @Test func anUploadStoresTheValidObjectsAndListsTheOthers() async throws {
        let node = try await testNode(Self.config)
        let bundle = #"{"type":"bundle","id":"bundle--0b0b0b0b-0000-4000-8000-0000000000ff","objects":[\#(try Self.note(1).serialized()),{"type":"note","id":"note--bad"}]}"#
        let status = try await node.upload(Array(bundle.utf8), to: try #require(node.collection("shared")), by: Self.a)
        #expect(status.successes.map(\.id) == ["note--0b0b0b0b-0000-4000-8000-000000000001"])
        #expect(status.failures.count == 1 && status.failures[0].message?.contains("object #1") == true)
        #expect(try await Self.stored(node).count == 1)
    }
}
