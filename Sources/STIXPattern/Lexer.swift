/// Splits a pattern into tokens, following the lexical rules of the STIX 2.1 patterning grammar
/// (STIX 2.1 Part 9 and its ANTLR grammar): longest match, keywords before identifiers, comments skipped.
struct Lexer {
    private let scalars: [Unicode.Scalar]
    private var pos = 0

    init(_ pattern: String) {
        scalars = Array(pattern.unicodeScalars)
    }

    static func tokens(_ pattern: String) throws(PatternError) -> [Token] {
        var lexer = Lexer(pattern)
        var out: [Token] = []
        while true {
            let t = try lexer.next()
            out.append(t)
            if t.kind == .end { return out }
        }
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        pos + ahead < scalars.count ? scalars[pos + ahead] : nil
    }

    private func text(_ from: Int) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars[from..<pos])
        return String(s)
    }

    // The whitespace characters the grammar skips.
    private static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x20, 0x09, 0x0D, 0x0A, 0x0B, 0x0C, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    private static func isDigit(_ c: Unicode.Scalar?) -> Bool { c.map { $0 >= "0" && $0 <= "9" } ?? false }
    private static func isLetter(_ c: Unicode.Scalar?) -> Bool {
        c.map { ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") } ?? false
    }
    private static func isHex(_ c: Unicode.Scalar?) -> Bool {
        c.map { isDigit($0) || ($0 >= "a" && $0 <= "f") || ($0 >= "A" && $0 <= "F") } ?? false
    }
    private static func isBase64(_ c: Unicode.Scalar?) -> Bool {
        c.map { isLetter($0) || isDigit($0) || $0 == "+" || $0 == "/" } ?? false
    }

    private mutating func skipSpaceAndComments() {
        while let c = peek() {
            if Lexer.isSpace(c) {
                pos += 1
            } else if c == "/", peek(1) == "*" {
                var i = pos + 2
                while i + 1 < scalars.count, !(scalars[i] == "*" && scalars[i + 1] == "/") { i += 1 }
                guard i + 1 < scalars.count else { return }  // unterminated: '/' is then a token of its own
                pos = i + 2
            } else if c == "/", peek(1) == "/" {
                while let c = peek(), c != "\n", c != "\r" { pos += 1 }
            } else {
                return
            }
        }
    }

    mutating func next() throws(PatternError) -> Token {
        skipSpaceAndComments()
        let start = pos
        guard let c = peek() else { return Token(kind: .end, text: "", offset: pos) }
        func token(_ kind: Token.Kind) -> Token { Token(kind: kind, text: text(start), offset: start) }

        // Quoted literals, whose prefix letter would otherwise start an identifier.
        if c == "'" {
            try string()
            return token(.stringLiteral)
        }
        if c == "h", peek(1) == "'", let end = matchHex(from: pos + 2) {
            pos = end
            return token(.hexLiteral)
        }
        if c == "b", peek(1) == "'", let end = matchBase64(from: pos + 2) {
            pos = end
            return token(.binaryLiteral)
        }
        if c == "t", peek(1) == "'", let end = matchTimestamp(from: pos + 2) {
            pos = end
            return token(.timestampLiteral)
        }
        if c == "+" || c == "-" || c == "." || Lexer.isDigit(c) {
            if let (end, isFloat) = matchNumber(from: pos) {
                pos = end
                return token(isFloat ? .floatLiteral : .intLiteral)
            }
        }
        if Lexer.isLetter(c) || c == "_" {
            var hasHyphen = false
            pos += 1
            while let d = peek(), Lexer.isLetter(d) || Lexer.isDigit(d) || d == "_" || d == "-" {
                if d == "-" { hasHyphen = true }
                pos += 1
            }
            let word = text(start)
            if let keyword = Token.Keyword(rawValue: word) { return token(.keyword(keyword)) }
            if word == "true" || word == "false" { return token(.boolLiteral) }
            return token(hasHyphen ? .identifierWithHyphen : .identifier)
        }
        let two = peek(1).map { String(c) + String($0) }
        for symbol in ["<=", ">=", "!=", "<>", "=="] where two == symbol {
            pos += 2
            let kind: Token.Symbol = symbol == "<>" ? .notEqual : symbol == "==" ? .equal : Token.Symbol(rawValue: symbol)!
            return token(.symbol(kind))
        }
        if let symbol = Token.Symbol(rawValue: String(c)) {
            pos += 1
            return token(.symbol(symbol))
        }
        throw PatternError(offset: start, message: "unexpected character '\(c)'")
    }

    /// `'` ( any character but `'` and `\`, or `\'`, or `\\` )* `'`
    private mutating func string() throws(PatternError) {
        let start = pos
        pos += 1
        while let c = peek() {
            if c == "'" {
                pos += 1
                return
            }
            if c == "\\" {
                guard let e = peek(1), e == "'" || e == "\\" else {
                    throw PatternError(offset: pos, message: "invalid escape in a string (only \\' and \\\\ are allowed)")
                }
                pos += 2
                continue
            }
            pos += 1
        }
        throw PatternError(offset: start, message: "unterminated string")
    }

    /// Hexadecimal digit pairs then `'`; returns the end offset.
    private func matchHex(from: Int) -> Int? {
        var i = from
        while i + 1 < scalars.count, Lexer.isHex(scalars[i]), Lexer.isHex(scalars[i + 1]) { i += 2 }
        return i < scalars.count && scalars[i] == "'" ? i + 1 : nil
    }

    /// One or more groups of four base64 characters, the last possibly padded with `=` or `==`, then `'`.
    private func matchBase64(from: Int) -> Int? {
        var i = from
        var groups = 0
        while i + 3 < scalars.count {
            let g = scalars[i..<(i + 4)]
            let a = Lexer.isBase64(g[i]), b = Lexer.isBase64(g[i + 1])
            let c = Lexer.isBase64(g[i + 2]), d = Lexer.isBase64(g[i + 3])
            if a && b && c && d {
                i += 4
                groups += 1
                continue
            }
            if a && b && ((c && g[i + 3] == "=") || (g[i + 2] == "=" && g[i + 3] == "=")) {
                i += 4
                groups += 1
            }
            break
        }
        return groups > 0 && i < scalars.count && scalars[i] == "'" ? i + 1 : nil
    }

    /// `YYYY-MM-DDTHH:MM:SS[.s+]Z` then `'`, with the grammar's ranges for each field.
    private func matchTimestamp(from: Int) -> Int? {
        func digit(_ i: Int) -> Int? {
            i < scalars.count && Lexer.isDigit(scalars[i]) ? Int(scalars[i].value - 48) : nil
        }
        func char(_ i: Int, _ c: Unicode.Scalar) -> Bool { i < scalars.count && scalars[i] == c }
        let f = from
        guard let _ = digit(f), let _ = digit(f + 1), let _ = digit(f + 2), let _ = digit(f + 3), char(f + 4, "-"),
            let m1 = digit(f + 5), let m2 = digit(f + 6), char(f + 7, "-"), let d1 = digit(f + 8), let d2 = digit(f + 9),
            char(f + 10, "T"), let h1 = digit(f + 11), let h2 = digit(f + 12), char(f + 13, ":"), let n1 = digit(f + 14),
            let _ = digit(f + 15), char(f + 16, ":"), let s1 = digit(f + 17), let s2 = digit(f + 18)
        else { return nil }
        let month = m1 * 10 + m2, day = d1 * 10 + d2, hour = h1 * 10 + h2, second = s1 * 10 + s2
        guard (1...12).contains(month), (1...31).contains(day), hour <= 23, n1 <= 5, second <= 60 else { return nil }
        var i = f + 19
        if char(i, ".") {
            i += 1
            guard digit(i) != nil else { return nil }
            while digit(i) != nil { i += 1 }
        }
        guard char(i, "Z"), char(i + 1, "'") else { return nil }
        return i + 2
    }

    /// `[+-]? ('0' | [1-9][0-9]*)` or `[+-]? [0-9]* '.' [0-9]+`; returns the end offset and whether it is a float.
    private func matchNumber(from: Int) -> (Int, Bool)? {
        var i = from
        if scalars[i] == "+" || scalars[i] == "-" { i += 1 }
        let digitsStart = i
        while i < scalars.count, Lexer.isDigit(scalars[i]) { i += 1 }
        if i < scalars.count, scalars[i] == ".", i + 1 < scalars.count, Lexer.isDigit(scalars[i + 1]) {
            i += 1
            while i < scalars.count, Lexer.isDigit(scalars[i]) { i += 1 }
            return (i, true)
        }
        guard i > digitsStart else { return nil }
        // An integer has no leading zero: "01" is "0" followed by "1".
        if scalars[digitsStart] == "0" { return (digitsStart + 1, false) }
        return (i, false)
    }
}
