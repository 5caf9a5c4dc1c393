import DocumentInput
import Foundation
import STIX
import STIXValidation
import TestSupport
import Testing

/// Every STIX file shipped in data/ is valid, and Meridian's warnings, counted by stix2-validator check code, equal
/// those stix2-validator 3.3.2 gave on the same files (data/VALIDATOR_BASELINE.json).
@Suite struct SampleDataTests {
    static func baseline() throws -> JSONObject {
        try TestData.json("data/VALIDATOR_BASELINE.json").objectValue!
    }

    static let files: [String] = (try? baseline().keys) ?? []

    @Test func theBaselineCoversEveryShippedSTIXFile() throws {
        #expect(Self.files.count == 16)
    }

    @Test(arguments: files)
    func shippedFileIsValidWithTheReferenceWarnings(_ file: String) throws {
        let bytes = try DocumentInput().read(TestData.url("data/" + file).path)
        let report = try Validator().validateDocument(bytes)
        let expected = try #require(Self.baseline()[file])
        #expect(report.isValid, "\(report.results.flatMap(\.errors).prefix(3))")
        #expect(report.results.count == expected["objects"]?.numberValue?.integer.map(Int.init))
        var counts: [String: Int64] = [:]
        for f in report.results.flatMap(\.warnings) + report.containerWarnings {
            counts[f.code ?? f.check, default: 0] += 1
        }
        var reference: [String: Int64] = [:]
        for m in expected["warnings_by_check_code"]?.objectValue ?? JSONObject() {
            reference[m.key] = m.value.numberValue?.integer
        }
        #expect(counts == reference)
    }
}
