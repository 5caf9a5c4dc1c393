import Foundation

/// One comparison's test of a selected value, with the constant(s) converted once.
struct ComparisonTest {
    enum Test {
        case equality(MatchValue, notEqual: Bool)
        case order(MatchValue, Comparison.Operator)
        case set([MatchValue], timestamps: Bool)
        case like(MatchRegex, binaryConvertible: Bool)
        case matches(text: MatchRegex, binary: MatchRegex?)
        case subset(String)
        case superset(String)
        case exists
    }

    let test: Test
    let negated: Bool

    init(_ c: Comparison) throws(MatchError) {
        negated = c.negated
        switch c.op {
        case .equal, .notEqual:
            test = .equality(try ComparisonTest.constant(c.values[0]), notEqual: c.op == .notEqual)
        case .greater, .less, .greaterOrEqual, .lessOrEqual:
            test = .order(try ComparisonTest.constant(c.values[0]), c.op)
        case .in:
            let values = try c.values.map { (l) throws(MatchError) -> MatchValue in try ComparisonTest.constant(l) }
            // A set holds one kind of value (integers and floats mix).
            if let first = values.first {
                let homogeneous = values.allSatisfy { v in
                    switch (first, v) {
                    case (.integer, .integer), (.float, .float), (.string, .string), (.bool, .bool), (.bytes, .bytes),
                        (.timestamp, .timestamp): return true
                    default: return false
                    }
                }
                if !homogeneous && !values.allSatisfy(\.isNumber) {
                    throw MatchError(.evaluation, "nonhomogeneous set: \(c.valueText)")
                }
            }
            var timestamps = false
            if case .timestamp? = values.first { timestamps = true }
            test = .set(values, timestamps: timestamps)
        case .like:
            guard case .string(let operand) = c.values[0] else { throw MatchError(.evaluation, "LIKE needs a string") }
            let scalars = ComparisonTest.nfcScalars(operand)
            test = .like(try MatchRegex(like: scalars), binaryConvertible: scalars.allSatisfy { $0 < 256 })
        case .matches:
            guard case .string(let operand) = c.values[0] else { throw MatchError(.evaluation, "MATCHES needs a string") }
            let scalars = ComparisonTest.nfcScalars(operand)
            let text = try MatchRegex(scalars, ascii: false)
            // Binary values are searched with the same expression read as bytes, when it can be.
            let binary = scalars.allSatisfy { $0 < 256 } ? try MatchRegex(scalars, ascii: true) : nil
            test = .matches(text: text, binary: binary)
        case .isSubset, .isSuperset:
            guard case .string(let operand) = c.values[0] else { throw MatchError(.evaluation, "\(c.op.rawValue) needs a string") }
            test = c.op == .isSubset ? .subset(operand) : .superset(operand)
        case .exists:
            test = .exists
        }
    }

    /// The code points of `s` in Unicode Normalization Form C (ASCII text already is).
    static func nfcScalars(_ s: String) -> [UInt32] {
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return s.utf8.map(UInt32.init) }
        return s.precomposedStringWithCanonicalMapping.unicodeScalars.map(\.value)
    }

    /// A pattern constant as a value.
    static func constant(_ literal: Literal) throws(MatchError) -> MatchValue {
        switch literal {
        case .integer(let text):
            if let i = Int64(text) { return .integer(i) }
            return .float(Double(text) ?? .infinity)
        case .float(let d, _): return .float(d)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .binary(let text):
            guard let b = BinaryText.base64(text) else { throw MatchError(.evaluation, "invalid BinaryLiteral: b'\(text)'") }
            return .bytes(b)
        case .hex(let text):
            guard let b = BinaryText.hex(text) else { throw MatchError(.evaluation, "invalid HexLiteral: h'\(text)'") }
            return .bytes(b)
        case .timestamp(let text):
            guard let t = MatchTimestamp.parse(text) else { throw MatchError(.evaluation, "invalid TimestampLiteral: t'\(text)'") }
            return .timestamp(t)
        }
    }

    /// A JSON string compared with a timestamp constant is read as a timestamp; one that is not is an error.
    static func asTimestamp(_ value: MatchValue) throws(MatchError) -> MatchValue {
        guard case .string(let s) = value else { return value }
        guard let t = MatchTimestamp.parse(s) else { throw MatchError(.evaluation, "invalid timestamp in JSON: \(s)") }
        return .timestamp(t)
    }

    func holds(_ value: MatchValue) throws(MatchError) -> Bool {
        var result: Bool
        switch test {
        case .equality(let constant, let notEqual):
            var v = value
            if case .timestamp = constant { v = try ComparisonTest.asTimestamp(value) }
            result = MatchValue.equal(v, constant) ?? false
            if notEqual { result.toggle() }
        case .order(let constant, let op):
            var v = value
            if case .timestamp = constant { v = try ComparisonTest.asTimestamp(value) }
            switch MatchValue.order(v, constant) {
            case .incomparable: return false  // the matcher returns before applying NOT here
            case .failed: result = false
            case .ordered(let o):
                switch op {
                case .less: result = o < 0
                case .greater: result = o > 0
                case .lessOrEqual: result = o <= 0
                default: result = o >= 0
                }
            }
        case .set(let members, let timestamps):
            var v = value
            if timestamps { v = try ComparisonTest.asTimestamp(value) }
            result = MatchValue.setContains(members, v)
        case .like(let regex, let binaryConvertible):
            switch value {
            case .string(let s): result = regex.search(ComparisonTest.nfcScalars(s))
            case .bytes(let b) where binaryConvertible:
                guard let s = String(validating: b, as: UTF8.self) else {
                    throw MatchError(.evaluation, "binary value compared with LIKE is not valid UTF-8")
                }
                result = regex.search(ComparisonTest.nfcScalars(s))
            default: result = false
            }
        case .matches(let text, let binary):
            switch value {
            case .string(let s): result = text.search(ComparisonTest.nfcScalars(s))
            case .bytes(let b): result = binary?.search(b.map(UInt32.init)) ?? false
            default: result = false
            }
        case .subset(let block):
            guard case .string(let s) = value else { result = false; break }
            result = try IPv4.contains(outer: block, inner: s)
        case .superset(let address):
            guard case .string(let s) = value else { result = false; break }
            result = try IPv4.contains(outer: s, inner: address)
        case .exists:
            result = true
        }
        return negated ? !result : result
    }
}
