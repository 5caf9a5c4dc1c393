/// The object types STIX 2.1 defines, what kind each is, and the facts the rest of Meridian needs about them.
///
/// Related STIX sections: 4 (SDOs), 5 (SROs), 6 (SCOs), 7 (meta objects), 8 (bundle).
public enum STIXType {
    /// What kind of STIX object a type is.
    public enum Category: String, Sendable, CaseIterable {
        case domainObject = "SDO"
        case relationshipObject = "SRO"
        case cyberObservable = "SCO"
        case metaObject = "meta"
        case bundle = "bundle"
    }

    /// The 19 STIX Domain Objects.
    public static let domainObjects: [String] = [
        "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator",
        "infrastructure", "intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data",
        "opinion", "report", "threat-actor", "tool", "vulnerability",
    ]

    /// The 2 STIX Relationship Objects.
    public static let relationshipObjects: [String] = ["relationship", "sighting"]

    /// The 18 STIX Cyber-observable Objects.
    public static let cyberObservables: [String] = [
        "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "file",
        "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process", "software", "url",
        "user-account", "windows-registry-key", "x509-certificate",
    ]

    /// The meta objects: markings, translations and extension definitions.
    public static let metaObjects: [String] = ["marking-definition", "language-content", "extension-definition"]

    /// The category of a type the specification defines, or nil for a custom or unknown type.
    public static func category(of type: String) -> Category? {
        categories[type]
    }

    private static let categories: [String: Category] = {
        var map: [String: Category] = ["bundle": .bundle]
        for t in domainObjects { map[t] = .domainObject }
        for t in relationshipObjects { map[t] = .relationshipObject }
        for t in cyberObservables { map[t] = .cyberObservable }
        for t in metaObjects { map[t] = .metaObject }
        return map
    }()

    /// Every type the specification defines (43 with the bundle).
    public static var all: [String] { domainObjects + relationshipObjects + cyberObservables + metaObjects + ["bundle"] }

    /// ID contributing properties of each cyber observable (§6, each type's "ID Contributing Properties"): the
    /// types listed here SHOULD use a deterministic UUIDv5 built from them. `process` has none and uses UUIDv4.
    public static let idContributingProperties: [String: [String]] = [
        "artifact": ["hashes", "payload_bin"],
        "autonomous-system": ["number"],
        "directory": ["path"],
        "domain-name": ["value"],
        "email-addr": ["value"],
        "email-message": ["from_ref", "subject", "body"],
        "file": ["hashes", "name", "extensions", "parent_directory_ref"],
        "ipv4-addr": ["value"],
        "ipv6-addr": ["value"],
        "mac-addr": ["value"],
        "mutex": ["name"],
        "network-traffic": ["start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"],
        "software": ["name", "cpe", "swid", "vendor", "version"],
        "url": ["value"],
        "user-account": ["account_type", "user_id", "account_login"],
        "windows-registry-key": ["key", "values"],
        "x509-certificate": ["hashes", "serial_number"],
    ]

    /// True when `type` is a syntactically valid type name (§2.9: lowercase ASCII letters, digits and single hyphens,
    /// starting with a letter... 3 to 250 characters).
    public static func isValidTypeName(_ type: String) -> Bool {
        let b = Array(type.utf8)
        guard b.count >= 3, b.count <= 250 else { return false }
        guard let first = b.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else { return false }
        var previousHyphen = false
        for c in b {
            let isLower = c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")
            let isDigit = c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
            if c == UInt8(ascii: "-") {
                if previousHyphen { return false }
                previousHyphen = true
            } else if isLower || isDigit {
                previousHyphen = false
            } else {
                return false
            }
        }
        return true
    }
}
