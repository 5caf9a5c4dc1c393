import Foundation
import STIX
import STIXPattern
import TestSupport
import Testing

/// Runs the pattern parser over the OASIS pattern validator's syntax cases (stix2-patterns 2.1.2) and the
/// parse-error cases of the pattern matcher (Tests/Conformance/patterns).
@Suite struct PatternSyntaxConformanceTests {
    static func cases(_ file: String) throws -> [JSONValue] {
        try TestData.json("Tests/Conformance/patterns/" + file).arrayValue ?? []
    }

    @Test func parserAgreesWithStix2PatternsOnEverySyntaxCase() throws {
        let cases = try Self.cases("pattern_syntax_cases.json")
        #expect(cases.count == 107)
        var disagreements: [String] = []
        for (i, c) in cases.enumerated() {
            guard let pattern = c["pattern"]?.stringValue, let expected = c["expected_valid"]?.boolValue else { continue }
            let result = Result { () throws(PatternError) -> Pattern in try Pattern(pattern) }
            let valid = (try? result.get()) != nil
            if valid != expected {
                let why = (try? result.get()) == nil ? "\(result)" : "accepted"
                disagreements.append("case \(i) \(pattern) expected valid=\(expected): \(why)")
            }
        }
        print("pattern syntax conformance: \(cases.count - disagreements.count)/\(cases.count) cases agree with stix2-patterns 2.1.2")
        for d in disagreements { print("DISAGREE " + d) }
        #expect(disagreements.isEmpty)
    }

    /// The two OASIS tools conflict on a pattern that applies the same qualifier twice: stix2-matcher evaluates it,
    /// stix2-patterns (which stix2-validator uses to check indicators) refuses it ("Duplicate qualifier type
    /// encountered"). Meridian follows the validator, so every tool that checks indicators agrees on their validity.
    static let duplicateQualifierPatterns: Set<String> = [
        "[person:age < 20] REPEATS 2 TIMES REPEATS 2 TIMES", "[person:age < 20] REPEATS 2 TIMES REPEATS 3 TIMES",
    ]

    @Test func everyMatcherCasePatternParses() throws {
        let cases = try Self.cases("matcher_cases.json").filter { $0["stix_version"]?.stringValue == "2.1" }
        #expect(cases.count == 378)
        var failures: [String] = []
        var refusedDuplicates = 0
        for c in cases {
            guard let pattern = c["pattern"]?.stringValue else { continue }
            do {
                _ = try Pattern(pattern)
            } catch {
                if Self.duplicateQualifierPatterns.contains(pattern) && error.message.contains("duplicate qualifier") {
                    refusedDuplicates += 1
                } else {
                    failures.append("\(pattern): \(error)")
                }
            }
        }
        #expect(refusedDuplicates == 2)
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }
}
