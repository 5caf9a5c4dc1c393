import STIX
import Storage

/// The JSON bodies of TAXII resources (§4, §5); envelopes are written by the server straight from stored bytes.
public enum Resources {
    /// The manifest resource (§5.6).
    public static func manifest(_ page: ObjectPage) -> [UInt8] {
        var o = JSONObject()
        o["more"] = .bool(page.more)
        if !page.versions.isEmpty {
            o["objects"] = .array(page.versions.map { v in
                var e = JSONObject()
                e["id"] = .string(v.id)
                e["date_added"] = .string(TAXIITimestamp.format(v.dateAdded))
                e["version"] = .string(v.version ?? TAXIITimestamp.format(v.dateAdded))
                e["media_type"] = .string("application/stix+json;version=" + v.specVersion)
                return .object(e)
            })
        }
        return Array(JSONValue.object(o).serialized().utf8)
    }

    /// The versions resource (§5.7).
    public static func versions(_ page: ObjectPage) -> [UInt8] {
        var o = JSONObject()
        o["more"] = .bool(page.more)
        if !page.versions.isEmpty {
            o["versions"] = .array(page.versions.map { .string($0.version ?? TAXIITimestamp.format($0.dateAdded)) })
        }
        return Array(JSONValue.object(o).serialized().utf8)
    }

    /// The X-TAXII-Date-Added-First and -Last values of a page.
    public static func dateAddedHeaders(_ page: ObjectPage) -> (first: String, last: String)? {
        guard let first = page.versions.first, let last = page.versions.last else { return nil }
        return (TAXIITimestamp.format(first.dateAdded), TAXIITimestamp.format(last.dateAdded))
    }
}

/// A status resource being built for a POST (§4.3.1).
public struct StatusResource: Sendable {
    public struct Entry: Sendable {
        public let id: String
        public let version: String?
        public let message: String?

        public init(id: String, version: String?, message: String?) {
            self.id = id
            self.version = version
            self.message = message
        }

        var json: JSONValue {
            var o = JSONObject()
            o["id"] = .string(id)
            if let version { o["version"] = .string(version) }
            if let message { o["message"] = .string(message) }
            return .object(o)
        }
    }

    public let id: String
    public let requestTimestamp: Int64
    public var successes: [Entry] = []
    public var failures: [Entry] = []

    public init(id: String, requestTimestamp: Int64) {
        self.id = id
        self.requestTimestamp = requestTimestamp
    }

    public var json: [UInt8] {
        var o = JSONObject()
        o["id"] = .string(id)
        o["status"] = .string("complete")
        o["request_timestamp"] = .string(TAXIITimestamp.format(requestTimestamp))
        o["total_count"] = .number(JSONNumber(Int64(successes.count + failures.count)))
        o["success_count"] = .number(JSONNumber(Int64(successes.count)))
        o["failure_count"] = .number(JSONNumber(Int64(failures.count)))
        o["pending_count"] = .number(JSONNumber(0))
        if !successes.isEmpty { o["successes"] = .array(successes.map(\.json)) }
        if !failures.isEmpty { o["failures"] = .array(failures.map(\.json)) }
        return Array(JSONValue.object(o).serialized().utf8)
    }
}
