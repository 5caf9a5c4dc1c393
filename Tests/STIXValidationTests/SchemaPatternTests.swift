import STIX
@testable import STIXPattern
@testable import STIXValidation
import TestSupport
import Testing

/// The hand-written matchers for schema patterns agree with Python's `re.search` (what stix2-validator runs), as
/// implemented by the matcher's regular-expression engine, on every pattern of the shipped schemas.
@Suite struct SchemaPatternTests {
    /// Every `pattern` value and `patternProperties` key of the STIX schemas the validator ships.
    static let schemaPatterns: [String] = {
        var found = Set<String>()
        func walk(_ value: JSONValue) {
            switch value {
            case .object(let o):
                for member in o {
                    if member.key == "pattern", let s = member.value.stringValue { found.insert(s) }
                    if member.key == "patternProperties", case .object(let keys) = member.value {
                        for key in keys { found.insert(key.key) }
                    }
                    walk(member.value)
                }
            case .array(let a): a.forEach(walk)
            default: break
            }
        }
        walk((try? JSONParser().parse(ReferenceData.schemasJSON)) ?? .null)
        return found.sorted()
    }()

    static func python(_ pattern: String, _ subject: String) throws -> Bool {
        try MatchRegex(pattern.unicodeScalars.map(\.value), ascii: false).search(subject.unicodeScalars.map(\.value))
    }

    /// A string close to what `pattern` accepts: built from its parts, then sometimes altered.
    static func candidate(_ pattern: LinearPattern, _ g: inout SplitMix) -> String {
        let extra: [Unicode.Scalar] = ["\n", " ", "é", "٣", "A", "z", "0", "-", ".", "/", ":", "_", "\u{2028}", "\r"]
        var out = String.UnicodeScalarView()
        out.append(contentsOf: pattern.alternatives.randomElement(using: &g)!)
        for item in pattern.items {
            let upper = item.maximum.map { min($0, item.minimum + 4) } ?? item.minimum + 4
            for _ in 0..<Int.random(in: item.minimum...upper, using: &g) {
                switch item.test {
                case .anyButNewline:
                    out.append(extra.randomElement(using: &g)!)
                case .set(let low, let high, let digits):
                    let members = (0..<128).filter { v in v < 64 ? low & (1 << UInt64(v)) != 0 : high & (1 << UInt64(v - 64)) != 0 }
                    if digits && Bool.random(using: &g) { out.append("٣") } else if let v = members.randomElement(using: &g) {
                        out.append(Unicode.Scalar(UInt8(v)))
                    }
                }
            }
        }
        switch Int.random(in: 0..<6, using: &g) {
        case 0 where !out.isEmpty: out.remove(at: out.index(out.startIndex, offsetBy: Int.random(in: 0..<out.count, using: &g)))
        case 1: out.insert(extra.randomElement(using: &g)!, at: out.index(out.startIndex, offsetBy: Int.random(in: 0...out.count, using: &g)))
        case 2: out.append("\n")
        case 3: out.append(extra.randomElement(using: &g)!)
        default: break
        }
        return String(out)
    }

    @Test func theCommonSchemaPatternsNeedNoRegularExpressionEngine() {
        let linear = Self.schemaPatterns.filter { LinearPattern($0) != nil }
        for source in [#"^[a-z0-9\-]+$"#, "^(relationship|sighting|bundle|marking-definition|language-content)--.+$",
                       #"^[a-zA-Z0-9/\.+_:-]{2,250}$"#, #"^CAPEC-\d+$"#, "^(identity|location)--", "^((cve)|(capec))$"] {
            #expect(linear.contains(source), "\(source)")
        }
        // Shapes that would need backtracking or a group count are left to the engine.
        for source in [#"^([0-9a-f]{2}[:]){5}([0-9a-f]{2})$"#, "^HKLM|HKCC|hku", #"^([a-z][a-z0-9]*)+(-[a-z0-9]+)*\-?$"#,
                       "^[a-z]+[a-z0-9]$", "^[^a]+$", "^a+?$", "^(statement)|(tlp)$", "^((a)(b)|c)$"] {
            #expect(LinearPattern(source) == nil, "\(source)")
        }
    }

    @Test func everyLinearSchemaPatternAgreesWithPythonsRe() throws {
        var g = SplitMix(state: 0x5EED)
        var compared = 0
        var matched = 0
        for source in Self.schemaPatterns {
            guard let linear = LinearPattern(source) else { continue }
            let pattern = SchemaPattern(source)
            let engine = try MatchRegex(source.unicodeScalars.map(\.value), ascii: false)
            for _ in 0..<100 {
                let subject = Self.candidate(linear, &g)
                let expected = engine.search(subject.unicodeScalars.map(\.value))
                #expect(pattern.matches(subject) == expected, "\(source) on \(subject.debugDescription)")
                compared += 1
                if expected { matched += 1 }
            }
        }
        #expect(compared >= 100 * 20)
        // The candidates exercise both answers.
        #expect(matched > compared / 4 && matched < compared * 3 / 4, "\(matched) of \(compared) matched")
    }

    @Test func handWrittenEdgeCases() throws {
        let cases: [(String, String, Bool)] = [
            (#"^[a-z0-9\-]+$"#, "uses", true),
            (#"^[a-z0-9\-]+$"#, "uses\n", true),  // Python's `$` before a final newline
            (#"^[a-z0-9\-]+$"#, "uses\n\n", false),
            (#"^[a-z0-9\-]+$"#, "", false),
            (#"^[a-z0-9\-]+$"#, "Uses", false),
            ("^(relationship|sighting|bundle|marking-definition|language-content)--.+$", "sighting--x", true),
            ("^(relationship|sighting|bundle|marking-definition|language-content)--.+$", "sighting--", false),
            ("^(relationship|sighting|bundle|marking-definition|language-content)--.+$", "malware--x", false),
            ("^(relationship|sighting|bundle|marking-definition|language-content)--.+$", "bundle--a\nb", false),
            (#"^CAPEC-\d+$"#, "CAPEC-٣", true),  // `\d` is any Unicode decimal digit in Python 3
            (#"^[a-zA-Z0-9/\.+_:-]{2,250}$"#, "a", false),
            (#"^[a-zA-Z0-9/\.+_:-]{2,250}$"#, String(repeating: "a", count: 250), true),
            (#"^[a-zA-Z0-9/\.+_:-]{2,250}$"#, String(repeating: "a", count: 251), false),
        ]
        for (source, subject, expected) in cases {
            #expect(SchemaPattern(source).matches(subject) == expected, "\(source) on \(subject.debugDescription)")
            #expect(try Self.python(source, subject) == expected, "engine: \(source) on \(subject.debugDescription)")
        }
    }
}
