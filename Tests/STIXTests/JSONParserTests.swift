import STIX
import TestSupport
import Testing

@Suite struct JSONParserTests {
    /// Why `text` does not parse (nil when it does); checking it without building values must say exactly the same.
    func reason(_ text: [UInt8], limits: JSONLimits = .default) -> JSONParseError.Reason? {
        let parser = JSONParser(limits: limits)
        var parsed: JSONParseError? = nil
        do { _ = try parser.parse(text) } catch { parsed = error }
        var checked: JSONParseError? = nil
        do { try parser.check(text, range: 0..<text.count) } catch { checked = error }
        #expect(checked == parsed, "check and parse disagree on \(String(decoding: text.prefix(80), as: UTF8.self))")
        return parsed?.reason
    }

    @Test func checkingAcceptsWhatParsingAccepts() throws {
        for path in ["data/oasis-examples/apt1.json", "data/oasis-examples/poisonivy.json"] {
            let bytes = try TestData.bytes(path)
            #expect(reason(bytes) == nil, "\(path)")
            let document = try JSONParser().parseDocument(bytes, retainElements: false)
            for range in document.elementRanges { try JSONParser().check(bytes, range: range) }
        }
        #expect(reason(Array(#"{"a":["x\u00e9y","é",{"b":-1.5e3}],"c":{}}"#.utf8)) == nil)
    }

    /// An object of n keys: `"k0":0,"k1":1,...`, with `extra` members appended.
    static func manyKeys(_ n: Int, extra: String = "") -> [UInt8] {
        var text = "{"
        text.reserveCapacity(n * 16)
        for i in 0..<n { text += "\"k\(i)\":\(i)," }
        text += extra.isEmpty ? "\"end\":0}" : extra + "}"
        return Array(text.utf8)
    }

    @Test func duplicateKeysAreFoundInTimeLinearInTheNumberOfKeys() throws {
        // Comparing every key with every earlier one took seconds at 40,000 keys and minutes at 650,000.
        let clock = ContinuousClock()
        let small = Self.manyKeys(25_000)
        let large = Self.manyKeys(400_000)
        let smallTime = try clock.measure { _ = try JSONParser().parse(small) }
        let largeTime = try clock.measure { _ = try JSONParser().parse(large) }
        // Sixteen times the keys: linear work takes about sixteen times as long, quadratic 256 times.
        #expect(largeTime < smallTime * 64 + .milliseconds(500), "25,000 keys: \(smallTime); 400,000 keys: \(largeTime)")
        #expect(largeTime < .seconds(20), "400,000 keys: \(largeTime)")
        // Duplicates are still found, among few keys and among many, by parse and by check alike.
        #expect(reason(Self.manyKeys(5, extra: "\"k3\":1")) == .duplicateKey("k3"))
        #expect(reason(Self.manyKeys(100_000, extra: "\"k7\":1")) == .duplicateKey("k7"))
        #expect(reason(Self.manyKeys(100_000, extra: "\"k99999\":1")) == .duplicateKey("k99999"))
        #expect(reason(Self.manyKeys(100_000)) == nil)
    }

    @Test func aRepeatedKeyInALargeObjectIsTheFirstInDocumentOrderAndSaysWhereItIs() throws {
        // Among many keys, repeats are found when the object ends: the one reported is the earliest repeat, wherever
        // its first occurrence was, with the offset of its own key.
        let text = Self.manyKeys(1_000, extra: #""k900":1,"k5":2,"k900":3"#)
        do {
            _ = try JSONParser().parse(text)
            Issue.record("a repeated key was accepted")
        } catch {
            #expect(error.reason == .duplicateKey("k900"))
            let needle = Array(#""k900":1"#.utf8)
            #expect(error.offset == (0...(text.count - needle.count)).first { Array(text[$0..<($0 + needle.count)]) == needle })
        }
        // A key among the first sixteen repeated after them, and two late keys repeated among themselves.
        #expect(reason(Self.manyKeys(40, extra: #""k0":1"#)) == .duplicateKey("k0"))
        #expect(reason(Self.manyKeys(40, extra: #""late":1,"later":2,"late":3"#)) == .duplicateKey("late"))
        // Keys are the same only when their bytes are: "é" composed and decomposed are two keys, as in Python's json.
        #expect(reason(Self.manyKeys(3, extra: "\"\u{E9}\":1,\"e\u{301}\":2")) == nil)
        #expect(reason(Self.manyKeys(40, extra: "\"\u{E9}\":1,\"e\u{301}\":2")) == nil)
        #expect(reason(Self.manyKeys(40, extra: "\"\u{E9}\":1,\"\\u00e9\":2")) == .duplicateKey("\u{E9}"))
    }

    @Test func keepsEveryMemberInDocumentOrderIncludingCustomOnes() throws {
        let v = try JSONParser().parse(#"{"type":"x-acme-thing","z":1,"a":{"x_acme_nested":[true,null,2.50]},"id":"x"}"#)
        #expect(v.objectValue?.keys == ["type", "z", "a", "id"])
        #expect(v["a"]?["x_acme_nested"]?.arrayValue?.count == 3)
        #expect(v["a"]?["x_acme_nested"]?.arrayValue?[2].numberValue?.text == "2.50")
        #expect(v.serialized() == #"{"type":"x-acme-thing","z":1,"a":{"x_acme_nested":[true,null,2.50]},"id":"x"}"#)
    }

    @Test func bytesAndTextAreWrittenAlikeWhateverMustBeEscaped() throws {
        let controls = String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) })
        let samples = ["plain", #"misp:type="ip-dst""#, #"C:\\Windows"#, controls, "caf\u{E9} \u{1F600} \u{7F}", "", "\"\\\n"]
        for s in samples {
            let value = JSONValue.object(JSONObject([s: .array([.string(s), .number(JSONNumber(1))])]))
            #expect(value.serializedBytes() == Array(value.serialized().utf8), "\(s.debugDescription)")
            #expect(try JSONParser().parse(value.serializedBytes()) == value)
        }
    }

    @Test func recordsTheOriginalBytesOfEachBundleObject() throws {
        let text = #"{"type":"bundle","id":"bundle--1","objects":[ {"b" : 1} ,{"c":[2, 3]}]}"#
        let bytes = Array(text.utf8)
        let doc = try JSONParser().parseDocument(bytes, retainElements: false)
        #expect(doc.elementRanges.map { String(decoding: bytes[$0], as: UTF8.self) } == [#"{"b" : 1}"#, #"{"c":[2, 3]}"#])
        #expect(doc.root["objects"]?.arrayValue?.isEmpty == true)
        #expect(try JSONParser().parse(bytes, range: doc.elementRanges[1])["c"]?.arrayValue?.count == 2)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let v = try JSONParser().parse(#"["a\"b\\c\/d\n\u00e9\ud83d\ude00"]"#)
        #expect(v.arrayValue?[0].stringValue == "a\"b\\c/d\né😀")
    }

    @Test func refusesAnEmptyInput() {
        #expect(reason([]) == .emptyInput)
        #expect(reason(Array("  \n ".utf8)) == .emptyInput)
    }

    @Test func refusesTruncatedDocuments() {
        for text in [#"{"type":"bundle","objects":["#, #"{"a":"unterminated"#, "[1,2", #"{"a"#, "tru", #""\"#] {
            #expect(reason(Array(text.utf8)) == .unexpectedEnd, "\(text)")
        }
    }

    @Test func refusesMalformedDocumentsAndSaysWhere() throws {
        do {
            _ = try JSONParser().parse("{\n  \"a\": 1,\n  \"b\": ,\n}")
            Issue.record("accepted malformed JSON")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 8)
            #expect(error.description.contains("line 3, column 8"))
        }
        #expect(reason(Array(#"{"a":1,}"#.utf8)) == .unexpectedCharacter(UInt8(ascii: "}")))
        #expect(reason(Array("[01]".utf8)) == .unexpectedCharacter(UInt8(ascii: "1")))
        #expect(reason(Array("[NaN]".utf8)) == .unexpectedCharacter(UInt8(ascii: "N")))
        #expect(reason(Array("{} {}".utf8)) == .trailingData)
        #expect(reason(Array(#"["\x"]"#.utf8)) == .invalidEscape)
        #expect(reason(Array("[\"a\tb\"]".utf8)) == .controlCharacterInString)
    }

    @Test func refusesInvalidUTF8() {
        #expect(reason([0x5B, 0x22, 0xC3, 0x28, 0x22, 0x5D]) == .invalidUTF8)  // ["\xC3("]
        #expect(reason([0x5B, 0x22, 0xFF, 0x22, 0x5D]) == .invalidUTF8)
        #expect(reason([0x5B, 0x22, 0x5C, 0x6E, 0xED, 0xA0, 0x80, 0x22, 0x5D]) == .invalidUTF8)  // encoded surrogate
    }

    @Test func refusesDuplicateKeys() {
        #expect(reason(Array(#"{"id":"a","type":"b","id":"c"}"#.utf8)) == .duplicateKey("id"))
    }

    @Test func refusesNumbersOutOfRange() {
        #expect(reason(Array("[1e999]".utf8)) == .numberOutOfRange)
        #expect(reason(Array("[-1e400]".utf8)) == .numberOutOfRange)
        #expect(reason(Array("[123456789012345678901234567890]".utf8)) == .numberOutOfRange)
        #expect(reason(Array("[9223372036854775807, 1e308, 0.5e-320]".utf8)) == nil)
    }

    @Test func refusesTenThousandLevelsOfNestingWithoutCrashing() {
        let deep = Array(String(repeating: "[", count: 10_000).utf8) + Array(String(repeating: "]", count: 10_000).utf8)
        #expect(reason(deep) == .tooDeep(limit: JSONLimits.default.maxDepth))
        let objects = Array(String(repeating: #"{"a":"#, count: 10_000).utf8)
        #expect(reason(objects) == .tooDeep(limit: JSONLimits.default.maxDepth))
    }

    @Test func refusesAHundredMegabyteStringWithoutReadingItAll() {
        var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 100 << 20)
        bytes[0] = UInt8(ascii: "\"")
        let start = ContinuousClock.now
        #expect(reason(bytes) == .stringTooLong(limit: JSONLimits.default.maxStringBytes))
        #expect(ContinuousClock.now - start < .seconds(20))
    }
}

/// Skimming finds the same element ranges as parsing, and leaves the elements' own errors to their parse.
@Suite struct JSONSkimTests {
    @Test func skimmingFindsTheSameRangesAsParsing() throws {
        for text in [#"{"type":"bundle","objects":[{"a":"x\"]}"},[1,[2]],"s\\",12.5e3,true,null,{}]}"#,
                     #"[ {"k": [ {"x": "}"} ] } , 3 , "a,b" ]"#, #"{"objects":[]}"#, #"{"more":true,"objects":[{"x":1}],"next":"n"}"#] {
            let bytes = Array(text.utf8)
            let parsed = try JSONParser().parseDocument(bytes, retainElements: false)
            let skimmed = try JSONParser().skimDocument(bytes)
            #expect(parsed.elementRanges == skimmed.elementRanges, "\(text)")
            #expect(skimmed.root["next"]?.stringValue == parsed.root["next"]?.stringValue)
        }
    }

    @Test func structuralErrorsAreStillErrors() {
        for text in [#"{"objects":[{"a":1}"#, #"{"objects":[{"a":1}}]}"#, #"{"objects":[1 2]}"#, #"{"objects":[1],}"#,
                     #"{"objects":[1],"objects":[2]}"#, #"{"objects":["unterminated]}"#] {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONParser().skimDocument(Array(text.utf8)) }
        }
    }

    @Test func nestingBeyondTheLimitIsRefused() {
        let deep = "{\"objects\":[" + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "]}"
        #expect(throws: JSONParseError.self) { try JSONParser().skimDocument(Array(deep.utf8)) }
    }
}
