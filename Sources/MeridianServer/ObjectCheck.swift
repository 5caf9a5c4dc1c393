import STIX
import STIXValidation
import Storage

/// The check every write path (TAXII POST, `meridian import`) applies to one object of a document: it must parse, be
/// a JSON object and break no STIX 2.1 MUST rule; then its indexed fields are extracted, its bytes kept as received.
enum ObjectCheck {
    /// Why an object was refused, worded for a status resource or an import summary (never quoting its content).
    struct Rejection: Error, Sendable {
        /// The object's id, or empty when it has none.
        let id: String
        let version: String?
        let reason: String
        /// Set when the object is not JSON at all: for a skimmed document, the whole document is then malformed.
        var syntax: JSONParseError? = nil
    }

    /// The first object of a skimmed document that is not JSON, as a description naming it and the problem.
    static func syntaxError(_ outcomes: [Result<IncomingObject, Rejection>]) -> String? {
        for (i, outcome) in outcomes.enumerated() {
            if case .failure(let r) = outcome, let e = r.syntax { return "object #\(i) is not valid JSON: \(e)" }
        }
        return nil
    }

    static func check(_ bytes: [UInt8], range: Range<Int>, index: Int, parser: JSONParser, validator: Validator)
        -> Result<IncomingObject, Rejection>
    {
        let value: JSONValue
        do {
            value = try parser.parse(bytes, range: range)
        } catch {
            return .failure(Rejection(id: "object #\(index)", version: nil, reason: "not valid JSON", syntax: error))
        }
        let id = value["id"]?.stringValue ?? ""
        let version = value["modified"]?.stringValue ?? value["created"]?.stringValue
        guard case .object(let object) = value else {
            return .failure(Rejection(id: id, version: nil, reason: "not a STIX object: each entry of 'objects' must be a JSON object"))
        }
        let errors = validator.validate(value, warnings: false).errors
        if let first = errors.first {
            let more = errors.count > 1 ? " (and \(errors.count - 1) more)" : ""
            let path = first.path.components.isEmpty ? "" : first.path.description + ": "
            return .failure(Rejection(id: id, version: version, reason: "\(path)\(first.message) [\(first.check)]\(more)"))
        }
        if let redefinition = TLP.redefinition(in: object) {
            return .failure(Rejection(id: id, version: version, reason: "\(redefinition) [tlp-redefinition]"))
        }
        guard let incoming = IncomingObject(object: object, bytes: range == bytes.indices ? bytes : Array(bytes[range])) else {
            return .failure(Rejection(id: id, version: version, reason: "an object needs string 'id' and 'type'"))
        }
        return .success(incoming)
    }
}
