import STIX

/// Why a MISP document cannot be converted: the event and attribute (or object) it concerns, and the rule broken.
public struct MISPError: Error, CustomStringConvertible, Equatable {
    /// The event's uuid (or its position when it has none), nil outside an event.
    public let event: String?
    /// The attribute's or object's uuid (or position), nil when the event itself is at fault.
    public let record: String?
    public let rule: String

    public init(event: String?, record: String? = nil, _ rule: String) {
        self.event = event
        self.record = record
        self.rule = rule
    }

    public var description: String {
        var place: [String] = []
        if let event { place.append("event \(event)") }
        if let record { place.append(record) }
        return place.isEmpty ? rule : place.joined(separator: ", ") + ": " + rule
    }
}

/// What a MISP JSON document holds, in the shapes MISP writes: one event (`{"Event": {...}}` or the event's fields
/// bare), a list of events, the REST API's `{"response": [...]}`, a feed's event file, and the attribute and object
/// collections that `restSearch` returns (`{"response": {"Attribute": [...]}}`, `{"response": [{"Object": ...}]}`).
public enum MISPDocument {
    /// A unit of conversion: an event, or records that belong to no event.
    public enum Unit: Sendable {
        case event(JSONObject)
        case attributes([JSONValue])
        case objects([JSONValue])
    }

    public static func units(in document: JSONValue) throws(MISPError) -> [Unit] {
        switch document {
        case .object(let o):
            if let response = o["response"] {
                switch response {
                case .array(let items):
                    if !items.isEmpty, items.allSatisfy({ $0.objectValue?.contains("Object") == true }) {
                        return [.objects(items)]
                    }
                    return try events(items)
                case .object(let inner):
                    if let attributes = inner["Attribute"]?.arrayValue { return [.attributes(attributes)] }
                    throw MISPError(event: nil, "'response' holds neither a list of events nor an 'Attribute' list")
                default:
                    throw MISPError(event: nil, "'response' must be a list of events or an object with an 'Attribute' list")
                }
            }
            if o.contains("Event") || o.contains("info") { return try events([document]) }
            if let attributes = o["Attribute"]?.arrayValue { return [.attributes(attributes)] }
            if o.contains("Object") { return [.objects([document])] }
            throw MISPError(event: nil, "not MISP JSON: expected an 'Event', 'response', 'Attribute' or 'Object' member")
        case .array(let items):
            if !items.isEmpty, items.allSatisfy({ $0.objectValue?.contains("Object") == true }) { return [.objects(items)] }
            return try events(items)
        default:
            throw MISPError(event: nil, "not MISP JSON: the document is a \(document.typeName), not an object or a list")
        }
    }

    static func events(_ items: [JSONValue]) throws(MISPError) -> [Unit] {
        var units: [Unit] = []
        units.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard let wrapper = item.objectValue else {
                throw MISPError(event: "#\(i + 1)", "an event must be a JSON object, not a \(item.typeName)")
            }
            let event = wrapper["Event"].map { $0.objectValue } ?? wrapper
            guard let event, event.contains("info") || event.contains("uuid") else {
                throw MISPError(event: "#\(i + 1)", "not a MISP event: no 'Event' object with 'uuid' and 'info'")
            }
            units.append(.event(event))
        }
        return units
    }
}
