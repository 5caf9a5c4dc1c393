/// Finds table headers that TOMLKit's parser (toml++) cannot be given: one whose first key does not start with a
/// bare-key character or a quote (`[#]`, `[ =x]`, `[[!a]]`) trips an assertion in toml++ and ends the process, even in a
/// release build. Found by fuzzing (scripts/fuzz.sh). Such a header is refused here, with its line, before TOMLKit
/// sees the text.
///
/// Headers are told from arrays of arrays by following the text the way TOML does: strings (basic, literal and their
/// multi-line forms), comments, and the brackets and braces of values, so a line inside a multi-line value is never
/// taken for a header.
enum TOMLHeaderCheck {
    /// The 1-based line of the first such header, if any.
    static func firstBadHeader(in text: String) -> Int? {
        let b = Array(text.utf8)
        var i = 0
        var line = 1
        var depth = 0  // brackets and braces open in a value
        var atLineStart = true
        func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
        func startsWith(_ s: String, at k: Int) -> Bool {
            let p = Array(s.utf8)
            return k + p.count <= b.count && Array(b[k..<(k + p.count)]) == p
        }
        while i < b.count {
            let c = b[i]
            if c == 0x0A {
                line += 1
                atLineStart = true
                i += 1
                continue
            }
            if atLineStart && isBlank(c) {
                i += 1
                continue
            }
            if atLineStart && depth == 0 && c == UInt8(ascii: "[") {
                // A table header: `[` or `[[`, blanks, then a key.
                var k = i + 1
                if k < b.count && b[k] == UInt8(ascii: "[") { k += 1 }
                while k < b.count && isBlank(b[k]) { k += 1 }
                if k < b.count {
                    let d = b[k]
                    let bare = (d >= 0x41 && d <= 0x5A) || (d >= 0x61 && d <= 0x7A) || (d >= 0x30 && d <= 0x39) || d == 0x5F || d == 0x2D
                    let quote = d == 0x22 || d == 0x27
                    if !(bare || quote || d == UInt8(ascii: "]")) { return line }
                }
                // The rest of the header line (its key may hold quoted brackets) is not a value.
                while i < b.count && b[i] != 0x0A { i += 1 }
                continue
            }
            atLineStart = false
            switch c {
            case UInt8(ascii: "#"):
                while i < b.count && b[i] != 0x0A { i += 1 }
                continue
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                let triple = startsWith(c == 0x22 ? "\"\"\"" : "'''", at: i)
                i += triple ? 3 : 1
                while i < b.count {
                    if c == 0x22 && b[i] == UInt8(ascii: "\\") {
                        i += 2
                        continue
                    }
                    if triple ? startsWith(c == 0x22 ? "\"\"\"" : "'''", at: i) : b[i] == c {
                        i += triple ? 3 : 1
                        break
                    }
                    if b[i] == 0x0A {
                        if !triple { break }  // an unterminated string: TOMLKit reports it
                        line += 1
                    }
                    i += 1
                }
                continue
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            default:
                break
            }
            i += 1
        }
        return nil
    }
}
