import STIX
/// One compiled JSON Schema (draft 2020-12), with its `$ref`s resolved to other compiled schemas.
///
/// Only the keywords the OASIS STIX schemas use are compiled; an unknown keyword is ignored, as JSON Schema requires.
final class Schema: @unchecked Sendable {
    // @unchecked: built once by SchemaLibrary before any use and never mutated afterwards.
    var isFalse = false
    var types: [String]? {
        didSet { typeMask = types.map(Schema.mask) }
    }
    /// `types` as bits, so checking a value's type compares no strings.
    private(set) var typeMask: UInt8?
    var properties: [String: Schema] = [:] {
        didSet { propertyTable = PropertyTable(properties) }
    }
    /// `properties`, for lookups while checking.
    private(set) var propertyTable = PropertyTable([:])
    var patternProperties: [(SchemaPattern, Schema)] = []
    var additionalProperties: Schema?
    var required: [String] = []
    var enumValues: [JSONValue]?
    var constValue: JSONValue?
    var pattern: SchemaPattern?
    var minLength: Int?
    var maxLength: Int?
    var minItems: Int?
    var minProperties: Int?
    var minimum: Double?
    var maximum: Double?
    var items: Schema?
    var allOf: [Schema] = []
    var anyOf: [Schema] = []
    var oneOf: [Schema] = []
    var not: Schema?
    var ifSchema: Schema?
    var thenSchema: Schema?
    var elseSchema: Schema?
    var propertyNames: Schema?
    var contains: Schema?
    var minContains: Int?
    var maxContains: Int?
    var format: String?
    var ref: Schema?

    /// A node with nothing but a `$ref`: checking it is checking its target.
    var isPureReference: Bool {
        ref != nil && !isFalse && types == nil && properties.isEmpty && patternProperties.isEmpty
            && additionalProperties == nil && required.isEmpty && enumValues == nil && constValue == nil && pattern == nil
            && minLength == nil && maxLength == nil && minItems == nil && minProperties == nil && minimum == nil
            && maximum == nil && items == nil && allOf.isEmpty && anyOf.isEmpty && oneOf.isEmpty && not == nil
            && ifSchema == nil && thenSchema == nil && elseSchema == nil && propertyNames == nil && contains == nil
            && minContains == nil && maxContains == nil && format == nil
    }
}

/// A place inside a JSON document, for messages: `objects[2].kill_chain_phases[0].phase_name`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public private(set) var components: [Component] = []

    public init(_ components: [Component] = []) {
        self.components = components
    }

    public func appending(_ key: String) -> JSONPath { JSONPath(components + [.key(key)]) }
    mutating func prepend(_ component: Component) { components.insert(component, at: 0) }
    public func appending(_ index: Int) -> JSONPath { JSONPath(components + [.index(index)]) }

    public var description: String {
        var out = ""
        for c in components {
            switch c {
            case .key(let k):
                let plain = k.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D }
                if plain && !k.isEmpty { out += out.isEmpty ? k : "." + k } else { out += "[" + JSONValue.quoted(k) + "]" }
            case .index(let i): out += "[\(i)]"
            }
        }
        return out.isEmpty ? "(object)" : out
    }
}

/// A schema rule broken at a path.
struct SchemaViolation: Sendable {
    var path: JSONPath
    let message: String
}

extension Schema {
    /// Checks `value`; when `violations` is nil, stops at the first failure (used inside anyOf, oneOf, not, if).
    ///
    /// Violations carry paths relative to `value`: a parent prefixes its key or index to those its children add, so
    /// paths cost nothing while a document is valid.
    func check(_ value: JSONValue, _ violations: UnsafeMutablePointer<[SchemaViolation]>?) -> Bool {
        if isFalse {
            violations?.pointee.append(SchemaViolation(path: JSONPath(), message: "no value is allowed here"))
            return false
        }
        var ok = true
        func fail(_ message: @autoclosure () -> String) -> Bool {
            ok = false
            guard let violations else { return true }
            violations.pointee.append(SchemaViolation(path: JSONPath(), message: message()))
            return false
        }
        func under(_ component: JSONPath.Component, _ schema: Schema, _ child: JSONValue) -> Bool {
            let before = violations?.pointee.count ?? 0
            let result = schema.check(child, violations)
            if let violations, violations.pointee.count > before {
                for i in before..<violations.pointee.count { violations.pointee[i].path.prepend(component) }
            }
            return result
        }
        // Returns true when checking should stop (fail-fast mode and something failed).
        func stop() -> Bool { !ok && violations == nil }

        if let ref {
            if !ref.check(value, violations) { ok = false }
            if stop() { return false }
        }
        if let typeMask, !Schema.matches(value, typeMask) {
            if fail("\(Schema.describe(value)) is not of type \(expectedTypes)") { return false }
        }
        if let enumValues, !enumValues.contains(where: { Schema.equal($0, value) }) {
            let list = enumValues.map { Schema.describe($0) }.joined(separator: ", ")
            if fail("\(Schema.describe(value)) is not one of [\(list)]") { return false }
        }
        if let constValue, !Schema.equal(constValue, value) {
            if fail("\(Schema.describe(constValue)) was expected") { return false }
        }
        switch value {
        case .string(let s):
            if let pattern, !pattern.matches(s) {
                if fail("\(Schema.describe(value)) does not match \(JSONValue.quoted(pattern.source))") { return false }
            }
            if minLength != nil || maxLength != nil {
                let n = s.unicodeScalars.count
                if let minLength, n < minLength, fail("\(Schema.describe(value)) is too short (minimum \(minLength) characters)") {
                    return false
                }
                if let maxLength, n > maxLength, fail("the string is too long (maximum \(maxLength) characters)") {
                    return false
                }
            }
            if let format, !FormatCheck.matches(format: format, s) {
                if fail("\(Schema.describe(value)) is not a \(JSONValue.quoted(format))") { return false }
            }
        case .number(let n):
            if let minimum, n.double < minimum, fail("\(n.text) is less than the minimum of \(Schema.number(minimum))") {
                return false
            }
            if let maximum, n.double > maximum, fail("\(n.text) is greater than the maximum of \(Schema.number(maximum))") {
                return false
            }
        case .array(let elements):
            if let minItems, elements.count < minItems {
                let message = minItems == 1 ? "the list should be non-empty" : "the list should have at least \(minItems) items"
                if fail(message) { return false }
            }
            if let items {
                for (i, e) in elements.enumerated() where !under(.index(i), items, e) {
                    ok = false
                    if stop() { return false }
                }
            }
            if let contains {
                let matching = elements.reduce(0) { $0 + (contains.check($1, nil) ? 1 : 0) }
                let least = minContains ?? 1
                if matching < least, fail("the list should contain at least \(least) item(s) matching its schema") { return false }
                if let maxContains, matching > maxContains,
                    fail("the list should contain at most \(maxContains) item(s) matching its schema, found \(matching)")
                {
                    return false
                }
            }
        case .object(let object):
            if let minProperties, object.count < minProperties {
                if fail(minProperties == 1 ? "the object should be non-empty" : "the object should have at least \(minProperties) properties") {
                    return false
                }
            }
            for name in required where !object.contains(name) {
                if fail("'\(name)' is a required property") { return false }
            }
            if !properties.isEmpty || !patternProperties.isEmpty || additionalProperties != nil || propertyNames != nil {
                var unexpected: [String] = []
                for member in object {
                    var matched = false
                    if let schema = propertyTable[member.key] {
                        matched = true
                        if !under(.key(member.key), schema, member.value) {
                            ok = false
                            if stop() { return false }
                        }
                    }
                    for (pattern, schema) in patternProperties where pattern.matches(member.key) {
                        matched = true
                        if !under(.key(member.key), schema, member.value) {
                            ok = false
                            if stop() { return false }
                        }
                    }
                    if !matched, let additionalProperties {
                        if additionalProperties.isFalse {
                            unexpected.append(member.key)
                        } else if !under(.key(member.key), additionalProperties, member.value) {
                            ok = false
                            if stop() { return false }
                        }
                    }
                    if let propertyNames, !propertyNames.check(.string(member.key), nil) {
                        if fail("property name '\(member.key)' is not allowed here") { return false }
                    }
                }
                if !unexpected.isEmpty {
                    let names = unexpected.map { "'\($0)'" }.joined(separator: ", ")
                    let verb = unexpected.count == 1 ? "was" : "were"
                    if fail("Additional properties are not allowed (\(names) \(verb) unexpected)") { return false }
                }
            }
        default:
            break
        }
        for sub in allOf where !sub.check(value, violations) {
            ok = false
            if stop() { return false }
        }
        if !anyOf.isEmpty, !anyOf.contains(where: { $0.check(value, nil) }) {
            if fail("\(Schema.describe(value)) is not valid under any of the given schemas") { return false }
        }
        if !oneOf.isEmpty {
            let passing = oneOf.reduce(0) { $0 + ($1.check(value, nil) ? 1 : 0) }
            if passing == 0, fail("\(Schema.describe(value)) is not valid under any of the given schemas") { return false }
            if passing > 1, fail("\(Schema.describe(value)) is valid under more than one of the given schemas") { return false }
        }
        if let not, not.check(value, nil) {
            if fail("\(Schema.describe(value)) should not be valid under the schema it is excluded by") { return false }
        }
        if let ifSchema {
            if ifSchema.check(value, nil) {
                if let thenSchema, !thenSchema.check(value, violations) { ok = false }
            } else if let elseSchema, !elseSchema.check(value, violations) {
                ok = false
            }
        }
        return ok
    }

    /// The `type` keyword for a message: `'string'` or `'string', 'integer'`.
    private var expectedTypes: String {
        guard let types else { return "" }
        return types.count == 1 ? "'\(types[0])'" : types.map { "'\($0)'" }.joined(separator: ", ")
    }

    static let typeBits: [String: UInt8] = ["string": 1, "object": 2, "array": 4, "boolean": 8, "null": 16, "number": 32, "integer": 64]

    static func mask(_ types: [String]) -> UInt8 {
        types.reduce(0) { $0 | (typeBits[$1] ?? 0) }
    }

    static func matches(_ value: JSONValue, _ mask: UInt8) -> Bool {
        switch value {
        case .string: return mask & 1 != 0
        case .object: return mask & 2 != 0
        case .array: return mask & 4 != 0
        case .bool: return mask & 8 != 0
        case .null: return mask & 16 != 0
        case .number(let n): return mask & 32 != 0 || (mask & 64 != 0 && n.isInteger)
        }
    }

    /// JSON Schema equality: numbers by value, and `true` is not `1`.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        a == b
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return s.count > 80 ? "'" + s.prefix(77) + "...'" : "'" + s + "'"
        case .object: return "the object"
        case .array: return "the list"
        default: return value.serialized()
        }
    }

    static func number(_ d: Double) -> String {
        d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}
