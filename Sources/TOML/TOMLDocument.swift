/// A parsed TOML 1.0 document (https://toml.io/en/v1.0.0): its root table, and the line each key was written on.
///
/// The parser is strict: whatever TOML 1.0 does not allow is refused with its line, column and the rule broken,
/// never accepted loosely and never a crash. It agrees with Python's `tomllib` (the test suite compares them on
/// generated documents), except that integers must fit in 64 bits, as TOML 1.0 requires of a parser that cannot
/// represent more. Nesting (arrays, inline tables and dotted keys) is limited to ``maxDepth`` levels.
public struct TOMLDocument: Sendable {
    public let root: TOMLTable
    /// The 1-based line of each key, table header and array-of-tables element, by dotted path: `server.port`,
    /// `orgs[1].id`, `peers[0].pull[2].local` (elements of arrays of tables and of arrays, counted from 0).
    public let lines: [String: Int]

    public static let maxDepth = 100

    public init(parsing text: String) throws(TOMLError) {
        var parser = TOMLParser(Array(text.utf8))
        root = try parser.document()
        lines = parser.lines
    }
}

/// A table while the document is read: unlike a ``TOMLTable`` it is shared, so headers and dotted keys can add to it,
/// and it remembers how it came to be, which decides what may still add to it.
private final class Node {
    enum Origin: Equatable {
        /// Created as a step of a header's path (`a` in `[a.b]`): a later `[a]` may still define it.
        case implicit
        /// Defined by a header `[a]` or as an element of an array of tables `[[a]]`.
        case header
        /// Created by dotted keys (`a.b = 1`) in the section with this number; only that section may add to it.
        case dotted(Int)
    }

    var origin: Origin
    let path: String
    let isInline: Bool
    var keys: [String] = []
    var entries: [String: Entry] = [:]

    init(_ origin: Origin, path: String, isInline: Bool = false) {
        self.origin = origin
        self.path = path
        self.isInline = isInline
    }

    enum Entry {
        case value(TOMLValue)
        case table(Node)
        case tables(TableArray)
    }

    final class TableArray {
        var elements: [Node] = []
    }

    func set(_ key: String, _ entry: Entry) {
        if entries.updateValue(entry, forKey: key) == nil { keys.append(key) }
    }

    /// The finished table. Depth is bounded by `TOMLDocument.maxDepth`.
    func table() -> TOMLTable {
        var t = TOMLTable()
        t.isInline = isInline
        for key in keys {
            switch entries[key]! {
            case .value(let v): t[key] = v
            case .table(let n): t[key] = .table(n.table())
            case .tables(let a): t[key] = .array(a.elements.map { .table($0.table()) })
            }
        }
        return t
    }
}

private struct TOMLParser {
    let b: [UInt8]
    var i = 0
    /// The offset of each line's first byte.
    let lineStarts: [Int]
    var lines: [String: Int] = [:]
    /// The section (the text under one header) being read, and the last number handed out.
    var section = 0
    var lastSection = 0
    var depth = 0

    init(_ bytes: [UInt8]) {
        b = bytes
        var starts = [0]
        for (k, c) in bytes.enumerated() where c == 0x0A { starts.append(k + 1) }
        lineStarts = starts
    }

    // MARK: Positions and errors

    func line(at offset: Int) -> Int {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return lo + 1
    }

    func error(_ message: String, at offset: Int? = nil) -> TOMLError {
        let at = min(offset ?? i, b.count)
        let l = line(at: at)
        // Columns count characters: every byte that does not continue a UTF-8 sequence.
        let column = b[lineStarts[l - 1]..<at].reduce(1) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 }
        return TOMLError(line: l, column: column, message: message)
    }

    var current: UInt8? { i < b.count ? b[i] : nil }

    func peek(_ k: Int) -> UInt8? { i + k < b.count ? b[i + k] : nil }

    func starts(with s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i + n <= b.count else { return false }
        return (0..<n).allSatisfy { b[i + $0] == s.utf8Start[$0] }
    }

    /// What is at the position, for messages: a character, "the end of the line" or "the end of the file".
    var found: String {
        guard let c = current else { return "the end of the file" }
        if c == 0x0A || (c == 0x0D && peek(1) == 0x0A) { return "the end of the line" }
        if c == 0x0D { return "a carriage return not followed by a line feed" }
        if c < 0x20 || c == 0x7F { return "control character U+\(String(format4: c))" }
        var end = i + 1
        while end < b.count, b[end] & 0xC0 == 0x80 { end += 1 }
        return "'\(String(decoding: b[i..<end], as: UTF8.self))'"
    }

    // MARK: Layout

    mutating func skipBlanks() {
        while let c = current, c == 0x20 || c == 0x09 { i += 1 }
    }

    /// A comment, from `#` to the end of the line (left unread); control characters other than tab are refused.
    mutating func comment() throws(TOMLError) {
        i += 1
        while let c = current, c != 0x0A {
            if c == 0x0D, peek(1) == 0x0A { return }
            if (c < 0x20 && c != 0x09) || c == 0x7F { throw error("a comment cannot hold control character U+\(String(format4: c))") }
            i += 1
        }
    }

    /// Blanks, a comment, then a newline or the end of the file.
    mutating func endOfLine(after what: String) throws(TOMLError) {
        skipBlanks()
        if current == UInt8(ascii: "#") { try comment() }
        switch current {
        case nil: return
        case 0x0A: i += 1
        case 0x0D where peek(1) == 0x0A: i += 2
        default: throw error("expected the end of the line after \(what), found \(found)")
        }
    }

    /// Blanks, comments and newlines, as allowed between the elements of an array.
    mutating func skipBlanksAndNewlines() throws(TOMLError) {
        while let c = current {
            switch c {
            case 0x20, 0x09, 0x0A: i += 1
            case 0x0D where peek(1) == 0x0A: i += 2
            case UInt8(ascii: "#"): try comment()
            default: return
            }
        }
    }

    // MARK: The document

    mutating func document() throws(TOMLError) -> TOMLTable {
        let root = Node(.header, path: "")
        var table = root
        while true {
            skipBlanks()
            guard let c = current else { break }
            switch c {
            case UInt8(ascii: "#"), 0x0A, 0x0D:
                try endOfLine(after: "a comment")
            case UInt8(ascii: "["):
                table = try header(root)
                try endOfLine(after: "the table header")
            default:
                try keyValue(into: table, section: section)
                try endOfLine(after: "the value")
            }
        }
        return root.table()
    }

    /// `[a.b]` or `[[a.b]]`: the table that the following keys go into.
    mutating func header(_ root: Node) throws(TOMLError) -> Node {
        let start = i
        let isArray = peek(1) == UInt8(ascii: "[")
        i += isArray ? 2 : 1
        skipBlanks()
        let keys = try key()
        skipBlanks()
        if isArray {
            guard starts(with: "]]") else { throw error("expected ']]' to close the array-of-tables header, found \(found)") }
            i += 2
        } else {
            guard current == UInt8(ascii: "]") else { throw error("expected ']' to close the table header, found \(found)") }
            i += 1
        }
        lastSection += 1
        section = lastSection
        let line = line(at: start)
        var node = root
        for (n, k) in keys.enumerated() {
            let path = Self.join(node.path, k)
            let last = n == keys.count - 1
            switch node.entries[k] {
            case nil:
                if last && isArray {
                    let array = Node.TableArray()
                    array.elements.append(Node(.header, path: path + "[0]"))
                    node.set(k, .tables(array))
                    lines[path] = line
                    lines[path + "[0]"] = line
                    return array.elements[0]
                }
                let child = Node(last ? .header : .implicit, path: path)
                node.set(k, .table(child))
                if last { lines[path] = line }
                node = child
            case .table(let child)?:
                if last {
                    if isArray { throw error("[[\(path)]] is already a table, not an array of tables", at: start) }
                    switch child.origin {
                    case .implicit:
                        child.origin = .header
                        lines[path] = line
                    case .header:
                        throw error("table [\(path)] is defined twice", at: start)
                    case .dotted:
                        throw error("table [\(path)] was already defined by dotted keys", at: start)
                    }
                }
                node = child
            case .tables(let array)?:
                if last {
                    guard isArray else { throw error("[\(path)] is an array of tables; a table header cannot define it", at: start) }
                    let element = Node(.header, path: "\(path)[\(array.elements.count)]")
                    lines[element.path] = line
                    array.elements.append(element)
                    return element
                }
                node = array.elements[array.elements.count - 1]
            case .value(let value)?:
                throw error("`\(path)` is already \(value.noun), so a header cannot make it a table", at: start)
            }
        }
        return node
    }

    /// `key = value` into `table`, creating the tables that a dotted key names.
    mutating func keyValue(into table: Node, section: Int) throws(TOMLError) {
        let start = i
        let keys = try key()
        skipBlanks()
        guard current == UInt8(ascii: "=") else { throw error("expected '=' after the key, found \(found)") }
        i += 1
        skipBlanks()
        var node = table
        for k in keys.dropLast() {
            let path = Self.join(node.path, k)
            switch node.entries[k] {
            case nil:
                let child = Node(.dotted(section), path: path, isInline: table.isInline)
                node.set(k, .table(child))
                lines[path] = lines[path] ?? line(at: start)
                node = child
            case .table(let child)?:
                switch child.origin {
                case .dotted(section): break
                case .implicit: child.origin = .dotted(section)
                case .header, .dotted: throw error("table [\(path)] is defined elsewhere; a dotted key cannot add to it", at: start)
                }
                node = child
            case .tables?:
                throw error("`\(path)` is an array of tables; a dotted key cannot add to it", at: start)
            case .value(let value)?:
                throw error("`\(path)` is already \(value.noun); a dotted key cannot add to it", at: start)
            }
        }
        let k = keys[keys.count - 1]
        let path = Self.join(node.path, k)
        if node.entries[k] != nil { throw error("`\(path)` is defined twice", at: start) }
        guard current != nil, current != 0x0A, current != 0x0D, current != UInt8(ascii: "#") else {
            throw error("expected a value after '=', found \(found)")
        }
        lines[path] = line(at: start)
        node.set(k, .value(try value(path: path)))
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    // MARK: Keys

    /// A key: bare or quoted parts joined by dots.
    mutating func key() throws(TOMLError) -> [String] {
        var parts: [String] = []
        while true {
            guard parts.count < TOMLDocument.maxDepth else { throw error("a key of more than \(TOMLDocument.maxDepth) parts") }
            switch current {
            case UInt8(ascii: "\"")?:
                if starts(with: "\"\"\"") { throw error("a key cannot be a multi-line string") }
                i += 1
                parts.append(try basicString())
            case UInt8(ascii: "'")?:
                if starts(with: "'''") { throw error("a key cannot be a multi-line string") }
                i += 1
                parts.append(try literalString())
            default:
                let start = i
                while let c = current, Self.isBareKey(c) { i += 1 }
                guard i > start else { throw error("expected a key (letters, digits, '_', '-' or a quoted key), found \(found)") }
                parts.append(String(decoding: b[start..<i], as: UTF8.self))
            }
            skipBlanks()
            guard current == UInt8(ascii: ".") else { return parts }
            i += 1
            skipBlanks()
        }
    }

    static func isBareKey(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D
    }

    // MARK: Values

    mutating func value(path: String) throws(TOMLError) -> TOMLValue {
        switch current {
        case UInt8(ascii: "\"")?:
            if starts(with: "\"\"\"") {
                i += 3
                return .string(try multiLineString(basic: true))
            }
            i += 1
            return .string(try basicString())
        case UInt8(ascii: "'")?:
            if starts(with: "'''") {
                i += 3
                return .string(try multiLineString(basic: false))
            }
            i += 1
            return .string(try literalString())
        case UInt8(ascii: "[")?:
            return try array(path: path)
        case UInt8(ascii: "{")?:
            return try inlineTable(path: path)
        default:
            return try scalar()
        }
    }

    mutating func nest() throws(TOMLError) {
        depth += 1
        if depth > TOMLDocument.maxDepth { throw error("values nested more than \(TOMLDocument.maxDepth) deep") }
    }

    mutating func array(path: String) throws(TOMLError) -> TOMLValue {
        try nest()
        i += 1
        var elements: [TOMLValue] = []
        while true {
            try skipBlanksAndNewlines()
            if current == UInt8(ascii: "]") { break }
            let elementPath = "\(path)[\(elements.count)]"
            lines[elementPath] = line(at: i)
            elements.append(try value(path: elementPath))
            try skipBlanksAndNewlines()
            if current == UInt8(ascii: ",") {
                i += 1
            } else if current != UInt8(ascii: "]") {
                throw error("expected ',' or ']' after an element of the array, found \(found)")
            }
        }
        i += 1
        depth -= 1
        return .array(elements)
    }

    /// `{ a = 1, b.c = 2 }`: on one line, no trailing comma, closed to later additions.
    mutating func inlineTable(path: String) throws(TOMLError) -> TOMLValue {
        try nest()
        i += 1
        lastSection += 1
        let table = Node(.header, path: path, isInline: true)
        let inner = lastSection
        skipBlanks()
        if current == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                try keyValue(into: table, section: inner)
                skipBlanks()
                if current == UInt8(ascii: "}") {
                    i += 1
                    break
                }
                guard current == UInt8(ascii: ",") else {
                    throw error("expected ',' or '}' in the inline table (which stays on one line), found \(found)")
                }
                i += 1
                skipBlanks()
                if current == UInt8(ascii: "}") { throw error("an inline table cannot end with a comma") }
            }
        }
        depth -= 1
        return .table(table.table())
    }

    // MARK: Strings

    mutating func basicString() throws(TOMLError) -> String {
        var out: [UInt8] = []
        while true {
            guard let c = current else { throw error("the string is not closed before the end of the file") }
            switch c {
            case UInt8(ascii: "\""):
                i += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try escape(into: &out)
            case 0x0A, 0x0D:
                throw error("the string is not closed on its line (a string on several lines is written with \"\"\")")
            default:
                try plain(c, into: &out)
            }
        }
    }

    mutating func literalString() throws(TOMLError) -> String {
        let start = i
        while true {
            guard let c = current else { throw error("the string is not closed before the end of the file") }
            switch c {
            case UInt8(ascii: "'"):
                i += 1
                return String(decoding: b[start..<(i - 1)], as: UTF8.self)
            case 0x0A, 0x0D:
                throw error("the string is not closed on its line (a string on several lines is written with ''')")
            default:
                try refuseControl(c)
                i += 1
            }
        }
    }

    /// The body of `"""…"""` or `'''…'''`; a newline right after the opening quotes is not part of it, and CRLF is
    /// read as LF.
    mutating func multiLineString(basic: Bool) throws(TOMLError) -> String {
        let quote: UInt8 = basic ? UInt8(ascii: "\"") : UInt8(ascii: "'")
        if current == 0x0A { i += 1 } else if current == 0x0D, peek(1) == 0x0A { i += 2 }
        var out: [UInt8] = []
        while true {
            guard let c = current else { throw error("the multi-line string is not closed before the end of the file") }
            switch c {
            case quote:
                var n = 0
                while current == quote { n += 1; i += 1 }
                if n >= 3 {
                    // Up to two quotes may end the body just before the closing three.
                    if n > 5 { throw error("too many quotes at the end of a multi-line string", at: i - n + 5) }
                    out.append(contentsOf: repeatElement(quote, count: n - 3))
                    return String(decoding: out, as: UTF8.self)
                }
                out.append(contentsOf: repeatElement(quote, count: n))
            case UInt8(ascii: "\\") where basic:
                if let next = peek(1), next == 0x20 || next == 0x09 || next == 0x0A || next == 0x0D {
                    // A line-ending backslash: it, the rest of the line's blanks, and all blanks and newlines after.
                    let at = i
                    i += 1
                    skipBlanks()
                    guard current == 0x0A || (current == 0x0D && peek(1) == 0x0A) else {
                        throw error("a backslash followed by blanks must end the line", at: at)
                    }
                    while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || (c == 0x0D && peek(1) == 0x0A) { i += 1 }
                } else {
                    try escape(into: &out)
                }
            case 0x0A:
                out.append(0x0A)
                i += 1
            case 0x0D where peek(1) == 0x0A:
                out.append(0x0A)
                i += 2
            default:
                try plain(c, into: &out)
            }
        }
    }

    /// A character of a string other than a quote, a backslash or a newline: control characters other than tab are
    /// refused; the rest is copied whole (a UTF-8 sequence at a time).
    mutating func plain(_ c: UInt8, into out: inout [UInt8]) throws(TOMLError) {
        try refuseControl(c)
        out.append(c)
        i += 1
    }

    func refuseControl(_ c: UInt8) throws(TOMLError) {
        if (c < 0x20 && c != 0x09) || c == 0x7F {
            throw error("a string cannot hold control character U+\(String(format4: c)); write it as an escape")
        }
    }

    mutating func escape(into out: inout [UInt8]) throws(TOMLError) {
        let at = i
        i += 1
        guard let c = current else { throw error("the string is not closed before the end of the file") }
        i += 1
        let simple: UInt8? = switch c {
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "t"): 0x09
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "\""): 0x22
        case UInt8(ascii: "\\"): 0x5C
        default: nil
        }
        if let simple {
            out.append(simple)
            return
        }
        let digits = c == UInt8(ascii: "u") ? 4 : c == UInt8(ascii: "U") ? 8 : 0
        guard digits > 0 else {
            i -= 1
            let shown = c >= 0x21 && c < 0x7F ? "\\" + String(Character(Unicode.Scalar(c))) : "a backslash before \(found)"
            throw error("unknown escape \(shown); TOML knows \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX and \\UXXXXXXXX", at: at)
        }
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let d = current, let h = Self.hex(d) else {
                throw error("\\\(Character(Unicode.Scalar(c))) must be followed by \(digits) hexadecimal digits", at: at)
            }
            value = value << 4 | UInt32(h)
            i += 1
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw error("\\\(Character(Unicode.Scalar(c))) names no Unicode scalar value (a surrogate or past U+10FFFF)", at: at)
        }
        out.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    // MARK: Booleans, numbers, dates and times

    static func isScalarByte(_ c: UInt8) -> Bool {
        isBareKey(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: ":")
    }

    mutating func scalar() throws(TOMLError) -> TOMLValue {
        let start = i
        while let c = current, Self.isScalarByte(c) { i += 1 }
        // A date and a time may be separated by a space.
        if i - start == 10, current == 0x20, let h1 = peek(1), let h2 = peek(2), peek(3) == UInt8(ascii: ":"),
           Self.isDigit(h1), Self.isDigit(h2) {
            i += 1
            while let c = current, Self.isScalarByte(c) { i += 1 }
        }
        let token = Array(b[start..<i])
        let text = String(decoding: token, as: UTF8.self)
        if token.isEmpty { throw error("expected a value, found \(found)") }
        switch text {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan": return .float(.nan)
        case "-nan": return .float(-.nan)
        default: break
        }
        let looksLikeTime = token.count >= 3 && Self.isDigit(token[0]) && Self.isDigit(token[1]) && token[2] == UInt8(ascii: ":")
        let looksLikeDate = token.count >= 5 && token[0..<4].allSatisfy(Self.isDigit) && token[4] == UInt8(ascii: "-")
        if looksLikeTime || looksLikeDate {
            guard let dateTime = TOMLDateTimeText.parse(token) else {
                throw error("'\(text)' is not a valid date or time (YYYY-MM-DD, HH:MM:SS[.fraction], or both with T and an optional Z or ±HH:MM)", at: start)
            }
            return .dateTime(TOMLDateTime(kind: dateTime, text: text))
        }
        if let value = Self.number(token) { return value }
        if Self.isDigit(token[0]) || token[0] == UInt8(ascii: "+") || token[0] == UInt8(ascii: "-") {
            throw error("'\(text)' is not a valid number (or it does not fit in 64 bits)", at: start)
        }
        throw error("expected a value (a string, number, boolean, date, array or inline table), found '\(text)'", at: start)
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// Digits of `radix` with single underscores between them (none first or last).
    static func digits(_ t: ArraySlice<UInt8>, radix: Int) -> Bool {
        guard let first = t.first, let last = t.last, first != 0x5F, last != 0x5F else { return false }
        var previousUnderscore = false
        for c in t {
            if c == 0x5F {
                if previousUnderscore { return false }
                previousUnderscore = true
                continue
            }
            previousUnderscore = false
            guard let d = hex(c), Int(d) < radix else { return false }
        }
        return true
    }

    static func number(_ t: [UInt8]) -> TOMLValue? {
        func text(_ s: ArraySlice<UInt8>) -> String { String(decoding: s.filter { $0 != 0x5F }, as: UTF8.self) }
        if t.count > 2, t[0] == UInt8(ascii: "0") {
            let radix: Int? = switch t[1] {
            case UInt8(ascii: "x"): 16
            case UInt8(ascii: "o"): 8
            case UInt8(ascii: "b"): 2
            default: nil
            }
            if let radix {
                guard digits(t[2...], radix: radix), let v = Int64(text(t[2...]), radix: radix) else { return nil }
                return .integer(v)
            }
        }
        var k = 0
        if t[0] == UInt8(ascii: "+") || t[0] == UInt8(ascii: "-") { k = 1 }
        // The integer part: no leading zero.
        var end = k
        while end < t.count, isDigit(t[end]) || t[end] == 0x5F { end += 1 }
        let integer = t[k..<end]
        guard digits(integer, radix: 10), integer.count == 1 || integer.first != UInt8(ascii: "0") else { return nil }
        if end == t.count {
            return Int64(text(t[...])).map { .integer($0) }
        }
        // A fraction, an exponent, or both.
        if t[end] == UInt8(ascii: ".") {
            var e = end + 1
            while e < t.count, isDigit(t[e]) || t[e] == 0x5F { e += 1 }
            guard digits(t[(end + 1)..<e], radix: 10) else { return nil }
            end = e
        }
        if end < t.count {
            guard t[end] == UInt8(ascii: "e") || t[end] == UInt8(ascii: "E") else { return nil }
            var e = end + 1
            if e < t.count, t[e] == UInt8(ascii: "+") || t[e] == UInt8(ascii: "-") { e += 1 }
            guard e < t.count, digits(t[e...], radix: 10) else { return nil }
        }
        return Double(text(t[...])).map { .float($0) }
    }
}

/// Dates and times as TOML 1.0 writes them (RFC 3339 with a few allowances), checked down to the day of the month.
enum TOMLDateTimeText {
    static func parse(_ t: [UInt8]) -> TOMLDateTime.Kind? {
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= t.count else { return nil }
            var v = 0
            for c in t[from..<(from + count)] {
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        /// A time at `from`; the offset after it.
        func time(_ from: Int) -> Int? {
            guard let h = number(from, 2), t.count > from + 2, t[from + 2] == UInt8(ascii: ":"), let m = number(from + 3, 2),
                  t.count > from + 5, t[from + 5] == UInt8(ascii: ":"), let s = number(from + 6, 2),
                  h < 24, m < 60, s < 60 else { return nil }
            var end = from + 8
            if end < t.count, t[end] == UInt8(ascii: ".") {
                end += 1
                let digits = end
                while end < t.count, t[end] >= 0x30 && t[end] <= 0x39 { end += 1 }
                guard end > digits else { return nil }
            }
            return end
        }
        if t.count >= 3, t[2] == UInt8(ascii: ":") {
            return time(0) == t.count ? .localTime : nil
        }
        guard let y = number(0, 4), t.count >= 10, t[4] == UInt8(ascii: "-"), let mo = number(5, 2), t[7] == UInt8(ascii: "-"),
              let d = number(8, 2), y >= 1, (1...12).contains(mo), d >= 1 else { return nil }
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
        guard d <= days else { return nil }
        if t.count == 10 { return .localDate }
        guard [UInt8(ascii: "T"), UInt8(ascii: "t"), 0x20].contains(t[10]), let end = time(11) else { return nil }
        if end == t.count { return .localDateTime }
        if end + 1 == t.count, t[end] == UInt8(ascii: "Z") || t[end] == UInt8(ascii: "z") { return .offsetDateTime }
        guard end + 6 == t.count, t[end] == UInt8(ascii: "+") || t[end] == UInt8(ascii: "-"), let oh = number(end + 1, 2),
              t[end + 3] == UInt8(ascii: ":"), let om = number(end + 4, 2), oh < 24, om < 60 else { return nil }
        return .offsetDateTime
    }
}

extension String {
    /// Four upper-case hexadecimal digits.
    init(format4 c: UInt8) {
        let s = String(c, radix: 16, uppercase: true)
        self = String(repeating: "0", count: 4 - s.count) + s
    }
}
