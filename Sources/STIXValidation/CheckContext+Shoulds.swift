import STIX
import Foundation
import STIXPattern
/// The SHOULD rules: warnings by default, errors under `strict`. Names and behaviour follow stix2-validator.
extension CheckContext {
    mutating func run(_ check: ShouldCheck) {
        current = check.rawValue
        switch check {
        case .customPrefix: customPrefix(strict: true)
        case .customPrefixLax: customPrefix(strict: false)
        case .extensionsUse: extensionsUse()
        case .deprecatedProperties: deprecatedProperties()
        case .indicatorProperties:
            if type == "indicator", !instance.contains("name") || !instance.contains("description") {
                report("Both the name and description properties SHOULD be present.")
            }
        case .uuidCheck: uuidCheck()
        case .openVocabFormat: openVocabularyFormat()
        case .killChainNames: killChainNames()
        case .markingDefinitionType:
            if type == "marking-definition", let d = instance["definition_type"],
                !vocab.set("MARKING_DEFINITION_TYPES").contains(d.stringValue ?? "")
            {
                report("Marking definition `definition_type` should be one of: \(vocab.list("MARKING_DEFINITION_TYPES").joined(separator: ", ")).",
                       path: JSONPath([.key("definition_type")]))
            }
        case .relationshipTypes: relationshipTypes()
        case .duplicateIDs: duplicateIDs()
        case .attackMotivation: vocabulary("ATTACK_MOTIVATION")
        case .attackResourceLevel: vocabulary("ATTACK_RESOURCE_LEVEL")
        case .groupingContext: vocabulary("GROUPING_CONTEXT")
        case .implementationLanguages: vocabulary("IMPLEMENTATION_LANGUAGES")
        case .infrastructureTypes: vocabulary("INFRASTRUCTURE_TYPE")
        case .malwareCapabilities: vocabulary("MALWARE_CAPABILITIES")
        case .malwareResult: vocabulary("MALWARE_RESULT")
        case .processorArchitecture: vocabulary("PROCESSOR_ARCHITECTURE")
        case .identityClass: vocabulary("IDENTITY_CLASS")
        case .indicatorTypes: vocabulary("INDICATOR_TYPE")
        case .industrySector: vocabulary("INDUSTRY_SECTOR")
        case .malwareTypes: vocabulary("MALWARE_TYPE")
        case .indicatorPatternTypes: vocabulary("INDICATOR_PATTERN")
        case .reportTypes: vocabulary("REPORT_TYPE")
        case .threatActorTypes: vocabulary("THREAT_ACTOR_TYPE")
        case .threatActorRole: vocabulary("THREAT_ACTOR_ROLE")
        case .threatActorSophistication: vocabulary("THREAT_ACTOR_SOPHISTICATION")
        case .toolTypes: vocabulary("TOOL_TYPE")
        case .region: vocabulary("REGION")
        case .hashAlgo: forEachObservable { $0.hashAlgorithms($1, $2) }
        case .windowsPebinaryType: forEachObservable { $0.peBinaryType($1, $2) }
        case .accountType:
            forEachObservable { ctx, o, path in
                guard o["type"]?.stringValue == "user-account", let t = o["account_type"] else { return }
                if !ctx.vocab.set("ACCOUNT_TYPE_OV").contains(t.stringValue ?? "") {
                    ctx.report("Object '\(o["id"]?.stringValue ?? "")' is a User Account Object with an 'account_type' of '\(t.stringValue ?? t.serialized())', which is not a value in the account-type-ov vocabulary.",
                               path: path.appending("account_type"))
                }
            }
        case .observableObjectKeys:
            if type == "observed-data", case .object(let objects)? = instance["objects"] {
                for key in objects.keys where key.isEmpty || !key.allSatisfy({ $0.isASCII && $0.isNumber }) {
                    report("'\(key)' is not a good key value. Observable Objects should use non-negative integers for their keys.",
                           path: JSONPath([.key("objects"), .key(key)]))
                }
            }
        case .observableDictionaryKeys: forEachObservable { $0.dictionaryKeys(.object($1), $2) }
        case .malwareAnalysisProduct:
            if type == "malware-analysis", let p = instance["product"] {
                let ok = p.stringValue.map { !$0.isEmpty && $0.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D } } ?? false
                if !ok {
                    report("The 'product' property of object '\(idText)' should be all lowercase with words separated by dash.",
                           path: JSONPath([.key("product")]))
                }
            }
        case .windowsProcessPriorityFormat:
            forEachObservable { ctx, o, path in
                guard o["type"]?.stringValue == "process",
                    let priority = o["extensions"]?["windows-process-ext"]?["priority"]
                else { return }
                let s = priority.stringValue ?? ""
                if !(s.hasSuffix("_CLASS") && s.count > 6) {
                    ctx.report("The 'priority' property of object '\(o["id"]?.stringValue ?? "")' should end in '_CLASS'.",
                               path: path.appending("extensions"))
                }
            }
        case .hashLength: forEachObservable { $0.hashLengths($1, $2) }
        case .mimeType:
            registryCheck(observableType: "file", path: ["mime_type"], registry: \.mediaTypes) { id, value in
                "The 'mime_type' property of object '\(id)' ('\(value)') should be an IANA registered MIME Type of the form 'type/subtype'."
            }
        case .protocols:
            registryCheck(observableType: "network-traffic", path: ["protocols"], registry: \.protocols) { id, value in
                "The 'protocols' property of object '\(id)' contains a value ('\(value)') not in IANA Service Name and Transport Protocol Port Number Registry."
            }
        case .ipfix:
            registryCheck(observableType: "network-traffic", path: ["ipfix"], registry: \.ipfix) { id, value in
                "The 'ipfix' property of object '\(id)' contains a key ('\(value)') not in IANA IP Flow Information Export (IPFIX) Entities Registry."
            }
        case .httpRequestHeaders:
            registryCheck(observableType: "network-traffic", path: ["extensions", "http-request-ext", "request_header"],
                          registry: \.httpRequestHeaders) { id, value in
                "The 'request_header' property of object '\(id)' contains an invalid HTTP request header ('\(value)')."
            }
        case .socketOptions:
            registryCheck(observableType: "network-traffic", path: ["extensions", "socket-ext", "options"], registry: \.socketOptions) { id, value in
                "The 'options' property of object '\(id)' contains a key ('\(value)') that is not a valid socket option (SO|ICMP|ICMP6|IP|IPV6|MCAST|TCP|IRLMP)_*."
            }
        case .pdfDocInfo:
            registryCheck(observableType: "file", path: ["extensions", "pdf-ext", "document_info_dict"], registry: \.pdfDocumentInfoKeys) { id, value in
                "The 'document_info_dict' property of object '\(id)' contains a key ('\(value)') that is not a valid PDF Document Information Dictionary key."
            }
        case .countries:
            if type == "location", let c = instance["country"], !vocab.countryCodes.contains((c.stringValue ?? "").uppercased()) {
                report("Location `country` should be a valid ISO 3166-1 ALPHA-2 Code.", path: JSONPath([.key("country")]))
            }
        case .networkTrafficPorts:
            forEachObservable { ctx, o, path in
                guard o["type"]?.stringValue == "network-traffic", !o.contains("src_port") || !o.contains("dst_port") else { return }
                ctx.report("The Network Traffic object '\(o["id"]?.stringValue ?? "")' should contain both the 'src_port' and 'dst_port' properties.",
                           path: path)
            }
        case .extrefHashes:
            for (i, ref) in (instance["external_references"]?.arrayValue ?? []).enumerated() where ref["url"] != nil && ref["hashes"] == nil {
                report("External reference '\(ref["source_name"]?.stringValue ?? "")' has a URL but no hash.",
                       path: JSONPath([.key("external_references"), .index(i)]))
                break
            }
        case .extensionDescription:
            if type == "extension-definition", !instance.contains("description") {
                report("The 'description' property SHOULD be populated.")
            }
        case .extensionProperties:
            if type == "extension-definition",
                (instance["extension_types"]?.arrayValue ?? []).contains(.string("toplevel-property-extension")),
                !instance.contains("extension_properties")
            {
                report("For extensions of the 'toplevel-property-extension' type, the 'extension_properties' property SHOULD include one or more property names.")
            }
        case .enforceRelationshipRefs: relationshipReferencesInBundle()
        case .typesStrict: typesStrict()
        case .propertiesStrict: propertiesStrict()
        }
    }

    /// Each value (list item, dictionary key, or the single value) at `path` in observables of `observableType` must
    /// be in a registry; `message` words the finding from the object id and the value.
    private mutating func registryCheck(observableType: String, path keys: [String], registry: KeyPath<Vocabulary, Set<String>>,
                                        message: @escaping (String, String) -> String) {
        forEachObservable { ctx, o, path in
            guard o["type"]?.stringValue == observableType else { return }
            var node: JSONValue? = .object(o)
            for key in keys { node = node?[key] }
            guard let node else { return }
            let values = node.stringValue != nil ? [node] : node.iterated
            let known = ctx.vocab[keyPath: registry]
            for value in values where !known.contains(value.stringValue ?? "") {
                ctx.report(message(o["id"]?.stringValue ?? "", value.stringValue ?? value.serialized()), path: path.appending(keys[0]))
            }
        }
    }

    // MARK: - Custom content

    private func usesExtension(_ types: [String]) -> Bool {
        for member in instance["extensions"]?.objectValue ?? JSONObject() {
            if let t = member.value["extension_type"]?.stringValue, types.contains(t) { return true }
        }
        return false
    }

    private var isKnownType: Bool {
        vocab.types.contains(type) || vocab.reservedObjects.contains(type) || vocab.observableTypes.contains(type)
    }

    mutating func customPrefix(strict: Bool) {
        let typeOK = strict ? CheckContext.hasStrictTypePrefix : CheckContext.hasLaxTypePrefix
        let propertyOK = strict ? CheckContext.hasStrictPropertyPrefix : CheckContext.hasLaxPropertyPrefix
        let extensionOK = strict ? CheckContext.hasStrictExtensionPrefix : CheckContext.hasLaxExtensionPrefix
        let rule = strict ? "should start with 'x-' followed by a source unique identifier (like a domain name with dots replaced by hyphens), a hyphen and then the name"
            : "should start with 'x-'"
        let propertyRule = strict ? "should start with 'x_' followed by a source unique identifier (like a domain name with dots replaced by underscores), an underscore and then the name"
            : "should start with 'x_'"
        if !isKnownType && !typeOK(type) {
            report("Custom object type '\(type)' \(rule).", path: JSONPath([.key("type")]))
        }
        if let known = vocab.properties[type] {
            for key in instance.keys where !known.contains(key) && !vocab.reservedProperties.contains(key) && !propertyOK(key) {
                report("Custom property '\(key)' \(propertyRule).", path: JSONPath([.key(key)]))
            }
        }
        forEachObservable { ctx, o, path in
            let t = o["type"]?.stringValue ?? ""
            if !ctx.vocab.observableTypes.contains(t) && !ctx.vocab.observableReservedObjects.contains(t) && !typeOK(t) {
                ctx.report("Custom Observable Object type '\(t)' \(rule).", path: path.appending("type"))
            }
            if let exts = ctx.vocab.observableExtensions[t], case .object(let extensions)? = o["extensions"] {
                for key in extensions.keys where !exts.contains(key) && !extensionOK(key) {
                    ctx.report("Custom Cyber Observable Object extension type '\(key)' \(rule).", path: path.appending("extensions"))
                }
            }
            ctx.observableCustomProperties(o, path) { name in propertyOK(name) ? nil : "\(propertyRule)" }
        }
    }

    /// Walks an observable's properties, embedded properties and predefined extensions' properties, reporting each
    /// one the specification does not define and `verdict` objects to.
    mutating func observableCustomProperties(_ o: JSONObject, _ path: JSONPath, topLevel: Bool = true, verdict: (String) -> String?) {
        let t = o["type"]?.stringValue ?? ""
        for member in o {
            if topLevel, let known = vocab.observableProperties[t], !known.contains(member.key), let why = verdict(member.key) {
                report("Cyber Observable Object custom property '\(member.key)' \(why).", path: path.appending(member.key))
            }
            if let embedded = vocab.observableEmbeddedProperties[t]?[member.key] {
                for item in member.value.iterated {
                    for name in item.objectValue?.keys ?? [item.stringValue ?? ""] where !embedded.contains(name) {
                        if let why = verdict(name) {
                            report("Cyber Observable Object custom property '\(name)' in the \(member.key) property of \(t) object \(why).",
                                   path: path.appending(member.key))
                        }
                    }
                }
            }
        }
        guard let exts = vocab.observableExtensions[t], case .object(let extensions)? = o["extensions"] else { return }
        for ext in extensions where exts.contains(ext.key) {
            let known = vocab.observableExtensionProperties[ext.key] ?? []
            for prop in ext.value.iterated.compactMap(\.stringValue) {
                if !known.contains(prop), let why = verdict(prop) {
                    report("Cyber Observable Object custom property '\(prop)' in the \(ext.key) extension \(why).",
                           path: path.appending("extensions").appending(ext.key))
                }
                guard let embedded = vocab.observableExtensionEmbeddedProperties[ext.key]?[prop], let value = ext.value[prop] else { continue }
                for item in value.iterated {
                    let names = item.objectValue?.keys ?? (item.arrayValue?.compactMap(\.stringValue) ?? [item.stringValue ?? ""])
                    for name in names where !embedded.contains(name) {
                        if let why = verdict(name) {
                            report("Cyber Observable Object custom property '\(name)' in the \(prop) property of the \(ext.key) extension \(why).",
                                   path: path.appending("extensions").appending(ext.key))
                        }
                    }
                }
            }
        }
    }

    mutating func extensionsUse() {
        let viaExtension = "should be implemented using an extension with an 'extension_type' of 'property-extension' or 'toplevel-property-extension'"
        if !isKnownType && !usesExtension(["new-sdo", "new-sco", "new-sro"]) {
            report("Custom object type '\(type)' should be implemented using an extension with an 'extension_type' of 'new-sdo', 'new-sco', or 'new-sro'.",
                   path: JSONPath([.key("type")]))
        }
        let known = vocab.properties[type] ?? vocab.observableProperties[type]
        if let known, !usesExtension(["toplevel-property-extension"]) {
            for key in instance.keys where !known.contains(key) && !vocab.reservedProperties.contains(key) {
                report("Custom property '\(key)' \(viaExtension).", path: JSONPath([.key(key)]))
            }
        }
        forEachObservable { ctx, o, path in
            // Embedded and predefined-extension properties; top-level ones were reported above.
            ctx.observableCustomProperties(o, path, topLevel: false) { _ in viaExtension }
            let t = o["type"]?.stringValue ?? ""
            guard let exts = ctx.vocab.observableExtensions[t], case .object(let extensions)? = o["extensions"] else { return }
            let usesPropertyExtension = extensions.contains { $0.value["extension_type"]?.stringValue == "property-extension" }
            for key in extensions.keys where !exts.contains(key) && !usesPropertyExtension {
                ctx.report("Custom Cyber Observable Object extension type '\(key)' should be implemented using an 'extension_type' of 'property-extension'.",
                           path: path.appending("extensions"))
            }
        }
        if type == "marking-definition", !instance.contains("extensions"),
            !["statement", "tlp"].contains(instance["definition_type"]?.stringValue ?? "")
        {
            report("Custom marking definitions should be specified using the 'extensions' property.")
        }
    }

    mutating func deprecatedProperties() {
        for prop in vocab.entry("DEPRECATED_PROPERTIES", type)?.arrayValue?.compactMap(\.stringValue) ?? [] where instance.contains(prop) {
            report("Included property '\(prop)' is deprecated within the indicated spec version.", path: JSONPath([.key(prop)]))
        }
    }

    // MARK: - Formats

    mutating func uuidCheck() {
        guard let id else { return }
        let uuid = CheckContext.uuidPart(of: id)
        guard Identifier.isUUID(uuid) else { return }
        let version = Identifier.version(ofUUID: uuid)
        if hasObservableData(instance) && type != "observed-data" && type != "process" {
            if version != 5 {
                report("Cyber Observable ID value \(id) is not a valid UUIDv5 ID.", path: JSONPath([.key("id")]))
            }
        } else if version != 4 {
            report("Given ID value \(id) is not a valid UUIDv4 ID.", path: JSONPath([.key("id")]))
        }
    }

    private static func isVocabularyFormat(_ s: String) -> Bool {
        CheckContext.isLower(s) && !s.contains("_") && !s.contains(" ")
    }

    mutating func openVocabularyFormat() {
        guard let props = vocab.entry("VOCAB_PROPERTIES", type)?.arrayValue?.compactMap(\.stringValue) else { return }
        for prop in props {
            guard let value = instance[prop] else { continue }
            let values: [JSONValue]
            switch value {
            case .array(let a): values = a
            case .object: return
            default: values = [value]
            }
            for case .string(let v) in values where !CheckContext.isVocabularyFormat(v) {
                report("Open vocabulary value '\(v)' should be all lowercase and use hyphens instead of spaces or underscores as word separators.",
                       path: JSONPath([.key(prop)]))
            }
        }
    }

    mutating func killChainNames() {
        guard vocab.set("KILL_CHAIN_PHASE_USES").contains(type), case .array(let phases)? = instance["kill_chain_phases"] else { return }
        for (i, phase) in phases.enumerated() {
            guard let chain = phase["kill_chain_name"] else { return }
            let path = JSONPath([.key("kill_chain_phases"), .index(i)])
            if let name = chain.stringValue, !CheckContext.isVocabularyFormat(name) {
                report("kill_chain_name '\(name)' should be all lowercase and use hyphens instead of spaces or underscores as word separators.",
                       path: path.appending("kill_chain_name"))
            }
            if let name = phase["phase_name"]?.stringValue, !CheckContext.isVocabularyFormat(name) {
                report("phase_name '\(name)' should be all lowercase and use hyphens instead of spaces or underscores as word separators.",
                       path: path.appending("phase_name"))
            }
        }
    }

    mutating func dictionaryKeys(_ value: JSONValue, _ path: JSONPath) {
        guard case .object(let o) = value else { return }
        let exceptions = vocab.set("OBSERVABLE_DICT_KEY_EXCEPTIONS")
        for member in o {
            if member.key.isEmpty || member.key.contains(where: { $0.isASCII && $0.isUppercase }) {
                report("As a dictionary key, '\(member.key)' should be lowercase.", path: path.appending(member.key))
            }
            if case .object = member.value, !exceptions.contains(member.key) {
                dictionaryKeys(member.value, path.appending(member.key))
            }
        }
    }

    // MARK: - Approved values

    mutating func vocabulary(_ name: String) {
        guard let props = vocab.entry(name + "_USES", type)?.arrayValue?.compactMap(\.stringValue) else { return }
        let allowed = vocab.set(name + "_OV")
        for prop in props {
            guard let value = instance[prop] else { continue }
            let inVocabulary: Bool
            if case .array(let a) = value {
                inVocabulary = a.allSatisfy { allowed.contains($0.stringValue ?? "\u{0}") }
            } else {
                inVocabulary = allowed.contains(value.stringValue ?? "\u{0}")
            }
            if !inVocabulary {
                let vocabName = name.replacingOccurrences(of: "_", with: "-").lowercased()
                report("The value contained in \(prop) is permitted, but is not in the \(vocabName)-ov vocabulary.", path: JSONPath([.key(prop)]))
            }
        }
    }

    mutating func relationshipTypes() {
        guard type == "relationship", let r = instance["relationship_type"]?.stringValue,
            let source = instance["source_ref"]?.stringValue, let target = instance["target_ref"]?.stringValue,
            let sourceRange = source.range(of: "--", options: .backwards), let targetRange = target.range(of: "--", options: .backwards)
        else { return }
        let s = String(source[..<sourceRange.lowerBound])
        let t = String(target[..<targetRange.lowerBound])
        let nonSDOs = vocab.set("NON_SDOS")
        if vocab.set("COMMON_RELATIONSHIPS").contains(r) || nonSDOs.contains(s) || nonSDOs.contains(t) { return }
        guard let bySource = vocab.entry("RELATIONSHIPS", s)?.objectValue else {
            report("'\(s)' is permitted, but not a suggested relationship source object for the '\(r)' relationship.",
                   path: JSONPath([.key("source_ref")]))
            return
        }
        guard let targets = bySource[r] else {
            report("'\(r)' is permitted, but not a suggested relationship type for '\(s)' objects.", path: JSONPath([.key("relationship_type")]))
            return
        }
        // The table gives a list of target types, or a single type as a plain string (matched as the reference
        // does, by containment).
        let suggested = targets.arrayValue.map { $0.contains(.string(t)) } ?? targets.stringValue?.contains(t) ?? false
        if !suggested {
            report("'\(t)' is permitted, but not a suggested relationship target object for '\(s)' objects with the '\(r)' relationship.",
                   path: JSONPath([.key("target_ref")]))
        }
    }

    mutating func duplicateIDs() {
        guard type == "bundle", case .array(let objects)? = instance["objects"] else { return }
        var seen: [String: String] = [:]
        for case .object(let o) in objects {
            guard let oid = o["id"]?.stringValue, let modified = o["modified"]?.stringValue else { continue }
            if let earlier = seen[oid] {
                if earlier == modified {
                    report("Duplicate ID '\(oid)' has identical `modified` timestamp. If they are different versions of the same object, they should have different `modified` properties.")
                }
            } else {
                seen[oid] = modified
            }
        }
    }

    private static func isHashName(_ name: String, _ vocab: Vocabulary) -> Bool {
        vocab.hashAlgorithms.contains(name) || name.hasPrefix("x_")
    }

    /// Every hashes dictionary an observable can carry, with a label for messages.
    private static func hashDictionaries(_ o: JSONObject) -> [(String, JSONValue, JSONPath)] {
        var out: [(String, JSONValue, JSONPath)] = []
        let t = o["type"]?.stringValue ?? ""
        if ["file", "artifact", "x509-certificate"].contains(t), let h = o["hashes"] {
            out.append(("a 'hashes' dictionary with a hash of type", h, JSONPath([.key("hashes")])))
        }
        guard t == "file", let ext = o["extensions"] else { return out }
        for stream in ext["ntfs-ext"]?["alternate_data_streams"]?.arrayValue ?? [] {
            if let h = stream["hashes"] {
                out.append(("an NTFS extension with an alternate data stream that has a 'hashes' dictionary with a hash of type", h,
                            JSONPath([.key("extensions"), .key("ntfs-ext")])))
            }
        }
        let pe = ext["windows-pebinary-ext"]
        if let h = pe?["file_header_hashes"] {
            out.append(("a Windows PE Binary File extension with a file header hash of", h, JSONPath([.key("extensions"), .key("windows-pebinary-ext")])))
        }
        if let h = pe?["optional_header"]?["hashes"] {
            out.append(("a Windows PE Binary File extension with an optional header that has a hash of", h,
                        JSONPath([.key("extensions"), .key("windows-pebinary-ext")])))
        }
        for section in pe?["sections"]?.arrayValue ?? [] {
            if let h = section["hashes"] {
                out.append(("a Windows PE Binary File extension with a section that has a hash of", h,
                            JSONPath([.key("extensions"), .key("windows-pebinary-ext")])))
            }
        }
        return out
    }

    mutating func hashAlgorithms(_ o: JSONObject, _ path: JSONPath) {
        for (label, hashes, at) in CheckContext.hashDictionaries(o) {
            for case .string(let name) in hashes.iterated where !CheckContext.isHashName(name, vocab) {
                report("Object '\(o["id"]?.stringValue ?? "")' has \(label) '\(name)', which is not a value in the hash-algorithm-ov vocabulary nor a custom value prepended with 'x_'.",
                       path: JSONPath(path.components + at.components))
            }
        }
    }

    mutating func hashLengths(_ o: JSONObject, _ path: JSONPath) {
        // The reference stops at the first over-long name.
        for (label, hashes, at) in CheckContext.hashDictionaries(o) {
            for case .string(let name) in hashes.iterated where name.count > 30 {
                report("Object '\(o["id"]?.stringValue ?? "")' has \(label) '\(name)', which is longer than 30 characters.",
                       path: JSONPath(path.components + at.components))
                return
            }
        }
    }

    mutating func peBinaryType(_ o: JSONObject, _ path: JSONPath) {
        guard o["type"]?.stringValue == "file", let pe = o["extensions"]?["windows-pebinary-ext"]?["pe_type"] else { return }
        if !vocab.set("WINDOWS_PEBINARY_TYPE_OV").contains(pe.stringValue ?? "") {
            report("Object '\(o["id"]?.stringValue ?? "")' has a Windows PE Binary File extension with a 'pe_type' of '\(pe.stringValue ?? pe.serialized())', which is not a value in the windows-pebinary-type-ov vocabulary.",
                   path: path.appending("extensions"))
        }
    }

    // MARK: - Optional strictness

    mutating func relationshipReferencesInBundle() {
        guard type == "bundle", case .array(let objects)? = instance["objects"] else { return }
        var ids = Set<String>()
        for case .object(let o) in objects where o["type"]?.stringValue != "relationship" {
            if let oid = o["id"]?.stringValue { ids.insert(oid) }
        }
        for case .object(let o) in objects where o["type"]?.stringValue == "relationship" {
            for key in ["source_ref", "target_ref"] {
                let ref = o[key]?.stringValue ?? ""
                if !ids.contains(ref) {
                    report("Relationship object \(o["id"]?.stringValue ?? "") makes reference to \(ref) which is not found in the current bundle",
                           objectID: o["id"]?.stringValue)
                }
            }
        }
    }

    mutating func typesStrict() {
        if !vocab.types.contains(type) {
            report("Object type '\(type)' is not one of those defined in the specification.", path: JSONPath([.key("type")]))
        }
        if case .success(let pattern)? = stixPattern {
            for (objectType, _) in pattern.comparedObjectTypes where !vocab.observableTypes.contains(objectType) {
                report("'\(objectType)' is not a valid stix observable type", path: JSONPath([.key("pattern")]))
            }
        }
    }

    mutating func propertiesStrict() {
        guard vocab.types.contains(type) || vocab.observableTypes.contains(type) else { return }
        if hasObservableData(instance) {
            if type != "observed-data" {
                observableCustomProperties(instance, JSONPath()) { _ in "is not one of those defined in the specification" }
            }
        } else {
            let defined = vocab.properties[type] ?? []
            for key in instance.keys where !defined.contains(key) {
                report("Property '\(key)' is not one of those defined in the specification.", path: JSONPath([.key(key)]))
            }
        }
        if case .success(let pattern)? = stixPattern {
            for (objectType, paths) in pattern.comparedObjectTypes {
                guard let known = vocab.observableProperties[objectType] else { continue }
                for p in paths {
                    if case .key(let property)? = p.steps.first, !known.contains(property) {
                        report("'\(property)' is not a valid property for '\(objectType)' objects", path: JSONPath([.key("pattern")]))
                    }
                }
            }
        }
    }
}
