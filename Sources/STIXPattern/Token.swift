/// A lexical token of the STIX patterning language, with where it starts in the pattern.
struct Token: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case intLiteral  // IntPosLiteral or IntNegLiteral
        case floatLiteral
        case hexLiteral
        case binaryLiteral
        case stringLiteral
        case boolLiteral
        case timestampLiteral
        case identifier  // letters, digits and underscores
        case identifierWithHyphen  // also hyphens: only valid as an object type
        case keyword(Keyword)
        case symbol(Symbol)
        case end
    }

    /// The reserved words; they are case-sensitive in STIX 2.1 patterns.
    enum Keyword: String, Sendable, CaseIterable {
        case and = "AND", or = "OR", not = "NOT", followedBy = "FOLLOWEDBY", like = "LIKE", matches = "MATCHES"
        case isSuperset = "ISSUPERSET", isSubset = "ISSUBSET", exists = "EXISTS", last = "LAST", `in` = "IN"
        case start = "START", stop = "STOP", seconds = "SECONDS", within = "WITHIN", repeats = "REPEATS"
        case times = "TIMES"
    }

    enum Symbol: String, Sendable {
        case equal = "=", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case colon = ":", dot = ".", comma = ",", leftParen = "(", rightParen = ")", leftBracket = "["
        case rightBracket = "]", asterisk = "*", plus = "+", minus = "-", power = "^", divide = "/"
    }

    let kind: Kind
    /// The token's text as written.
    let text: String
    /// Offset of its first character in the pattern, from 0.
    let offset: Int
}
