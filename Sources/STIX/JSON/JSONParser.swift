import Foundation

/// Limits that keep a hostile document from exhausting the stack or memory.
public struct JSONLimits: Sendable {
    /// Deepest nesting of arrays and objects accepted.
    public var maxDepth: Int
    /// Longest string accepted, in UTF-8 bytes.
    public var maxStringBytes: Int
    /// Most elements accepted in a document's top-level array or `objects` list (the objects of a bundle or
    /// envelope); counted as they are found, so a larger document is refused before more of it is read.
    public var maxElements: Int

    public init(maxDepth: Int = 256, maxStringBytes: Int = 16 << 20, maxElements: Int = .max) {
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
        self.maxElements = maxElements
    }

    public static let `default` = JSONLimits()
}

/// Why a document is not acceptable JSON, and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What rule the document breaks.
    public enum Reason: Sendable, Equatable {
        case emptyInput
        case unexpectedEnd
        case unexpectedCharacter(UInt8)
        case invalidUTF8
        case invalidEscape
        case controlCharacterInString
        case invalidNumber
        case numberOutOfRange
        case duplicateKey(String)
        case tooDeep(limit: Int)
        case stringTooLong(limit: Int)
        case tooManyElements(limit: Int)
        case trailingData
    }

    public let reason: Reason
    /// Byte offset of the problem, from 0.
    public let offset: Int
    /// Line of the problem, from 1.
    public let line: Int
    /// Column of the problem in bytes, from 1.
    public let column: Int

    public var description: String {
        "line \(line), column \(column) (byte \(offset)): \(message)"
    }

    /// The rule broken, without the position.
    public var message: String {
        switch reason {
        case .emptyInput: return "the input is empty"
        case .unexpectedEnd: return "the document ends before the JSON value is complete (truncated?)"
        case .unexpectedCharacter(let c):
            if c >= 0x20 && c < 0x7F { return "unexpected character '\(Character(Unicode.Scalar(c)))'" }
            return "unexpected byte 0x\(String(c, radix: 16, uppercase: true))"
        case .invalidUTF8: return "the text is not valid UTF-8"
        case .invalidEscape: return "invalid escape sequence in a string"
        case .controlCharacterInString: return "unescaped control character in a string"
        case .invalidNumber: return "malformed number"
        case .tooManyElements(let limit): return "more than \(limit) objects in one document"
        case .numberOutOfRange: return "number out of range (integers must fit in 64 bits, other numbers in a double)"
        case .duplicateKey(let key): return "duplicate key '\(key.prefix(100))' in an object"
        case .tooDeep(let limit): return "nesting deeper than \(limit) levels"
        case .stringTooLong(let limit): return "a string longer than \(limit) bytes"
        case .trailingData: return "unexpected data after the JSON value"
        }
    }
}

/// A parsed document and, for the top-level array or the top-level object's `objects` array, the byte range of each
/// element, so an object's original bytes can be stored and returned exactly as received.
public struct JSONDocument: Sendable {
    public let root: JSONValue
    /// Ranges of the elements of the top-level array, or of the top-level object's `objects` member.
    public let elementRanges: [Range<Int>]
}

/// A strict RFC 8259 parser over UTF-8 bytes: no comments, no trailing commas, no NaN, no duplicate keys.
public struct JSONParser: Sendable {
    public let limits: JSONLimits

    public init(limits: JSONLimits = .default) {
        self.limits = limits
    }

    /// Parses a whole document.
    public func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        try parseDocument(bytes).root
    }

    /// Parses a whole document and records the byte ranges of its objects (see ``JSONDocument``).
    ///
    /// With `retainElements: false` the elements of that array are checked but not kept (the array is left empty in
    /// `root`), so a large bundle can be checked first and its objects parsed one at a time from their ranges.
    public func parseDocument(_ bytes: [UInt8], retainElements: Bool = true) throws(JSONParseError) -> JSONDocument {
        let result: Result<JSONDocument, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(bytes: buffer, limits: limits)
            reader.retainElements = retainElements
            return Result { () throws(JSONParseError) -> JSONDocument in try reader.document() }
        }
        return try result.get()
    }

    /// Finds the elements of the top-level array (or of the top-level object's `objects` member) without decoding
    /// them: each is skipped by its brackets and strings, and only its byte range is kept; everything else is parsed
    /// strictly. The elements themselves are not checked: a caller must parse each range (with
    /// ``parse(_:range:)``, which it does anyway, on every core) and treat any failure as a malformed document. The
    /// `objects` member of the root is an empty list.
    public func skimDocument(_ bytes: [UInt8]) throws(JSONParseError) -> JSONDocument {
        let result: Result<JSONDocument, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(bytes: buffer, limits: limits)
            reader.retainElements = false
            reader.skimElements = true
            return Result { () throws(JSONParseError) -> JSONDocument in try reader.document() }
        }
        return try result.get()
    }

    /// Parses the bytes in `range` of `bytes` as one document (an element found by ``parseDocument(_:retainElements:)``).
    public func parse(_ bytes: [UInt8], range: Range<Int>) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONDocument, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(bytes: UnsafeBufferPointer(rebasing: buffer[range]), limits: limits)
            return Result { () throws(JSONParseError) -> JSONDocument in try reader.document() }
        }
        return try result.get().root
    }

    /// Checks that the bytes in `range` of `bytes` are one JSON document, by the same rules and with the same errors
    /// as ``parse(_:range:)``, without building its values (a first pass over a large file that only has to know).
    public func check(_ bytes: [UInt8], range: Range<Int>) throws(JSONParseError) {
        let result: Result<JSONDocument, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(bytes: UnsafeBufferPointer(rebasing: buffer[range]), limits: limits)
            reader.building = false
            return Result { () throws(JSONParseError) -> JSONDocument in try reader.document() }
        }
        _ = try result.get()
    }

    /// Parses a string (convenience for tests and small inputs).
    public func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }
}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    let limits: JSONLimits
    var pos = 0
    var depth = 0
    var ranges: [Range<Int>] = []
    var retainElements = true
    /// Skip over captured elements instead of parsing them (see `JSONParser.skimDocument`).
    var skimElements = false
    /// False to check the document only (see `JSONParser.check`): strings, arrays and members' values are read and
    /// checked but not kept (object keys are, to find duplicates).
    var building = true

    init(bytes: UnsafeBufferPointer<UInt8>, limits: JSONLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    mutating func document() throws(JSONParseError) -> JSONDocument {
        // A UTF-8 byte order mark is tolerated, as Python's json.load does after decoding.
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { pos = 3 }
        skipWhitespace()
        if pos >= bytes.count { throw error(.emptyInput) }
        let root = try value(capture: .topLevel)
        skipWhitespace()
        if pos < bytes.count { throw error(.trailingData) }
        return JSONDocument(root: root, elementRanges: ranges)
    }

    enum Capture { case none, topLevel, elements }

    func error(_ reason: JSONParseError.Reason, at offset: Int? = nil) -> JSONParseError {
        let at = min(offset ?? pos, bytes.count)
        var line = 1
        var lineStart = 0
        var i = 0
        while i < at {
            if bytes[i] == UInt8(ascii: "\n") {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }
        return JSONParseError(reason: reason, offset: at, line: line, column: at - lineStart + 1)
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    mutating func value(capture: Capture) throws(JSONParseError) -> JSONValue {
        guard pos < bytes.count else { throw error(.unexpectedEnd) }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try object(capture: capture)
        case UInt8(ascii: "["): return try array(capture: capture == .topLevel ? .elements : capture)
        case UInt8(ascii: "\""): return .string(try string(keep: building))
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error(.unexpectedCharacter(bytes[pos]))
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        let start = word.utf8Start
        for i in 0..<count {
            guard pos + i < bytes.count else { throw error(.unexpectedEnd, at: bytes.count) }
            if bytes[pos + i] != start[i] { throw error(.unexpectedCharacter(bytes[pos + i]), at: pos + i) }
        }
        pos += count
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > limits.maxDepth { throw error(.tooDeep(limit: limits.maxDepth)) }
    }

    mutating func object(capture: Capture) throws(JSONParseError) -> JSONValue {
        try enter()
        pos += 1
        var members: [JSONObject.Member] = []
        // Duplicate keys are found by comparing with the earlier keys while there are few; past that, by hashes
        // sorted when the object ends, so an object of n keys costs time linear in n, however many keys a hostile one
        // has (and reads memory in order: a hash table of a million keys would miss the cache on every key).
        var large = LargeObjectKeys()
        skipWhitespace()
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return .object(JSONObject(members))
        }
        while true {
            skipWhitespace()
            guard pos < bytes.count else { throw error(.unexpectedEnd) }
            guard bytes[pos] == UInt8(ascii: "\"") else { throw error(.unexpectedCharacter(bytes[pos])) }
            let keyStart = pos
            let key = try string()
            if members.count < LargeObjectKeys.smallest {
                for m in members where LargeObjectKeys.same(m.key, key) { throw error(.duplicateKey(key), at: keyStart) }
            } else {
                if large.isEmpty { large.add(members) }
                large.add(key, at: keyStart)
            }
            skipWhitespace()
            guard pos < bytes.count else { throw error(.unexpectedEnd) }
            guard bytes[pos] == UInt8(ascii: ":") else { throw error(.unexpectedCharacter(bytes[pos])) }
            pos += 1
            skipWhitespace()
            let childCapture: Capture = (capture == .topLevel && key == "objects") ? .elements : .none
            let v = try value(capture: childCapture)
            members.append(JSONObject.Member(key: key, value: building ? v : .null))
            skipWhitespace()
            guard pos < bytes.count else { throw error(.unexpectedEnd) }
            let c = bytes[pos]
            pos += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "}") { break }
            throw error(.unexpectedCharacter(c), at: pos - 1)
        }
        if let repeated = large.firstRepeated(in: members) {
            throw error(.duplicateKey(members[repeated.index].key), at: repeated.keyStart)
        }
        depth -= 1
        return .object(JSONObject(members))
    }

    mutating func array(capture: Capture) throws(JSONParseError) -> JSONValue {
        try enter()
        pos += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            let start = pos
            if capture == .elements && ranges.count >= limits.maxElements {
                throw error(.tooManyElements(limit: limits.maxElements), at: start)
            }
            if capture == .elements && skimElements {
                try skipValue()
                ranges.append(start..<pos)
            } else {
                let element = try value(capture: .none)
                if capture == .elements {
                    ranges.append(start..<pos)
                    if retainElements { elements.append(element) }
                } else if building {
                    elements.append(element)
                }
            }
            skipWhitespace()
            guard pos < bytes.count else { throw error(.unexpectedEnd) }
            let c = bytes[pos]
            pos += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "]") { break }
            throw error(.unexpectedCharacter(c), at: pos - 1)
        }
        depth -= 1
        return .array(elements)
    }

    /// Moves past one value by its brackets and strings, without decoding or checking its content.
    mutating func skipValue() throws(JSONParseError) {
        guard pos < bytes.count else { throw error(.unexpectedEnd) }
        let first = bytes[pos]
        if first != UInt8(ascii: "{") && first != UInt8(ascii: "[") && first != UInt8(ascii: "\"") {
            // A number or literal: up to the next delimiter.
            while pos < bytes.count {
                switch bytes[pos] {
                case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x0A, 0x0D, 0x09: return
                default: pos += 1
                }
            }
            return
        }
        var level = 0
        repeat {
            guard pos < bytes.count else { throw error(.unexpectedEnd, at: bytes.count) }
            let c = bytes[pos]
            switch c {
            case UInt8(ascii: "\""):
                pos += 1
                while true {
                    guard pos < bytes.count else { throw error(.unexpectedEnd, at: bytes.count) }
                    let d = bytes[pos]
                    if d == UInt8(ascii: "\"") { break }
                    pos += d == UInt8(ascii: "\\") ? 2 : 1
                }
                pos += 1
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                level += 1
                if depth + level > limits.maxDepth { throw error(.tooDeep(limit: limits.maxDepth)) }
                pos += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard level > 0 else { throw error(.unexpectedCharacter(c)) }
                level -= 1
                pos += 1
            case UInt8(ascii: ","), 0x20, 0x0A, 0x0D, 0x09:
                guard level > 0 else { return }
                pos += 1
            default:
                pos += 1
            }
        } while level > 0
    }

    /// Reads a string; with `keep` false it is checked the same way but an empty string is returned.
    mutating func string(keep: Bool = true) throws(JSONParseError) -> String {
        let open = pos
        pos += 1
        let start = pos
        var hasEscape = false
        var ascii = true
        while true {
            guard pos < bytes.count else { throw error(.unexpectedEnd, at: bytes.count) }
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") { break }
            if c == UInt8(ascii: "\\") {
                hasEscape = true
                pos += 2
                if pos > bytes.count { throw error(.unexpectedEnd, at: bytes.count) }
                continue
            }
            if c < 0x20 { throw error(.controlCharacterInString) }
            if c >= 0x80 { ascii = false }
            pos += 1
            if pos - start > limits.maxStringBytes {
                throw error(.stringTooLong(limit: limits.maxStringBytes), at: open)
            }
        }
        let end = pos
        pos += 1
        if end - start > limits.maxStringBytes { throw error(.stringTooLong(limit: limits.maxStringBytes), at: open) }
        let slice = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if !hasEscape {
            if ascii { return keep ? String(decoding: slice, as: UTF8.self) : "" }
            guard let s = String(validating: slice, as: UTF8.self) else { throw error(.invalidUTF8, at: open) }
            return keep ? s : ""
        }
        let s = try unescape(slice, open: open)
        return keep ? s : ""
    }

    func unescape(_ slice: UnsafeBufferPointer<UInt8>, open: Int) throws(JSONParseError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(slice.count)
        var i = 0
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= slice.count else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = slice[at + k]
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                default: return nil
                }
                v = v << 4 | d
            }
            return v
        }
        func appendScalar(_ v: UInt32) {
            // Lone surrogates cannot be UTF-8; they become U+FFFD as in most parsers that yield valid strings.
            let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
        while i < slice.count {
            let c = slice[i]
            if c != UInt8(ascii: "\\") {
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < slice.count else { throw error(.invalidEscape, at: open + 1 + i) }
            let e = slice[i + 1]
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard let v = hex4(i + 2) else { throw error(.invalidEscape, at: open + 1 + i) }
                i += 6
                if v >= 0xD800 && v < 0xDC00, i + 1 < slice.count, slice[i] == UInt8(ascii: "\\"),
                    slice[i + 1] == UInt8(ascii: "u"), let low = hex4(i + 2), low >= 0xDC00 && low < 0xE000
                {
                    appendScalar(0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00))
                    i += 6
                } else {
                    appendScalar(v)
                }
                continue
            default: throw error(.invalidEscape, at: open + 1 + i)
            }
            i += 2
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw error(.invalidUTF8, at: open) }
        return s
    }

    mutating func number() throws(JSONParseError) -> JSONNumber {
        let start = pos
        var isIntegerLiteral = true
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < bytes.count else { throw error(.unexpectedEnd) }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else if bytes[pos] >= UInt8(ascii: "1") && bytes[pos] <= UInt8(ascii: "9") {
            while pos < bytes.count && bytes[pos] >= UInt8(ascii: "0") && bytes[pos] <= UInt8(ascii: "9") { pos += 1 }
        } else {
            throw error(.invalidNumber)
        }
        if pos < bytes.count && bytes[pos] == UInt8(ascii: ".") {
            isIntegerLiteral = false
            pos += 1
            let digits = pos
            while pos < bytes.count && bytes[pos] >= UInt8(ascii: "0") && bytes[pos] <= UInt8(ascii: "9") { pos += 1 }
            if pos == digits { throw error(.invalidNumber) }
        }
        if pos < bytes.count && (bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E")) {
            isIntegerLiteral = false
            pos += 1
            if pos < bytes.count && (bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-")) { pos += 1 }
            let digits = pos
            while pos < bytes.count && bytes[pos] >= UInt8(ascii: "0") && bytes[pos] <= UInt8(ascii: "9") { pos += 1 }
            if pos == digits { throw error(.invalidNumber) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        if isIntegerLiteral {
            guard let v = Int64(text) else { throw error(.numberOutOfRange, at: start) }
            return JSONNumber(text: text, double: Double(v), integer: v)
        }
        guard let d = Double(text), d.isFinite else { throw error(.numberOutOfRange, at: start) }
        let integral: Int64? = (d.rounded() == d && abs(d) < 9.2e18) ? Int64(d) : nil
        return JSONNumber(text: text, double: d, integer: integral)
    }
}

/// The keys of one large object being parsed, to find a repeated key in time linear in their number once the object
/// ends. Keys are the same when their UTF-8 bytes are (RFC 8259 leaves it open; Python's json and the STIX validator
/// compare code points). Each key is hashed once with the standard library's hasher, seeded per process so that a
/// writer cannot choose keys whose hashes collide; the hashes are radix-sorted, and only keys with equal hashes are
/// compared.
private struct LargeObjectKeys {
    /// Objects with fewer keys compare each key with the earlier ones as it is read.
    static let smallest = 16

    /// 32 bits of each key's hash above its member index, in member order until sorted.
    private var entries: [UInt64] = []
    /// Where each key from member `smallest` on starts in the document, for the error.
    private var keyStarts: [Int] = []

    var isEmpty: Bool { entries.isEmpty }

    static func same(_ a: String, _ b: String) -> Bool {
        a.withUTF8Bytes { x in b.withUTF8Bytes { y in x.count == y.count && memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }

    private static func hash(_ key: String) -> UInt64 {
        var hasher = Hasher()
        key.withUTF8Bytes { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        return UInt64(truncatingIfNeeded: hasher.finalize()) >> 32
    }

    /// The keys read while the object was small (they differ from each other).
    mutating func add(_ members: [JSONObject.Member]) {
        for (i, m) in members.enumerated() { entries.append(Self.hash(m.key) << 32 | UInt64(i)) }
    }

    /// The key of the next member, starting at `keyStart`.
    mutating func add(_ key: String, at keyStart: Int) {
        entries.append(Self.hash(key) << 32 | UInt64(entries.count))
        keyStarts.append(keyStart)
    }

    /// The first member, in document order, whose key an earlier member has.
    func firstRepeated(in members: [JSONObject.Member]) -> (index: Int, keyStart: Int)? {
        guard entries.count > 1 else { return nil }
        // Least significant digit first, 8 bits at a time: stable, so equal hashes stay in member order.
        var sorted = entries
        var scratch = [UInt64](repeating: 0, count: sorted.count)
        for shift in stride(from: 32, to: 64, by: 8) {
            var counts = [Int](repeating: 0, count: 257)
            for e in sorted { counts[Int(truncatingIfNeeded: e >> UInt64(shift)) & 0xFF + 1] += 1 }
            for d in 1...256 { counts[d] += counts[d - 1] }
            for e in sorted {
                let d = Int(truncatingIfNeeded: e >> UInt64(shift)) & 0xFF
                scratch[counts[d]] = e
                counts[d] += 1
            }
            swap(&sorted, &scratch)
        }
        var first: Int? = nil
        var group = 0
        for i in 1...sorted.count {
            guard i == sorted.count || sorted[i] >> 32 != sorted[group] >> 32 else { continue }
            // sorted[group..<i] share a hash: each is compared with those before it (few, the hash being seeded).
            for later in (group + 1)..<i where first.map({ Int(sorted[later] & 0xFFFF_FFFF) < $0 }) ?? true {
                let index = Int(sorted[later] & 0xFFFF_FFFF)
                if (group..<later).contains(where: { Self.same(members[Int(sorted[$0] & 0xFFFF_FFFF)].key, members[index].key) }) {
                    first = index
                }
            }
            group = i
        }
        return first.map { ($0, keyStarts[$0 - Self.smallest]) }
    }
}
