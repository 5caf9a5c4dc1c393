/// A recursive-descent parser for the STIX 2.1 patterning grammar. Precedence, lowest first: FOLLOWEDBY, OR, AND
/// between observations; OR, AND between comparisons; qualifiers bind to the observation before them.
struct PatternParser {
    private let tokens: [Token]
    private var index = 0

    init(_ text: String) throws(PatternError) {
        tokens = try Lexer.tokens(text)
    }

    private var current: Token { tokens[index] }

    private mutating func advance() -> Token {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    private func describe(_ t: Token) -> String {
        t.kind == .end ? "the end of the pattern" : "'\(t.text)'"
    }

    private func fail(_ expected: String) -> PatternError {
        PatternError(offset: current.offset, message: "expected \(expected), found \(describe(current))")
    }

    private func at(_ keyword: Token.Keyword) -> Bool { current.kind == .keyword(keyword) }
    private func at(_ symbol: Token.Symbol) -> Bool { current.kind == .symbol(symbol) }

    private mutating func expect(_ symbol: Token.Symbol) throws(PatternError) {
        guard at(symbol) else { throw fail("'\(symbol.rawValue)'") }
        _ = advance()
    }

    private mutating func expect(_ keyword: Token.Keyword) throws(PatternError) {
        guard at(keyword) else { throw fail("'\(keyword.rawValue)'") }
        _ = advance()
    }

    mutating func parsePattern() throws(PatternError) -> ObservationExpression {
        if !(at(.leftBracket) || at(.leftParen)) {
            throw PatternError(offset: current.offset, message: "a pattern starts with '[' (an observation) or '(', found \(describe(current)); is it missing square brackets?")
        }
        let e = try observationExpressions()
        guard current.kind == .end else { throw fail("AND, OR, FOLLOWEDBY, a qualifier or the end of the pattern") }
        return e
    }

    private mutating func observationExpressions() throws(PatternError) -> ObservationExpression {
        var left = try observationOr()
        while at(.followedBy) {
            _ = advance()
            left = .followedBy(left, try observationOr())
        }
        return left
    }

    private mutating func observationOr() throws(PatternError) -> ObservationExpression {
        var left = try observationAnd()
        while at(.or) {
            _ = advance()
            left = .or(left, try observationAnd())
        }
        return left
    }

    private mutating func observationAnd() throws(PatternError) -> ObservationExpression {
        var left = try qualifiedObservation()
        while at(.and) {
            _ = advance()
            left = .and(left, try qualifiedObservation())
        }
        return left
    }

    private mutating func qualifiedObservation() throws(PatternError) -> ObservationExpression {
        var e: ObservationExpression
        if at(.leftBracket) {
            _ = advance()
            observationCount += 1
            guard observationCount <= Self.maxObservations else {
                throw PatternError(offset: current.offset, message: "a pattern may hold at most \(Self.maxObservations) observation expressions")
            }
            try enter()
            e = .observation(try comparisonOr())
            try expect(.rightBracket)
            nesting -= 1
        } else if at(.leftParen) {
            _ = advance()
            try enter()
            e = .group(try observationExpressions())
            try expect(.rightParen)
            nesting -= 1
        } else {
            throw fail("'[' or '('")
        }
        while true {
            if at(.within) {
                _ = advance()
                let t = current
                guard (t.kind == .intLiteral || t.kind == .floatLiteral), !t.text.hasPrefix("-"), let seconds = Double(t.text) else {
                    throw fail("a positive number of seconds")
                }
                _ = advance()
                try expect(.seconds)
                e = .qualified(e, .within(seconds: seconds, text: t.text))
            } else if at(.repeats) {
                _ = advance()
                let t = current
                guard t.kind == .intLiteral, !t.text.hasPrefix("-") else { throw fail("a positive whole number of times") }
                guard let times = Int64(t.text) else {
                    throw PatternError(offset: t.offset, message: "REPEATS count \(t.text) is too large")
                }
                _ = advance()
                try expect(.times)
                e = .qualified(e, .repeats(times: times, text: t.text))
            } else if at(.start) {
                _ = advance()
                guard current.kind == .timestampLiteral else { throw fail("a timestamp literal t'...' after START") }
                let start = advance().text
                try expect(.stop)
                guard current.kind == .timestampLiteral else { throw fail("a timestamp literal t'...' after STOP") }
                let stop = advance().text
                e = .qualified(e, .startStop(start: String(start.dropFirst(2).dropLast()), stop: String(stop.dropFirst(2).dropLast())))
            } else {
                return e
            }
        }
    }

    // Chains of AND or OR between comparisons are built as balanced trees: both are associative, and a list of
    // thousands of alternatives (a common indicator) then stays a shallow tree.
    private static func balanced(_ items: ArraySlice<ComparisonExpression>,
                                 _ combine: (ComparisonExpression, ComparisonExpression) -> ComparisonExpression) -> ComparisonExpression {
        if items.count == 1 { return items.first! }
        let middle = items.startIndex + items.count / 2
        return combine(balanced(items[..<middle], combine), balanced(items[middle...], combine))
    }

    private mutating func comparisonOr() throws(PatternError) -> ComparisonExpression {
        var items = [try comparisonAnd()]
        while at(.or) {
            _ = advance()
            items.append(try comparisonAnd())
        }
        return Self.balanced(items[...], ComparisonExpression.or)
    }

    private mutating func comparisonAnd() throws(PatternError) -> ComparisonExpression {
        var items = [try propertyTest()]
        while at(.and) {
            _ = advance()
            items.append(try propertyTest())
        }
        return Self.balanced(items[...], ComparisonExpression.and)
    }

    /// Parentheses may nest this deep; deeper input is refused rather than risk the stack.
    static let maxNesting = 200
    /// Observation expressions a pattern may hold (they combine left to right, so this bounds the tree's depth).
    static let maxObservations = 1000
    private var nesting = 0
    private var observationCount = 0

    private mutating func enter() throws(PatternError) {
        nesting += 1
        guard nesting <= Self.maxNesting else {
            throw PatternError(offset: current.offset, message: "parentheses and brackets nest more than \(Self.maxNesting) deep")
        }
    }

    private mutating func propertyTest() throws(PatternError) -> ComparisonExpression {
        if at(.leftParen) {
            _ = advance()
            try enter()
            let e = try comparisonOr()
            try expect(.rightParen)
            nesting -= 1
            return .group(e)
        }
        if at(.not) || at(.exists) {
            let negated = at(.not)
            if negated { _ = advance() }
            try expect(.exists)
            let path = try objectPath()
            return .comparison(Comparison(path: path, op: .exists, negated: negated, values: [], valueText: ""))
        }
        let path = try objectPath()
        let negated = at(.not)
        if negated { _ = advance() }
        let opToken = current
        let op: Comparison.Operator
        switch opToken.kind {
        case .symbol(.equal): op = .equal
        case .symbol(.notEqual): op = .notEqual
        case .symbol(.greater): op = .greater
        case .symbol(.less): op = .less
        case .symbol(.greaterOrEqual): op = .greaterOrEqual
        case .symbol(.lessOrEqual): op = .lessOrEqual
        case .keyword(.in): op = .in
        case .keyword(.like): op = .like
        case .keyword(.matches): op = .matches
        case .keyword(.isSubset): op = .isSubset
        case .keyword(.isSuperset): op = .isSuperset
        default: throw fail("a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)")
        }
        _ = advance()
        switch op {
        case .in:
            let start = current.offset
            try expect(.leftParen)
            var values: [Literal] = []
            var texts: [String] = []
            if !at(.rightParen) {
                while true {
                    let t = current
                    values.append(try literal(allowBool: true))
                    texts.append(t.text)
                    if at(.comma) { _ = advance(); continue }
                    break
                }
            }
            try expect(.rightParen)
            _ = start
            return .comparison(Comparison(path: path, op: op, negated: negated, values: values, valueText: "(" + texts.joined(separator: ",") + ")"))
        case .like, .matches, .isSubset, .isSuperset:
            guard current.kind == .stringLiteral else { throw fail("a string literal after \(op.rawValue)") }
            let t = current
            let value = try literal(allowBool: false)
            return .comparison(Comparison(path: path, op: op, negated: negated, values: [value], valueText: t.text))
        case .equal, .notEqual:
            let t = current
            let value = try literal(allowBool: true)
            return .comparison(Comparison(path: path, op: op, negated: negated, values: [value], valueText: t.text))
        default:
            let t = current
            let value = try literal(allowBool: false)
            return .comparison(Comparison(path: path, op: op, negated: negated, values: [value], valueText: t.text))
        }
    }

    private mutating func literal(allowBool: Bool) throws(PatternError) -> Literal {
        let t = current
        let value: Literal
        switch t.kind {
        case .intLiteral: value = .integer(t.text.hasPrefix("+") ? String(t.text.dropFirst()) : t.text)
        case .floatLiteral: value = .float(Double(t.text) ?? 0, t.text)
        case .stringLiteral: value = .string(PatternParser.unquote(t.text))
        case .boolLiteral where allowBool: value = .bool(t.text == "true")
        case .binaryLiteral: value = .binary(String(t.text.dropFirst(2).dropLast()))
        case .hexLiteral: value = .hex(String(t.text.dropFirst(2).dropLast()))
        case .timestampLiteral: value = .timestamp(String(t.text.dropFirst(2).dropLast()))
        default: throw fail(allowBool ? "a literal value" : "a literal value that can be ordered (not a boolean)")
        }
        _ = advance()
        return value
    }

    /// The content of a string literal: quotes removed, `\'` and `\\` unescaped.
    static func unquote(_ text: String) -> String {
        var out = ""
        var escaped = false
        for c in text.dropFirst().dropLast() {
            if escaped {
                out.append(c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }

    private mutating func objectPath() throws(PatternError) -> ObjectPath {
        guard current.kind == .identifier || current.kind == .identifierWithHyphen else {
            throw fail("an object type (like file or ipv4-addr)")
        }
        let type = advance().text
        try expect(.colon)
        var steps: [ObjectPath.Step] = []
        switch current.kind {
        case .identifier: steps.append(.key(advance().text))
        case .stringLiteral: steps.append(.key(PatternParser.unquote(advance().text)))
        default: throw fail("a property name after '\(type):' (letters, digits and underscores, or a quoted name)")
        }
        while true {
            if at(.dot) {
                _ = advance()
                switch current.kind {
                case .identifier: steps.append(.key(advance().text))
                case .stringLiteral: steps.append(.key(PatternParser.unquote(advance().text)))
                default: throw fail("a property name after '.'")
                }
            } else if at(.leftBracket) {
                _ = advance()
                if at(.asterisk) {
                    _ = advance()
                    steps.append(.anyIndex)
                } else if current.kind == .intLiteral {
                    let t = advance()
                    guard let n = Int64(t.text) else { throw PatternError(offset: t.offset, message: "list index \(t.text) is too large") }
                    steps.append(.index(n))
                } else {
                    throw fail("a list index or '*'")
                }
                try expect(.rightBracket)
            } else {
                return ObjectPath(objectType: type, steps: steps)
            }
        }
    }
}
