import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import MeridianServer
import NIOCore
import STIX
import Storage
import TestSupport
import Testing

/// The TAXII endpoints in process (Hummingbird's router test client, no sockets).
@Suite struct TAXIIRoutesTests {
    static let config = """
        [node]
        title = "Test"
        owner = "a"
        max_page_size = 50
        max_objects_per_request = 200
        max_versions_per_object = 5
        [[orgs]]
        id = "a"
        name = "A"
        [[orgs]]
        id = "b"
        name = "B"
        [[api_roots]]
        path = "root"
        title = "Root"
        [[collections]]
        id = "11111111-1111-4111-8111-111111111111"
        api_root = "root"
        alias = "rw"
        title = "Read-write for a, write-only for b"
        read = ["a"]
        write = ["a", "b"]
        """

    static let taxii = "application/taxii+json;version=2.1"

    func withNode(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let node = try await testNode(Self.config)
        try await node.accounts.saveUser(name: "alice", org: "a", passwordHash: Bcrypt.hash("alice password", cost: 4))
        try await node.accounts.saveUser(name: "bob", org: "b", passwordHash: Bcrypt.hash("bob password", cost: 4))
        let app = Application(router: MeridianApplication.router(node: node))
        try await app.test(.router) { client in try await body(client) }
    }

    func headers(_ user: String, contentType: Bool = false) -> HTTPFields {
        var h: HTTPFields = [.accept: Self.taxii]
        h[.authorization] = "Basic " + Data("\(user):\(user) password".utf8).base64EncodedString()
        if contentType { h[.contentType] = Self.taxii }
        return h
    }

    static func envelope(_ count: Int, from start: Int = 0) -> ByteBuffer {
        let objects = (start..<(start + count)).map { n in
            #"{"type":"identity","spec_version":"2.1","id":"identity--\#(UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255), 0)).uuidString.lowercased())","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","name":"org \#(n)","identity_class":"organization"}"#
        }
        return ByteBuffer(string: #"{"objects":[\#(objects.joined(separator: ","))]}"#)
    }

    @Test func pagingThroughAnHTTPCollectionNeverRepeatsOrSkips() async throws {
        try await withNode { client in
            try await client.execute(uri: "/root/collections/rw/objects/", method: .post, headers: headers("alice", contentType: true),
                                     body: Self.envelope(120)) { response in
                #expect(response.status == .accepted)
            }
            var ids: [String] = []
            var next: String? = nil
            repeat {
                let uri = "/root/collections/rw/objects/?limit=17" + (next.map { "&next=\($0)" } ?? "")
                next = try await client.execute(uri: uri, method: .get, headers: headers("alice")) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[HTTPField.Name("X-TAXII-Date-Added-First")!] != nil)
                    let doc = try JSONParser().parse(Array(buffer: response.body))
                    ids += (doc["objects"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
                    return doc["more"]?.boolValue == true ? doc["next"]?.stringValue : nil
                }
            } while next != nil
            #expect(ids.count == 120)
            #expect(Set(ids).count == 120)
        }
    }

    @Test func theServerCapsThePageSize() async throws {
        try await withNode { client in
            _ = try await client.execute(uri: "/root/collections/rw/objects/", method: .post, headers: headers("alice", contentType: true),
                                         body: Self.envelope(80))
            try await client.execute(uri: "/root/collections/rw/objects/?limit=1000", method: .get, headers: headers("alice")) { response in
                let doc = try JSONParser().parse(Array(buffer: response.body))
                #expect(doc["objects"]?.arrayValue?.count == 50)
                #expect(doc["more"]?.boolValue == true)
            }
        }
    }

    @Test func aWriteOnlyCallerGets403OnReadsAndCanPost() async throws {
        try await withNode { client in
            try await client.execute(uri: "/root/collections/rw/objects/", method: .post, headers: headers("bob", contentType: true),
                                     body: Self.envelope(1)) { response in
                #expect(response.status == .accepted)
            }
            for uri in ["/root/collections/rw/objects/", "/root/collections/rw/manifest/",
                        "/root/collections/rw/objects/identity--00000000-0000-4000-8000-000000000000/"] {
                try await client.execute(uri: uri, method: .get, headers: headers("bob")) { response in
                    #expect(response.status == .forbidden, "\(uri)")
                    #expect(response.headers[.contentType] == Self.taxii)
                }
            }
        }
    }

    @Test func aCollectionNobodyMaySeeIs404AndAnonymousIs401() async throws {
        try await withNode { client in
            try await client.execute(uri: "/root/collections/22222222-2222-4222-8222-222222222222/objects/", method: .get,
                                     headers: headers("alice")) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/root/collections/rw/objects/", method: .get, headers: [.accept: Self.taxii]) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate]?.contains("Basic") == true)
            }
        }
    }

    @Test func aFailedPostStoresNothing() async throws {
        try await withNode { client in
            try await client.execute(uri: "/root/collections/rw/objects/", method: .post, headers: headers("alice", contentType: true),
                                     body: ByteBuffer(string: #"{"objects":[{"type":"identity"#)) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/root/collections/rw/manifest/", method: .get, headers: headers("alice")) { response in
                #expect(String(buffer: response.body) == #"{"more":false}"#)
            }
        }
    }

    @Test func anObjectThatIsNotJSONMakesTheWholeBodyMalformedAndStoresNothing() async throws {
        try await withNode { client in
            // A valid object, then one with a syntax error inside it: the envelope's structure alone is fine.
            let valid = String(buffer: Self.envelope(1)).dropFirst(#"{"objects":["#.count).dropLast(2)
            let body = #"{"objects":[\#(valid),{"type":"identity","name":"x",,"id":"identity--1"}]}"#
            try await client.execute(uri: "/root/collections/rw/objects/", method: .post, headers: headers("alice", contentType: true),
                                     body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("object #1 is not valid JSON"))
            }
            try await client.execute(uri: "/root/collections/rw/manifest/", method: .get, headers: headers("alice")) { response in
                #expect(String(buffer: response.body) == #"{"more":false}"#)
            }
        }
    }

    // MARK: - HTTP details (issue 15, item 7)

    @Test func everyGetEndpointAnswersHeadWithTheSameStatusAndHeadersAndNoBody() async throws {
        try await withNode { client in
            _ = try await client.execute(uri: "/root/collections/rw/objects/", method: .post, headers: headers("alice", contentType: true),
                                         body: Self.envelope(3))
            let id = "identity--00000000-0000-4000-8000-000000000100"
            for uri in ["/taxii2/", "/root/", "/root/collections/", "/root/collections/rw/", "/root/collections/rw/objects/",
                        "/root/collections/rw/manifest/", "/root/collections/rw/objects/\(id)/",
                        "/root/collections/rw/objects/\(id)/versions/", "/root/collections/rw/objects/identity--00000000-0000-4000-8000-999999999999/",
                        "/health"] {
                let (status, length, type) = try await client.execute(uri: uri, method: .get, headers: headers("alice")) { response in
                    (response.status, response.body.readableBytes, response.headers[.contentType])
                }
                try await client.execute(uri: uri, method: .head, headers: headers("alice")) { response in
                    #expect(response.status == status, "\(uri)")
                    #expect(response.headers[.contentType] == type, "\(uri)")
                    #expect(response.headers[.contentLength] == String(length), "\(uri)")
                    #expect(response.body.readableBytes == 0, "\(uri)")
                }
            }
        }
    }

    @Test func aMethodAnEndpointDoesNotSupportGets405WithAllow() async throws {
        try await withNode { client in
            for (uri, method, allow) in [
                ("/root/collections/rw/objects/", HTTPRequest.Method.put, "GET, HEAD, POST"),
                ("/root/collections/rw/manifest/", .delete, "GET, HEAD"),
                ("/taxii2/", .post, "GET, HEAD"),
                ("/root/collections/rw/objects/identity--00000000-0000-4000-8000-000000000100/", .patch, "DELETE, GET, HEAD"),
            ] {
                try await client.execute(uri: uri, method: method, headers: headers("alice")) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                    #expect(response.headers[.contentType] == Self.taxii)
                    #expect(String(buffer: response.body).contains("\"http_status\":\"405\""))
                }
            }
            // A path no endpoint has is still 404.
            try await client.execute(uri: "/root/nothing/", method: .put, headers: headers("alice")) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func aURLTooLongGetsATAXIIError() async throws {
        try await withNode { client in
            let uri = "/root/collections/rw/objects/?match[id]=" + String(repeating: "a", count: 9000)
            try await client.execute(uri: uri, method: .get, headers: headers("alice")) { response in
                #expect(response.status.code == 414)
                #expect(response.headers[.contentType] == Self.taxii)
                #expect(String(buffer: response.body).contains("longer than 8192 bytes"))
            }
        }
    }

    @Test func statusDetailsCarryTheVersionTheManifestShowsAndRejectionsTheirPosition() async throws {
        try await withNode { client in
            let sco = #"{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}"#
            let bad = #"{"type":"identity","spec_version":"2.1","name":"no id"}"#
            let body = ByteBuffer(string: #"{"objects":[\#(sco),\#(bad),"not an object"]}"#)
            let status = try await client.execute(uri: "/root/collections/rw/objects/", method: .post,
                                                  headers: headers("alice", contentType: true), body: body) { response in
                try JSONParser().parse(Array(buffer: response.body))
            }
            let version = try #require(status["successes"]?.arrayValue?.first?["version"]?.stringValue)
            let failures = try #require(status["failures"]?.arrayValue)
            #expect(failures.map { $0["id"]?.stringValue } == ["object #1", "object #2"])
            #expect(failures.allSatisfy { $0["message"]?.stringValue?.hasPrefix($0["id"]!.stringValue! + ": ") == true })
            let manifest = try await client.execute(uri: "/root/collections/rw/manifest/", method: .get, headers: headers("alice")) { response in
                try JSONParser().parse(Array(buffer: response.body))
            }
            #expect(manifest["objects"]?.arrayValue?.first?["version"]?.stringValue == version)
            // Posted again: already stored, with the same version.
            let again = try await client.execute(uri: "/root/collections/rw/objects/", method: .post,
                                                 headers: headers("alice", contentType: true),
                                                 body: ByteBuffer(string: #"{"objects":[\#(sco)]}"#)) { response in
                try JSONParser().parse(Array(buffer: response.body))
            }
            #expect(again["successes"]?.arrayValue?.first?["version"]?.stringValue == version)
        }
    }

    @Test func anEnvelopeWithMoreObjectsThanTheLimitIsRefusedWith413BeforeAnyIsChecked() async throws {
        try await withNode { client in
            try await client.execute(uri: "/root/collections/rw/objects/", method: .post, headers: headers("alice", contentType: true),
                                     body: Self.envelope(201)) { response in
                #expect(response.status.code == 413)
                #expect(response.headers[.contentType] == Self.taxii)
                #expect(String(buffer: response.body).contains("more than 200 objects"))
            }
            // A million empty objects: refused at once, not validated one by one into a huge status resource.
            let empties = ByteBuffer(string: #"{"objects":["# + Array(repeating: "{}", count: 1_000_000).joined(separator: ",") + "]}")
            let clock = ContinuousClock()
            let elapsed = try await clock.measure {
                try await client.execute(uri: "/root/collections/rw/objects/", method: .post, headers: headers("alice", contentType: true),
                                         body: empties) { response in
                    #expect(response.status.code == 413)
                }
            }
            #expect(elapsed < .seconds(5), "\(elapsed)")
            try await client.execute(uri: "/root/collections/rw/manifest/", method: .get, headers: headers("alice")) { response in
                #expect(String(buffer: response.body) == #"{"more":false}"#)
            }
            try await client.execute(uri: "/root/collections/rw/objects/", method: .post, headers: headers("alice", contentType: true),
                                     body: Self.envelope(200)) { response in
                #expect(response.status == .accepted)
            }
        }
    }

    @Test func anObjectKeepsAtMostMaxVersionsPerObjectAndFurtherOnesAreRefusedByPosition() async throws {
        try await withNode { client in
            func version(_ n: Int) -> String {
                #"{"type":"identity","spec_version":"2.1","id":"identity--7e1e0000-0000-4000-8000-000000000001","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:0\#(n).000Z","name":"v\#(n)"}"#
            }
            func post(_ versions: [Int]) async throws -> JSONValue {
                try await client.execute(uri: "/root/collections/rw/objects/", method: .post, headers: headers("alice", contentType: true),
                                         body: ByteBuffer(string: #"{"objects":[\#(versions.map(version).joined(separator: ","))]}"#)) { response in
                    #expect(response.status == .accepted)
                    return try JSONParser().parse(Array(buffer: response.body))
                }
            }
            let first = try await post([0, 1, 2, 3, 4, 5, 6])
            #expect(first["success_count"]?.numberValue?.integer == 5)
            let failures = try #require(first["failures"]?.arrayValue)
            #expect(failures.compactMap { $0["version"]?.stringValue } == ["2020-01-01T00:00:05.000Z", "2020-01-01T00:00:06.000Z"])
            #expect(failures.allSatisfy { $0["message"]?.stringValue?.contains("already has 5 versions from this org") == true })
            #expect(failures.first?["message"]?.stringValue?.hasPrefix("object #5: ") == true)
            // A version already stored is accepted again (it adds none); a new one is not.
            let again = try await post([2, 7])
            #expect(again["success_count"]?.numberValue?.integer == 1)
            #expect(again["failures"]?.arrayValue?.first?["version"]?.stringValue == "2020-01-01T00:00:07.000Z")
            try await client.execute(uri: "/root/collections/rw/objects/identity--7e1e0000-0000-4000-8000-000000000001/versions/",
                                     method: .get, headers: headers("alice")) { response in
                let doc = try JSONParser().parse(Array(buffer: response.body))
                #expect(doc["versions"]?.arrayValue?.count == 5)
            }
            // Another org's versions do not count against it: bob learns nothing of alice's five.
            try await client.execute(uri: "/root/collections/rw/objects/", method: .post, headers: headers("bob", contentType: true),
                                     body: ByteBuffer(string: #"{"objects":[\#(version(8))]}"#)) { response in
                let doc = try JSONParser().parse(Array(buffer: response.body))
                #expect(doc["success_count"]?.numberValue?.integer == 1)
            }
        }
    }
}
