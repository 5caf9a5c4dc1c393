/// The regular expressions of MATCHES, with the syntax and meaning of Python's `re` (which the OASIS matcher uses)
/// for everything but backreferences and lookaround, run by a Pike VM: time linear in the subject's length times the
/// expression's size, whatever the expression, so a catastrophic expression such as `(a+)+$` cannot hang the node.
struct MatchRegex: Sendable {
    /// One test of a single code point.
    enum CharTest: Sendable {
        case scalar(UInt32)
        case any
        case range(UInt32, UInt32)
        case digit, word, space
        indirect case not(CharTest)
        case set([CharTest])
    }

    enum Assertion: Sendable { case lineStart, lineEnd, textStart, textEnd, wordBoundary, notWordBoundary }

    enum Instruction: Sendable {
        case char(CharTest)
        case split(Int, Int)
        case jump(Int)
        case assert(Assertion)
        case match
    }

    let program: [Instruction]
    let ignoreCase: Bool
    let dotAll: Bool
    let multiLine: Bool
    /// Bytes patterns: classes are ASCII only.
    let ascii: Bool

    static let maxInstructions = 20_000
    /// Code points every match must start with at the beginning of the subject (an expression starting `^abc`),
    /// checked before running the machine.
    let requiredPrefix: [UInt32]

    /// The regular expression a LIKE operand stands for: `%` any run, `_` any one code point, anchored at both ends
    /// the way the matcher's `^...$` is (a final newline may follow).
    init(like operand: [UInt32]) throws(MatchError) {
        var items: [Node] = [.assert(.textStart)]
        for c in operand {
            switch c {
            case 37: items.append(.repeatNode(.char(.any), min: 0, max: nil))
            case 95: items.append(.char(.any))
            default: items.append(.char(.scalar(c)))
            }
        }
        items.append(.assert(.lineEnd))
        var compiler = Compiler()
        for item in items { try compiler.emit(item) }
        compiler.code.append(.match)
        program = compiler.code
        ignoreCase = false
        dotAll = false
        multiLine = false
        ascii = false
        requiredPrefix = MatchRegex.anchoredPrefix(.concat(items))
    }

    /// Compiles `pattern` (code points) for text (`ascii: false`) or for binary data read as Latin-1 (`ascii: true`).
    init(_ pattern: [UInt32], ascii: Bool) throws(MatchError) {
        var parser = Parser(pattern: pattern, ascii: ascii)
        let node = try parser.parseAll()
        var compiler = Compiler()
        try compiler.emit(node)
        compiler.code.append(.match)
        program = compiler.code
        ignoreCase = parser.ignoreCase
        dotAll = parser.dotAll
        multiLine = parser.multiLine
        self.ascii = ascii
        requiredPrefix = ignoreCase || multiLine ? [] : MatchRegex.anchoredPrefix(node)
    }

    /// The literal code points right after a leading `^` or `\A`, when the expression has no alternative that
    /// could start otherwise.
    static func anchoredPrefix(_ node: Node) -> [UInt32] {
        guard case .concat(let items) = node, let first = items.first, case .assert(let a) = first,
            a == .lineStart || a == .textStart
        else { return [] }
        var prefix: [UInt32] = []
        for item in items.dropFirst() {
            guard case .char(.scalar(let c)) = item else { break }
            prefix.append(c)
        }
        return prefix
    }

    // MARK: - Matching

    /// Whether the expression matches anywhere in `subject` (Python's `search`).
    func search(_ subject: [UInt32]) -> Bool {
        if !requiredPrefix.isEmpty && !subject.starts(with: requiredPrefix) { return false }
        var current = ThreadList(count: program.count)
        var next = ThreadList(count: program.count)
        var generation = 1
        for position in 0...subject.count {
            // A new attempt starts at every position.
            if addThread(&current, 0, position, subject, generation) { return true }
            generation += 1
            if position == subject.count { break }
            let c = subject[position]
            next.clear()
            for pc in current.pcs {
                if case .char(let test) = program[pc], matches(test, c) {
                    if addThread(&next, pc + 1, position + 1, subject, generation) { return true }
                }
            }
            generation += 1
            swap(&current, &next)
        }
        return false
    }

    struct ThreadList {
        var pcs: [Int] = []
        var mark: [Int]
        init(count: Int) { mark = Array(repeating: 0, count: count) }
        mutating func clear() { pcs.removeAll(keepingCapacity: true) }
    }

    /// Follows jumps, splits and assertions from `pc` at `position`; true when a match is reached.
    private func addThread(_ list: inout ThreadList, _ start: Int, _ position: Int, _ subject: [UInt32], _ generation: Int) -> Bool {
        var stack = [start]
        while let pc = stack.popLast() {
            if list.mark[pc] == generation { continue }
            list.mark[pc] = generation
            switch program[pc] {
            case .match: return true
            case .jump(let target): stack.append(target)
            case .split(let a, let b):
                stack.append(b)
                stack.append(a)
            case .assert(let a):
                if holds(a, position, subject) { stack.append(pc + 1) }
            case .char: list.pcs.append(pc)
            }
        }
        return false
    }

    private func holds(_ a: Assertion, _ i: Int, _ s: [UInt32]) -> Bool {
        let newline: UInt32 = 10
        switch a {
        case .textStart: return i == 0
        case .textEnd: return i == s.count
        case .lineStart: return i == 0 || (multiLine && s[i - 1] == newline)
        case .lineEnd:
            if i == s.count { return true }
            if multiLine { return s[i] == newline }
            return i == s.count - 1 && s[i] == newline
        case .wordBoundary, .notWordBoundary:
            let before = i > 0 && isWord(s[i - 1])
            let after = i < s.count && isWord(s[i])
            return (before != after) == (a == .wordBoundary)
        }
    }

    private func isWord(_ c: UInt32) -> Bool {
        if c == 95 { return true }
        if ascii || c < 128 {
            return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
        }
        guard let s = Unicode.Scalar(c) else { return false }
        return s.properties.isAlphabetic || s.properties.numericType != nil
    }

    private func matches(_ test: CharTest, _ c: UInt32) -> Bool {
        if ignoreCase {
            for variant in caseVariants(c) where matchesExactly(test, variant) { return true }
            return false
        }
        return matchesExactly(test, c)
    }

    private func caseVariants(_ c: UInt32) -> [UInt32] {
        if ascii || c < 128 {
            if c >= 65 && c <= 90 { return [c, c + 32] }
            if c >= 97 && c <= 122 { return [c, c - 32] }
            return [c]
        }
        guard let s = Unicode.Scalar(c) else { return [c] }
        var out: [UInt32] = [c]
        for mapped in [s.properties.lowercaseMapping, s.properties.uppercaseMapping] {
            let scalars = Array(mapped.unicodeScalars)
            if scalars.count == 1, scalars[0].value != c { out.append(scalars[0].value) }
        }
        return out
    }

    private func matchesExactly(_ test: CharTest, _ c: UInt32) -> Bool {
        switch test {
        case .scalar(let v): return v == c
        case .any: return dotAll || c != 10
        case .range(let lo, let hi): return c >= lo && c <= hi
        case .digit:
            if ascii || c < 128 { return c >= 48 && c <= 57 }
            return Unicode.Scalar(c).map { $0.properties.numericType == .decimal } ?? false
        case .word: return isWord(c)
        case .space:
            if ascii || c < 128 { return c == 32 || (c >= 9 && c <= 13) || (!ascii && (c >= 28 && c <= 31)) }
            return Unicode.Scalar(c).map { $0.properties.isWhitespace } ?? false
        case .not(let inner): return !matchesExactly(inner, c)
        case .set(let tests): return tests.contains { matchesExactly($0, c) }
        }
    }

    // MARK: - Syntax

    indirect enum Node {
        case empty
        case char(CharTest)
        case assert(Assertion)
        case concat([Node])
        case alternate([Node])
        case repeatNode(Node, min: Int, max: Int?)
    }

    struct Parser {
        let p: [UInt32]
        let ascii: Bool
        var i = 0
        var ignoreCase = false
        var dotAll = false
        var multiLine = false

        init(pattern: [UInt32], ascii: Bool) {
            p = pattern
            self.ascii = ascii
        }

        func fail(_ message: String) -> MatchError {
            MatchError(.evaluation, "invalid regular expression at position \(i): \(message)")
        }

        var atEnd: Bool { i >= p.count }
        func peek(_ offset: Int = 0) -> UInt32? { i + offset < p.count ? p[i + offset] : nil }
        static func ch(_ c: Character) -> UInt32 { c.unicodeScalars.first!.value }

        mutating func parseAll() throws(MatchError) -> Node {
            // Global flags such as (?i) come first, as Python 3.11 requires.
            while peek() == Self.ch("("), peek(1) == Self.ch("?"), let f = peek(2), "aiLmsux".unicodeScalars.contains(where: { $0.value == f }) {
                var j = i + 2
                while j < p.count, "aiLmsux".unicodeScalars.contains(where: { $0.value == p[j] }) {
                    switch p[j] {
                    case Self.ch("i"): ignoreCase = true
                    case Self.ch("s"): dotAll = true
                    case Self.ch("m"): multiLine = true
                    case Self.ch("u"), Self.ch("a") : break
                    default: throw fail("the flag '\(Character(Unicode.Scalar(p[j])!))' is not supported")
                    }
                    j += 1
                }
                guard j < p.count, p[j] == Self.ch(")") else { throw fail("scoped flags are not supported") }
                i = j + 1
            }
            let node = try alternation()
            guard atEnd else { throw fail("unbalanced parenthesis") }
            return node
        }

        mutating func alternation() throws(MatchError) -> Node {
            var branches = [try concatenation()]
            while peek() == Self.ch("|") {
                i += 1
                branches.append(try concatenation())
            }
            return branches.count == 1 ? branches[0] : .alternate(branches)
        }

        mutating func concatenation() throws(MatchError) -> Node {
            var items: [Node] = []
            while let c = peek(), c != Self.ch("|"), c != Self.ch(")") {
                var atom = try self.atom()
                while let q = try quantifier() {
                    if case .assert = atom { throw fail("nothing to repeat") }
                    if case .empty = atom { throw fail("nothing to repeat") }
                    atom = .repeatNode(atom, min: q.0, max: q.1)
                }
                items.append(atom)
            }
            return items.count == 1 ? items[0] : .concat(items)
        }

        /// `*`, `+`, `?`, `{m}`, `{m,}`, `{,n}`, `{m,n}`, each optionally lazy; a `{` that is no quantifier is a literal.
        mutating func quantifier() throws(MatchError) -> (Int, Int?)? {
            guard let c = peek() else { return nil }
            var result: (Int, Int?)
            switch c {
            case Self.ch("*"): result = (0, nil); i += 1
            case Self.ch("+"): result = (1, nil); i += 1
            case Self.ch("?"): result = (0, 1); i += 1
            case Self.ch("{"):
                var j = i + 1
                func number(_ j: inout Int) -> Int? {
                    var v: Int? = nil
                    while j < p.count, p[j] >= 48, p[j] <= 57 {
                        v = (v ?? 0) * 10 + Int(p[j] - 48)
                        if v! > 100_000 { v = 100_001 }
                        j += 1
                    }
                    return v
                }
                let low = number(&j)
                var high: Int?
                if j < p.count, p[j] == Self.ch(",") {
                    j += 1
                    high = number(&j)
                } else {
                    high = low
                    if low == nil { return nil }
                }
                guard j < p.count, p[j] == Self.ch("}") else { return nil }
                i = j + 1
                result = (low ?? 0, high)
                if let h = high, h < result.0 { throw fail("min repeat greater than max repeat") }
            default: return nil
            }
            if peek() == Self.ch("?") { i += 1 }  // lazy: the same language
            else if peek() == Self.ch("+") { throw fail("possessive quantifiers are not supported") }
            return result
        }

        mutating func atom() throws(MatchError) -> Node {
            let c = p[i]
            switch c {
            case Self.ch("("):
                i += 1
                if peek() == Self.ch("?") {
                    i += 1
                    switch peek() ?? 0 {
                    case Self.ch(":"): i += 1
                    case Self.ch("P") where peek(1) == Self.ch("<"):
                        while let x = peek(), x != Self.ch(">") { i += 1 }
                        guard !atEnd else { throw fail("unterminated group name") }
                        i += 1
                    case Self.ch("#"):
                        while let x = peek(), x != Self.ch(")") { i += 1 }
                        guard !atEnd else { throw fail("missing ), unterminated comment") }
                        i += 1
                        return .empty
                    default: throw fail("lookaround, backreferences and inline flags inside the expression are not supported")
                    }
                }
                let inner = try alternation()
                guard peek() == Self.ch(")") else { throw fail("missing ), unterminated subpattern") }
                i += 1
                return inner
            case Self.ch(")"): throw fail("unbalanced parenthesis")
            case Self.ch("["): return .char(try charClass())
            case Self.ch("."): i += 1; return .char(.any)
            case Self.ch("^"): i += 1; return .assert(.lineStart)
            case Self.ch("$"): i += 1; return .assert(.lineEnd)
            case Self.ch("*"), Self.ch("+"), Self.ch("?"): throw fail("nothing to repeat")
            case Self.ch("\\"): return try escape(inClass: false)
            default: i += 1; return .char(.scalar(c))
            }
        }

        mutating func escape(inClass: Bool) throws(MatchError) -> Node {
            i += 1
            guard let c = peek() else { throw fail("bad escape (end of pattern)") }
            i += 1
            switch c {
            case Self.ch("d"): return .char(.digit)
            case Self.ch("D"): return .char(.not(.digit))
            case Self.ch("w"): return .char(.word)
            case Self.ch("W"): return .char(.not(.word))
            case Self.ch("s"): return .char(.space)
            case Self.ch("S"): return .char(.not(.space))
            case Self.ch("b"): return inClass ? .char(.scalar(8)) : .assert(.wordBoundary)
            case Self.ch("B") where !inClass: return .assert(.notWordBoundary)
            case Self.ch("A") where !inClass: return .assert(.textStart)
            case Self.ch("Z") where !inClass: return .assert(.textEnd)
            case Self.ch("n"): return .char(.scalar(10))
            case Self.ch("t"): return .char(.scalar(9))
            case Self.ch("r"): return .char(.scalar(13))
            case Self.ch("f"): return .char(.scalar(12))
            case Self.ch("v"): return .char(.scalar(11))
            case Self.ch("a"): return .char(.scalar(7))
            case Self.ch("x"): return .char(.scalar(try hexDigits(2)))
            case Self.ch("u") where !ascii: return .char(.scalar(try hexDigits(4)))
            case Self.ch("U") where !ascii: return .char(.scalar(try hexDigits(8)))
            case Self.ch("0"):
                var v: UInt32 = 0
                var n = 0
                while n < 2, let d = peek(), d >= 48, d <= 55 { v = v * 8 + d - 48; i += 1; n += 1 }
                return .char(.scalar(v))
            case 49...57:
                if inClass { throw fail("bad escape \\\(Character(Unicode.Scalar(c)!))") }
                throw fail("backreferences are not supported")
            default:
                if c < 128, let s = Unicode.Scalar(c), s.properties.isAlphabetic || (c >= 48 && c <= 57) {
                    throw fail("bad escape \\\(Character(s))")
                }
                return .char(.scalar(c))
            }
        }

        mutating func hexDigits(_ n: Int) throws(MatchError) -> UInt32 {
            var v: UInt32 = 0
            for _ in 0..<n {
                guard let d = peek(), let x = Self.hexValue(d) else { throw fail("incomplete escape") }
                v = v * 16 + x
                i += 1
            }
            guard v <= 0x10FFFF else { throw fail("bad escape: code point out of range") }
            return v
        }

        static func hexValue(_ d: UInt32) -> UInt32? {
            switch d {
            case 48...57: return d - 48
            case 65...70: return d - 55
            case 97...102: return d - 87
            default: return nil
            }
        }

        mutating func charClass() throws(MatchError) -> CharTest {
            i += 1
            var negated = false
            if peek() == Self.ch("^") { negated = true; i += 1 }
            var items: [CharTest] = []
            var first = true
            while true {
                guard let c = peek() else { throw fail("unterminated character set") }
                if c == Self.ch("]") && !first { i += 1; break }
                first = false
                var low: CharTest
                if c == Self.ch("\\") {
                    guard case .char(let t) = try escape(inClass: true) else { throw fail("bad escape in a character set") }
                    low = t
                } else {
                    i += 1
                    low = .scalar(c)
                }
                if peek() == Self.ch("-"), let n = peek(1), n != Self.ch("]"), case .scalar(let lo) = low {
                    i += 1
                    var hi: UInt32
                    if n == Self.ch("\\") {
                        guard case .char(.scalar(let h)) = try escape(inClass: true) else { throw fail("bad character range") }
                        hi = h
                    } else {
                        i += 1
                        hi = n
                    }
                    guard lo <= hi else { throw fail("bad character range") }
                    low = .range(lo, hi)
                }
                items.append(low)
            }
            let set = CharTest.set(items)
            return negated ? .not(set) : set
        }
    }

    struct Compiler {
        var code: [Instruction] = []

        mutating func emit(_ node: Node) throws(MatchError) {
            guard code.count < MatchRegex.maxInstructions else {
                throw MatchError(.tooComplex, "the regular expression is too large for the matcher")
            }
            switch node {
            case .empty: break
            case .char(let t): code.append(.char(t))
            case .assert(let a): code.append(.assert(a))
            case .concat(let items): for item in items { try emit(item) }
            case .alternate(let branches):
                var jumps: [Int] = []
                for (k, branch) in branches.enumerated() {
                    if k < branches.count - 1 {
                        let split = code.count
                        code.append(.split(split + 1, -1))
                        try emit(branch)
                        jumps.append(code.count)
                        code.append(.jump(-1))
                        code[split] = .split(split + 1, code.count)
                    } else {
                        try emit(branch)
                    }
                }
                for j in jumps { code[j] = .jump(code.count) }
            case .repeatNode(let inner, let min, let max):
                guard min <= 10_000, (max ?? 0) <= 10_000 else {
                    throw MatchError(.tooComplex, "the regular expression repeats more than the matcher allows")
                }
                for _ in 0..<min { try emit(inner) }
                if let max {
                    // Optional copies: each may be skipped to the end.
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(code.count)
                        code.append(.split(code.count + 1, -1))
                        try emit(inner)
                    }
                    for s in splits { code[s] = .split(s + 1, code.count) }
                } else {
                    let loop = code.count
                    code.append(.split(loop + 1, -1))
                    try emit(inner)
                    code.append(.jump(loop))
                    code[loop] = .split(loop + 1, code.count)
                }
            }
        }
    }
}
