import STIX
import Storage
import TAXII
import Testing

@Suite struct FilterTests {
    func parse(_ pairs: [(String, String)], _ endpoint: Filter.Endpoint = .objects) throws(TAXIIError) -> Filter {
        try Filter(pairs, endpoint: endpoint, defaultLimit: 100, maxLimit: 1000)
    }

    func status(_ pairs: [(String, String)], _ endpoint: Filter.Endpoint = .objects) -> Int? {
        do {
            _ = try parse(pairs, endpoint)
            return nil
        } catch {
            return error.status
        }
    }

    @Test func defaultsAreTheLatestVersionsAndTheDefaultLimit() throws {
        let f = try parse([])
        #expect(f.limit == 100)
        #expect(f.query.versions == .last)
        #expect(f.query.addedAfter == nil)
        #expect(try parse([], .versions).query.versions == .all)
    }

    @Test func parsesEveryFilter() throws {
        let f = try parse([("added_after", "2016-01-01T01:01:01.123456Z"), ("limit", "5000"), ("match[id]", "indicator--1,malware--2"),
                           ("match[type]", "indicator,malware"), ("match[version]", "first,2017-01-01T00:00:00.000Z"),
                           ("match[spec_version]", "2.1")])
        #expect(f.query.addedAfter == 1_451_610_061_123_456)
        #expect(f.limit == 1000, "capped at the server's maximum")
        #expect(f.query.ids == ["indicator--1", "malware--2"])
        #expect(f.query.types == ["indicator", "malware"])
        #expect(f.query.versions == .some(timestamps: [1_483_228_800_000_000], first: true, last: false))
        #expect(f.query.specVersions == ["2.1"])
    }

    @Test func malformedValuesAreBadRequests() {
        for (name, value) in [("limit", "0"), ("limit", "-3"), ("limit", "ten"), ("added_after", "2016-01-01"),
                              ("added_after", "2016-01-01T00:00:00+01:00"), ("match[version]", "all,first"),
                              ("match[version]", "newest"), ("match[type]", "Indicator"), ("match[type]", "a,,b"),
                              ("match[id]", "not-an-id"), ("match[spec_version]", "2.2"), ("next", "xyz")] {
            #expect(status([(name, value)]) == 400, "\(name)=\(value)")
        }
    }

    @Test func unknownAndRepeatedParametersAreBadRequests() {
        #expect(status([("match[colour]", "red")]) == 400)
        #expect(status([("limit", "1"), ("limit", "2")]) == 400)
        #expect(status([("match[type]", "indicator")], .versions) == 400, "versions take no type filter")
        #expect(status([("limit", "5")], .delete) == 400, "delete takes only version filters")
    }

    @Test func theNextCursorRoundTripsAndRejectsForgeries() {
        for value: Int64 in [0, 1, 1_700_000_000_123_456, Int64.max] {
            #expect(Cursor.decode(Cursor.encode(value)) == value)
        }
        #expect(Cursor.decode("") == nil)
        #expect(Cursor.decode("n!!") == nil)
        #expect(Cursor.decode("x123") == nil)
    }

    @Test func taxiiTimestampsHaveMicroseconds() {
        #expect(TAXIITimestamp.format(1_451_610_061_123_456) == "2016-01-01T01:01:01.123456Z")
        #expect(TAXIITimestamp.format(0) == "1970-01-01T00:00:00.000000Z")
        #expect(TAXIITimestamp.parse("2016-01-01T01:01:01.123456Z") == 1_451_610_061_123_456)
        #expect(TAXIITimestamp.parse("2016-01-01T01:01:01Z") == 1_451_610_061_000_000)
    }

    @Test func negotiatesTheTAXIIMediaType() {
        #expect(MediaType.accepts("application/taxii+json;version=2.1"))
        #expect(MediaType.accepts("application/taxii+json"))
        #expect(MediaType.accepts("text/html, application/taxii+json; version=2.1"))
        #expect(MediaType.accepts("*/*"))
        #expect(!MediaType.accepts("application/taxii+json;version=2.0"))
        #expect(!MediaType.accepts("application/json"))
        #expect(!MediaType.accepts(nil))
        #expect(MediaType.isTAXII(contentType: "application/taxii+json;version=2.1"))
        #expect(!MediaType.isTAXII(contentType: "application/stix+json;version=2.1"))
    }

    @Test func errorResourcesCarryTheirStatus() {
        let e = TAXIIError.badRequest("limit must be a positive integer")
        #expect(e.json == #"{"title":"Bad request","description":"limit must be a positive integer","http_status":"400"}"#)
    }
}
