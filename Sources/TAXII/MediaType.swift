import STIX
/// TAXII 2.1 media types and content negotiation (§1.6.8, §3.1).
public enum MediaType {
    /// What every TAXII response carries.
    public static let taxii = "application/taxii+json;version=2.1"
    /// What a collection's `media_types` lists.
    public static let stix = "application/stix+json;version=2.1"

    /// True when an Accept header admits TAXII 2.1 JSON: `application/taxii+json` with version 2.1 or none, or a
    /// wildcard covering it. A missing header admits nothing: the standard requires clients to send one.
    public static func accepts(_ header: String?) -> Bool {
        guard let header else { return false }
        if header == taxii { return true }  // what TAXII clients send
        for range in header.split(separator: ",") {
            let (type, parameters) = parse(range)
            if type == "*/*" || type == "application/*" { return true }
            if type == "application/taxii+json", parameters["version"] == nil || parameters["version"] == "2.1" { return true }
        }
        return false
    }

    /// True when a Content-Type is TAXII 2.1 JSON (the version parameter may be omitted).
    public static func isTAXII(contentType header: String?) -> Bool {
        guard let header else { return false }
        let (type, parameters) = parse(Substring(header))
        return type == "application/taxii+json" && (parameters["version"] == nil || parameters["version"] == "2.1")
    }

    /// A media range's type (lower-cased) and parameters (names lower-cased, quotes removed).
    static func parse(_ range: Substring) -> (String, [String: String]) {
        let parts = range.split(separator: ";").map { $0.trimmingSpaces() }
        let type = parts.first.map { $0.lowercased() } ?? ""
        var parameters: [String: String] = [:]
        for p in parts.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
            guard kv.count == 2 else { continue }
            parameters[kv[0].lowercased()] = kv[1].trimmingCharacters(in: "\"")
        }
        return (type, parameters)
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        trimming { $0 == " " || $0 == "\t" }
    }

    func trimmingCharacters(in set: Character) -> String {
        trimming { $0 == set }
    }

    /// Without the leading and trailing characters `isTrimmed` accepts.
    private func trimming(_ isTrimmed: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !isTrimmed($0) }), let last = lastIndex(where: { !isTrimmed($0) }) else { return "" }
        return String(self[first ... last])
    }
}
