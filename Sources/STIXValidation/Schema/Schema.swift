import Foundation
import STIX
/// A JSON Schema (draft 2020-12) being compiled: SchemaCompiler fills these in, links them, then freezes them into
/// ``Schema`` nodes.
///
/// Only the keywords the OASIS STIX schemas use are compiled; an unknown keyword is ignored, as JSON Schema requires.
final class SchemaDraft {
    var isFalse = false
    var types: [String]?
    var properties: [String: SchemaDraft] = [:]
    var patternProperties: [(SchemaPattern, SchemaDraft)] = []
    var additionalProperties: SchemaDraft?
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
    var items: SchemaDraft?
    var allOf: [SchemaDraft] = []
    var anyOf: [SchemaDraft] = []
    var oneOf: [SchemaDraft] = []
    var not: SchemaDraft?
    var ifSchema: SchemaDraft?
    var thenSchema: SchemaDraft?
    var elseSchema: SchemaDraft?
    var propertyNames: SchemaDraft?
    var contains: SchemaDraft?
    var minContains: Int?
    var maxContains: Int?
    var format: String?
    var ref: SchemaDraft?

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

/// One compiled JSON Schema, immutable once built (so checking takes no locks and, its fields being constants, copies
/// no references to them), with its `$ref` resolved to another compiled schema.
final class Schema: @unchecked Sendable {
    // @unchecked: `ref` is set by SchemaFreezer.linkReferences, before the schema is published, and never changed after.
    let isFalse: Bool
    let types: [String]?
    /// `types` as bits, so checking a value's type compares no strings.
    let typeMask: UInt8?
    let properties: PropertyTable
    let patternProperties: [(SchemaPattern, SchemaLink)]
    let additionalProperties: SchemaLink?
    let propertyNames: SchemaLink?
    /// Whether any of the four keywords above is present: the object's members are then looked at one by one.
    let checksMembers: Bool
    let required: [String]
    let enumValues: [JSONValue]?
    let constValue: JSONValue?
    let pattern: SchemaPattern?
    let minLength: Int?
    let maxLength: Int?
    let minItems: Int?
    let minProperties: Int?
    let minimum: Double?
    let maximum: Double?
    let items: SchemaLink?
    let allOf: [SchemaLink]
    let anyOf: [SchemaLink]
    let oneOf: [SchemaLink]
    let not: SchemaLink?
    let ifSchema: SchemaLink?
    let thenSchema: SchemaLink?
    let elseSchema: SchemaLink?
    let contains: SchemaLink?
    let minContains: Int?
    let maxContains: Int?
    let format: String?
    /// A `$ref` that stayed (next to other keywords, or closing a cycle); set once every node exists.
    var ref: SchemaLink?

    /// `draft`'s keywords with its links replaced by the frozen schemas `link` gives.
    init(_ draft: SchemaDraft, link: (SchemaDraft) -> Schema) {
        func linked(_ d: SchemaDraft) -> SchemaLink { SchemaLink(link(d)) }
        func linked(_ d: SchemaDraft?) -> SchemaLink? { d.map { SchemaLink(link($0)) } }
        isFalse = draft.isFalse
        types = draft.types
        typeMask = draft.types.map(Schema.mask)
        properties = PropertyTable(draft.properties.mapValues(linked))
        patternProperties = draft.patternProperties.map { ($0.0, linked($0.1)) }
        additionalProperties = linked(draft.additionalProperties)
        propertyNames = linked(draft.propertyNames)
        checksMembers = !draft.properties.isEmpty || !draft.patternProperties.isEmpty || draft.additionalProperties != nil
            || draft.propertyNames != nil
        required = draft.required
        enumValues = draft.enumValues
        constValue = draft.constValue
        pattern = draft.pattern
        minLength = draft.minLength
        maxLength = draft.maxLength
        minItems = draft.minItems
        minProperties = draft.minProperties
        minimum = draft.minimum
        maximum = draft.maximum
        items = linked(draft.items)
        allOf = draft.allOf.map(linked)
        anyOf = draft.anyOf.map(linked)
        oneOf = draft.oneOf.map(linked)
        not = linked(draft.not)
        ifSchema = linked(draft.ifSchema)
        thenSchema = linked(draft.thenSchema)
        elseSchema = linked(draft.elseSchema)
        contains = linked(draft.contains)
        minContains = draft.minContains
        maxContains = draft.maxContains
        format = draft.format
    }
}

extension Schema {
    /// Objects with at least this many members have them checked in slices on every core: one object of a million
    /// custom properties costs the same wall time as a million properties in many objects.
    static let membersInSlices = 16_384

    /// Checks each member of `object` against `properties`, `patternProperties`, `additionalProperties` and
    /// `propertyNames`, collecting in `unexpected` the names `additionalProperties: false` refuses; false when one fails.
    fileprivate func checkMembers(of object: JSONObject, _ violations: UnsafeMutablePointer<[SchemaViolation]>?,
                                  unexpected: inout [String]) -> Bool {
        let members = object.members
        guard members.count >= Schema.membersInSlices else {
            return checkMembers(members, members.indices, violations, unexpected: &unexpected)
        }
        let slices = (members.count + Schema.membersInSlices / 2 - 1) / (Schema.membersInSlices / 2)
        let size = (members.count + slices - 1) / slices
        let failFast = violations == nil
        let results = concurrentMap(count: slices, concurrency: ProcessInfo.processInfo.activeProcessorCount, chunk: 1) {
            slice -> (ok: Bool, violations: [SchemaViolation], unexpected: [String]) in
            var found: [SchemaViolation] = []
            var names: [String] = []
            let range = (slice * size)..<min(members.count, (slice + 1) * size)
            let ok = withUnsafeMutablePointer(to: &found) { self.checkMembers(members, range, failFast ? nil : $0, unexpected: &names) }
            return (ok, found, names)
        }
        var ok = true
        for result in results {
            ok = ok && result.ok
            violations?.pointee.append(contentsOf: result.violations)
            unexpected.append(contentsOf: result.unexpected)
        }
        return ok
    }

    private func checkMembers(_ members: [JSONObject.Member], _ range: Range<Int>,
                              _ violations: UnsafeMutablePointer<[SchemaViolation]>?, unexpected: inout [String]) -> Bool {
        // The schema's parts are read once: every member would otherwise retain them again, and with slices checked on
        // several threads those counts are shared.
        let (properties, patternProperties, additionalProperties, propertyNames) =
            (self.properties, self.patternProperties, self.additionalProperties, self.propertyNames)
        return members.withUnsafeBufferPointer { members in
            var ok = true
            func under(_ m: Int, _ schema: SchemaLink) -> Bool {
                let before = violations?.pointee.count ?? 0
                let result = schema.check(members[m].value, violations)
                if let violations, violations.pointee.count > before {
                    for i in before..<violations.pointee.count { violations.pointee[i].path.prepend(.key(members[m].key)) }
                }
                return result
            }
            // By index, so that no member is copied (a copy retains its name and value).
            for m in range {
                var matched = false
                if let schema = properties[members[m].key] {
                    matched = true
                    if !under(m, schema) {
                        ok = false
                        if violations == nil { return false }
                    }
                }
                for p in patternProperties.indices where patternProperties[p].0.matches(members[m].key) {
                    matched = true
                    if !under(m, patternProperties[p].1) {
                        ok = false
                        if violations == nil { return false }
                    }
                }
                if !matched, let additionalProperties {
                    if additionalProperties.isFalse {
                        unexpected.append(members[m].key)
                    } else if !under(m, additionalProperties) {
                        ok = false
                        if violations == nil { return false }
                    }
                }
                if let propertyNames, !propertyNames.check(.string(members[m].key), nil) {
                    ok = false
                    guard let violations else { return false }
                    violations.pointee.append(SchemaViolation(path: JSONPath(), message: "property name '\(members[m].key)' is not allowed here"))
                }
            }
            return ok
        }
    }
}

/// A link from one schema to another. A schema lives as long as its library, which keeps every node (the shared one
/// lives as long as the process), so a link holds no reference count and following one takes none: two threads
/// checking objects against the same schemas would otherwise contend for the counts' cache lines on every keyword.
struct SchemaLink: @unchecked Sendable {
    // @unchecked: an unmanaged reference to an immutable Schema, freed only with its library.
    private let target: Unmanaged<Schema>

    init(_ schema: Schema) {
        target = .passUnretained(schema)
    }

    var isFalse: Bool { target._withUnsafeGuaranteedRef { $0.isFalse } }

    func check(_ value: JSONValue, _ violations: UnsafeMutablePointer<[SchemaViolation]>?) -> Bool {
        target._withUnsafeGuaranteedRef { $0.check(value, violations) }
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
        func under(_ component: @autoclosure () -> JSONPath.Component, _ schema: SchemaLink, _ child: JSONValue) -> Bool {
            let before = violations?.pointee.count ?? 0
            let result = schema.check(child, violations)
            if let violations, violations.pointee.count > before {
                let component = component()
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
            if fail("\(Schema.describe(value)) is not one of [\(enumValues.map { Schema.describe($0) }.joined(separator: ", "))]") {
                return false
            }
        }
        if let constValue, !Schema.equal(constValue, value) {
            if fail("\(Schema.describe(constValue)) was expected") { return false }
        }
        switch value {
        case .string(let s):
            if pattern?.matches(s) == false, let pattern {
                if fail("\(Schema.describe(value)) does not match \(JSONValue.quoted(pattern.source))") { return false }
            }
            // Lengths count characters (scalars), each one to four UTF-8 bytes: the byte count settles most cases.
            let bytes = s.utf8.count
            if (minLength.map { bytes < 4 * $0 } ?? false) || (maxLength.map { bytes > $0 } ?? false) {
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
                for i in elements.indices where !under(.index(i), items, elements[i]) {
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
            if checksMembers {
                var unexpected: [String] = []
                if !checkMembers(of: object, violations, unexpected: &unexpected) {
                    ok = false
                    if stop() { return false }
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
        for i in allOf.indices where !allOf[i].check(value, violations) {
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
