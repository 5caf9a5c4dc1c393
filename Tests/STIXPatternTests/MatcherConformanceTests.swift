import Foundation
import STIX
import STIXPattern
import TestSupport
import Testing

/// Runs the pattern matcher over every case of the OASIS pattern matcher's own tests (stix2-matcher 3.0.0,
/// Tests/Conformance/patterns): 389 match/no-match cases and 33 cases it must refuse. Target: every case agrees;
/// no exception is listed.
@Suite struct MatcherConformanceTests {
    static func cases(_ file: String) throws -> [JSONValue] {
        try TestData.json("Tests/Conformance/patterns/" + file).arrayValue ?? []
    }

    @Test func matcherAgreesWithStix2MatcherOnEveryCase() throws {
        let cases = try Self.cases("matcher_cases.json")
        #expect(cases.count == 389)
        var disagreements: [String] = []
        for (i, c) in cases.enumerated() {
            guard let pattern = c["pattern"]?.stringValue, let expected = c["expected"]?.boolValue,
                let observed = c["observed_data"]?.arrayValue, let version = c["stix_version"]?.stringValue
            else { continue }
            do {
                let matched = try PatternMatcher(pattern, stixVersion: version).matches(observed)
                if matched != expected { disagreements.append("case \(i) [\(version)] \(pattern): expected \(expected), got \(matched)") }
            } catch {
                disagreements.append("case \(i) [\(version)] \(pattern): expected \(expected), got error \(error)")
            }
        }
        print("matcher conformance: \(cases.count - disagreements.count)/\(cases.count) cases agree with stix2-matcher 3.0.0")
        for d in disagreements { print("DISAGREE " + d) }
        #expect(disagreements.isEmpty)
    }

    @Test func matcherRefusesEveryErrorCaseTheWayStix2MatcherDoes() throws {
        let cases = try Self.cases("matcher_error_cases.json")
        #expect(cases.count == 33)
        var disagreements: [String] = []
        for (i, c) in cases.enumerated() {
            guard let pattern = c["pattern"]?.stringValue, let expected = c["expected_error"]?.stringValue,
                let observed = c["observed_data"]?.arrayValue, let version = c["stix_version"]?.stringValue
            else { continue }
            do {
                let matched = try PatternMatcher(pattern, stixVersion: version).matches(observed)
                disagreements.append("case \(i) \(pattern): expected \(expected), got matched=\(matched)")
            } catch {
                // A pattern that does not parse is a parse error; one that parses fails while evaluating.
                let kind = error.kind == .parse ? "ParseException" : "MatcherException"
                if kind != expected { disagreements.append("case \(i) \(pattern): expected \(expected), got \(kind): \(error)") }
            }
        }
        print("matcher error conformance: \(cases.count - disagreements.count)/\(cases.count) cases agree")
        for d in disagreements { print("DISAGREE " + d) }
        #expect(disagreements.isEmpty)
    }
}
