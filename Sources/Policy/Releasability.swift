import STIX

/// Meridian's releasability ("REL TO") marking: a marking-definition carrying Meridian's property extension, whose
/// `releasable_to` lists org ids, group names and country codes (SHARING.md, "Releasability"; docs/SHARING.md).
public enum Releasability {
    /// The fixed id of Meridian's `extension-definition` (published in docs/extensions/).
    public static let extensionID = "extension-definition--1e4ad8c3-6a35-4d4b-9f29-8f6a2c1f5e70"
    /// The identity that publishes the extension-definition.
    public static let publisherIdentity = "identity--8c3b6f2e-51d4-4a0e-9d77-3f1a7c9e2b10"
    /// The longest entry accepted in `releasable_to`.
    public static let maxEntryLength = 128

    /// Why a `releasable_to` list is malformed, or nil when it is well-formed.
    public static func problem(in value: JSONValue?) -> String? {
        guard let value else { return "'releasable_to' is missing" }
        guard case .array(let entries) = value else { return "'releasable_to' must be a list of strings" }
        for (i, entry) in entries.enumerated() {
            guard case .string(let s) = entry else { return "'releasable_to'[\(i)] must be a string" }
            guard !s.isEmpty, s.utf8.count <= maxEntryLength,
                s.unicodeScalars.allSatisfy({ !$0.properties.isWhitespace && $0.value >= 0x20 && $0.value != 0x7F })
            else { return "'releasable_to'[\(i)] must be 1 to \(maxEntryLength) characters without spaces or control characters" }
        }
        return nil
    }

    /// A new releasability marking-definition (STIX 2.1 §7.2.1, with the extension as a property extension).
    public static func markingDefinition(id: String, name: String, releasableTo: [String], createdBy: String?, created: String)
        -> JSONValue
    {
        var extensionBody = JSONObject()
        extensionBody["extension_type"] = .string("property-extension")
        extensionBody["releasable_to"] = .array(releasableTo.map(JSONValue.string))
        var extensions = JSONObject()
        extensions[extensionID] = .object(extensionBody)
        var o = JSONObject()
        o["type"] = .string("marking-definition")
        o["spec_version"] = .string("2.1")
        o["id"] = .string(id)
        o["created"] = .string(created)
        if let createdBy { o["created_by_ref"] = .string(createdBy) }
        o["name"] = .string(name)
        o["extensions"] = .object(extensions)
        return .object(o)
    }

    /// The extension-definition object Meridian publishes for its releasability property.
    public static let extensionDefinition: JSONValue = {
        var o = JSONObject()
        o["type"] = .string("extension-definition")
        o["spec_version"] = .string("2.1")
        o["id"] = .string(extensionID)
        o["created_by_ref"] = .string(publisherIdentity)
        o["created"] = .string("2026-11-27T00:00:00.000Z")
        o["modified"] = .string("2026-11-27T00:00:00.000Z")
        o["name"] = .string("Meridian releasability")
        o["description"] = .string(
            "Adds releasable_to to a marking-definition: the org ids, group names and ISO 3166-1 alpha-3 country codes (INT for international bodies) an object carrying the marking may be released to. An org matches an entry equal to its id, the name of a group it belongs to, or its country code; with several such markings, a reader must match every one.")
        o["schema"] = .string("The JSON schema in docs/extensions/releasability.schema.json of the Meridian source (property releasable_to: a list of org ids, group names and ISO 3166-1 alpha-3 country codes).")
        o["version"] = .string("1.0.0")
        o["extension_types"] = .array([.string("property-extension")])
        return .object(o)
    }()
}
