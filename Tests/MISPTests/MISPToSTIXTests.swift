import Foundation
@testable import MISP
import Policy
import STIX
import STIXValidation
import Testing
import TestSupport

/// MISP events to STIX (issue 19). Agreement with misp-stix object by object is tested against misp-stix itself in
/// Tests/Interop/test_misp.py; these tests hold the rules Meridian adds: every value checked against its type, every
/// failure naming its event, record and rule, nothing depending on the clock, and markings on every object.
@Suite struct MISPToSTIXTests {
    static let fixtures = ["data/misp/events_collection_1.json", "data/misp/events_collection_2.json",
                           "data/misp/attributes_collection_1.json", "data/misp/attributes_collection_2.json",
                           "data/misp/objects_collection_1.json", "data/misp/objects_collection_2.json",
                           "Tests/Fixtures/misp/common-attribute-types.json", "Tests/Fixtures/misp/objects-galaxies-sightings.json",
                           "Tests/Fixtures/misp/more-object-templates.json", "Tests/Fixtures/misp/social-accounts.json", "Tests/Fixtures/misp/certificates.json", "Tests/Fixtures/misp/processes.json", "Tests/Fixtures/misp/sockets.json"]

    static func event(_ attributes: String, extra: String = "", tags: String = "[]") throws -> JSONValue {
        try TestData.object("""
            {"Event": {"uuid": "5c000000-0000-4000-8000-0000000000ff", "info": "Test", "timestamp": "1700000000",
             "Orgc": {"name": "CERT-Test", "uuid": "5c000000-0000-4000-8000-0000000000aa"}, "Tag": \(tags),
             "Attribute": [\(attributes)] \(extra)}}
            """)
    }

    static func attribute(_ type: String, _ value: String, toIDs: Bool = true, extra: String = "") -> String {
        #"{"uuid": "5c000000-0000-4000-8000-000000000001", "type": "\#(type)", "category": "Network activity", "value": "\#(value)", "to_ids": \#(toIDs)\#(extra)}"#
    }

    static func convert(_ document: JSONValue) throws(MISPError) -> [JSONObject] { try MISPToSTIX().convert(document) }

    @Test(arguments: fixtures)
    func everyObjectMadeIsValidSTIXAndConvertingAgainGivesTheSame(_ path: String) throws {
        let document = try TestData.json(path)
        let objects = try Self.convert(document)
        #expect(!objects.isEmpty)
        let validator = try Validator()
        for o in objects {
            let result = validator.validate(.object(o), warnings: false)
            #expect(result.isValid, "\(o["id"]!): \(result.errors)")
        }
        #expect(Set(objects.map { $0["id"]! }).count == objects.count)
        #expect(try Self.convert(document) == objects)
    }

    @Test func anIndicatorIsMadeOnlyWhenToIDsIsSet() throws {
        let on = try Self.convert(try Self.event(Self.attribute("domain", "evil.example.com")))
        #expect(Set(on.compactMap { $0["type"]?.stringValue }) == ["identity", "observed-data", "domain-name", "indicator", "relationship", "grouping"])
        let indicator = try #require(on.first { $0["type"] == .string("indicator") })
        #expect(indicator["pattern"] == .string("[domain-name:value = 'evil.example.com']"))
        #expect(indicator["valid_from"] == .string("2023-11-14T22:13:20Z"))
        let off = try Self.convert(try Self.event(Self.attribute("domain", "evil.example.com", toIDs: false)))
        #expect(!off.contains { $0["type"] == .string("indicator") })
    }

    @Test func patternValuesAreEscapedAndHivesWrittenInFull() throws {
        let objects = try Self.convert(try Self.event(Self.attribute("regkey", #"HKLM\\Software\\it's"#)))
        let indicator = try #require(objects.first { $0["type"] == .string("indicator") })
        #expect(indicator["pattern"] == .string(#"[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\Software\\it\'s']"#))
    }

    @Test func theEventsTLPMarksEveryObjectAndAnAttributesOwnTLPWinsWhenStricter() throws {
        let objects = try Self.convert(try Self.event(
            Self.attribute("ip-dst", "192.0.2.1", extra: #", "Tag": [{"name": "tlp:amber"}]"#), tags: #"[{"name": "tlp:white"}, {"name": "osint"}]"#))
        for o in objects where o["type"] != .string("identity") {
            let expected = ["indicator", "observed-data", "network-traffic", "ipv4-addr"].contains(o["type"]!.stringValue!) ? TLP.amber : TLP.clear
            #expect(o["object_marking_refs"] == .array([.string(expected.v2ID)]), "\(o["id"]!)")
        }
        let grouping = try #require(objects.first { $0["type"] == .string("grouping") })
        #expect(grouping["labels"]?.arrayValue?.contains(.string("osint")) == true)
    }

    @Test(arguments: [
        ("ip-dst", "not-an-address", "'ip-dst' value 'not-an-address' is not an IPv4 or IPv6 address"),
        ("ip-dst", "300.1.1.1", "is not an IPv4 or IPv6 address"),
        ("ip-dst|port", "192.0.2.1|99999", "has a port that is not a number from 0 to 65535"),
        ("md5", "abc", "is not a md5 digest (32 hexadecimal digits)"),
        ("domain", "no spaces.example.com", "is not a domain name"),
        ("email-src", "nobody", "is not an e-mail address"),
        ("AS", "ASX", "is not an autonomous system number"),
        ("flux-capacitor", "1.21", "'flux-capacitor' is not a MISP attribute type"),
    ])
    func aValueThatDoesNotFitItsTypeIsRefusedNamingEventAttributeAndRule(_ type: String, _ value: String, _ rule: String) throws {
        let document = try Self.event(Self.attribute(type, value))
        do {
            _ = try Self.convert(document)
            Issue.record("converted \(type) \(value)")
        } catch {
            #expect(error.event == "5c000000-0000-4000-8000-0000000000ff")
            #expect(error.record == "attribute 5c000000-0000-4000-8000-000000000001")
            #expect(error.rule.contains(rule), "\(error)")
        }
    }

    static let sharingGroup = #", "distribution": "4", "SharingGroup": {"name": "Cable watch", "SharingGroupOrg": [{"Organisation": {"name": "CERT-A"}}, {"Organisation": {"name": "CERT-X"}}]}"#

    static func partnership(stricter: Bool = false) -> MISPToSTIX.Options {
        var options = MISPToSTIX.Options()
        options.organisations = [("a", "CERT-A"), ("b", "CERT-B")]
        options.stricter = stricter
        return options
    }

    static func releasableTo(_ objects: [JSONObject], _ ref: JSONValue) -> JSONValue? {
        objects.first { $0["id"] == ref }?["extensions"]?[Releasability.extensionID]?["releasable_to"]
    }

    @Test func aSharingGroupOfPartnershipOrgsBecomesTheirReleasabilityOnEveryObjectOfTheEvent() throws {
        let document = try Self.event(Self.attribute("domain", "a.example.com"), extra: Self.sharingGroup.replacingOccurrences(of: "CERT-X", with: "cert-b"))
            .objectValue!["Event"]!
        let objects = try MISPToSTIX(options: Self.partnership()).convert(.object(JSONObject(["Event": document])))
        let marked = objects.filter { !["identity", "marking-definition"].contains($0["type"]!.stringValue!) }
        #expect(marked.count == 5)  // observed-data, domain-name, indicator, based-on, grouping
        for o in marked {
            let refs = o["object_marking_refs"]?.arrayValue ?? []
            #expect(refs.contains { Self.releasableTo(objects, $0) == .array([.string("a"), .string("b")]) }, "\(o["id"]!)")
        }
    }

    @Test func aMemberThatIsNoOrgOfThePartnershipIsRefusedUnlessStricterLeavesItOut() throws {
        let document = try Self.event(Self.attribute("domain", "a.example.com", extra: Self.sharingGroup))
        do {
            _ = try MISPToSTIX(options: Self.partnership()).convert(document)
            Issue.record("converted a sharing group with CERT-X")
        } catch {
            #expect(error.record == "attribute 5c000000-0000-4000-8000-000000000001")
            #expect(error.rule.contains("sharing group 'Cable watch': 'CERT-X' is no org of the partnership"), "\(error)")
        }
        let objects = try MISPToSTIX(options: Self.partnership(stricter: true)).convert(document)
        let indicator = try #require(objects.first { $0["type"] == .string("indicator") })
        #expect(indicator["object_marking_refs"]?.arrayValue?.contains { Self.releasableTo(objects, $0) == .array([.string("a")]) } == true)
        // The event itself is not narrowed: only the attribute's objects carry the marking.
        let grouping = try #require(objects.first { $0["type"] == .string("grouping") })
        #expect(grouping["object_marking_refs"] == nil)
    }

    @Test func yourOrganisationOnlyReleasesToTheEventsOrganisationAndInheritIsTheEvents() throws {
        let text = #"{"Event": {"uuid": "5c000000-0000-4000-8000-0000000000ff", "info": "T", "timestamp": "1700000000", "distribution": "0", "Org": {"name": "CERT-B", "uuid": "5c000000-0000-4000-8000-0000000000bb"}, "Attribute": [\#(Self.attribute("domain", "a.example.com", extra: #", "distribution": "5""#))]}}"#
        let objects = try MISPToSTIX(options: Self.partnership()).convert(try TestData.object(text))
        let indicator = try #require(objects.first { $0["type"] == .string("indicator") })
        #expect(indicator["object_marking_refs"]?.arrayValue?.contains { Self.releasableTo(objects, $0) == .array([.string("b")]) } == true)
        // Without the partnership's orgs (misp convert) nothing names CERT-B: refused.
        #expect(throws: MISPError.self) { try MISPToSTIX().convert(try TestData.object(text)) }
    }

    @Test func malformedDocumentsAreRefusedWithTheirReason() throws {
        let cases: [(String, String)] = [
            ("42", "not MISP JSON"),
            (#"{"something": 1}"#, "not MISP JSON"),
            (#"[1]"#, "an event must be a JSON object"),
            (#"{"Event": {"info": "x", "timestamp": "1"}}"#, "'uuid' is missing or not a UUID"),
            (#"{"Event": {"uuid": "5c000000-0000-4000-8000-0000000000ff", "info": "x"}}"#, "neither a 'timestamp' nor a 'date'"),
            (#"{"Event": {"uuid": "5c000000-0000-4000-8000-0000000000ff", "info": "x", "timestamp": "soon"}}"#, "'timestamp' must be seconds"),
            (#"{"Event": {"uuid": "5c000000-0000-4000-8000-0000000000ff", "info": "x", "timestamp": "1", "Attribute": [{"type": "domain", "value": "a.b"}]}}"#, "'uuid' is missing"),
            (#"{"Event": {"uuid": "5c000000-0000-4000-8000-0000000000ff", "info": "x", "timestamp": "1", "Tag": [{"name": "tlp:purple"}]}}"#, "not a TLP level"),
        ]
        for (text, reason) in cases {
            let document = try TestData.object(text)
            do {
                _ = try Self.convert(document)
                Issue.record("converted \(text)")
            } catch {
                #expect(error.description.contains(reason), "\(text): \(error)")
            }
        }
    }

    @Test func anEventOfManyAttributesConvertsInLinearTime() throws {
        func event(_ n: Int) throws -> JSONValue {
            let attributes = (0..<n).map { i in
                #"{"uuid": "\#(String(format: "5d000000-0000-4000-8000-%012d", i))", "type": "ip-dst", "value": "10.\#(i >> 16 & 255).\#(i >> 8 & 255).\#(i & 255)", "to_ids": true, "timestamp": "1700000000"}"#
            }
            return try TestData.object(#"{"Event": {"uuid": "5d000000-0000-4000-8000-0000000000ff", "info": "big", "timestamp": "1700000000", "Attribute": [\#(attributes.joined(separator: ","))]}}"#)
        }
        let small = try event(2_000), large = try event(16_000)
        let clock = ContinuousClock()
        let t1 = clock.measure { _ = try? Self.convert(small) }
        let t2 = clock.measure { _ = try? Self.convert(large) }
        // Each attribute: observed-data, network-traffic, address, indicator, based-on; and the event's grouping.
        #expect(try Self.convert(small).count == 2_000 * 5 + 1)
        // Eight times the attributes: allow up to 20 times the time (quadratic work would take 64 times).
        #expect(t2 < t1 * 20, "\(t1) for 2,000 attributes, \(t2) for 16,000")
    }

    @Test func objectsNotFlaggedToIDsComeBackAsTheSameObjectsInAFeed() throws {
        let objects = try Self.convert(try TestData.json("Tests/Fixtures/misp/objects-galaxies-sightings.json"))
        let items = objects.enumerated().map { STIXToMISP.Item(object: $1, submitter: "a", dateAdded: Int64($0)) }
        let events = STIXToMISP(organisationName: { $0 }).events(items)
        let made = events.flatMap { $0["Event"]?["Object"]?.arrayValue ?? [] }
        func attributes(_ uuid: String) -> [String]? {
            guard let object = made.first(where: { $0["uuid"]?.stringValue == uuid }) else { return nil }
            return (object["Attribute"]?.arrayValue ?? []).map {
                "\($0["object_relation"]!.stringValue!)=\($0["value"]!.stringValue!) to_ids \($0["to_ids"]!.serialized())"
            }.sorted()
        }
        #expect(attributes("5b000000-0000-4000-8000-000000000002") == ["domain=evil.example.com to_ids false", "ip=203.0.113.5 to_ids false"])
        #expect(attributes("5b000000-0000-4000-8000-000000000005") == [
            "dst-port=443 to_ids false", "ip-dst=203.0.113.5 to_ids false", "ip-src=198.51.100.1 to_ids false", "layer4-protocol=tcp to_ids false",
        ])
        #expect(made.first { $0["uuid"]?.stringValue == "5b000000-0000-4000-8000-000000000002" }?["name"] == .string("domain-ip"))
        // An observation that no template makes again (two addresses a domain resolves to) is left out, not guessed at.
        var two = try #require(objects.first { $0["id"] == .string("domain-name--5b000000-0000-4000-8000-000000000021") })
        two["resolves_to_refs"] = .array([.string("ipv4-addr--0a000000-0000-4000-8000-000000000001"), .string("ipv4-addr--0a000000-0000-4000-8000-000000000002")])
        var observed = try #require(objects.first { $0["type"] == .string("observed-data") && $0["object_refs"]?.arrayValue?.contains(.string("domain-name--5b000000-0000-4000-8000-000000000021")) == true })
        observed["object_refs"] = .array([.string("domain-name--5b000000-0000-4000-8000-000000000021"), .string("ipv4-addr--0a000000-0000-4000-8000-000000000001"),
                                          .string("ipv4-addr--0a000000-0000-4000-8000-000000000002")])
        let extra = [two, observed] + (1...2).map { n in
            JSONObject(["type": .string("ipv4-addr"), "spec_version": .string("2.1"), "id": .string("ipv4-addr--0a000000-0000-4000-8000-00000000000\(n)"), "value": .string("192.0.2.\(n)")])
        }
        let observables = (observed["object_refs"]?.arrayValue ?? []).compactMap { ref in (extra + objects).first { $0["id"] == ref } }
        #expect(observables.count == 3)
        #expect(STIXToMISP.object(forObservables: observables, uuid: "5b000000-0000-4000-8000-000000000002", observed) == nil)
        // With one of the two, it is a domain-ip object again.
        two["resolves_to_refs"] = .array([.string("ipv4-addr--0a000000-0000-4000-8000-000000000001")])
        let one = [two, extra[2]]
        #expect(STIXToMISP.object(forObservables: one, uuid: "5b000000-0000-4000-8000-000000000002", observed)?["name"] == .string("domain-ip"))
    }

    @Test func certificateValidityIsATimestampInSTIXAndPythonsTextInPatternsAsMispStixWritesIt() throws {
        #expect(try MISPValue.dateTime("2023-01-01T00:00:00") == ("2023-01-01T00:00:00Z", "2023-01-01 00:00:00"))
        #expect(try MISPValue.dateTime("2024-01-01T12:30:00.250000+00:00") == ("2024-01-01T12:30:00.25Z", "2024-01-01 12:30:00.250000+00:00"))
        #expect(try MISPValue.dateTime("2024-01-01T14:30:00+02:00") == ("2024-01-01T12:30:00Z", "2024-01-01 14:30:00+02:00"))
        #expect(try MISPValue.dateTime("2024-01-01T12:30:00Z").python == "2024-01-01 12:30:00+00:00")
        func x509(_ relation: String, _ value: String) -> String {
            #"{"uuid": "5c000000-0000-4000-8000-000000000002", "name": "x509", "meta-category": "network", "Attribute": [{"uuid": "5c000000-0000-4000-8000-000000000021", "type": "text", "object_relation": "subject", "value": "CN=a", "to_ids": true}, {"uuid": "5c000000-0000-4000-8000-000000000022", "type": "text", "object_relation": "\#(relation)", "value": "\#(value)", "to_ids": true}]}"#
        }
        let dated = try Self.convert(try Self.event("", extra: #", "Object": [\#(x509("validity-not-after", "2024-06-01T00:00:00"))]"#))
        #expect(dated.first { $0["type"] == .string("x509-certificate") }?["validity_not_after"] == .string("2024-06-01T00:00:00Z"))
        #expect(dated.first { $0["type"] == .string("indicator") }?["pattern"]
            == .string("[x509-certificate:subject = 'CN=a' AND x509-certificate:validity_not_after = '2024-06-01 00:00:00']"))
        // Whether it is self-signed misp-stix maps by the flag's truth, not its text: such a certificate is kept whole.
        let flagged = try Self.convert(try Self.event("", extra: #", "Object": [\#(x509("self_signed", "1"))]"#))
        #expect(flagged.contains { $0["type"] == .string("x-misp-object") } && !flagged.contains { $0["type"] == .string("x509-certificate") })
        do {
            _ = try Self.convert(try Self.event("", extra: #", "Object": [\#(x509("validity-not-before", "last tuesday"))]"#))
            Issue.record("a validity that is no date was converted")
        } catch {
            let text = String(describing: error)
            #expect(text.contains("5c000000-0000-4000-8000-000000000022") && text.contains("is not an ISO 8601 date and time"), "\(text)")
        }
    }
}
