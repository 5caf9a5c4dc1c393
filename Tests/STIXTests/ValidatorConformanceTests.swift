import Foundation
import STIX
import Testing

/// Runs Meridian's validator over every case of the OASIS reference validator's test suite
/// (Tests/Conformance/validator/cases.json, from stix2-validator 3.3.2) and compares verdicts.
@Suite struct ValidatorConformanceTests {
    /// Cases where Meridian deliberately differs from the reference, each with the reason.
    static let knownDisagreements: [String: String] = [:]

    struct Case {
        let index: Int
        let input: JSONValue?
        let options: ValidationOptions
        let expectedValid: Bool
        let source: String
    }

    static func loadCases() throws -> [Case] {
        guard case .array(let raw) = try TestData.json("Tests/Conformance/validator/cases.json") else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return raw.enumerated().map { index, c in
            var options = ValidationOptions()
            let o = c["options"]?.objectValue ?? JSONObject()
            options.strict = o["strict"]?.boolValue ?? false
            options.strictTypes = o["strict_types"]?.boolValue ?? false
            options.strictProperties = o["strict_properties"]?.boolValue ?? false
            options.enforceRefs = o["enforce_refs"]?.boolValue ?? false
            options.interop = o["interop"]?.boolValue ?? false
            options.version = o["version"]?.stringValue
            options.enabled = o["enabled"]?.arrayValue?.compactMap(\.stringValue) ?? []
            options.disabled = o["disabled"]?.arrayValue?.compactMap(\.stringValue) ?? []
            var input = c["object"]
            if let text = c["object_text"]?.stringValue { input = try? JSONParser().parse(text) }
            return Case(index: index, input: input, options: options, expectedValid: c["expected_valid"]?.boolValue ?? false,
                        source: c["source"]?.stringValue ?? "")
        }
    }

    static func verdict(_ c: Case) -> (Bool, String) {
        guard let input = c.input else { return (false, "not JSON") }
        do {
            let result = try Validator(options: c.options).validate(input)
            return (result.isValid, result.errors.map(\.description).joined(separator: " | "))
        } catch {
            return (false, "options refused: \(error)")
        }
    }

    @Test func validatorAgreesWithTheOASISReferenceOnEveryCase() throws {
        let cases = try Self.loadCases()
        #expect(cases.count == 546)
        var agree = 0
        var disagreements: [String] = []
        for c in cases {
            let (valid, detail) = Self.verdict(c)
            if valid == c.expectedValid {
                agree += 1
            } else if Self.knownDisagreements[c.source] == nil {
                disagreements.append("case \(c.index) expected valid=\(c.expectedValid) got \(valid) (\(c.source)): \(detail)")
            }
        }
        let percent = Double(agree) * 100 / Double(cases.count)
        print("validator conformance: \(agree)/\(cases.count) cases agree with stix2-validator 3.3.2 "
            + "(\(String(format: "%.1f", percent)) %), \(Self.knownDisagreements.count) known exceptions")
        for d in disagreements { print("DISAGREE " + d) }
        #expect(disagreements.isEmpty, "\(disagreements.count) unexplained disagreements")
    }
}
