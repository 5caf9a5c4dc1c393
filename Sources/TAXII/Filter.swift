import STIX
import Storage

/// The query parameters of a TAXII read (§3.4), checked strictly: an unknown or repeated parameter, a malformed
/// value or a limit out of range is a 400 naming the parameter, never a 500.
public struct Filter: Sendable {
    /// The parameters each endpoint accepts.
    public enum Endpoint: Sendable {
        case objects, manifest, object, versions, delete

        var allowed: Set<String> {
            switch self {
            case .objects, .manifest:
                return ["added_after", "limit", "next", "match[id]", "match[type]", "match[version]", "match[spec_version]"]
            case .object: return ["added_after", "limit", "next", "match[version]", "match[spec_version]"]
            case .versions: return ["added_after", "limit", "next", "match[spec_version]"]
            case .delete: return ["match[version]", "match[spec_version]"]
            }
        }
    }

    public var query: ObjectQuery
    public var limit: Int
    /// The `date_added` a `next` cursor resumes after.
    public var cursor: Int64?

    /// Parses `parameters` (name, value pairs in order; values already percent-decoded).
    public init(_ parameters: [(String, String)], endpoint: Endpoint, defaultLimit: Int, maxLimit: Int) throws(TAXIIError) {
        var seen = Set<String>()
        var query = ObjectQuery()
        if endpoint == .versions { query.versions = .all }
        var limit = defaultLimit
        var cursor: Int64?
        for (name, value) in parameters {
            guard endpoint.allowed.contains(name) else {
                throw .badRequest("unknown query parameter '\(Filter.printable(name))' (this endpoint accepts: \(endpoint.allowed.sorted().joined(separator: ", ")))")
            }
            guard seen.insert(name).inserted else { throw .badRequest("query parameter '\(name)' may appear only once") }
            switch name {
            case "added_after":
                guard let t = TAXIITimestamp.parse(value) else {
                    throw .badRequest("added_after must be an RFC 3339 UTC timestamp such as 2016-01-01T01:01:01.000000Z")
                }
                query.addedAfter = t
            case "limit":
                guard let n = Int(value), n > 0 else { throw .badRequest("limit must be a positive integer") }
                limit = min(n, maxLimit)
            case "next":
                guard let c = Cursor.decode(value) else { throw .badRequest("next is not a cursor this server issued") }
                cursor = c
            case "match[id]":
                query.ids = Set(try Filter.list(value, name: name, valid: { $0.contains("--") && $0.count <= 300 }))
            case "match[type]":
                query.types = Set(try Filter.list(value, name: name, valid: { t in
                    !t.isEmpty && t.count <= 250 && t.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
                }))
            case "match[spec_version]":
                query.specVersions = Set(try Filter.list(value, name: name, valid: { $0 == "2.0" || $0 == "2.1" }))
            case "match[version]":
                query.versions = try Filter.versions(value)
            default:
                break
            }
        }
        self.query = query
        self.limit = limit
        self.cursor = cursor
    }

    /// A comma-separated list without empty or repeated entries.
    static func list(_ value: String, name: String, valid: (String) -> Bool) throws(TAXIIError) -> [String] {
        let items = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !items.isEmpty, items.allSatisfy({ !$0.isEmpty }) else { throw .badRequest("\(name) has an empty entry") }
        guard Set(items).count == items.count else { throw .badRequest("\(name) repeats a value") }
        for item in items where !valid(item) {
            throw .badRequest("\(name) has an invalid entry '\(printable(item))'")
        }
        return items
    }

    static func versions(_ value: String) throws(TAXIIError) -> ObjectQuery.Versions {
        let items = try list(value, name: "match[version]", valid: { _ in true })
        if items.contains("all") {
            guard items.count == 1 else { throw .badRequest("match[version]=all excludes every other value") }
            return .all
        }
        var timestamps = Set<Int64>()
        var first = false
        var last = false
        for item in items {
            switch item {
            case "first": first = true
            case "last": last = true
            default:
                guard let t = TAXIITimestamp.parse(item) else {
                    throw .badRequest("match[version] takes first, last, all or RFC 3339 UTC timestamps; '\(printable(item))' is none of them")
                }
                timestamps.insert(t)
            }
        }
        if timestamps.isEmpty && first != last { return first ? .first : .last }
        return .some(timestamps: timestamps, first: first, last: last)
    }

    /// `text` safe to put in a message: at most 64 printable ASCII characters.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(64).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
    }
}

/// The opaque `next` value: the `date_added` after which the next page starts (a keyset cursor; no server state).
public enum Cursor {
    public static func encode(_ dateAdded: Int64) -> String {
        "n" + String(UInt64(bitPattern: dateAdded) ^ 0x5A5A_5A5A_5A5A_5A5A, radix: 36)
    }

    public static func decode(_ text: String) -> Int64? {
        guard text.hasPrefix("n"), text.count <= 20, let v = UInt64(text.dropFirst(), radix: 36) else { return nil }
        return Int64(bitPattern: v ^ 0x5A5A_5A5A_5A5A_5A5A)
    }
}
