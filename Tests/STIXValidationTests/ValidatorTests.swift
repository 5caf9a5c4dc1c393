import Foundation
import STIX
import STIXValidation
import TestSupport
import Testing

@Suite struct ValidatorTests {
    static let indicator = #"""
        {"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","name":"C2","description":"C2 address",
         "indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix",
         "valid_from":"2016-01-01T00:00:00Z"}
        """#

    func validate(_ text: String, _ options: ValidationOptions = ValidationOptions()) throws -> ValidationResult {
        try Validator(options: options).validate(TestData.object(text))
    }

    func mutated(_ text: String, _ change: (inout JSONObject) -> Void) throws -> String {
        var o = try TestData.object(text).objectValue!
        change(&o)
        return JSONValue.object(o).serialized()
    }

    @Test func acceptsAValidIndicator() throws {
        let r = try validate(Self.indicator, ValidationOptions(strict: true))
        #expect(r.isValid, "\(r.errors)")
    }

    @Test func anObjectOfManyPropertiesCheckedInSlicesHasTheFindingsItHasWhenCheckedWhole() throws {
        // Past Schema.membersInSlices members, an object's members are checked in slices on several threads; the
        // findings (errors, their paths and order, and the warnings) must be those of the same object checked whole.
        func object(customProperties n: Int) throws -> JSONValue {
            var text = String(Self.indicator.dropLast()).replacingOccurrences(of: #""name":"C2","#, with: "")
            for i in 0..<n { text += #","x_acme_p\#(i)":\#(i)"# }
            text += #","name":7,"x_acme_late":1,"kill_chain_phases":[{"kill_chain_name":"k","phase_name":3}],"X":1}"#
            return try TestData.object(text)
        }
        let validator = try Validator()
        let few = validator.validate(try object(customProperties: 10))
        let many = validator.validate(try object(customProperties: 40_000))
        #expect(!few.errors.isEmpty)
        #expect(few.errors.map(\.message) == many.errors.map(\.message))
        #expect(few.errors.map(\.path) == many.errors.map(\.path))
        #expect(few.errors.contains { $0.path.description == "name" })
        #expect(few.errors.contains { $0.path.description == "kill_chain_phases[0].phase_name" })
        #expect(Set(few.warnings.map(\.check)) == Set(many.warnings.map(\.check)))
    }

    @Test func aMissingRequiredPropertyNamesTheObjectAndTheProperty() throws {
        let r = try validate(mutated(Self.indicator) { $0["pattern"] = nil })
        let e = try #require(r.errors.first)
        #expect(e.objectID == "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
        #expect(e.message.contains("'pattern' is a required property"))
        #expect(e.check == "schema")
    }

    @Test func aWrongTypeNamesTheJSONPath() throws {
        let r = try validate(mutated(Self.indicator) {
            $0["kill_chain_phases"] = .array([.object(JSONObject(["kill_chain_name": .string("lockheed"), "phase_name": .number(JSONNumber(3))]))])
        })
        #expect(r.errors.contains { $0.path.description == "kill_chain_phases[0].phase_name" && $0.message.contains("not of type 'string'") })
    }

    @Test func modifiedBeforeCreatedIsAnError() throws {
        let r = try validate(mutated(Self.indicator) { $0["modified"] = .string("2015-01-01T00:00:00.000Z") })
        #expect(r.errors.contains { $0.check == "timestamp-compare" && $0.path.description == "modified" })
    }

    @Test func anImpossibleDateIsAnError() throws {
        let r = try validate(mutated(Self.indicator) { $0["valid_from"] = .string("2016-02-30T00:00:00Z") })
        #expect(r.errors.contains { $0.check == "timestamp" })
    }

    @Test func shouldRulesAreWarningsUnlessStrict() throws {
        let text = try mutated(Self.indicator) { $0["indicator_types"] = .array([.string("Malicious Activity")]) }
        let lax = try validate(text)
        #expect(lax.isValid)
        #expect(lax.warnings.contains { $0.check == "open-vocab-format" && $0.code == "111" })
        let strict = try validate(text, ValidationOptions(strict: true))
        #expect(!strict.isValid)
        #expect(strict.errors.contains { $0.check == "open-vocab-format" })
    }

    @Test func checksCanBeDisabledByNameOrCode() throws {
        let text = try mutated(Self.indicator) { $0["indicator_types"] = .array([.string("Malicious Activity")]) }
        #expect(try validate(text, ValidationOptions(strict: true, disabled: ["open-vocab-format", "indicator-types"])).isValid)
        #expect(try validate(text, ValidationOptions(strict: true, disabled: ["111", "214"])).isValid)
    }

    @Test func anUnknownCheckIsRefused() {
        #expect(throws: ValidationOptionsError.self) { try Validator(options: ValidationOptions(enabled: ["no-such-check"])) }
    }

    @Test func customPropertiesAreKeptAndWarnedAboutNotRefused() throws {
        let r = try validate(mutated(Self.indicator) { $0["x_acme_score"] = .number(JSONNumber(5)) })
        #expect(r.isValid)
        #expect(r.warnings.contains { $0.check == "extensions-use" && $0.message.contains("x_acme_score") })
    }

    @Test func anUnknownObjectTypeIsValidatedAgainstTheCommonRules() throws {
        let custom = #"{"type":"x-acme-widget","spec_version":"2.1","id":"x-acme-widget--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","x_size":3}"#
        #expect(try validate(custom).isValid)
        let bad = try mutated(custom) { $0["created"] = .string("yesterday") }
        #expect(!(try validate(bad).isValid))
    }

    @Test func granularMarkingSelectorsMustPointIntoTheObject() throws {
        let r = try validate(mutated(Self.indicator) {
            $0["granular_markings"] = .array([.object(JSONObject([
                "marking_ref": .string("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"),
                "selectors": .array([.string("description"), .string("no_such_property")]),
            ]))])
        })
        #expect(r.errors.count == 1)
        #expect(r.errors.first?.check == "marking-selector-syntax")
        #expect(r.errors.first?.message.contains("no_such_property") == true)
    }

    @Test func aRelationshipNeedsItsReferences() throws {
        let rel = #"{"type":"relationship","spec_version":"2.1","id":"relationship--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","relationship_type":"indicates","source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}"#
        let r = try validate(rel)
        #expect(r.errors.contains { $0.message.contains("'target_ref' is a required property") })
    }

    @Test func documentsOfEveryShapeGetOneResultPerObjectInOrder() throws {
        let validator = try Validator()
        let parser = JSONParser()
        let good = Self.indicator
        let bad = try mutated(Self.indicator) { $0["id"] = .string("indicator--nope") }
        for text in ["[\(good),\(bad)]", #"{"more":false,"objects":[\#(good),\#(bad)]}"#,
                     #"{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[\#(good),\#(bad)]}"#] {
            let report = try validator.validateDocument(Array(text.utf8), parser: parser)
            #expect(report.results.map(\.index) == [0, 1])
            #expect(report.results.map(\.isValid) == [true, false])
            #expect(!report.isValid)
        }
    }

    @Test func duplicateVersionsInABundleAreReportedOnTheBundle() throws {
        let validator = try Validator()
        let text = #"{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[\#(Self.indicator),\#(Self.indicator)]}"#
        let root = try TestData.object(text)
        let objects = root["objects"]!.arrayValue!
        let report = validator.validateDocument(root: root, elementCount: 2) { i in objects[i] }
        #expect(report.containerWarnings.contains { $0.check == "duplicate-ids" })
    }

    @Test func aNonObjectInputIsInvalidNotACrash() throws {
        let report = try Validator().validateDocument(root: .string("hello"), elementCount: 0) { _ in .null }
        #expect(!report.isValid)
        #expect(report.containerErrors.first?.message.contains("not a STIX object") == true)
    }
}
