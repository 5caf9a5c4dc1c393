/// A TOML 1.0 value (https://toml.io/en/v1.0.0).
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case dateTime(TOMLDateTime)
    case array([TOMLValue])
    case table(TOMLTable)

    public var table: TOMLTable? {
        if case .table(let t) = self { return t }
        return nil
    }

    public var array: [TOMLValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// What a person calls a value of this kind: "a string", "an array of tables".
    public var noun: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a floating-point number"
        case .boolean: return "a boolean"
        case .dateTime: return "a date or time"
        case .array(let a): return !a.isEmpty && a.allSatisfy { $0.table != nil } ? "an array of tables" : "an array"
        case .table: return "a table"
        }
    }

    public static func == (a: TOMLValue, b: TOMLValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x == y
        case (.integer(let x), .integer(let y)): return x == y
        // Bit for bit, so that NaN equals NaN and -0.0 differs from 0.0.
        case (.float(let x), .float(let y)): return x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN)
        case (.boolean(let x), .boolean(let y)): return x == y
        case (.dateTime(let x), .dateTime(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.table(let x), .table(let y)): return x == y
        default: return false
        }
    }
}

/// A date, time or both, as written (the text is kept: configuration never computes with it).
public struct TOMLDateTime: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case offsetDateTime = "datetime", localDateTime = "datetime-local", localDate = "date-local", localTime = "time-local"
    }

    public let kind: Kind
    public let text: String
}

/// A TOML table: its keys in the order the file gives them.
public struct TOMLTable: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var values: [String: TOMLValue] = [:]
    /// Written inline (`{ a = 1 }`) rather than under a header or by dotted keys.
    public var isInline = false

    public init() {}

    public subscript(key: String) -> TOMLValue? {
        get { values[key] }
        set {
            if values[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil, values[key] != nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }

    public var count: Int { keys.count }

    public static func == (a: TOMLTable, b: TOMLTable) -> Bool {
        a.values == b.values
    }
}

/// Text that is not valid TOML: where, and the rule it breaks.
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based.
    public let line: Int
    /// 1-based, in characters.
    public let column: Int
    public let message: String

    public var description: String { "line \(line), column \(column): \(message)" }
}
