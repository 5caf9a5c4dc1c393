/// The marking references of one object: what the sharing policy reads (STIX 2.1 §7.2.2, §7.2.3).
public struct MarkingRefs: Sendable, Hashable {
    /// `object_marking_refs`.
    public let objectRefs: [String]
    /// The `marking_ref` of each granular marking (`lang`-only granular markings carry none and are absent).
    public let granularRefs: [String]
    /// `object_marking_refs` or `granular_markings` did not have the shape STIX requires.
    public let malformed: Bool

    public init(objectRefs: [String] = [], granularRefs: [String] = [], malformed: Bool = false) {
        self.objectRefs = objectRefs
        self.granularRefs = granularRefs
        self.malformed = malformed
    }

    /// Reads the marking properties of an object, recording whether they are well-formed.
    public init(of object: JSONObject) {
        var malformed = false
        var objectRefs: [String] = []
        var granularRefs: [String] = []
        func markingID(_ value: JSONValue?) -> String? {
            guard let s = value?.stringValue, s.hasPrefix("marking-definition--") else {
                malformed = true
                return nil
            }
            return s
        }
        if let refs = object["object_marking_refs"] {
            if case .array(let values) = refs { objectRefs = values.compactMap(markingID) } else { malformed = true }
        }
        if let granular = object["granular_markings"] {
            if case .array(let entries) = granular {
                for entry in entries {
                    guard case .object(let g) = entry else {
                        malformed = true
                        continue
                    }
                    if g["marking_ref"] != nil {
                        if let id = markingID(g["marking_ref"]) { granularRefs.append(id) }
                    } else if g["lang"] == nil {
                        malformed = true
                    }
                }
            } else {
                malformed = true
            }
        }
        self.init(objectRefs: objectRefs, granularRefs: granularRefs, malformed: malformed)
    }
}

