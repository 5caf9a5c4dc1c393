import STIX
import TestSupport
import Testing

@Suite struct CoreTests {
    @Test func registryHasEveryTypeOfTheSpecification() {
        #expect(STIXType.domainObjects.count == 19)
        #expect(STIXType.relationshipObjects.count == 2)
        #expect(STIXType.cyberObservables.count == 18)
        #expect(STIXType.metaObjects == ["marking-definition", "language-content", "extension-definition"])
        #expect(Set(STIXType.all).count == 43)
        #expect(STIXType.category(of: "sighting") == .relationshipObject)
        #expect(STIXType.category(of: "x-acme-widget") == nil)
        #expect(STIXType.idContributingProperties["process"] == nil)
    }

    @Test func typeNamesFollowTheIdentifierRules() {
        #expect(STIXType.isValidTypeName("x-acme-widget"))
        #expect(!STIXType.isValidTypeName("ab"))
        #expect(!STIXType.isValidTypeName("Bad-type"))
        #expect(!STIXType.isValidTypeName("double--hyphen"))
        #expect(!STIXType.isValidTypeName("corpo_ration"))
    }

    @Test func parsesIdentifiersAndTheirUUIDVersion() throws {
        let id = try #require(Identifier("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"))
        #expect(id.type == "indicator")
        #expect(id.uuidVersion == 4)
        #expect(Identifier("indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f") == nil)
        #expect(Identifier("indicator--not-a-uuid") == nil)
        // The type is everything before the last `--`; the UUID the 36 characters after it, nothing more or less.
        #expect(Identifier("x-a---8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")?.type == "x-a-")
        #expect(Identifier("x-é--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F")?.description == "x-é--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
        #expect(Identifier("--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f") == nil)
        #expect(Identifier("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3") == nil)
        #expect(Identifier("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3ff") == nil)
        #expect(Identifier("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3é") == nil)
        #expect(Identifier("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f--") == nil)
    }

    /// Expected values computed with python-stix2 (`stix2.IPv4Address(value=...)`), an independent implementation.
    @Test func deterministicObservableIdentifiersMatchPythonSTIX2() throws {
        let ip = try TestData.object(#"{"type":"ipv4-addr","value":"198.51.100.3"}"#)
        #expect(Identifier.deterministic(for: ip.objectValue!)?.description == "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4")
        let file = try TestData.object(
            #"{"type":"file","name":"foo.exe","hashes":{"SHA-256":"\#(String(repeating: "a", count: 64))","MD5":"\#(String(repeating: "b", count: 32))"}}"#)
        #expect(Identifier.deterministic(for: file.objectValue!)?.description == "file--c4c24dce-f900-51ae-9487-797a73702c7d")
        let process = try TestData.object(#"{"type":"process","pid":4}"#)
        #expect(Identifier.deterministic(for: process.objectValue!) == nil)
    }

    @Test func timestampsCompareAsInstantsWhateverTheirPrecision() throws {
        let a = try #require(Timestamp("2016-04-06T20:03:48Z"))
        let b = try #require(Timestamp("2016-04-06T20:03:48.000Z"))
        let c = try #require(Timestamp("2016-04-06T20:03:48.0001Z"))
        #expect(a == b)
        #expect(b < c)
        #expect(c.precisionDigits == 4)
        #expect(try #require(Timestamp("1999-12-31T23:59:59.999Z")) < a)
        // Fractions compare digit by digit, the shorter as if padded with zeros.
        let half = try #require(Timestamp("2016-04-06T20:03:48.5Z"))
        #expect(try #require(Timestamp("2016-04-06T20:03:48.49999Z")) < half)
        #expect(!(half < c) && c < half)
        #expect(try #require(Timestamp("2016-04-06T20:03:48.10Z")) == Timestamp("2016-04-06T20:03:48.1Z"))
        #expect(try #require(Timestamp("2016-04-06T20:03:48.01Z")) > c)
    }

    @Test func readsTheVersionOfAUUID() {
        #expect(Identifier.version(ofUUID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8") == 1)
        #expect(Identifier.version(ofUUID: "0a0a0a0a-0000-4000-8000-00000000000a") == 4)
        #expect(Identifier.version(ofUUID: "00abedb4-aa42-566c-9c01-fed23315a9b7") == 5)
        #expect(Identifier.version(ofUUID: "00abedb4-aa42-F66c-9c01-fed23315a9b7") == 15)
        for text in ["00abedb4-aa42-466c-9c01-fed23315a9b", "00abedb4aaa42-466c-9c01-fed23315a9b7", "00abedb4-aa42-466c-9c01-fed23315a9bg", ""] {
            #expect(Identifier.version(ofUUID: text) == nil, "\(text)")
            #expect(!Identifier.isUUID(text))
        }
    }

    @Test func refusesTimestampsThatAreNotRFC3339InUTC() {
        for text in ["2016-04-06T20:03:48", "2016-04-06 20:03:48Z", "2016-04-06T20:03:48+01:00", "2016-02-30T00:00:00Z",
                     "2015-02-29T00:00:00Z", "2016-13-01T00:00:00Z", "2016-04-06T24:00:00Z", "2016-04-06T20:03:48.Z"] {
            #expect(Timestamp(text) == nil, "\(text)")
        }
        #expect(Timestamp("2016-02-29T00:00:00Z") != nil)
    }

    @Test func versionIsModifiedElseCreatedElseNone() throws {
        let sdo = try TestData.object(#"{"id":"campaign--1","created":"2020-01-01T00:00:00.000Z","modified":"2021-01-01T00:00:00.000Z"}"#)
        #expect(ObjectVersion(of: sdo.objectValue!)?.version?.text == "2021-01-01T00:00:00.000Z")
        let marking = try TestData.object(#"{"id":"marking-definition--1","created":"2020-01-01T00:00:00.000Z"}"#)
        #expect(ObjectVersion(of: marking.objectValue!)?.version?.text == "2020-01-01T00:00:00.000Z")
        let sco = try TestData.object(#"{"id":"ipv4-addr--1","value":"10.0.0.1"}"#)
        #expect(ObjectVersion(of: sco.objectValue!)?.version == nil)
    }

    @Test func knowsTheTLPMarkingIds() {
        #expect(TLP(markingID: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003") == .amberStrict)
        #expect(TLP(markingID: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9") == .clear)
        #expect(TLP(markingID: "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed") == .red)
        #expect(TLP.amberStrict.v1ID == nil)
        #expect(TLP.red.name == "TLP:RED")
        #expect(TLP.allCases.sorted() == [.clear, .green, .amber, .amberStrict, .red])
        #expect(TLP.isReserved(TLP.green.v2ID))
        #expect(!TLP.isReserved("marking-definition--00000000-0000-4000-8000-000000000000"))
    }
}
