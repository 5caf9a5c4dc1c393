import STIX

/// A MISP warninglist (the `list.json` files of MISP's misp-warninglists): values analysts should not act on, such as
/// public resolvers, cloud ranges or popular domains, with how entries match.
public struct MISPWarninglist: Sendable, Equatable {
    /// How a list's entries match a value (MISP's `type`).
    public enum Matching: String, Sendable {
        /// The value is an entry.
        case string
        /// The value is an entry or a name under it (`mail.example.com` under `example.com`).
        case hostname
        /// The value is an address inside one of the entries' CIDR blocks (or is one of the addresses).
        case cidr
        /// The value contains an entry.
        case substring
    }

    public let name: String
    public let matching: Matching
    public let entries: [String]

    public init(name: String, matching: Matching, entries: [String]) {
        self.name = name
        self.matching = matching
        self.entries = entries
    }

    /// Reads a warninglist's JSON; a list of a type Meridian cannot match exactly (`regex`) is refused rather than
    /// matched approximately.
    public static func parse(_ document: JSONValue) throws(MISPError) -> MISPWarninglist {
        guard let o = document.objectValue else { throw MISPError(event: nil, "a MISP warninglist is a JSON object") }
        let name = o["name"]?.stringValue ?? "unnamed warninglist"
        let typeName = o["type"]?.stringValue ?? "string"
        guard let matching = Matching(rawValue: typeName) else {
            throw MISPError(event: nil, record: "warninglist '\(name)'",
                            "type '\(typeName)' is not supported (string, hostname, cidr and substring are)")
        }
        guard let list = o["list"]?.arrayValue else {
            throw MISPError(event: nil, record: "warninglist '\(name)'", "'list' must be a list of strings")
        }
        var entries: [String] = []
        entries.reserveCapacity(list.count)
        for (i, entry) in list.enumerated() {
            guard let s = entry.stringValue, !s.isEmpty else {
                throw MISPError(event: nil, record: "warninglist '\(name)'", "entry #\(i + 1) is not a non-empty string")
            }
            entries.append(s)
        }
        return MISPWarninglist(name: name, matching: matching, entries: entries)
    }
}
