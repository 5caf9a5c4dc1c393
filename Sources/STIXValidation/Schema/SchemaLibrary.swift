import STIX
import Foundation
/// The OASIS STIX 2.1 JSON schemas, compiled once, and how stix2-validator chooses one for an object.
final class SchemaLibrary: Sendable {
    /// The compiled schema of each file, keyed by its base name (`indicator`, `core`, `cyber-observable-core`).
    let byName: [String: Schema]
    /// The interoperability profile's schemas (stix2-validator's `--interop`), by base name.
    let interopByName: [String: Schema]
    /// Every compiled schema: links between them hold no reference (``SchemaLink``), so this keeps them alive.
    private let all: [Schema]

    static let shared = SchemaLibrary()

    private convenience init() {
        let root = (try? JSONParser().parse(ReferenceData.schemasJSON)) ?? .null
        // One namespace for both folders: the interoperability schemas refer to the base ones by relative path.
        var documents: [String: JSONValue] = [:]
        for folder in ["schemas", "interop"] {
            for member in root[folder]?.objectValue ?? JSONObject() {
                let path = folder + "/" + member.key
                documents[path] = folder == "schemas" ? SchemaLibrary.patched(path: path, member.value) : member.value
            }
        }
        self.init(documents: documents)
    }

    /// Compiles schema documents keyed by path (`schemas/common/core.json`, `interop/core.json`).
    init(documents: [String: JSONValue]) {
        let compiler = SchemaCompiler(documents: documents)
        func byBaseName(_ folder: String) -> [String: SchemaDraft] {
            var result: [String: SchemaDraft] = [:]
            // Sorted so that, like stix2-validator's directory walk, the first file of a name wins deterministically.
            for path in documents.keys.sorted() where path.hasPrefix(folder + "/") {
                let name = String(path.split(separator: "/").last!.dropLast(5))
                if result[name] == nil { result[name] = compiler.schema(file: path, pointer: "") }
            }
            return result
        }
        let drafts = byBaseName("schemas")
        let interopDrafts = byBaseName("interop")
        compiler.bypassPureReferences()
        let freezer = SchemaFreezer()
        byName = drafts.mapValues(freezer.freeze)
        interopByName = interopDrafts.mapValues(freezer.freeze)
        freezer.linkReferences()
        all = freezer.all
    }

    /// stix2-validator checks each observable inside observed-data, and each object inside a bundle, against that
    /// object's own schema, and replaces the containers' `objects` schema with one that accepts anything.
    private static func patched(path: String, _ doc: JSONValue) -> JSONValue {
        guard case .object(var o) = doc else { return doc }
        if path.hasSuffix("sdos/observed-data.json"), case .array(var allOf)? = o["allOf"], allOf.count > 1,
            case .object(var second) = allOf[1], case .object(var props)? = second["properties"]
        {
            props["objects"] = .object(JSONObject())
            second["properties"] = .object(props)
            allOf[1] = .object(second)
            o["allOf"] = .array(allOf)
        }
        if path.hasSuffix("common/bundle.json"), case .object(var props)? = o["properties"] {
            props["objects"] = .object(JSONObject())
            o["properties"] = .object(props)
        }
        return .object(o)
    }
}

/// Turns schema documents into linked ``SchemaDraft``s, resolving `$ref` by relative path and JSON pointer.
private final class SchemaCompiler {
    let documents: [String: JSONValue]
    var cache: [String: SchemaDraft] = [:]

    init(documents: [String: JSONValue]) {
        self.documents = documents
    }

    func schema(file: String, pointer: String) -> SchemaDraft {
        let key = file + "#" + pointer
        if let s = cache[key] { return s }
        let node = SchemaDraft()
        cache[key] = node
        guard let doc = documents[file], let value = resolve(pointer: pointer, in: doc) else {
            node.isFalse = true  // an unresolvable reference fails closed
            return node
        }
        fill(node, from: value, file: file, pointer: pointer)
        return node
    }

    /// Points every child link at the schema its chain of bare `{"$ref": ...}` nodes ends at, so checking a value
    /// does not walk through nodes that only forward it. (Violations carry value paths, so messages are unchanged.)
    func bypassPureReferences() {
        func target(_ schema: SchemaDraft) -> SchemaDraft {
            var s = schema
            for _ in 0..<64 {
                guard s.isPureReference, let next = s.ref else { break }
                s = next
            }
            return s
        }
        func target(_ schema: SchemaDraft?) -> SchemaDraft? { schema.map { target($0) } }
        for node in cache.values {
            node.ref = target(node.ref)
            node.properties = node.properties.mapValues { target($0) }
            node.patternProperties = node.patternProperties.map { ($0.0, target($0.1)) }
            node.additionalProperties = target(node.additionalProperties)
            node.items = target(node.items)
            node.allOf = node.allOf.map { target($0) }
            node.anyOf = node.anyOf.map { target($0) }
            node.oneOf = node.oneOf.map { target($0) }
            node.not = target(node.not)
            node.ifSchema = target(node.ifSchema)
            node.thenSchema = target(node.thenSchema)
            node.elseSchema = target(node.elseSchema)
            node.propertyNames = target(node.propertyNames)
            node.contains = target(node.contains)
        }
    }

    private func resolve(pointer: String, in doc: JSONValue) -> JSONValue? {
        var current = doc
        for raw in pointer.split(separator: "/") {
            let token = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch current {
            case .object(let o): guard let next = o[token] else { return nil }; current = next
            case .array(let a): guard let i = Int(token), a.indices.contains(i) else { return nil }; current = a[i]
            default: return nil
            }
        }
        return current
    }

    private func child(_ file: String, _ pointer: String, _ parts: String...) -> SchemaDraft {
        let escaped = parts.map { $0.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1") }
        return schema(file: file, pointer: ([pointer] + escaped).joined(separator: "/"))
    }

    private func fill(_ node: SchemaDraft, from value: JSONValue, file: String, pointer: String) {
        if case .bool(let b) = value {
            node.isFalse = !b
            return
        }
        guard case .object(let o) = value else { return }
        for member in o {
            let v = member.value
            switch member.key {
            case "$ref":
                if let ref = v.stringValue { node.ref = reference(ref, from: file) }
            case "type":
                if let s = v.stringValue { node.types = [s] } else { node.types = v.arrayValue?.compactMap(\.stringValue) }
            case "properties":
                let keys = v.objectValue?.keys ?? []
                node.properties = Dictionary(keys.map { ($0, child(file, pointer, "properties", $0)) }, uniquingKeysWith: { $1 })
            case "patternProperties":
                node.patternProperties = (v.objectValue?.keys ?? []).map {
                    (SchemaPattern($0), child(file, pointer, "patternProperties", $0))
                }
            case "additionalProperties": node.additionalProperties = child(file, pointer, "additionalProperties")
            case "required": node.required = v.arrayValue?.compactMap(\.stringValue) ?? []
            case "enum": node.enumValues = v.arrayValue
            case "const": node.constValue = v
            case "pattern": if let s = v.stringValue { node.pattern = SchemaPattern(s) }
            case "minLength": node.minLength = v.numberValue?.integer.map(Int.init)
            case "maxLength": node.maxLength = v.numberValue?.integer.map(Int.init)
            case "minItems": node.minItems = v.numberValue?.integer.map(Int.init)
            case "minProperties": node.minProperties = v.numberValue?.integer.map(Int.init)
            case "minimum": node.minimum = v.numberValue?.double
            case "maximum": node.maximum = v.numberValue?.double
            case "items": node.items = child(file, pointer, "items")
            case "allOf": node.allOf = (0..<(v.arrayValue?.count ?? 0)).map { child(file, pointer, "allOf", String($0)) }
            case "anyOf": node.anyOf = (0..<(v.arrayValue?.count ?? 0)).map { child(file, pointer, "anyOf", String($0)) }
            case "oneOf": node.oneOf = (0..<(v.arrayValue?.count ?? 0)).map { child(file, pointer, "oneOf", String($0)) }
            case "not": node.not = child(file, pointer, "not")
            case "if": node.ifSchema = child(file, pointer, "if")
            case "then": node.thenSchema = child(file, pointer, "then")
            case "else": node.elseSchema = child(file, pointer, "else")
            case "propertyNames": node.propertyNames = child(file, pointer, "propertyNames")
            case "contains": node.contains = child(file, pointer, "contains")
            case "minContains": node.minContains = v.numberValue?.integer.map(Int.init)
            case "maxContains": node.maxContains = v.numberValue?.integer.map(Int.init)
            case "format": node.format = v.stringValue
            default: break
            }
        }
    }

    private func reference(_ ref: String, from file: String) -> SchemaDraft {
        let parts = ref.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        let target = parts[0].isEmpty ? file : normalize(String(parts[0]), relativeTo: file)
        let pointer = parts.count > 1 ? String(parts[1]) : ""
        return schema(file: target, pointer: pointer.hasPrefix("/") ? String(pointer.dropFirst()) : pointer)
    }

    private func normalize(_ ref: String, relativeTo file: String) -> String {
        if ref.hasPrefix("http://") || ref.hasPrefix("https://") {
            // An absolute $id-style reference to the published schemas: resolve it to the bundled copy.
            return documents.keys.first { ref.hasSuffix("/" + $0) } ?? ref
        }
        var components = file.split(separator: "/").dropLast().map(String.init)
        for part in ref.split(separator: "/") {
            if part == ".." { _ = components.popLast() } else if part != "." { components.append(String(part)) }
        }
        return components.joined(separator: "/")
    }
}

/// Turns linked drafts into immutable ``Schema`` nodes, each draft once. Links are frozen depth first; one that leads
/// back to a draft still being frozen (a cycle, possible only through `$ref`) gets a node that forwards to it through
/// `ref`, set with the other `$ref`s once every node exists.
private final class SchemaFreezer {
    private var frozen: [ObjectIdentifier: Schema] = [:]
    private var inProgress: Set<ObjectIdentifier> = []
    private var references: [(Schema, SchemaDraft)] = []
    /// Every node made, forwarding ones included.
    private(set) var all: [Schema] = []

    func freeze(_ draft: SchemaDraft) -> Schema {
        let key = ObjectIdentifier(draft)
        if let done = frozen[key] { return done }
        if inProgress.contains(key) {
            let forward = Schema(SchemaDraft(), link: freeze)
            all.append(forward)
            references.append((forward, draft))
            return forward
        }
        inProgress.insert(key)
        let node = Schema(draft, link: freeze)
        inProgress.remove(key)
        frozen[key] = node
        all.append(node)
        if let ref = draft.ref { references.append((node, ref)) }
        return node
    }

    /// Sets every remaining `$ref` (freezing what only a reference reaches).
    func linkReferences() {
        while let (node, target) = references.popLast() { node.ref = SchemaLink(freeze(target)) }
    }
}

/// Namespace for the generated reference data (see Generated/NOTICE).
enum ReferenceData {}
