/// A parsed STIX 2.1 pattern: observation expressions combined with AND, OR and FOLLOWEDBY, and qualified.
///
/// Related STIX section: 9 "STIX Patterning" <https://docs.oasis-open.org/cti/stix/v2.1/os/stix-v2.1-os.html#_e8slinrhxcc9>
public struct Pattern: Sendable, Equatable {
    public let root: ObservationExpression
    /// The text the pattern was parsed from.
    public let text: String

    /// Parses `text` with the STIX 2.1 grammar and, unless `checkingRules` is false, checks the rules the grammar
    /// cannot express (as stix2-patterns' validator does; its matcher parses with the grammar alone).
    public init(_ text: String, checkingRules: Bool = true) throws(PatternError) {
        var parser = try PatternParser(text)
        self.root = try parser.parsePattern()
        self.text = text
        if checkingRules { try PatternRules.check(root) }
    }
}

/// An observation expression (STIX 2.1 §9.5).
public indirect enum ObservationExpression: Sendable, Equatable {
    /// `[ comparison ]`
    case observation(ComparisonExpression)
    /// `( expressions )`: a parenthesised group.
    case group(ObservationExpression)
    case and(ObservationExpression, ObservationExpression)
    case or(ObservationExpression, ObservationExpression)
    case followedBy(ObservationExpression, ObservationExpression)
    case qualified(ObservationExpression, Qualifier)
}

/// A qualifier on an observation expression (§9.6).
public enum Qualifier: Sendable, Equatable {
    /// `WITHIN n SECONDS`
    case within(seconds: Double, text: String)
    /// `REPEATS n TIMES`
    case repeats(times: Int64, text: String)
    /// `START t'...' STOP t'...'`
    case startStop(start: String, stop: String)

    var kind: String {
        switch self {
        case .within: return "WITHIN"
        case .repeats: return "REPEATS"
        case .startStop: return "STARTSTOP"
        }
    }
}

/// The comparisons inside one observation's brackets (§9.4).
public indirect enum ComparisonExpression: Sendable, Equatable {
    case comparison(Comparison)
    case and(ComparisonExpression, ComparisonExpression)
    case or(ComparisonExpression, ComparisonExpression)
    case group(ComparisonExpression)
}

/// One test of an object path against a value.
public struct Comparison: Sendable, Equatable {
    /// The comparison operators of §9.3.
    public enum Operator: String, Sendable {
        case equal = "=", notEqual = "!=", greater = ">", less = "<", greaterOrEqual = ">=", lessOrEqual = "<="
        case `in` = "IN", like = "LIKE", matches = "MATCHES", isSubset = "ISSUBSET", isSuperset = "ISSUPERSET"
        case exists = "EXISTS"
    }

    public let path: ObjectPath
    public let op: Operator
    /// `NOT` before the operator.
    public let negated: Bool
    /// The right-hand side: one literal, a list for IN, nothing for EXISTS.
    public let values: [Literal]
    /// The right-hand side as written (for messages and inspection).
    public let valueText: String
}

/// `type:property.sub[0].x`: which object, then which property inside it.
public struct ObjectPath: Sendable, Equatable, CustomStringConvertible {
    public enum Step: Sendable, Equatable {
        case key(String)
        case index(Int64)
        /// `[*]`
        case anyIndex
    }

    public let objectType: String
    public let steps: [Step]

    public var description: String {
        var s = objectType + ":"
        for (i, step) in steps.enumerated() {
            switch step {
            case .key(let k): s += (i == 0 ? "" : ".") + k
            case .index(let n): s += "[\(n)]"
            case .anyIndex: s += "[*]"
            }
        }
        return s
    }
}

/// A constant in a pattern (§9.2), kept as written where conversion is the evaluator's business.
public enum Literal: Sendable, Equatable {
    /// An integer, as written (it may exceed 64 bits).
    case integer(String)
    case float(Double, String)
    case string(String)
    case bool(Bool)
    /// `b'...'`: base64 text.
    case binary(String)
    /// `h'...'`: hexadecimal text.
    case hex(String)
    /// `t'...'`: the timestamp text.
    case timestamp(String)
}
