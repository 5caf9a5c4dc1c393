import Foundation
import STIX
@testable import STIXPattern
import TestSupport
import Testing

/// The correlation index finds every indicator an observation could match (its keys are a necessary condition) and
/// few others.
@Suite struct CorrelationIndexTests {
    static func observation(_ observables: [String]) throws -> JSONValue {
        let objects = observables.enumerated().map { i, body in
            body.replacingOccurrences(of: "ID", with: "x--\(i)")
        }
        let refs = objects.indices.map { "\"x--\($0)\"" }.joined(separator: ",")
        return try JSONParser().parse(#"{"type":"bundle","id":"bundle--1","objects":[{"type":"observed-data","id":"observed-data--1","number_observed":1,"first_observed":"2024-01-01T00:00:00Z","last_observed":"2024-01-01T00:00:00Z","object_refs":[\#(refs)]},\#(objects.joined(separator: ","))]}"#)
    }

    static func observables(_ bundle: JSONValue) -> [JSONValue] {
        (bundle["objects"]?.arrayValue ?? []).filter { $0["type"]?.stringValue != "observed-data" }
    }

    func matchingIDs(_ index: inout CorrelationIndex, _ bundle: JSONValue) throws -> Set<String> {
        var out = Set<String>()
        for h in index.candidates(Self.observables(bundle)) where try index.matches(h, observation: bundle, now: 0) {
            out.insert(index.entry(h)!.id)
        }
        return out
    }

    @Test func equalityAndInAreFoundByValue() throws {
        var index = CorrelationIndex()
        try index.add(id: "i1", pattern: "[ipv4-addr:value = '198.51.100.7']", validUntil: nil)
        try index.add(id: "i2", pattern: "[domain-name:value IN ('evil.example', 'bad.example')]", validUntil: nil)
        try index.add(id: "i3", pattern: "[file:hashes.'SHA-256' = 'aa11' AND file:size = 10]", validUntil: nil)
        let hit = try Self.observation([#"{"type":"ipv4-addr","id":"ID","value":"198.51.100.7"}"#,
                                        #"{"type":"domain-name","id":"ID","value":"bad.example"}"#,
                                        #"{"type":"file","id":"ID","hashes":{"SHA-256":"aa11"},"size":10}"#])
        #expect(try matchingIDs(&index, hit) == ["i1", "i2", "i3"])
        let miss = try Self.observation([#"{"type":"ipv4-addr","id":"ID","value":"198.51.100.8"}"#,
                                         #"{"type":"file","id":"ID","hashes":{"SHA-256":"aa11"},"size":11}"#])
        #expect(index.candidates(Self.observables(miss)).count == 1)  // the file is a candidate, evaluated, no match
        #expect(try matchingIDs(&index, miss).isEmpty)
    }

    @Test func referencesCIDRBlocksAndOtherOperatorsAreFound() throws {
        var index = CorrelationIndex()
        try index.add(id: "ref", pattern: "[network-traffic:dst_ref.value = '203.0.113.5']", validUntil: nil)
        try index.add(id: "cidr", pattern: "[ipv4-addr:value ISSUBSET '10.20.0.0/16']", validUntil: nil)
        try index.add(id: "regex", pattern: "[domain-name:value MATCHES '^x[0-9]+\\\\.example$']", validUntil: nil)
        try index.add(id: "none", pattern: "[ipv4-addr:value ISSUBSET '192.0.2.0/24']", validUntil: nil)
        let bundle = try Self.observation([
            #"{"type":"ipv4-addr","id":"x--0","value":"203.0.113.5"}"#,
            #"{"type":"network-traffic","id":"ID","dst_ref":"x--0","protocols":["tcp"]}"#,
            #"{"type":"ipv4-addr","id":"ID","value":"10.20.30.40"}"#,
            #"{"type":"domain-name","id":"ID","value":"x42.example"}"#,
        ])
        #expect(try matchingIDs(&index, bundle) == ["ref", "cidr", "regex"])
        // The block of 192.0.2.0/24 is not among the observation's keys.
        #expect(!index.candidates(Self.observables(bundle)).map { index.entry($0)!.id }.contains("none"))
    }

    @Test func removedAndExpiredIndicatorsStopMatching() throws {
        var index = CorrelationIndex()
        try index.add(id: "a", pattern: "[ipv4-addr:value = '198.51.100.7']", validUntil: nil)
        try index.add(id: "b", pattern: "[ipv4-addr:value = '198.51.100.7']", validUntil: 1_000)
        let bundle = try Self.observation([#"{"type":"ipv4-addr","id":"ID","value":"198.51.100.7"}"#])
        var found = Set<String>()
        for h in index.candidates(Self.observables(bundle)) where try index.matches(h, observation: bundle, now: 2_000) {
            found.insert(index.entry(h)!.id)
        }
        #expect(found == ["a"])
        index.remove(id: "a")
        #expect(try matchingIDs(&index, bundle) == ["b"])  // evaluated at time 0, before b's valid_until
        #expect(index.count == 1)
        #expect(throws: CorrelationIndex.Refusal.self) { try index.add(id: "c", pattern: "[not a pattern", validUntil: nil) }
    }

    /// Soundness on the OASIS matcher corpus: whenever the matcher finds a match, the indicator is a candidate.
    @Test func everyMatchOfTheMatcherCorpusIsACandidate() throws {
        let cases = try TestData.json("Tests/Conformance/patterns/matcher_cases.json").arrayValue ?? []
        var checked = 0
        for c in cases where c["stix_version"]?.stringValue == "2.1" && c["expected"]?.boolValue == true {
            guard let pattern = c["pattern"]?.stringValue, let data = c["observed_data"]?.arrayValue else { continue }
            var index = CorrelationIndex()
            guard (try? index.add(id: "p", pattern: pattern, validUntil: nil)) != nil else { continue }
            let objects = data.flatMap { Self.observables($0) }
            #expect(index.candidates(objects) == [0], "\(pattern)")
            checked += 1
        }
        #expect(checked > 150)
    }
}
