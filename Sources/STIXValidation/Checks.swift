import STIX
/// The SHOULD checks, named and numbered as in stix2-validator, and how options select them.
enum ShouldCheck: String, CaseIterable, Sendable {
    case uuidCheck = "uuid-check"
    case openVocabFormat = "open-vocab-format"
    case killChainNames = "kill-chain-names"
    case observableObjectKeys = "observable-object-keys"
    case observableDictionaryKeys = "observable-dictionary-keys"
    case malwareAnalysisProduct = "malware-analysis-product"
    case windowsProcessPriorityFormat = "windows-process-priority-format"
    case hashLength = "hash-length"
    case markingDefinitionType = "marking-definition-type"
    case relationshipTypes = "relationship-types"
    case duplicateIDs = "duplicate-ids"
    case attackMotivation = "attack-motivation"
    case attackResourceLevel = "attack-resource-level"
    case groupingContext = "grouping-context"
    case implementationLanguages = "implementation-languages"
    case infrastructureTypes = "infrastructure-types"
    case malwareCapabilities = "malware-capabilities"
    case malwareResult = "malware-result"
    case processorArchitecture = "processor-architecture"
    case identityClass = "identity-class"
    case indicatorTypes = "indicator-types"
    case industrySector = "industry-sector"
    case malwareTypes = "malware-types"
    case indicatorPatternTypes = "indicator-pattern-types"
    case reportTypes = "report-types"
    case threatActorTypes = "threat-actor-types"
    case threatActorRole = "threat-actor-role"
    case threatActorSophistication = "threat-actor-sophistication"
    case toolTypes = "tool-types"
    case region = "region"
    case hashAlgo = "hash-algo"
    case windowsPebinaryType = "windows-pebinary-type"
    case accountType = "account-type"
    case mimeType = "mime-type"
    case protocols = "protocols"
    case ipfix = "ipfix"
    case httpRequestHeaders = "http-request-headers"
    case socketOptions = "socket-options"
    case pdfDocInfo = "pdf-doc-info"
    case countries = "countries"
    case networkTrafficPorts = "network-traffic-ports"
    case extrefHashes = "extref-hashes"
    case indicatorProperties = "indicator-properties"
    case deprecatedProperties = "deprecated-properties"
    case extensionDescription = "extension-description"
    case extensionProperties = "extension-properties"
    case extensionsUse = "extensions-use"
    case customPrefix = "custom-prefix"
    case customPrefixLax = "custom-prefix-lax"
    case enforceRelationshipRefs = "enforce_relationship_refs"
    case typesStrict = "types-strict"
    case propertiesStrict = "properties-strict"

    static let formatChecks: [ShouldCheck] = [
        .uuidCheck, .openVocabFormat, .killChainNames, .observableObjectKeys, .observableDictionaryKeys,
        .malwareAnalysisProduct, .windowsProcessPriorityFormat, .hashLength,
    ]
    static let allVocabs: [ShouldCheck] = [
        .attackMotivation, .attackResourceLevel, .groupingContext, .implementationLanguages, .infrastructureTypes,
        .malwareCapabilities, .malwareResult, .processorArchitecture, .identityClass, .indicatorTypes, .industrySector,
        .malwareTypes, .indicatorPatternTypes, .reportTypes, .threatActorTypes, .threatActorRole,
        .threatActorSophistication, .toolTypes, .region, .hashAlgo, .windowsPebinaryType, .accountType,
    ]
    static let allExternalSources: [ShouldCheck] = [
        .mimeType, .protocols, .ipfix, .httpRequestHeaders, .socketOptions, .pdfDocInfo, .countries,
    ]
    static let approvedValues: [ShouldCheck] = [.markingDefinitionType, .relationshipTypes, .duplicateIDs] + allVocabs
        + allExternalSources
    static let all: [ShouldCheck] = formatChecks + approvedValues + [
        .networkTrafficPorts, .extrefHashes, .indicatorProperties, .deprecatedProperties, .extensionDescription,
        .extensionProperties, .extensionsUse,
    ]

    /// Group names that `--enable` accepts besides the single checks.
    static let groups: [String: [ShouldCheck]] = [
        "all": all, "format-checks": formatChecks, "approved-values": approvedValues, "all-vocabs": allVocabs,
        "all-external-sources": allExternalSources,
    ]

    /// stix2-validator's numeric code for this check.
    var code: String? {
        ShouldCheck.codes[self]
    }

    private static let codes: [ShouldCheck: String] = {
        var out: [ShouldCheck: String] = [:]
        for (code, name) in Vocabulary.shared.checkCodes {
            if let check = ShouldCheck(rawValue: name) { out[check] = code }
        }
        return out
    }()

    /// Every name `--enable` and `--disable` accept, for help texts.
    static var selectableNames: [String] {
        (groups.keys.sorted() + allCases.map(\.rawValue)).filter { $0 != "types-strict" && $0 != "properties-strict" }
    }

    /// The checks to run, in stix2-validator's order (its `list_shoulds`).
    static func selected(by options: ValidationOptions) throws(ValidationOptionsError) -> [ShouldCheck] {
        let codes = Vocabulary.shared.checkCodes
        let disabled = Set(options.disabled.map { codes[$0] ?? $0 })
        let enabled = options.enabled.map { codes[$0] ?? $0 }
        var list: [ShouldCheck] = []
        if options.enforceRefs { list.append(.enforceRelationshipRefs) }
        if options.strictTypes { list.append(.typesStrict) }
        if options.strictProperties { list.append(.propertiesStrict) }
        if disabled.isEmpty && enabled.isEmpty { return list + all }
        func on(_ c: ShouldCheck) -> Bool { !disabled.contains(c.rawValue) }
        if !disabled.isEmpty && !disabled.contains("all") {
            if !disabled.contains("format-checks") {
                list += formatChecks.filter { $0 != .uuidCheck && on($0) }
            }
            if !disabled.contains("approved-values") {
                list += [.markingDefinitionType, .relationshipTypes, .duplicateIDs].filter(on)
                if !disabled.contains("all-vocabs") {
                    let order: [ShouldCheck] = [
                        .attackMotivation, .attackResourceLevel, .identityClass, .indicatorPatternTypes, .indicatorTypes,
                        .industrySector, .malwareTypes, .reportTypes, .threatActorTypes, .threatActorRole,
                        .threatActorSophistication, .toolTypes, .region, .hashAlgo, .windowsPebinaryType, .accountType,
                    ]
                    list += order.filter(on)
                }
                if !disabled.contains("all-external-sources") { list += allExternalSources.filter(on) }
            }
            list += [.networkTrafficPorts, .extrefHashes, .indicatorProperties, .deprecatedProperties].filter(on)
            if on(.extensionsUse) {
                list.append(.extensionsUse)
            } else if !disabled.contains("format-checks") {
                if on(.customPrefix) { list.append(.customPrefix) } else if on(.customPrefixLax) { list.append(.customPrefixLax) }
            }
        }
        for name in enabled {
            if let group = groups[name] {
                list += group
            } else if let check = ShouldCheck(rawValue: name), name != "types-strict", name != "properties-strict" {
                if !list.contains(check) { list.append(check) }
            } else {
                throw ValidationOptionsError(description: "'\(name)' is not a valid check (known: \(selectableNames.joined(separator: ", ")))")
            }
        }
        return list
    }
}
