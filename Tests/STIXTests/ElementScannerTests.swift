import STIX
import TestSupport
import Testing

/// The streaming scanner finds the same objects as the whole-document parser, whatever the chunk boundaries, and
/// refuses every malformed document the parser refuses (the elements themselves are left to their parser).
@Suite struct ElementScannerTests {
    /// The elements of `bytes` and the skeleton's value, fed in chunks of `chunk` bytes.
    static func scan(_ bytes: [UInt8], chunk: Int, maxElementBytes: Int = 64 << 20) throws -> ([[UInt8]], JSONValue) {
        var scanner = ElementScanner(maxElementBytes: maxElementBytes)
        var elements: [[UInt8]] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunk)
            try bytes[start..<end].withUnsafeBufferPointer { try scanner.feed($0) { elements.append($0) } }
            start = end
        }
        return (elements, try scanner.finish())
    }

    @Test func findsTheParsersElementsAtEveryChunkSize() throws {
        let text = """
            \u{FEFF}{"type": "bundle", "id": "bundle--1", "x": {"objects": [1, 2]}, "objects": [
              {"type": "x", "id": "x--1", "s": "a \\" ] } , [ \\\\", "n": [1, {"k": []}]},
              "a string, with ] inside",  12.5e3 ,true,null,[],{}
            ], "tail": ["objects", {"objects": []}]}
            """
        let bytes = Array(text.utf8)
        let expected = try JSONParser().parseDocument(bytes).elementRanges.map { Array(bytes[$0]) }
        #expect(expected.count == 7)
        for chunk in [1, 2, 3, 7, 64, bytes.count] {
            let (elements, skeleton) = try Self.scan(bytes, chunk: chunk)
            #expect(elements == expected, "chunk \(chunk)")
            #expect(skeleton["tail"]?.arrayValue?.count == 2)
            #expect(skeleton["x"]?["objects"]?.arrayValue?.count == 2)
        }
    }

    @Test func findsEveryObjectOfARealBundle() throws {
        let bytes = try TestData.bytes("data/oasis-examples/apt1.json")
        let expected = try JSONParser().parseDocument(bytes).elementRanges.map { Array(bytes[$0]) }
        let (elements, _) = try Self.scan(bytes, chunk: 4096)
        #expect(elements == expected)
        #expect(elements.count > 50)
    }

    @Test func refusesWhatTheParserRefuses() {
        let cases: [(String, String)] = [
            (#"{"objects": [{"a":1},]}"#, "ends with a comma"),
            (#"{"objects": [{"a":1},,{"b":2}]}"#, "empty element"),
            (#"{"objects": [{"a":1} {"b":2}]}"#, "a comma or the end"),
            (#"{"objects": [{"a":1}] "#, "not valid JSON"),
            (#"{"objects": [{"a":1}]} trailing"#, "not valid JSON"),
            (#"{"objects": [{"a":1}], "objects": []}"#, "not valid JSON"),
            (#"{"objects": [{"a":1}"#, "ends inside"),
            (#"{"objects": {"a":1}}"#, "an 'objects' list"),
            (#"[{"a":1}]"#, "an 'objects' list"),
            (#"{"type": "bundle"}"#, "an 'objects' list"),
            (#"{"objects": [{"a":1}], "x": tru}"#, "not valid JSON"),
            (#"{"objects": [{"a": "x"}], 'y': 1}"#, "not valid JSON"),
        ]
        for (text, message) in cases {
            do {
                _ = try Self.scan(Array(text.utf8), chunk: 5)
                Issue.record("accepted \(text)")
            } catch {
                #expect("\(error)".contains(message), "\(text): \(error)")
            }
        }
    }

    @Test func aDocumentThatIsNotABundleIsSaidToBeWhatItIs() {
        func failure(_ text: String, chunk: Int = 4) -> ElementScanner.Failure? {
            do {
                _ = try Self.scan(Array(text.utf8), chunk: chunk)
                return nil
            } catch {
                return error as? ElementScanner.Failure
            }
        }
        // Not JSON: the position and the reason, as `validate` gives them, found at the first byte.
        #expect(failure("hello {")?.description == "not valid JSON: line 1, column 1 (byte 0): unexpected character 'h'")
        #expect(failure("\n  <html>")?.description.hasPrefix("not valid JSON: line 2, column 3 (byte 3)") == true)
        #expect(failure(#"{"a":1,"#)?.description.contains("truncated") == true)
        // JSON of another shape: what it is, and what to do.
        #expect(failure(#"{"type":"indicator","id":"indicator--x"}"#)?.description.contains("a single STIX object (of type 'indicator')") == true)
        #expect(failure(#"{"Event":{"info":"phishing"}}"#)?.description.contains("MISP JSON") == true)
        #expect(failure(#"{"response":[{"Event":{}}]}"#)?.description.contains("MISP JSON") == true)
        #expect(failure(#"[{"Event":{}}]"#)?.description.contains("list of MISP events") == true)
        #expect(failure(#"[{"type":"indicator"}]"#)?.description.contains("a JSON list, not a bundle") == true)
        #expect(failure(#"{"spec_version":"2.1"}"#)?.description.contains("no 'objects' list") == true)
        #expect(failure(#"{"spec_version":"2.1"}"#)?.located == true)
    }

    @Test func anElementLargerThanTheLimitIsRefusedWithoutBeingKept() {
        let text = #"{"objects": [{"a": "\#(String(repeating: "x", count: 5000))"}]}"#
        #expect(throws: ElementScanner.Failure.self) { _ = try Self.scan(Array(text.utf8), chunk: 100, maxElementBytes: 1000) }
    }
}
