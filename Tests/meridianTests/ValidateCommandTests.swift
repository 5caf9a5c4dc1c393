import Foundation
import STIX
import STIXValidation
import TestSupport
import Testing

/// Runs the real `meridian` binary the way an analyst would.
@Suite struct ValidateCommandTests {
    static let repository = TestData.root

    static var binary: URL {
        // The test bundle sits beside the products in the build folder.
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("meridian").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("meridian")
    }

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    func run(_ arguments: [String], stdin: [UInt8]? = nil) throws -> Run {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        process.currentDirectoryURL = Self.repository
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin))
            try input.fileHandleForWriting.close()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func temporaryFile(_ bytes: [UInt8]) throws -> String {
        try TestData.temporaryFile(bytes)
    }

    static let invalidBundle = #"""
        {"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[
          {"type":"campaign","spec_version":"2.1","id":"campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
           "created":"2016-04-06T20:03:00.000Z","modified":"2016-04-06T20:03:00.000Z","name":"Green Group Attacks"},
          {"type":"campaign","spec_version":"2.1","id":"campaign--0e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
           "created":"2016-04-06T20:03:00.000Z","modified":"2016-04-06T20:03:00.000Z"}]}
        """#

    @Test func validSampleDataExitsZero() throws {
        let r = try run(["validate", "data/oasis-examples/poisonivy.json", "data/disarm/DISARM.json.gz"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("poisonivy.json: valid: bundle of 155 objects"))
    }

    @Test func anInvalidObjectExitsOneAndNamesObjectPathAndRule() throws {
        let r = try run(["validate", try temporaryFile(Array(Self.invalidBundle.utf8))])
        #expect(r.status == 1)
        #expect(r.stdout.contains("[1] campaign--0e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f: error: 'name' is a required property [schema]"))
        #expect(r.stdout.contains("INVALID: bundle of 2 objects, 1 valid, 1 invalid"))
    }

    @Test func jsonOutputHasOneResultPerObjectInInputOrder() throws {
        let r = try run(["validate", "--json", try temporaryFile(Array(Self.invalidBundle.utf8))])
        #expect(r.status == 1)
        let doc = try JSONParser().parse(Array(r.stdout.utf8))
        let results = try #require(doc["results"]?.arrayValue)
        #expect(results.map { $0["index"]?.numberValue?.integer } == [0, 1])
        #expect(results.map { $0["valid"]?.boolValue } == [true, false])
        #expect(results[1]["id"]?.stringValue == "campaign--0e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
        #expect(results[1]["errors"]?.arrayValue?.first?["check"]?.stringValue == "schema")
        #expect(results[0]["warnings"]?.arrayValue != nil)
    }

    @Test func strictTurnsWarningsIntoErrors() throws {
        let lax = try run(["validate", "data/misp/event1_stix21.json"])
        #expect(lax.status == 0)
        let strict = try run(["validate", "--strict", "data/misp/event1_stix21.json"])
        #expect(strict.status == 1)
        #expect(strict.stdout.contains("[uuid-check 103]"))
        let relaxed = try run(["validate", "--strict", "--disable", "uuid-check,121,indicator-properties",
                               "--disable", "relationship-types", "data/misp/event1_stix21.json"])
        #expect(relaxed.status == 0, "\(relaxed.stdout)")
    }

    @Test func readsStandardInput() throws {
        let bytes = Array(try Data(contentsOf: Self.repository.appendingPathComponent("data/oasis-examples/apt1.json")))
        let r = try run(["validate", "-"], stdin: bytes)
        #expect(r.status == 0)
        #expect(r.stdout.contains("<stdin>: valid: bundle of 76 objects"))
    }

    @Test func badInputExitsTwoWithAClearMessage() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        var huge = [UInt8](repeating: UInt8(ascii: "a"), count: 100 << 20)
        huge[0] = UInt8(ascii: "[")
        huge[1] = UInt8(ascii: "\"")
        let cases: [(String, [UInt8], String)] = [
            ("truncated", Array(Self.invalidBundle.utf8.prefix(200)), "ends before the JSON value is complete"),
            ("malformed", Array(#"{"type": "bundle", "objects": [}"#.utf8), "line 1, column 32"),
            ("empty", [], "the input is empty"),
            ("invalid UTF-8", [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D], "not valid UTF-8"),
            ("duplicate keys", Array(#"{"type":"campaign","type":"indicator"}"#.utf8), "duplicate key 'type'"),
            ("number out of range", Array(#"{"type":"campaign","confidence":1e999}"#.utf8), "number out of range"),
            ("10,000 levels", Array(deep.utf8), "nesting deeper than"),
            ("100 MB string", huge, "a string longer than"),
        ]
        for (name, bytes, message) in cases {
            let r = try run(["validate", try temporaryFile(bytes)])
            #expect(r.status == 2, "\(name)")
            #expect(r.stderr.contains(message), "\(name): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(name)")
        }
    }

    @Test func unreadableInputsExitTwo() throws {
        let missing = try run(["validate", "/nonexistent.json"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent.json: no such file"))
        let unknownCheck = try run(["validate", "--enable", "no-such-check", "data/oasis-examples/apt1.json"])
        #expect(unknownCheck.status == 2)
        #expect(unknownCheck.stderr.contains("'no-such-check' is not a valid check"))
    }
}
