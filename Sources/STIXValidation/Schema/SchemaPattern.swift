import STIX
import Foundation

/// A JSON Schema `pattern` (ECMA-262 / Python `re.search` semantics: the match may start anywhere).
///
/// The STIX schemas use a few patterns on nearly every property (type prefixes, identifiers, timestamps); those are
/// matched by hand-written code, which is far faster than a regular-expression engine; so are those of the simple
/// shape ``LinearPattern`` reads. Every other pattern goes to `NSRegularExpression`, compiled once.
struct SchemaPattern: @unchecked Sendable {
    // @unchecked: NSRegularExpression is immutable after creation and documented as safe to use from any thread.
    private enum Matcher {
        case prefix([UInt8])
        case exact([UInt8])
        case identifier
        case timestamp
        case millisecondsSuffix
        case typeName
        case propertyWithSuffix([UInt8])
        case propertyNameOrID
        case hex(Int)
        case linear(LinearPattern)
        case regex(NSRegularExpression)
        case invalid
    }

    let source: String
    private let matcher: Matcher

    static let identifierSource =
        "^[a-z][a-z0-9-]+[a-z0-9]--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
    static let timestampSource =
        "^[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60)(\\.[0-9]+)?Z$"
    static let millisecondsSource = "T\\d{2}:\\d{2}:\\d{2}\\.\\d{3,}Z$"

    init(_ source: String) {
        self.source = source
        if source == SchemaPattern.identifierSource {
            matcher = .identifier
        } else if source == SchemaPattern.timestampSource {
            matcher = .timestamp
        } else if source == SchemaPattern.millisecondsSource {
            matcher = .millisecondsSuffix
        } else if source == "^([a-z][a-z0-9]*)+(-[a-z0-9]+)*\\-?$" {
            matcher = .typeName
        } else if source == "^[a-z][a-z0-9_]{0,245}_bin$" || source == "^[a-z][a-z0-9_]{0,245}_hex$" {
            matcher = .propertyWithSuffix(Array(source.utf8.dropFirst(source.utf8.count - 5).dropLast()))
        } else if source == "^([a-z][a-z0-9_]{2,249})|id$" {
            matcher = .propertyNameOrID
        } else if let n = SchemaPattern.hexLength(source) {
            matcher = .hex(n)
        } else if source.hasPrefix("^"), source.dropFirst().utf8.allSatisfy({ SchemaPattern.isPlainLiteral($0) }) {
            matcher = .prefix(Array(source.utf8.dropFirst()))
        } else if source.hasPrefix("^"), source.hasSuffix("$"),
            source.dropFirst().dropLast().utf8.allSatisfy({ SchemaPattern.isPlainLiteral($0) })
        {
            matcher = .exact(Array(source.utf8.dropFirst().dropLast()))
        } else if let linear = LinearPattern(source) {
            matcher = .linear(linear)
        } else if let re = try? NSRegularExpression(pattern: source) {
            matcher = .regex(re)
        } else {
            matcher = .invalid
        }
    }

    private static func isPlainLiteral(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
            || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
    }

    /// `^[a-fA-F0-9]{N}$` gives N.
    private static func hexLength(_ source: String) -> Int? {
        guard source.hasPrefix("^[a-fA-F0-9]{"), source.hasSuffix("}$") else { return nil }
        return Int(source.dropFirst(13).dropLast(2))
    }

    /// True when the pattern matches somewhere in `s`.
    func matches(_ s: String) -> Bool {
        if matchesNative(s) { return true }
        switch matcher {
        case .regex, .prefix, .invalid:
            return false
        default:
            // Python's `$` also matches just before a final newline; the hand-written matchers honour that too.
            // (By scalar: `dropLast()` on the string would drop a final "\r\n" as one character.)
            return s.withUTF8Bytes { $0.last } == 0x0A && matchesNative(String(s.unicodeScalars.dropLast()))
        }
    }

    private func matchesNative(_ s: String) -> Bool {
        switch matcher {
        case .prefix(let p):
            return s.utf8.starts(with: p)
        case .exact(let p):
            return s.utf8.elementsEqual(p)
        case .identifier:
            return SchemaPattern.isIdentifier(s)
        case .timestamp:
            return SchemaPattern.isTimestampText(s)
        case .millisecondsSuffix:
            return s.withUTF8Bytes { SchemaPattern.hasMillisecondTime($0) }
        case .typeName:
            return SchemaPattern.isTypeName(s.utf8)
        case .propertyWithSuffix(let suffix):
            return s.withUTF8Bytes { b in
                guard b.count >= suffix.count + 1, b.count <= 1 + 245 + suffix.count, b[0] >= 0x61 && b[0] <= 0x7A,
                    b[(b.count - suffix.count)...].elementsEqual(suffix)
                else { return false }
                return b[1..<(b.count - suffix.count)].allSatisfy(SchemaPattern.isLowerDigitUnderscore)
            }
        case .propertyNameOrID:
            return s.withUTF8Bytes { b in
                if b.count >= 2 && b[b.count - 2] == UInt8(ascii: "i") && b[b.count - 1] == UInt8(ascii: "d") { return true }
                guard b.count >= 3, b[0] >= 0x61 && b[0] <= 0x7A else { return false }
                return SchemaPattern.isLowerDigitUnderscore(b[1]) && SchemaPattern.isLowerDigitUnderscore(b[2])
            }
        case .hex(let n):
            return s.utf8.count == n && s.utf8.allSatisfy(\.isHexDigit)
        case .linear(let linear):
            return linear.matches(s)
        case .regex(let re):
            let range = NSRange(location: 0, length: s.utf16.count)
            return re.firstMatch(in: s, options: [], range: range) != nil
        case .invalid:
            return false
        }
    }

    private static func isLowerDigitUnderscore(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F
    }

    /// `^([a-z][a-z0-9]*)+(-[a-z0-9]+)*\-?$`: a letter, then letters and digits in hyphen-separated runs, and at most
    /// one trailing hyphen.
    static func isTypeName(_ b: String.UTF8View) -> Bool {
        guard let first = b.first, first >= 0x61 && first <= 0x7A else { return false }
        var previousHyphen = false
        for c in b {
            if c == 0x2D {
                if previousHyphen { return false }
                previousHyphen = true
            } else if (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) {
                previousHyphen = false
            } else {
                return false
            }
        }
        return true
    }

    /// `^[a-z][a-z0-9-]+[a-z0-9]--UUID$` with a version 1–5 and variant 8, 9, a or b UUID.
    static func isIdentifier(_ s: String) -> Bool {
        s.withUTF8Bytes { b in
            guard b.count >= 36 + 2 + 3 else { return false }
            let uuidStart = b.count - 36
            guard b[uuidStart - 1] == UInt8(ascii: "-"), b[uuidStart - 2] == UInt8(ascii: "-") else { return false }
            let typeEnd = uuidStart - 2
            func lower(_ c: UInt8) -> Bool { c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") }
            func digit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
            guard lower(b[0]) else { return false }
            for i in 1..<(typeEnd - 1) where !(lower(b[i]) || digit(b[i]) || b[i] == UInt8(ascii: "-")) { return false }
            guard lower(b[typeEnd - 1]) || digit(b[typeEnd - 1]) else { return false }
            for k in 0..<36 {
                let c = b[uuidStart + k]
                switch k {
                case 8, 13, 18, 23: if c != UInt8(ascii: "-") { return false }
                case 14: if !(c >= UInt8(ascii: "1") && c <= UInt8(ascii: "5")) { return false }
                case 19:
                    if !(c == UInt8(ascii: "8") || c == UInt8(ascii: "9") || c == UInt8(ascii: "a") || c == UInt8(ascii: "b")
                        || c == UInt8(ascii: "A") || c == UInt8(ascii: "B")) { return false }
                default: if !c.isHexDigit { return false }
                }
            }
            return true
        }
    }

    /// The timestamp pattern of the STIX schemas: month 01–12, day 01–31, hour 00–23, second 00–60, `Z`.
    static func isTimestampText(_ s: String) -> Bool { s.withUTF8Bytes { isTimestampText($0) } }

    static func isTimestampText(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count >= 20 else { return false }
        func d(_ i: Int) -> Int? {
            let c = b[i]
            return c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") ? Int(c - UInt8(ascii: "0")) : nil
        }
        for i in 0..<19 where i != 4 && i != 7 && i != 10 && i != 13 && i != 16 && d(i) == nil { return false }
        guard b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":")
        else { return false }
        let month = d(5)! * 10 + d(6)!
        let day = d(8)! * 10 + d(9)!
        let hour = d(11)! * 10 + d(12)!
        let minute = d(14)! * 10 + d(15)!
        let second = d(17)! * 10 + d(18)!
        guard (1...12).contains(month), (1...31).contains(day), hour <= 23, minute <= 59, second <= 60 else {
            return false
        }
        if b.count == 20 { return b[19] == UInt8(ascii: "Z") }
        guard b[19] == UInt8(ascii: "."), b.count >= 22, b[b.count - 1] == UInt8(ascii: "Z") else { return false }
        for i in 20..<(b.count - 1) where d(i) == nil { return false }
        return true
    }

    /// `T\d{2}:\d{2}:\d{2}\.\d{3,}Z$`: a time with at least millisecond precision at the end of the string.
    static func hasMillisecondTime(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count >= 14, b[b.count - 1] == UInt8(ascii: "Z") else { return false }
        func digit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        var i = b.count - 2
        var fractionDigits = 0
        while i >= 0 && digit(b[i]) {
            fractionDigits += 1
            i -= 1
        }
        guard fractionDigits >= 3, i >= 9, b[i] == UInt8(ascii: ".") else { return false }
        let t = i - 9
        return b[t] == UInt8(ascii: "T") && digit(b[t + 1]) && digit(b[t + 2]) && b[t + 3] == UInt8(ascii: ":")
            && digit(b[t + 4]) && digit(b[t + 5]) && b[t + 6] == UInt8(ascii: ":") && digit(b[t + 7])
            && digit(b[t + 8])
    }
}
