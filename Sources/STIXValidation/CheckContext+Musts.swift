import STIX
import Foundation
import STIXPattern
/// The MUST rules that the JSON schemas cannot express. Each is an error whatever the options.
extension CheckContext {
    mutating func runMusts() {
        current = "timestamp"; timestampValues()
        current = "timestamp-compare"; timestampOrder()
        current = "timestamp-compare"; forEachObservable { $0.observableTimestampOrder($1, $2) }
        current = "marking-circular-refs"; markingCircularReferences()
        current = "marking-selector-syntax"; markingSelectors()
        current = "observable-object-references"; observableReferences()
        current = "artifact-mime-type"; forEachObservable { $0.artifactMediaType($1, $2) }
        current = "character-set"; forEachObservable { $0.characterSets($1, $2) }
        current = "language"; languageCode()
        current = "software-language"; forEachObservable { $0.softwareLanguages($1, $2) }
        current = "pattern"; pattern()
        current = "cpe"; cpe()
        current = "language-contents"; languageContents()
        current = "uuid-version"; uuidVersions()
        if options.interop {
            current = "interop-created-by-ref"; interopCreatedByRef()
        }
    }

    /// A string that looks like a timestamp must also be a real instant (no February 30, no second 60).
    /// (`path` and `label` are built only when the check fails: this runs on every timestamp of every object.)
    private mutating func checkTimestamp(_ value: JSONValue?, path: @autoclosure () -> JSONPath, label: @autoclosure () -> String) {
        guard case .string(let text)? = value, SchemaPattern.isTimestampText(text) else { return }
        // The text has the timestamp's shape: its seconds are digits 17 and 18.
        let second = text.withUTF8Bytes { Int($0[17] - UInt8(ascii: "0")) * 10 + Int($0[18] - UInt8(ascii: "0")) }
        if second > 59 || Timestamp(text) == nil {
            report("\(label())'\(text)' is not a valid timestamp: the date or time does not exist", path: path())
        }
    }

    mutating func timestampValues() {
        let type = self.type
        var props = ["created", "modified"]
        if let extra = vocab.entry("TIMESTAMP_PROPERTIES", type)?.arrayValue {
            props += extra.compactMap(\.stringValue)
        }
        for p in props { checkTimestamp(instance[p], path: JSONPath([.key(p)]), label: "'\(p)': ") }
        guard hasObservableData(instance) else { return }
        // Like the reference, observables nested in observed-data are not reached here; top-level ones are.
        for p in vocab.entry("TIMESTAMP_OBSERVABLE_PROPERTIES", type)?.arrayValue?.compactMap(\.stringValue) ?? [] {
            checkTimestamp(instance[p], path: JSONPath([.key(p)]), label: "'\(type)': '\(p)': ")
        }
        guard let embedded = vocab.entry("TIMESTAMP_EMBEDDED_PROPERTIES", type)?.objectValue else { return }
        for member in embedded {
            guard case .object(let container)? = instance[member.key] else { continue }
            let props = member.value.arrayValue?.compactMap(\.stringValue) ?? []
            for p in props {
                if member.key == "extensions" {
                    for ext in container {
                        checkTimestamp(ext.value[p], path: JSONPath([.key("extensions"), .key(ext.key), .key(p)]),
                                       label: "'\(type)': '\(ext.key)': '\(p)': ")
                    }
                } else {
                    checkTimestamp(container[p], path: JSONPath([.key(member.key), .key(p)]), label: "'\(type)': '\(p)': ")
                }
            }
        }
    }

    /// Compares two timestamp properties as instants when both are timestamps, else as text (as the reference does).
    static func holds(_ first: String, _ op: String, _ second: String) -> Bool {
        if let a = Timestamp(first), let b = Timestamp(second), a.fraction.count <= 6, b.fraction.count <= 6 {
            return op == "gt" ? a > b : a >= b
        }
        return op == "gt" ? first > second : first >= second
    }

    private mutating func compare(_ object: JSONObject, _ rules: [(String, String, String)], path: JSONPath, prefix: String) {
        for (first, op, second) in rules {
            guard let a = object[first], let b = object[second] else { continue }
            guard let sa = a.stringValue, let sb = b.stringValue else {
                report("'\(first)' and '\(second)' must both be timestamps", path: path.appending(first))
                continue
            }
            if !CheckContext.holds(sa, op, sb) {
                let relation = op == "gt" ? "later than" : "later than or equal to"
                report("\(prefix)'\(first)' (\(sa)) must be \(relation) '\(second)' (\(sb))", path: path.appending(first))
            }
        }
    }

    private func rules(_ table: String, _ type: String) -> [(String, String, String)] {
        (vocab.entry(table, type)?.arrayValue ?? []).compactMap { rule in
            guard let r = rule.arrayValue?.compactMap(\.stringValue), r.count == 3 else { return nil }
            return (r[0], r[1], r[2])
        }
    }

    mutating func timestampOrder() {
        compare(instance, [("modified", "ge", "created")] + rules("TIMESTAMP_COMPARE", type), path: JSONPath(), prefix: "")
    }

    mutating func observableTimestampOrder(_ object: JSONObject, _ path: JSONPath) {
        let t = object["type"]?.stringValue ?? ""
        compare(object, rules("TIMESTAMP_COMPARE_OBSERVABLE", t), path: path, prefix: "In object '\(object["id"]?.stringValue ?? "")', ")
    }

    mutating func markingCircularReferences() {
        guard type == "marking-definition" else { return }
        for case .string(let ref) in instance["object_marking_refs"]?.arrayValue ?? [] where ref == idText {
            report("`object_marking_refs` cannot contain any references to this marking definition object (no circular references).",
                   path: JSONPath([.key("object_marking_refs")]))
        }
        for (i, marking) in (instance["granular_markings"]?.arrayValue ?? []).enumerated()
        where marking["marking_ref"]?.stringValue == idText {
            report("`granular_markings` cannot contain any references to this marking definition object (no circular references).",
                   path: JSONPath([.key("granular_markings"), .index(i)]))
        }
    }

    /// Each granular marking selector must name a property or list index that exists in this object (§7.2.3.1).
    mutating func markingSelectors() {
        guard case .array(let markings)? = instance["granular_markings"] else { return }
        for (m, marking) in markings.enumerated() {
            guard case .array(let selectors)? = marking["selectors"] else { continue }
            for (s, selectorValue) in selectors.enumerated() {
                guard case .string(let selector) = selectorValue else { continue }
                let path = JSONPath([.key("granular_markings"), .index(m), .key("selectors"), .index(s)])
                var node = JSONValue.object(instance)
                var previous = ""
                for segment in selector.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
                    if let index = CheckContext.leadingIndex(segment) {
                        switch node {
                        case .array(let a) where index < a.count: node = a[index]
                        case .string(let str) where index < str.count: node = .string(String(Array(str)[index]))
                        case .array, .string:
                            report("'\(selector)' is not a valid selector because \(index) is not a valid index.", path: path)
                        default:
                            report("'\(selector)' is not a valid selector because '\(previous)' is not a list.", path: path)
                        }
                    } else {
                        if case .object(let o) = node {
                            if let next = o[segment] { node = next } else {
                                report("'\(selector)' is not a valid selector because '\(segment)' is not a property.", path: path)
                            }
                        } else {
                            report("'\(selector)' is not a valid selector because '\(segment)' is not a property.", path: path)
                        }
                    }
                    previous = segment
                }
            }
        }
    }

    /// `[N]` at the start of a selector segment.
    static func leadingIndex(_ segment: String) -> Int? {
        guard segment.hasPrefix("[") else { return nil }
        let digits = segment.dropFirst().prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, segment.dropFirst(1 + digits.count).hasPrefix("]") else { return nil }
        return Int(digits)
    }

    /// Inside observed-data's `objects`, every `_ref`/`_refs` must name another key of `objects`, of an allowed type.
    mutating func observableReferences() {
        guard type == "observed-data", case .object(let objects)? = instance["objects"],
            let table = vocab.value("OBSERVABLE_PROP_REFS")?.objectValue
        else { return }
        for member in objects {
            guard case .object(let obj) = member.value, let t = obj["type"]?.stringValue, let spec = table[t]?.objectValue else {
                continue
            }
            let key = member.key
            for prop in spec {
                guard let value = obj[prop.key] else { continue }
                switch prop.value {
                case .array(let allowed):
                    checkReferences(value, prop.key, "", allowed.compactMap(\.stringValue), key, objects)
                case .object(let embeddedSpec):
                    for embedded in embeddedSpec {
                        switch value {
                        case .object(let container):
                            guard case .object(let embeddedObject)? = container[embedded.key] else { continue }
                            for inner in embeddedObject {
                                guard let allowed = embedded.value[inner.key]?.arrayValue?.compactMap(\.stringValue) else { continue }
                                checkReferences(inner.value, prop.key, inner.key, allowed, key, objects)
                            }
                        case .array(let list):
                            for element in list {
                                guard let refs = element[embedded.key] else { continue }
                                let allowed = embedded.value.arrayValue?.compactMap(\.stringValue) ?? []
                                checkReferences(refs, prop.key, embedded.key, allowed, key, objects)
                            }
                        default: continue
                        }
                    }
                default: continue
                }
            }
        }
    }

    private mutating func checkReferences(_ refs: JSONValue, _ prop: String, _ embeddedProp: String, _ allowed: [String],
                                          _ key: String, _ objects: JSONObject) {
        let list = refs.arrayValue ?? [refs]
        let via = embeddedProp.isEmpty ? "" : "'\(embeddedProp)' "
        let path = JSONPath([.key("objects"), .key(key), .key(prop)])
        for ref in list {
            let name = ref.stringValue ?? ref.serialized()
            guard let target = objects[name] else {
                report("\(prop) in observable object '\(key)' can't resolve \(via)reference '\(name)'.", path: path)
                continue
            }
            guard let targetType = target["type"]?.stringValue else { continue }
            if !allowed.contains(targetType) {
                let names = allowed.count == 1 ? "'\(allowed[0])'"
                    : "'" + allowed.dropLast().joined(separator: "', '") + "' or '\(allowed.last!)'"
                report("'\(prop)' in observable object '\(key)' must refer to an object of type \(names).", path: path)
            }
        }
    }

    mutating func artifactMediaType(_ object: JSONObject, _ path: JSONPath) {
        guard object["type"]?.stringValue == "artifact", let mime = object["mime_type"] else { return }
        if !vocab.mediaTypes.contains(mime.stringValue ?? "") {
            report("The 'mime_type' property of object '\(object["id"]?.stringValue ?? "")' ('\(mime.stringValue ?? mime.serialized())') must be an IANA registered MIME Type of the form 'type/subtype'.",
                   path: path.appending("mime_type"))
        }
    }

    mutating func characterSets(_ object: JSONObject, _ path: JSONPath) {
        let t = object["type"]?.stringValue
        for (ownerType, prop) in [("directory", "path_enc"), ("file", "name_enc")] where t == ownerType {
            guard let value = object[prop] else { continue }
            if !vocab.charSets.contains(value.stringValue ?? "") {
                report("The '\(prop)' property of object '\(object["id"]?.stringValue ?? "")' ('\(value.stringValue ?? value.serialized())') must be an IANA registered character set.",
                       path: path.appending(prop))
            }
        }
    }

    mutating func languageCode() {
        guard let lang = instance["lang"] else { return }
        if !vocab.languageCodes.contains(lang.stringValue ?? "") {
            report("'\(lang.stringValue ?? lang.serialized())' is not a valid RFC 5646 language code.", path: JSONPath([.key("lang")]))
        }
    }

    mutating func softwareLanguages(_ object: JSONObject, _ path: JSONPath) {
        guard object["type"]?.stringValue == "software", let languages = object["languages"] else { return }
        for case .string(let lang) in languages.iterated
        where !vocab.languageCodes.contains(lang) && !vocab.softwareLanguageCodes.contains(lang) {
            report("The 'languages' property of object '\(object["id"]?.stringValue ?? "")' contains an invalid language code ('\(lang)'). Expected RFC 5646 language code.",
                   path: path.appending("languages"))
        }
    }

    /// The parsed pattern of an indicator with `pattern_type: stix`, or the reason it does not parse; nil when the
    /// object has no STIX pattern.
    var stixPattern: Result<Pattern, PatternError>? {
        guard type == "indicator", instance["pattern_type"]?.stringValue == "stix",
            case .string(let text)? = instance["pattern"]
        else { return nil }
        return Result { () throws(PatternError) -> Pattern in try Pattern(text) }
    }

    /// An indicator's STIX pattern must parse (STIX 2.1 §9), and name object types and properties in the form
    /// the specification gives them; custom ones need the custom prefix when extensions are not used.
    mutating func pattern() {
        guard let parsed = stixPattern else { return }
        let path = JSONPath([.key("pattern")])
        let pattern: Pattern
        switch parsed {
        case .failure(let error):
            report("invalid STIX pattern: \(error)", path: path)
            return
        case .success(let p):
            pattern = p
        }
        let disabled = Set(options.disabled.map { vocab.checkCodes[$0] ?? $0 })
        let prefixRequired = !disabled.contains("all") && !disabled.contains("format-checks") && disabled.contains("extensions-use")
        let strictPrefix = prefixRequired && !disabled.contains("custom-prefix")
        let laxPrefix = prefixRequired && !disabled.contains("custom-prefix-lax")
        for (objectType, paths) in pattern.comparedObjectTypes {
            if vocab.observableTypes.contains(objectType) {
                // a type the specification defines
            } else if !CheckContext.isPatternTypeName(objectType) {
                report("'\(objectType)' is not a valid observable type name", path: path)
            } else if strictPrefix && !CheckContext.hasStrictTypePrefix(objectType) {
                report("Custom Observable Object type '\(objectType)' should start with 'x-' followed by a source unique identifier (like a domain name with dots replaced by hyphens), a hyphen and then the name",
                       path: path)
            } else if laxPrefix && !CheckContext.hasLaxTypePrefix(objectType) {
                report("Custom Observable Object type '\(objectType)' should start with 'x-'", path: path)
            }
            for objectPath in paths {
                guard case .key(let property)? = objectPath.steps.first else { continue }
                if vocab.observableProperties[objectType]?.contains(property) == true {
                    continue
                } else if !CheckContext.isPropertyName(property) {
                    report("'\(property)' is not a valid observable property name", path: path)
                } else if !vocab.observableTypes.contains(objectType) {
                    continue  // custom observables need no prefix on their properties
                } else if strictPrefix && !CheckContext.hasStrictPropertyPrefix(property) {
                    report("Cyber Observable Object custom property '\(property)' should start with 'x_' followed by a source unique identifier (like a domain name with dots replaced by underscores), an underscore and then the name",
                           path: path)
                } else if laxPrefix && !CheckContext.hasLaxPropertyPrefix(property) {
                    report("Cyber Observable Object custom property '\(property)' should start with 'x_'", path: path)
                }
            }
        }
    }

    /// `^\-?[a-z0-9]+(-[a-z0-9]+)*\-?$`, 3 to 250 characters: the reference's rule for type names in patterns.
    static func isPatternTypeName(_ s: String) -> Bool {
        var b = Substring(s)
        guard b.count >= 3, b.count <= 250 else { return false }
        if b.hasPrefix("-") { b = b.dropFirst() }
        if b.hasSuffix("-") { b = b.dropLast() }
        guard !b.isEmpty else { return false }
        return b.split(separator: "-", omittingEmptySubsequences: false).allSatisfy { part in
            !part.isEmpty && part.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") }
        }
    }

    /// `cpe` must be a CPE 2.3 formatted string: `cpe:2.3:` then 11 more colon-separated components.
    mutating func cpe() {
        guard let value = instance["cpe"] else { return }
        guard case .string(let text) = value, CheckContext.isCPE23(text) else {
            report("Provided CPE value '\(value.stringValue ?? value.serialized())' is not CPE v2.3 compliant.", path: JSONPath([.key("cpe")]))
            return
        }
    }

    static func isCPE23(_ s: String) -> Bool {
        guard s.hasPrefix("cpe:2.3:") else { return false }
        var components: [String] = []
        var current = ""
        var escaped = false
        for ch in s {
            if escaped { current.append(ch); escaped = false; continue }
            if ch == "\\" { escaped = true; current.append(ch); continue }
            if ch == ":" { components.append(current); current = ""; continue }
            current.append(ch)
        }
        components.append(current)
        guard components.count == 13, ["a", "o", "h", "*", "-"].contains(components[2]) else { return false }
        return components.dropFirst(2).allSatisfy { !$0.isEmpty && !$0.contains(" ") }
    }

    mutating func languageContents() {
        guard type == "language-content", case .object(let contents)? = instance["contents"] else { return }
        for member in contents {
            if !vocab.languageCodes.contains(member.key) {
                report("Invalid key '\(member.key)' in 'contents' property must be an RFC 5646 code", path: JSONPath([.key("contents")]))
            }
            for sub in member.value.objectValue ?? JSONObject() where !CheckContext.isPropertyName(sub.key) {
                report("'\(sub.key)' in '\(member.key)' of the 'contents' property is invalid and must match a valid property name",
                       path: JSONPath([.key("contents"), .key(member.key)]))
            }
        }
    }

    /// Observables without ID contributing properties, and every process, must use a random (v4) UUID (§2.9).
    static let contributingProperties: [String: [String]] = [
        "artifact": ["hashes", "payload_bin"], "email-message": ["from_ref", "subject", "body"],
        "user-account": ["account_type", "user_id", "account_login"], "windows-registry-key": ["key", "values"],
        "x509-certificate": ["hashes", "serial_number"],
    ]

    mutating func uuidVersions() {
        guard let id else { return }
        let uuid = CheckContext.uuidPart(of: id)
        let version = Identifier.version(ofUUID: uuid)
        if let props = CheckContext.contributingProperties[type], props.allSatisfy({ !instance.contains($0) }), version != 4 {
            report("If no Contributing Properties are present, a UUIDv4 must be used", path: JSONPath([.key("id")]))
        }
        if type == "process", version != 4 {
            report("A process object must use UUIDv4 for its id", path: JSONPath([.key("id")]))
        }
    }

    /// Interoperability profile: every object in a bundle names its producer, an identity that itself has one.
    mutating func interopCreatedByRef() {
        guard type == "bundle", case .array(let objects)? = instance["objects"] else { return }
        var producers = Set<String>()
        var bare = Set<String>()
        for case .object(let o) in objects where o["type"]?.stringValue == "identity" {
            if o.contains("created_by_ref") { producers.insert(o["id"]?.stringValue ?? "") } else { bare.insert(o["id"]?.stringValue ?? "") }
        }
        for case .object(let o) in objects where o["type"]?.stringValue != "identity" {
            let oid = o["id"]?.stringValue
            guard let ref = o["created_by_ref"]?.stringValue else {
                report("created_by_ref is not present in Object", objectID: oid)
                continue
            }
            if bare.contains(ref) {
                report("references \(ref) as a producer but the identity is missing the property created_by_ref", objectID: oid)
            } else if !producers.contains(ref) {
                report("created_by_ref has value \(ref) which is not found in bundle", objectID: oid)
            }
        }
    }
}
