import STIX
/// The JSON Schema `format` values the STIX schemas use, checked as stix2-validator checks them.
enum FormatCheck {
    static func matches(format: String, _ s: String) -> Bool {
        switch format {
        case "email": return isEmail(s)
        case "uri": return isURI(s)
        case "idn-hostname": return isHostname(s)
        default: return true  // JSON Schema: an unknown format is an annotation, not an assertion.
        }
    }

    /// stix2-validator's own rule: `^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$`.
    static func isEmail(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return false }
        let local = parts[0].utf8
        let domain = parts[1].utf8
        func alnum(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
        }
        guard local.allSatisfy({ alnum($0) || "_.+-".utf8.contains($0) }) else { return false }
        guard let dot = domain.firstIndex(of: UInt8(ascii: ".")) else { return false }
        let head = domain[..<dot]
        let tail = domain[domain.index(after: dot)...]
        return !head.isEmpty && head.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") } && !tail.isEmpty
            && tail.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    /// The ASCII characters a URI may contain besides letters and digits: `-._~:/?#[]@!$&'()*+,;=`, as two 64-bit masks.
    private static let uriPunctuation: (low: UInt64, high: UInt64) = "-._~:/?#[]@!$&'()*+,;=".utf8.reduce((0, 0)) {
        $1 < 64 ? ($0.0 | 1 << UInt64($1), $0.1) : ($0.0, $0.1 | 1 << UInt64($1 - 64))
    }

    /// RFC 3986 URI: a scheme, a colon, then only characters a URI may contain (percent-escapes well formed).
    static func isURI(_ s: String) -> Bool {
        s.withUTF8Bytes { b in
            guard let colon = b.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return false }
            func alpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
            func digit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
            func punctuation(_ c: UInt8) -> Bool {
                c < 64 ? uriPunctuation.low & (1 << UInt64(c)) != 0 : c < 128 && uriPunctuation.high & (1 << UInt64(c - 64)) != 0
            }
            guard alpha(b[0]) else { return false }
            for c in b[1..<colon] where !(alpha(c) || digit(c) || c == 0x2B || c == 0x2D || c == 0x2E) { return false }
            var i = colon + 1
            var hashes = 0
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "%") {
                    guard i + 2 < b.count, b[i + 1].isHexDigit, b[i + 2].isHexDigit else { return false }
                    i += 3
                    continue
                }
                if c == UInt8(ascii: "#") { hashes += 1 }
                guard alpha(c) || digit(c) || punctuation(c), hashes <= 1 else { return false }
                i += 1
            }
            return true
        }
    }

    /// An internationalized host name: dot-separated labels of 1 to 63 bytes, no leading or trailing hyphen, letters,
    /// digits and hyphens (any non-ASCII letter allowed), at most 253 bytes.
    static func isHostname(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        var labels = s.split(separator: ".", omittingEmptySubsequences: false)
        if labels.last == "" && labels.count > 1 { labels.removeLast() }
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63, label.first != "-", label.last != "-" else { return false }
            for scalar in label.unicodeScalars {
                if scalar.isASCII {
                    let c = UInt8(scalar.value)
                    let ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D
                    if !ok { return false }
                } else if !(scalar.properties.isAlphabetic || scalar.properties.generalCategory == .decimalNumber
                    || scalar.properties.generalCategory == .nonspacingMark)
                {
                    return false
                }
            }
        }
        return true
    }
}
