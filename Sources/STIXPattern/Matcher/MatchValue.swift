import Foundation
import STIX

/// A value selected from an observable by an object path, or a constant from a pattern, with the comparison
/// semantics of the OASIS matcher (stix2-matcher): values of different kinds are unequal rather than errors, except
/// where the matcher raises one.
enum MatchValue {
    case integer(Int64)
    case float(Double)
    case string(String)
    case bool(Bool)
    case bytes([UInt8])
    /// Microseconds since 1970 (the matcher's precision).
    case timestamp(Int64)
    /// A JSON list, object or null: selectable by further steps, never equal to a constant.
    case structure(JSONValue)

    /// A JSON value as the matcher sees it: numbers written without a fraction or exponent are integers.
    init(json: JSONValue) {
        switch json {
        case .string(let s): self = .string(s)
        case .bool(let b): self = .bool(b)
        case .number(let n):
            let isIntegerText = !n.text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
            if isIntegerText, let i = n.integer { self = .integer(i) } else { self = .float(n.double) }
        default: self = .structure(json)
        }
    }

    var isNumber: Bool {
        switch self {
        case .integer, .float: return true
        default: return false
        }
    }

    var number: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .float(let d): return d
        default: return nil
        }
    }

    /// Python's `type()` name, for messages.
    var kindName: String {
        switch self {
        case .integer: return "integer"
        case .float: return "float"
        case .string: return "string"
        case .bool: return "boolean"
        case .bytes: return "binary"
        case .timestamp: return "timestamp"
        case .structure(let v):
            switch v {
            case .array: return "list"
            case .object: return "object"
            default: return "null"
            }
        }
    }

    // MARK: - Comparisons (the matcher's _COMPARE_EQ_FUNCS and _COMPARE_ORDER_FUNCS tables)

    /// Equality, or nil when the two kinds cannot be compared (which the matcher treats as unequal).
    static func equal(_ a: MatchValue, _ b: MatchValue) -> Bool? {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x == y
        case (.integer, .float), (.float, .integer), (.float, .float): return a.number! == b.number!
        case (.bytes(let x), .bytes(let y)): return x == y
        case (.bytes(let x), .string(let s)), (.string(let s), .bytes(let x)):
            guard let latin1 = latin1Bytes(s) else { return false }
            return latin1 == x
        case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.bool(let x), .bool(let y)): return x == y
        case (.timestamp(let x), .timestamp(let y)): return x == y
        default: return nil
        }
    }

    /// The order of two values (negative, zero, positive), nil when the kinds have no order, and `.failure` when a
    /// string cannot be compared with binary data (which the matcher treats as a false comparison).
    enum Order { case ordered(Int), incomparable, failed }

    static func order(_ a: MatchValue, _ b: MatchValue) -> Order {
        func cmp<T: Comparable>(_ x: T, _ y: T) -> Order { .ordered(x < y ? -1 : (x > y ? 1 : 0)) }
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return cmp(x, y)
        case (.integer, .float), (.float, .integer), (.float, .float): return cmp(a.number!, b.number!)
        case (.bytes(let x), .bytes(let y)): return lexicographic(x, y)
        case (.bytes(let x), .string(let s)):
            guard let y = latin1Bytes(s) else { return .failed }
            return lexicographic(x, y)
        case (.string(let s), .bytes(let y)):
            guard let x = latin1Bytes(s) else { return .failed }
            return lexicographic(x, y)
        case (.string(let x), .string(let y)): return lexicographic(x.unicodeScalars.map(\.value), y.unicodeScalars.map(\.value))
        case (.timestamp(let x), .timestamp(let y)): return cmp(x, y)
        default: return .incomparable
        }
    }

    static func lexicographic<T: Comparable>(_ x: [T], _ y: [T]) -> Order {
        for (p, q) in zip(x, y) where p != q { return .ordered(p < q ? -1 : 1) }
        return .ordered(x.count < y.count ? -1 : (x.count > y.count ? 1 : 0))
    }

    /// A string as bytes when every code point is below 256 (the spec's rule for comparing strings with binary).
    static func latin1Bytes(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        for scalar in s.unicodeScalars {
            guard scalar.value < 256 else { return nil }
            out.append(UInt8(scalar.value))
        }
        return out
    }

    /// Membership in an `IN (...)` set, with Python's equality across numbers and booleans (`true` equals 1).
    static func setContains(_ set: [MatchValue], _ value: MatchValue) -> Bool {
        func numeric(_ v: MatchValue) -> Double? {
            switch v {
            case .integer, .float: return v.number
            case .bool(let b): return b ? 1 : 0
            default: return nil
            }
        }
        for member in set {
            switch (member, value) {
            case (.string(let x), .string(let y)) where x.unicodeScalars.elementsEqual(y.unicodeScalars): return true
            case (.bytes(let x), .bytes(let y)) where x == y: return true
            case (.timestamp(let x), .timestamp(let y)) where x == y: return true
            case (.integer(let x), .integer(let y)) where x == y: return true
            default:
                if case .integer = member, case .integer = value { continue }
                if let x = numeric(member), let y = numeric(value), x == y { return true }
            }
        }
        return false
    }
}

// MARK: - Timestamps

enum MatchTimestamp {
    /// Microseconds since 1970 of a timestamp as the matcher reads it: `YYYY-MM-DDTHH:MM:SS[.f]Z`, upper case, any
    /// fraction truncated to microseconds; nil when it is not one.
    static func parse(_ text: String) -> Int64? {
        // Upper-case `T` and `Z` only (Python's strptime would take either; the matcher refuses lower case).
        guard !text.utf8.contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }), let t = Timestamp(text) else {
            return nil
        }
        // Python's datetime has no leap second.
        let b = Array(text.utf8)
        if b[17] == UInt8(ascii: "6") { return nil }
        let digits = t.fraction.prefix(6)
        return t.seconds * 1_000_000 + (Int64(digits + String(repeating: "0", count: 6 - digits.count)) ?? 0)
    }
}

// MARK: - Binary encodings of property values and constants

enum BinaryText {
    /// `h'...'` and `*_hex` properties: pairs of hexadecimal digits.
    static func hex(_ text: String) -> [UInt8]? {
        let b = Array(text.utf8)
        guard b.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(b.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var i = 0
        while i < b.count {
            guard let h = nibble(b[i]), let l = nibble(b[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }

    /// `b'...'` and `*_bin` properties: base64, read as Python's non-validating decoder does (characters outside
    /// the alphabet are skipped; the padding must be right).
    static func base64(_ text: String) -> [UInt8]? {
        var symbols: [UInt8] = []
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
                symbols.append(c)
            default: continue
            }
        }
        // Data after the padding is ignored, as binascii does.
        if let pad = symbols.firstIndex(of: UInt8(ascii: "=")) {
            let data = symbols.count - symbols[pad...].count
            let padded = (data + 3) / 4 * 4
            guard symbols[pad...].count >= padded - data, data % 4 != 1 else { return nil }
            symbols = Array(symbols[..<pad]) + Array(repeating: UInt8(ascii: "="), count: padded - data)
        } else if symbols.count % 4 != 0 {
            return nil
        }
        return Data(base64Encoded: Data(symbols)).map(Array.init)
    }
}

// MARK: - IPv4 addresses and CIDR blocks (ISSUBSET, ISSUPERSET)

enum IPv4 {
    /// An address as `inet_aton` reads it (one to four parts, each decimal, octal with a leading 0, or hex with 0x).
    static func address(_ text: String) -> UInt32? {
        if let quad = dottedQuad(text) { return quad }
        return lenientAddress(text)
    }

    /// The common form, `a.b.c.d` in decimal without leading zeros, read byte by byte.
    static func dottedQuad(_ text: String) -> UInt32? {
        var result: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var parts = 0
        var leadingZero = false
        for b in text.utf8 {
            if b == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                result = result << 8 | part
                parts += 1
                part = 0
                digits = 0
                leadingZero = false
            } else if b >= 48 && b <= 57 {
                if digits == 0 && b == 48 { leadingZero = true } else if leadingZero { return nil }
                part = part * 10 + UInt32(b - 48)
                digits += 1
                guard part < 256, digits <= 3 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return result << 8 | part
    }

    static func lenientAddress(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            let s = String(part)
            guard !s.isEmpty else { return nil }
            let value: UInt64?
            if s.hasPrefix("0x") || s.hasPrefix("0X") {
                value = s.count == 2 ? 0 : UInt64(s.dropFirst(2), radix: 16)
            } else if s.hasPrefix("0") && s.count > 1 {
                value = UInt64(s.dropFirst(), radix: 8)
            } else {
                value = s.allSatisfy({ $0.isASCII && $0.isNumber }) ? UInt64(s) : nil
            }
            guard let v = value else { return nil }
            values.append(v)
        }
        var result: UInt64 = 0
        for (i, v) in values.enumerated() {
            if i == values.count - 1 {
                let remaining = 4 - i
                guard v < (UInt64(1) << (8 * UInt64(remaining))) else { return nil }
                result = result << (8 * UInt64(remaining)) | v
            } else {
                guard v < 256 else { return nil }
                result = result << 8 | v
            }
        }
        return UInt32(result)
    }

    /// An address and prefix length from `a.b.c.d/n` (n from 1 to 32) or, for the contained side, a bare address.
    static func block(_ text: String, allowBareAddress: Bool) throws(MatchError) -> (UInt32, Int) {
        guard let slash = text.firstIndex(of: "/") else {
            guard allowBareAddress else { throw MatchError(.evaluation, "invalid CIDR subnet: \(text)") }
            guard let a = address(text) else { throw MatchError(.evaluation, "invalid IPv4 address: \(text)") }
            return (a, 32)
        }
        guard let a = address(String(text[..<slash])) else {
            throw MatchError(.evaluation, "invalid IPv4 address: \(text[..<slash])")
        }
        let prefix = text[text.index(after: slash)...]
        guard !prefix.isEmpty, prefix.allSatisfy({ $0.isNumber }), let n = Int(prefix), (1...32).contains(n) else {
            throw MatchError(.evaluation, "invalid CIDR subnet: \(text)")
        }
        return (a, n)
    }

    /// Whether the address or block `inner` lies within the block `outer`.
    static func contains(outer: String, inner: String) throws(MatchError) -> Bool {
        let (innerAddress, innerPrefix) = try block(inner, allowBareAddress: true)
        let (outerAddress, outerPrefix) = try block(outer, allowBareAddress: false)
        guard outerPrefix <= innerPrefix else { return false }
        let mask: UInt32 = outerPrefix == 32 ? .max : ~(UInt32.max >> UInt32(outerPrefix))
        return innerAddress & mask == outerAddress & mask
    }
}
