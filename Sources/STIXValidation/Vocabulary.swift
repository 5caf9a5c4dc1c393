import STIX
/// STIX 2.1 vocabularies and property tables (from the OASIS validator) and IANA registry names, loaded once.
final class Vocabulary: Sendable {
    static let shared = Vocabulary()

    let root: JSONObject
    let types: Set<String>
    let observableTypes: Set<String>
    let reservedProperties: Set<String>
    let reservedObjects: Set<String>
    let observableReservedObjects: Set<String>
    let properties: [String: Set<String>]
    let observableProperties: [String: Set<String>]
    let observableExtensions: [String: Set<String>]
    let observableExtensionProperties: [String: Set<String>]
    let observableEmbeddedProperties: [String: [String: Set<String>]]
    let observableExtensionEmbeddedProperties: [String: [String: Set<String>]]
    let mediaTypes: Set<String>
    let charSets: Set<String>
    let protocols: Set<String>
    let ipfix: Set<String>
    let languageCodes: Set<String>
    let softwareLanguageCodes: Set<String>
    let countryCodes: Set<String>
    let httpRequestHeaders: Set<String>
    let socketOptions: Set<String>
    let pdfDocumentInfoKeys: Set<String>
    let hashAlgorithms: Set<String>
    let checkCodes: [String: String]
    /// Every table by name, for constant-time lookup.
    private let tables: [String: JSONValue]
    /// Every list-valued table as a set.
    private let sets: [String: Set<String>]
    /// Two-level tables (`TIMESTAMP_PROPERTIES["indicator"]`) by name then key.
    private let keyed: [String: [String: JSONValue]]

    private init() {
        let parsed = try? JSONParser(limits: JSONLimits(maxDepth: 64, maxStringBytes: 1 << 20)).parse(ReferenceData.vocabulariesJSON)
        let root = parsed?.objectValue ?? JSONObject()
        self.root = root
        func set(_ name: String) -> Set<String> { Set(root[name]?.arrayValue?.compactMap(\.stringValue) ?? []) }
        func table(_ name: String) -> [String: Set<String>] {
            var out: [String: Set<String>] = [:]
            for m in root[name]?.objectValue ?? JSONObject() {
                out[m.key] = Set(m.value.arrayValue?.compactMap(\.stringValue) ?? m.value.objectValue?.keys ?? [])
            }
            return out
        }
        func nested(_ name: String) -> [String: [String: Set<String>]] {
            var out: [String: [String: Set<String>]] = [:]
            for m in root[name]?.objectValue ?? JSONObject() {
                var inner: [String: Set<String>] = [:]
                for n in m.value.objectValue ?? JSONObject() {
                    inner[n.key] = Set(n.value.arrayValue?.compactMap(\.stringValue) ?? [])
                }
                out[m.key] = inner
            }
            return out
        }
        types = set("TYPES")
        observableTypes = set("OBSERVABLE_TYPES")
        reservedProperties = set("RESERVED_PROPERTIES")
        reservedObjects = set("RESERVED_OBJECTS")
        observableReservedObjects = set("OBSERVABLE_RESERVED_OBJECTS")
        properties = table("PROPERTIES")
        observableProperties = table("OBSERVABLE_PROPERTIES")
        observableExtensions = table("OBSERVABLE_EXTENSIONS")
        observableExtensionProperties = table("OBSERVABLE_EXTENSION_PROPERTIES")
        observableEmbeddedProperties = nested("OBSERVABLE_EMBEDDED_PROPERTIES")
        observableExtensionEmbeddedProperties = nested("OBSERVABLE_EXTENSION_EMBEDDED_PROPERTIES")
        mediaTypes = set("MEDIA_TYPES")
        charSets = set("CHAR_SETS")
        protocols = set("PROTOCOLS")
        ipfix = set("IPFIX")
        languageCodes = set("LANG_CODES")
        softwareLanguageCodes = set("SOFTWARE_LANG_CODES")
        countryCodes = set("COUNTRY_CODES")
        httpRequestHeaders = set("HTTP_REQUEST_HEADERS")
        socketOptions = set("SOCKET_OPTIONS")
        pdfDocumentInfoKeys = set("PDF_DID")
        hashAlgorithms = set("HASH_ALGO_OV")
        var codes: [String: String] = [:]
        for m in root["CHECK_CODES"]?.objectValue ?? JSONObject() {
            if let name = m.value.stringValue { codes[m.key] = name }
        }
        checkCodes = codes
        var tables: [String: JSONValue] = [:]
        var sets: [String: Set<String>] = [:]
        var keyed: [String: [String: JSONValue]] = [:]
        for m in root {
            tables[m.key] = m.value
            if case .array(let a) = m.value { sets[m.key] = Set(a.compactMap(\.stringValue)) }
            if case .object(let o) = m.value {
                var inner: [String: JSONValue] = [:]
                for n in o { inner[n.key] = n.value }
                keyed[m.key] = inner
            }
        }
        self.tables = tables
        self.sets = sets
        self.keyed = keyed
    }

    /// A list-valued table as a set, e.g. `set("MALWARE_TYPE_OV")`.
    func set(_ name: String) -> Set<String> {
        sets[name] ?? []
    }

    /// The entry `key` of a two-level table, e.g. `entry("TIMESTAMP_PROPERTIES", "indicator")`.
    func entry(_ table: String, _ key: String) -> JSONValue? {
        keyed[table]?[key]
    }

    /// A list-valued table entry, e.g. `vocabulary("MALWARE_TYPE_OV")`.
    func list(_ name: String) -> [String] {
        root[name]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// Any table by its name in the OASIS validator's `enums` module.
    func value(_ name: String) -> JSONValue? {
        tables[name]
    }
}
