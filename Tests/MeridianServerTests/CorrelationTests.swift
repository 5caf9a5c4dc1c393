import Foundation
@testable import MeridianServer
import MISP
import Policy
import STIX
import STIXValidation
import Storage
import TAXII
import Testing

/// Correlation in the node: sightings from matches, marked so only readers of every input see them.
@Suite struct CorrelationTests {
    static func config(_ extra: String = "") -> String {
        """
        [node]
        title = "t"
        owner = "a"
        [[orgs]]
        id = "a"
        name = "A"
        country = "FRA"
        identity = "identity--0a0a0a0a-0000-4000-8000-00000000000a"
        [[orgs]]
        id = "b"
        name = "B"
        country = "DEU"
        identity = "identity--0b0b0b0b-0000-4000-8000-00000000000b"
        [[orgs]]
        id = "c"
        name = "C"
        country = "JPN"
        [[api_roots]]
        path = "r"
        title = "r"
        [[collections]]
        id = "c0000000-0000-4000-8000-000000000001"
        api_root = "r"
        alias = "indicators"
        title = "Indicators (a and b only)"
        read = ["a", "b"]
        write = ["a", "b"]
        [[collections]]
        id = "c0000000-0000-4000-8000-000000000002"
        api_root = "r"
        alias = "observations"
        title = "Observations"
        read = ["a", "b", "c"]
        write = ["a", "b", "c"]
        [[collections]]
        id = "c0000000-0000-4000-8000-000000000003"
        api_root = "r"
        alias = "sightings"
        title = "Sightings"
        read = ["a", "b", "c"]
        write = ["a"]
        [correlation]
        sightings_collection = "sightings"
        \(extra)
        """
    }

    static func node(_ extra: String = "") async throws -> MeridianNode {
        try await testNode(config(extra))
    }

    static let green = TLP.green.v2ID
    static let amber = TLP.amber.v2ID

    static func indicator(_ n: Int, _ pattern: String, markings: [String] = [green], extra: String = "") -> String {
        let refs = markings.map { "\"\($0)\"" }.joined(separator: ",")
        return #"{"type":"indicator","spec_version":"2.1","id":"indicator--1d1d1d1d-0000-4000-8000-\#(String(format: "%012d", n))","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"\#(pattern)","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":[\#(refs)]\#(extra)}"#
    }

    static func observation(_ n: Int, ip: String, markings: [String] = [amber]) -> [String] {
        let refs = markings.map { "\"\($0)\"" }.joined(separator: ",")
        let ipID = "ipv4-addr--" + Identifier.uuidV5(namespace: Identifier.observableNamespace, name: #"{"value":"\#(ip)"}"#)
        return [
            #"{"type":"observed-data","spec_version":"2.1","id":"observed-data--0d0d0d0d-0000-4000-8000-\#(String(format: "%012d", n))","created":"2026-02-01T00:00:00.000Z","modified":"2026-02-01T00:00:00.000Z","first_observed":"2026-02-01T10:00:00Z","last_observed":"2026-02-01T11:00:00Z","number_observed":3,"object_refs":["\#(ipID)"],"object_marking_refs":[\#(refs)]}"#,
            #"{"type":"ipv4-addr","spec_version":"2.1","id":"\#(ipID)","value":"\#(ip)","object_marking_refs":[\#(refs)]}"#,
        ]
    }

    func post(_ node: MeridianNode, _ objects: [String], to alias: String, by org: String) async throws {
        let collection = try #require(node.collection(alias))
        let body = Array(#"{"objects":[\#(objects.joined(separator: ","))]}"#.utf8)
        let status = try await Ingest(node: node).add(body, to: collection.id.lowercased(), by: Principal(org: org, user: nil),
                                                      provenance: Provenance(submittedBy: org, receivedFrom: nil))
        #expect(status.failures.isEmpty, "\(status.failures.map(\.message))")
        await node.correlator?.idle()
    }

    func sightings(_ node: MeridianNode, as org: String) async throws -> [JSONValue] {
        let collection = try #require(node.collection("sightings"))
        let page = try await node.read(collection, query: ObjectQuery(versions: .all), limit: 1000, withBytes: true,
                                       for: Principal(org: org, user: nil), endpoint: "test")
        return try page.versions.indices.map { try JSONParser().parse(page.bytes(at: $0)) }
    }

    @Test func aMatchMakesASightingMarkedByItsMostRestrictiveInput() async throws {
        let node = try await Self.node()
        try await post(node, [Self.indicator(1, "[ipv4-addr:value = '198.51.100.7']")], to: "indicators", by: "a")
        try await post(node, Self.observation(1, ip: "198.51.100.7"), to: "observations", by: "b")
        let seen = try await sightings(node, as: "a")
        #expect(seen.count == 1)
        let s = try #require(seen.first)
        #expect(s["sighting_of_ref"]?.stringValue == "indicator--1d1d1d1d-0000-4000-8000-000000000001")
        #expect(s["observed_data_refs"]?.arrayValue?.first?.stringValue == "observed-data--0d0d0d0d-0000-4000-8000-000000000001")
        #expect(s["where_sighted_refs"]?.arrayValue?.first?.stringValue == "identity--0b0b0b0b-0000-4000-8000-00000000000b")
        #expect(s["count"]?.numberValue?.integer == 3)
        #expect(s["first_seen"]?.stringValue == "2026-02-01T10:00:00Z" && s["last_seen"]?.stringValue == "2026-02-01T11:00:00Z")
        let markings = s["object_marking_refs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(markings.first == Self.amber)
        // The sighting is valid STIX 2.1.
        let validator = try Validator(options: ValidationOptions())
        #expect(validator.validate(s).errors.isEmpty, "\(validator.validate(s).errors.map(\.message))")
        #expect(try await sightings(node, as: "b").count == 1)
        // Posting the same observation again makes no second sighting.
        try await post(node, [Self.observation(1, ip: "198.51.100.7")[0]], to: "observations", by: "b")
        #expect(try await sightings(node, as: "a").count == 1)
    }

    @Test func anOrgThatMayNotSeeTheIndicatorLearnsNothingOfTheMatch() async throws {
        let node = try await Self.node()
        try await post(node, [Self.indicator(1, "[ipv4-addr:value = '198.51.100.7']")], to: "indicators", by: "a")
        // c posts the observation itself, reads the sightings collection, but cannot read the indicators collection.
        try await post(node, Self.observation(2, ip: "198.51.100.7", markings: [TLP.clear.v2ID]), to: "observations", by: "c")
        #expect(try await sightings(node, as: "a").count == 1)
        #expect(try await sightings(node, as: "c").isEmpty)
        let explained = try await node.explain(objectID: try #require(try await sightings(node, as: "a").first?["id"]?.stringValue), org: "c")
        #expect(explained.allSatisfy { !$0.decision.allowed && $0.decision.rule == .releasabilityNotMatched })
    }

    @Test func releasabilityOfAnInputNarrowsTheSighting() async throws {
        let node = try await Self.node()
        let rel = try await node.createReleasabilityMarking(name: "REL TO a", releasableTo: ["a"], by: nil)
        let relID = try #require(rel["id"]?.stringValue)
        try await post(node, [Self.indicator(1, "[ipv4-addr:value = '198.51.100.7']", markings: [Self.green, relID])], to: "indicators", by: "a")
        try await post(node, Self.observation(3, ip: "198.51.100.7"), to: "observations", by: "b")
        #expect(try await sightings(node, as: "a").count == 1)
        #expect(try await sightings(node, as: "b").isEmpty)
    }

    @Test func newIndicatorsMatchStoredObservationsRetroactively() async throws {
        let node = try await Self.node()
        try await post(node, Self.observation(4, ip: "203.0.113.9"), to: "observations", by: "b")
        #expect(try await sightings(node, as: "a").isEmpty)
        try await post(node, [Self.indicator(2, "[ipv4-addr:value ISSUBSET '203.0.113.0/24']")], to: "indicators", by: "a")
        let seen = try await sightings(node, as: "a")
        #expect(seen.count == 1)
        #expect(seen.first?["sighting_of_ref"]?.stringValue == "indicator--1d1d1d1d-0000-4000-8000-000000000002")
    }

    @Test func revokedAndExpiredIndicatorsStopMatching() async throws {
        let node = try await Self.node()
        try await post(node, [Self.indicator(3, "[ipv4-addr:value = '198.51.100.20']"),
                              Self.indicator(4, "[ipv4-addr:value = '198.51.100.21']", extra: #","valid_until":"2026-01-02T00:00:00Z""#)],
                       to: "indicators", by: "a")
        let revoked = Self.indicator(3, "[ipv4-addr:value = '198.51.100.20']", extra: #","revoked":true"#)
            .replacingOccurrences(of: #""modified":"2026-01-01T00:00:00.000Z""#, with: #""modified":"2026-01-05T00:00:00.000Z""#)
        try await post(node, [revoked], to: "indicators", by: "a")
        try await post(node, Self.observation(5, ip: "198.51.100.20") + Self.observation(6, ip: "198.51.100.21"), to: "observations", by: "b")
        #expect(try await sightings(node, as: "a").isEmpty)
    }

    @Test func warningListValuesNeverCorrelate() async throws {
        let node = try await Self.node()
        try await post(node, [Self.indicator(5, "[ipv4-addr:value = '8.8.8.8']"),
                              Self.indicator(6, "[ipv4-addr:value ISSUBSET '10.0.0.0/8']")], to: "indicators", by: "a")
        try await post(node, Self.observation(7, ip: "8.8.8.8") + Self.observation(8, ip: "10.1.2.3"), to: "observations", by: "b")
        #expect(try await sightings(node, as: "a").isEmpty)
    }

    static func warninglist(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("warninglist-\(UUID().uuidString).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func mispWarninglistsNeverCorrelateEither() async throws {
        let blocks = try Self.warninglist(#"{"name": "Resolvers", "type": "cidr", "list": ["198.51.100.0/28", "2001:db8::/32"]}"#)
        let hosts = try Self.warninglist(#"{"name": "CDN", "type": "hostname", "list": ["cdn.example.net"]}"#)
        let node = try await Self.node(#"misp_warninglists = ["\#(blocks)", "\#(hosts)"]"#)
        try await post(node, [Self.indicator(20, "[ipv4-addr:value = '198.51.100.5']"), Self.indicator(21, "[ipv4-addr:value = '198.51.100.40']")],
                       to: "indicators", by: "a")
        try await post(node, Self.observation(22, ip: "198.51.100.5") + Self.observation(23, ip: "198.51.100.40"), to: "observations", by: "b")
        let made = try await sightings(node, as: "a")
        #expect(made.count == 1)
        #expect(made.first?["sighting_of_ref"]?.stringValue == "indicator--1d1d1d1d-0000-4000-8000-000000000021")
    }

    @Test func warninglistEntriesMatchAsTheirTypeSays() throws {
        let list = WarningList([], lists: [
            MISPWarninglist(name: "n", matching: .hostname, entries: ["example.net"]),
            MISPWarninglist(name: "c", matching: .cidr, entries: ["2001:db8::/32", "192.0.2.0/24"]),
            MISPWarninglist(name: "s", matching: .substring, entries: ["sinkhole"]),
            MISPWarninglist(name: "e", matching: .string, entries: ["Exact.Example"]),
        ])
        for flagged in ["example.net", "mail.EXAMPLE.net", "2001:db8::1", "192.0.2.77", "evil-sinkhole.example.org", "exact.example"] {
            #expect(list.contains(flagged), "\(flagged)")
        }
        for kept in ["example.network", "notexample.net", "2001:db9::1", "192.0.3.1", "sink.example.org", "exact.example.org"] {
            #expect(!list.contains(kept), "\(kept)")
        }
    }

    @Test func aWarninglistThatCannotBeMatchedExactlyStopsTheNodeNamingTheFile() async throws {
        let regex = try Self.warninglist(#"{"name": "Patterns", "type": "regex", "list": ["^evil"]}"#)
        do {
            _ = try await Self.node(#"misp_warninglists = ["\#(regex)"]"#)
            Issue.record("the node started")
        } catch {
            #expect("\(error)".contains(regex) && "\(error)".contains("type 'regex' is not supported"), "\(error)")
        }
    }

    @Test func anIndicatorIsNotSightedByTheObservedDataOfItsOwnMISPAttribute() async throws {
        let node = try await Self.node()
        try await post(node, [Self.indicator(30, "[ipv4-addr:value = '198.51.100.60']")], to: "indicators", by: "a")
        // observed-data--…030 has the indicator's uuid (one MISP attribute); …031 is another observation.
        let own = Self.observation(30, ip: "198.51.100.60").map { $0.replacingOccurrences(of: "0d0d0d0d-0000-4000-8000-000000000030", with: "1d1d1d1d-0000-4000-8000-000000000030") }
        try await post(node, own + Self.observation(31, ip: "198.51.100.60"), to: "observations", by: "b")
        let made = try await sightings(node, as: "a")
        #expect(made.count == 1)
        #expect(made.first?["observed_data_refs"]?.arrayValue == [.string("observed-data--0d0d0d0d-0000-4000-8000-000000000031")])
    }

    @Test func anOverCorrelatedObservationMakesNoSightings() async throws {
        let node = try await Self.node("max_matches_per_observation = 2")
        try await post(node, (10..<13).map { Self.indicator($0, "[ipv4-addr:value = '198.51.100.30']") }, to: "indicators", by: "a")
        try await post(node, Self.observation(9, ip: "198.51.100.30"), to: "observations", by: "b")
        #expect(try await sightings(node, as: "a").isEmpty)
        #expect(await node.correlator?.overCorrelated == 1)
    }
}
