/// A schema pattern of the shape most STIX schema patterns have, matched without a regular-expression engine:
/// `^`, an optional group of literal alternatives, then literals and single-character classes with counts, and an
/// optional `$`: `^[a-z0-9\-]+$`, `^(relationship|sighting)--.+$`, `^CAPEC-\d+$`, `^[a-zA-Z0-9/\.+_:-]{2,250}$`.
///
/// Python's `re` semantics (what stix2-validator applies): `.` is any character but a newline, `\d` any Unicode
/// decimal digit, `$` the end or just before a final newline (``SchemaPattern`` retries without that newline). Only
/// the last item may have a variable count, so matching needs no backtracking: each alternative of the group is
/// tried, then every item takes exactly its count, the last one as many characters as it may.
struct LinearPattern: Sendable {
    /// One position of the pattern: the characters it accepts and how many times it repeats.
    struct Item: Sendable {
        var test: Test
        var minimum: Int
        var maximum: Int?
    }

    enum Test: Sendable {
        /// ASCII characters by bit, plus Unicode decimal digits when `digits` (`\d` in a class or alone).
        case set(low: UInt64, high: UInt64, digits: Bool)
        /// `.`: anything but a newline.
        case anyButNewline
    }

    let alternatives: [[Unicode.Scalar]]
    let items: [Item]
    let anchoredEnd: Bool

    /// Nil when `source` is not of the supported shape (the caller then uses a regular-expression engine).
    init?(_ source: String) {
        var p = Array(source.unicodeScalars)[...]
        guard p.first == "^" else { return nil }
        p.removeFirst()
        var alternatives: [[Unicode.Scalar]] = [[]]
        if p.first == "(" {
            guard let close = LinearPattern.closingParenthesis(p) else { return nil }
            let body = p[p.index(after: p.startIndex)..<close]
            // `(a|b)` or `((a)|(b))`: each alternative a plain literal, in parentheses or not.
            alternatives = LinearPattern.splitAlternatives(body).map { alternative in
                alternative.first == "(" && alternative.last == ")" ? Array(alternative.dropFirst().dropLast()) : Array(alternative)
            }
            guard alternatives.allSatisfy({ !$0.isEmpty && $0.allSatisfy(LinearPattern.isPlain) }) else { return nil }
            p = p[p.index(after: close)...]
            if let next = p.first, "*+?{".unicodeScalars.contains(next) { return nil }
        }
        var anchoredEnd = false
        var items: [Item] = []
        while let c = p.first {
            p.removeFirst()
            let test: Test
            switch c {
            case "$":
                guard p.isEmpty else { return nil }
                anchoredEnd = true
                continue
            case ".":
                test = .anyButNewline
            case "[":
                guard let t = LinearPattern.parseClass(&p) else { return nil }
                test = t
            case "\\":
                guard let e = p.first else { return nil }
                p.removeFirst()
                if e == "d" {
                    var low: UInt64 = 0
                    var high: UInt64 = 0
                    for d in UInt32(48)...57 { LinearPattern.insert(d, &low, &high) }
                    test = .set(low: low, high: high, digits: true)
                } else if LinearPattern.isEscapedLiteral(e) {
                    test = LinearPattern.single(e)
                } else {
                    return nil
                }
            default:
                guard LinearPattern.isPlain(c) || c == ":" || c == "/" || c == "=" else { return nil }
                test = LinearPattern.single(c)
            }
            guard let (minimum, maximum) = LinearPattern.parseCount(&p) else { return nil }
            items.append(Item(test: test, minimum: minimum, maximum: maximum))
        }
        // Only the last item may vary in count: then no choice made earlier can need undoing.
        guard items.dropLast().allSatisfy({ $0.maximum == $0.minimum }) else { return nil }
        self.alternatives = alternatives
        self.items = items
        self.anchoredEnd = anchoredEnd
    }

    /// True when the pattern matches `s` (anchored at its start; at its end too when the pattern ends in `$`).
    func matches(_ s: String) -> Bool {
        let scalars = s.unicodeScalars
        for alternative in alternatives {
            guard scalars.starts(with: alternative) else { continue }
            var i = scalars.index(scalars.startIndex, offsetBy: alternative.count)
            if matchItems(scalars, from: &i) { return true }
        }
        return false
    }

    private func matchItems(_ scalars: String.UnicodeScalarView, from i: inout String.Index) -> Bool {
        for item in items {
            var count = 0
            while item.maximum.map({ count < $0 }) ?? true, i < scalars.endIndex, LinearPattern.accepts(item.test, scalars[i]) {
                count += 1
                scalars.formIndex(after: &i)
            }
            if count < item.minimum { return false }
        }
        return !anchoredEnd || i == scalars.endIndex
    }

    private static func accepts(_ test: Test, _ c: Unicode.Scalar) -> Bool {
        switch test {
        case .anyButNewline:
            return c != "\n"
        case .set(let low, let high, let digits):
            let v = c.value
            if v < 64 { return low & (1 << UInt64(v)) != 0 }
            if v < 128 { return high & (1 << UInt64(v - 64)) != 0 }
            return digits && c.properties.numericType == .decimal
        }
    }

    private static func single(_ c: Unicode.Scalar) -> Test {
        var low: UInt64 = 0
        var high: UInt64 = 0
        insert(c.value, &low, &high)
        return .set(low: low, high: high, digits: false)
    }

    private static func insert(_ v: UInt32, _ low: inout UInt64, _ high: inout UInt64) {
        if v < 64 { low |= 1 << UInt64(v) } else { high |= 1 << UInt64(v - 64) }
    }

    /// Letters, digits, `-` and `_`: characters that mean themselves anywhere in a pattern.
    private static func isPlain(_ c: Unicode.Scalar) -> Bool {
        c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "_")
    }

    /// `\.`, `\-`, `\/` and the like: an escaped punctuation character stands for itself.
    private static func isEscapedLiteral(_ c: Unicode.Scalar) -> Bool {
        c.isASCII && !c.properties.isAlphabetic && !("0"..."9").contains(c)
    }

    /// The index of the `)` closing the group `p` starts with.
    private static func closingParenthesis(_ p: ArraySlice<Unicode.Scalar>) -> Int? {
        var depth = 0
        for i in p.indices {
            switch p[i] {
            case "\\", "[": return nil  // escapes and classes inside a group are left to the engine
            case "(": depth += 1
            case ")":
                depth -= 1
                if depth == 0 { return i }
            default: break
            }
        }
        return nil
    }

    /// The alternatives of a group's body, split at the `|` outside nested parentheses.
    private static func splitAlternatives(_ body: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        var parts: [ArraySlice<Unicode.Scalar>] = []
        var depth = 0
        var start = body.startIndex
        for i in body.indices {
            switch body[i] {
            case "(": depth += 1
            case ")": depth -= 1
            case "|" where depth == 0:
                parts.append(body[start..<i])
                start = i + 1
            default: break
            }
        }
        parts.append(body[start...])
        return parts
    }

    /// A class after its `[`: ASCII characters and ranges, escaped punctuation and `\d`; no negation.
    private static func parseClass(_ p: inout ArraySlice<Unicode.Scalar>) -> Test? {
        var low: UInt64 = 0
        var high: UInt64 = 0
        var digits = false
        var first = true
        while let c = p.first {
            p.removeFirst()
            if c == "]" && !first { return .set(low: low, high: high, digits: digits) }
            if c == "^" && first { return nil }
            first = false
            var literal = c
            if c == "\\" {
                guard let e = p.first else { return nil }
                p.removeFirst()
                if e == "d" {
                    digits = true
                    for d in UInt32(48)...57 { insert(d, &low, &high) }
                    continue
                }
                guard isEscapedLiteral(e) else { return nil }
                literal = e
            } else if c == "[" || !c.isASCII {
                return nil
            }
            // A range `a-z`, unless the hyphen ends the class.
            if p.count >= 2, p.first == "-", let end = p.dropFirst().first, end != "]", end != "\\", end.isASCII {
                p.removeFirst(2)
                guard literal.value <= end.value else { return nil }
                for v in literal.value...end.value { insert(v, &low, &high) }
            } else {
                insert(literal.value, &low, &high)
            }
        }
        return nil
    }

    /// `+`, `*`, `?`, `{n}`, `{m,}` or `{m,n}` after an item, or exactly once; nil for a lazy or malformed count.
    private static func parseCount(_ p: inout ArraySlice<Unicode.Scalar>) -> (Int, Int?)? {
        let count: (Int, Int?)
        switch p.first {
        case "+": p.removeFirst(); count = (1, nil)
        case "*": p.removeFirst(); count = (0, nil)
        case "?": p.removeFirst(); count = (0, 1)
        case "{":
            guard let close = p.firstIndex(of: "}") else { return nil }
            let body = String(String.UnicodeScalarView(p[p.index(after: p.startIndex)..<close]))
            p = p[p.index(after: close)...]
            let parts = body.split(separator: ",", omittingEmptySubsequences: false)
            guard let m = Int(parts[0]) else { return nil }
            switch parts.count {
            case 1: count = (m, m)
            case 2:
                if parts[1].isEmpty { count = (m, nil) } else {
                    guard let n = Int(parts[1]), n >= m else { return nil }
                    count = (m, n)
                }
            default: return nil
            }
        default:
            return (1, 1)
        }
        if let next = p.first, next == "?" || next == "+" || next == "*" || next == "{" { return nil }
        return count
    }
}
