import Foundation
import Policy
import STIX
import TestSupport
import Testing

/// What the node makes of marking-definitions and of objects' marking properties.
@Suite struct MarkingTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser().parse(text) }

    @Test func aStatementMarkingIsUnderstood() throws {
        let d = try parse(#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168","created":"2017-06-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright MITRE"}}"#)
        #expect(MarkingKind.classify(d) == .statement)
    }

    @Test func aReleasabilityMarkingCarriesItsList() throws {
        let d = Releasability.markingDefinition(id: "marking-definition--22222222-2222-4222-8222-222222222222", name: "REL TO nato",
                                                releasableTo: ["nato", "AUS"], createdBy: nil, created: "2026-01-01T00:00:00Z")
        #expect(MarkingKind.classify(d) == .releasability(["nato", "AUS"]))
    }

    @Test func malformedReleasabilityAndOtherExtensionsAreUnrecognized() throws {
        let ext = Releasability.extensionID
        for body in [#"{"extension_type":"property-extension","releasable_to":"nato"}"#,
                     #"{"extension_type":"property-extension","releasable_to":[1]}"#,
                     #"{"extension_type":"property-extension","releasable_to":[""]}"#,
                     #"{"extension_type":"property-extension","releasable_to":["a b"]}"#,
                     #"{"extension_type":"property-extension"}"#,
                     #"{"extension_type":"toplevel-property-extension","releasable_to":["nato"]}"#] {
            let d = try parse(#"{"type":"marking-definition","id":"marking-definition--22222222-2222-4222-8222-222222222222","extensions":{"\#(ext)":\#(body)}}"#)
            guard case .unrecognized = MarkingKind.classify(d) else {
                Issue.record("\(body) should be unrecognized")
                continue
            }
        }
        let other = try parse(#"{"type":"marking-definition","id":"marking-definition--22222222-2222-4222-8222-222222222222","extensions":{"extension-definition--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa":{"extension_type":"property-extension"}}}"#)
        #expect(MarkingKind.classify(other) != .statement)
    }

    @Test func aLookAlikeTLPWithAnotherIdIsNotTLP() throws {
        let d = try parse(#"{"type":"marking-definition","id":"marking-definition--22222222-2222-4222-8222-222222222222","name":"TLP:WHITE","definition_type":"tlp","definition":{"tlp":"white"}}"#)
        guard case .unrecognized = MarkingKind.classify(d) else { Issue.record("look-alike TLP accepted"); return }
    }

    @Test func tlpIdsAreRecognisedByIdAloneAndCannotBeRedefined() throws {
        var registry = MarkingRegistry()
        registry.learn(TLP.red.v2ID, as: .statement)
        registry.set(TLP.red.v2ID, as: .nonRestrictive)
        #expect(registry.kind(of: TLP.red.v2ID) == .tlp(.red))
        #expect(registry.kind(of: TLP.clear.v1ID!) == .tlp(.clear))
        let forged = try parse(#"{"type":"marking-definition","id":"\#(TLP.red.v2ID)","created":"2022-10-01T00:00:00.000Z","name":"TLP:RED","extensions":{"\#(TLP.extensionDefinitionID)":{"extension_type":"property-extension","tlp_2_0":"clear"}}}"#)
        #expect(TLP.redefinition(in: forged.objectValue!)?.contains("may not redefine") == true)
        let genuine = try parse(#"{"type":"marking-definition","id":"\#(TLP.red.v2ID)","created":"2022-10-01T00:00:00.000Z","name":"TLP:RED","extensions":{"\#(TLP.extensionDefinitionID)":{"extension_type":"property-extension","tlp_2_0":"red"}}}"#)
        #expect(TLP.redefinition(in: genuine.objectValue!) == nil)
        let v1 = try parse(#"{"type":"marking-definition","id":"\#(TLP.clear.v1ID!)","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","definition":{"tlp":"red"}}"#)
        #expect(TLP.redefinition(in: v1.objectValue!) != nil)
    }

    @Test func twoDefinitionsThatDisagreeCancelOutUnlessTheOwnerDecides() {
        let id = "marking-definition--22222222-2222-4222-8222-222222222222"
        var registry = MarkingRegistry()
        registry.learn(id, as: .releasability(["nato"]))
        registry.learn(id, as: .releasability(["nato"]))
        #expect(registry.kind(of: id) == .releasability(["nato"]))
        registry.learn(id, as: .releasability(["nato", "ip4"]))
        guard case .unrecognized? = registry.kind(of: id) else { Issue.record("conflict not detected"); return }
        registry.set(id, as: .releasability(["ip4"]))
        #expect(registry.kind(of: id) == .releasability(["ip4"]))
    }

    @Test func markingPropertiesAreReadAndMalformedOnesFlagged() throws {
        func refs(_ text: String) throws -> MarkingRefs { MarkingRefs(of: try parse(text).objectValue!) }
        let ok = try refs(#"{"object_marking_refs":["marking-definition--1"],"granular_markings":[{"lang":"en","selectors":["name"]},{"marking_ref":"marking-definition--2","selectors":["x"]}]}"#)
        #expect(ok == MarkingRefs(objectRefs: ["marking-definition--1"], granularRefs: ["marking-definition--2"], malformed: false))
        #expect(try refs(#"{"object_marking_refs":"marking-definition--1"}"#).malformed)
        #expect(try refs(#"{"object_marking_refs":["identity--1"]}"#).malformed)
        #expect(try refs(#"{"granular_markings":[{"selectors":["x"]}]}"#).malformed)
        #expect(try refs(#"{"granular_markings":[{"marking_ref":7}]}"#).malformed)
        #expect(try refs(#"{"granular_markings":{}}"#).malformed)
    }

    @Test func releasabilityMatchesByOrgIdGroupOrCountryExactly() {
        let p = SharingTableTests.partnership
        #expect(p.matches("cert", releasableTo: ["cert"]))
        #expect(p.matches("cert", releasableTo: ["ip4"]))
        #expect(p.matches("cert", releasableTo: ["JPN"]))
        #expect(!p.matches("cert", releasableTo: ["jpn", "IP4", "Cert"]))
        #expect(!p.matches("cert", releasableTo: []))
        #expect(!p.matches("unknown-org", releasableTo: ["unknown-org"]))
    }
}

/// The extension-definition the project publishes is the one the code recognises.
@Suite struct PublishedExtensionTests {
    @Test func thePublishedExtensionDefinitionMatchesTheCode() throws {
        let bundle = try TestData.json("docs/extensions/releasability-extension.json")
        let objects = try #require(bundle["objects"]?.arrayValue)
        let published = try #require(objects.first { $0["type"]?.stringValue == "extension-definition" })
        #expect(published == Releasability.extensionDefinition)
        let example = try #require(objects.first { $0["type"]?.stringValue == "marking-definition" })
        #expect(MarkingKind.classify(example) == .releasability(["nato", "AUS", "NZL"]))
    }
}
