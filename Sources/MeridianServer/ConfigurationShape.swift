import Foundation
import TOML

/// The keys, tables and value types a `Decodable` configuration accepts, learned from its own `init(from:)`: the
/// type is decoded once by a recorder that answers every question with a placeholder and notes what was asked. The
/// configuration file is then checked against it before decoding, so a misspelt key is refused with its line and the
/// closest known key instead of being ignored, and a value of the wrong type names the key and the type expected.
indirect enum ConfigurationShape: Sendable, Equatable {
    /// A table (a TOML table or an element of an array of tables): its known keys.
    case table([String: ConfigurationShape])
    /// An array whose elements all have one shape.
    case array(ConfigurationShape)
    case string
    case integer
    case boolean
    case float

    /// The shape of `type`, as its `init(from:)` decodes it.
    static func of<T: Decodable>(_ type: T.Type) -> ConfigurationShape {
        let root = ShapeNode()
        _ = try? T(from: ShapeRecorder(node: root))
        return root.shape
    }

    /// What a person calls a value of this shape.
    var noun: String {
        switch self {
        case .table: return "a table"
        case .array(let element): return element.isTable ? "an array of tables" : "an array"
        case .string: return "a string"
        case .integer: return "an integer"
        case .boolean: return "a boolean (true or false)"
        case .float: return "a number"
        }
    }

    var isTable: Bool {
        if case .table = self { return true }
        return false
    }
}

// MARK: - Checking a file against a shape

extension ConfigurationShape {
    /// One thing wrong with a configuration file: the key's dotted path (arrays indexed from 0) and the rule broken.
    struct Mismatch: Sendable, Equatable {
        let path: String
        let message: String
    }

    /// Keys an earlier version accepted, by the table they were in (its path without indexes), with what replaced them.
    static let renamed: [String: [String: String]] = ["orgs": ["node": #"kind = "node""#]]

    /// The first place where `table` does not fit this shape, in the file's key order; nil when it fits.
    func firstMismatch(in table: TOMLTable) -> Mismatch? {
        check(.table(table), path: "")
    }

    private func check(_ value: TOMLValue, path: String) -> Mismatch? {
        switch self {
        case .table(let keys):
            guard let table = value.table else { return Mismatch(path: path, message: "must be \(noun), not \(value.noun)") }
            for key in table.keys {
                let child = path.isEmpty ? key : path + "." + key
                guard let shape = keys[key] else {
                    return Mismatch(path: child, message: Self.unknown(key, table[key], in: path, known: keys))
                }
                if let value = table[key], let mismatch = shape.check(value, path: child) { return mismatch }
            }
            return nil
        case .array(let element):
            guard let array = value.array else { return Mismatch(path: path, message: "must be \(noun), not \(value.noun)") }
            for (i, item) in array.enumerated() {
                if let mismatch = element.check(item, path: "\(path)[\(i)]") { return mismatch }
            }
            return nil
        case .string, .integer, .boolean, .float:
            let fits = switch (self, value) {
            case (.string, .string), (.integer, .integer), (.boolean, .boolean), (.float, .float), (.float, .integer): true
            default: false
            }
            return fits ? nil : Mismatch(path: path, message: "must be \(noun), not \(value.noun)")
        }
    }

    /// "unknown key `nod` in [[orgs]]; did you mean `node`?", naming a table or array of tables as TOML writes it.
    private static func unknown(_ key: String, _ value: TOMLValue?, in path: String,
                                known: [String: ConfigurationShape]) -> String {
        let isTable = value?.table.map { !$0.isInline } ?? false
        let isTables = value?.array.map { !$0.isEmpty && $0.allSatisfy { $0.table != nil } } ?? false
        let section = path.isEmpty ? "at the top level" : "in [\(path)]"
        func spelled(_ name: String, _ shape: ConfigurationShape?) -> String {
            let full = path.isEmpty ? name : (path.replacingOccurrences(of: #"\[\d+\]"#, with: "", options: .regularExpression) + "." + name)
            switch shape {
            case .table?: return "[\(full)]"
            case .array(let element)? where element.isTable: return "[[\(full)]]"
            default: return "`\(name)`"
            }
        }
        let what = isTables ? "array of tables" : isTable ? "table" : "key"
        let written = isTables ? spelled(key, .array(.table([:]))) : isTable ? spelled(key, .table([:])) : "`\(key)`"
        var message = "unknown \(what) \(written) \(section)"
        let renamed = Self.renamed[path.replacingOccurrences(of: #"\[\d+\]"#, with: "", options: .regularExpression)] ?? [:]
        if let suggestion = closest(to: key, among: Array(known.keys) + Array(renamed.keys)), let replacement = renamed[suggestion] {
            message += "; did you mean `\(replacement)` (formerly `\(suggestion)`)?"
        } else if let suggestion = closest(to: key, among: known.keys) {
            message += "; did you mean \(spelled(suggestion, known[suggestion]))?"
        } else {
            message += "; known here: " + known.keys.sorted().map { spelled($0, known[$0]) }.joined(separator: ", ")
        }
        return message
    }

    /// The known key nearest to `key` by edit distance, when it is near enough to be a slip of the keyboard.
    static func closest(to key: String, among known: some Sequence<String>) -> String? {
        let candidates = known.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= max(2, min(key.count, $0.0.count) / 3) }
        return candidates.min { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }?.0
    }

    /// Levenshtein distance, with a transposition of neighbours counted as one edit.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { current[j] = min(current[j], previous2[j - 2] + 1) }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}

// MARK: - Lines

/// Where each key of a TOML file is written, so a message can name the line: `[table]` and `[[array]]` headers,
/// `key = value` lines and the elements of arrays, by the same dotted paths (arrays indexed from 0) that
/// ``ConfigurationShape`` uses; the parser records them (``TOMLDocument/lines``).
struct ConfigurationLines {
    private let lines: [String: Int]

    init(_ lines: [String: Int]) {
        self.lines = lines
    }

    /// The line of `path`, or of its nearest enclosing key or table.
    func line(of path: String) -> Int? {
        var path = path
        while !path.isEmpty {
            if let line = lines[path] ?? lines[path + "[0]"] { return line }
            if path.hasSuffix("]"), let open = path.lastIndex(of: "[") {
                path = String(path[..<open])
            } else if let dot = path.lastIndex(of: ".") {
                path = String(path[..<dot])
            } else {
                return nil
            }
        }
        return nil
    }
}

// MARK: - The recorder

/// A shape being learned: filled in as the decoder is asked for containers and values.
private final class ShapeNode {
    enum Kind {
        case unknown
        case table([String: ShapeNode], order: [String])
        case array(ShapeNode)
        case value(ConfigurationShape)
    }

    var kind: Kind = .unknown

    var shape: ConfigurationShape {
        switch kind {
        case .unknown: return .table([:])
        case .table(let children, _): return .table(children.mapValues(\.shape))
        case .array(let element): return .array(element.shape)
        case .value(let shape): return shape
        }
    }

    func child(_ key: String) -> ShapeNode {
        var (children, order): ([String: ShapeNode], [String]) = ([:], [])
        if case .table(let c, let o) = kind { (children, order) = (c, o) }
        if let existing = children[key] { return existing }
        let node = ShapeNode()
        children[key] = node
        order.append(key)
        kind = .table(children, order: order)
        return node
    }

    func element() -> ShapeNode {
        if case .array(let element) = kind { return element }
        let node = ShapeNode()
        kind = .array(node)
        return node
    }

    func makeTable() {
        if case .unknown = kind { kind = .table([:], order: []) }
    }
}

/// A `Decoder` that answers every question with a placeholder (empty strings, zeros, one element per array) and
/// records what was asked in a ``ShapeNode``.
private struct ShapeRecorder: Decoder {
    let node: ShapeNode
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        node.makeTable()
        return KeyedDecodingContainer(Keyed<Key>(node: node))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { Unkeyed(node: node.element()) }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(node: node) }

    /// Placeholder values, and the shape each primitive type records.
    static func value<T: Decodable>(_ type: T.Type, into node: ShapeNode) throws -> T {
        switch type {
        case is String.Type: node.kind = .value(.string); return "" as! T
        case is Bool.Type: node.kind = .value(.boolean); return false as! T
        case is Int.Type: node.kind = .value(.integer); return 0 as! T
        case is Int64.Type: node.kind = .value(.integer); return Int64(0) as! T
        case is Double.Type: node.kind = .value(.float); return 0.0 as! T
        default: return try T(from: ShapeRecorder(node: node))
        }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let node: ShapeNode
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { [] }
        func contains(_ key: Key) -> Bool { true }
        func decodeNil(forKey key: Key) throws -> Bool { false }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try ShapeRecorder.value(type, into: node.child(key.stringValue))
        }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try ShapeRecorder(node: node.child(key.stringValue)).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try ShapeRecorder(node: node.child(key.stringValue)).unkeyedContainer()
        }
        func superDecoder() throws -> any Decoder { ShapeRecorder(node: node) }
        func superDecoder(forKey key: Key) throws -> any Decoder { ShapeRecorder(node: node.child(key.stringValue)) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let node: ShapeNode
        var codingPath: [any CodingKey] { [] }
        var count: Int? { 1 }
        var currentIndex = 0
        var isAtEnd: Bool { currentIndex >= 1 }
        mutating func decodeNil() throws -> Bool { false }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            currentIndex += 1
            return try ShapeRecorder.value(type, into: node)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            currentIndex += 1
            return try ShapeRecorder(node: node).container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            currentIndex += 1
            return try ShapeRecorder(node: node).unkeyedContainer()
        }
        mutating func superDecoder() throws -> any Decoder { ShapeRecorder(node: node) }
    }

    struct Single: SingleValueDecodingContainer {
        let node: ShapeNode
        var codingPath: [any CodingKey] { [] }
        func decodeNil() -> Bool { false }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try ShapeRecorder.value(type, into: node) }
    }
}
