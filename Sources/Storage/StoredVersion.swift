import STIX

/// The fields Meridian indexes for one object version, extracted on the way in; the object itself stays as bytes.
public struct IncomingObject: Sendable {
    public let id: String
    public let type: String
    public let specVersion: String
    /// `modified`, else `created`, else nil: what tells versions apart (STIX 2.1 §3.6).
    public let version: Timestamp?
    public let revoked: Bool
    /// `object_marking_refs` and the `marking_ref` of each granular marking, as the sharing policy reads them.
    public let markings: MarkingRefs
    /// The object exactly as received.
    public let bytes: [UInt8]

    public init(id: String, type: String, specVersion: String, version: Timestamp?, revoked: Bool, markings: MarkingRefs,
                bytes: [UInt8]) {
        self.id = id
        self.type = type
        self.specVersion = specVersion
        self.version = version
        self.revoked = revoked
        self.markings = markings
        self.bytes = bytes
    }

    /// Extracts the indexed fields of `object`, whose exact bytes are `bytes`.
    public init?(object: JSONObject, bytes: [UInt8]) {
        guard let id = object["id"]?.stringValue, let type = object["type"]?.stringValue else { return nil }
        self.init(id: id, type: type, specVersion: object["spec_version"]?.stringValue ?? "2.1",
                  version: ObjectVersion(of: object)?.version, revoked: object["revoked"]?.boolValue ?? false,
                  markings: MarkingRefs(of: object), bytes: bytes)
    }
}

/// Who an object version came from, recorded by the server, never taken from the object (SHARING.md, Provenance).
public struct Provenance: Sendable, Equatable {
    /// The authenticated org that posted it.
    public let submittedBy: String?
    /// The peer node it was received from.
    public let receivedFrom: String?

    public init(submittedBy: String?, receivedFrom: String?) {
        self.submittedBy = submittedBy
        self.receivedFrom = receivedFrom
    }
}

/// One stored object version as a read returns it: its indexed fields and provenance (its bytes are in the page).
public struct StoredVersion: Sendable {
    /// Server-assigned, unique and strictly increasing within the collection, in microseconds since 1970.
    public let dateAdded: Int64
    public let id: String
    public let type: String
    public let specVersion: String
    /// The version timestamp as a TAXII timestamp text, or nil for an unversioned object.
    public let version: String?
    public let revoked: Bool
    public let markings: MarkingRefs
    public let provenance: Provenance

    public init(dateAdded: Int64, id: String, type: String, specVersion: String, version: String?, revoked: Bool,
                markings: MarkingRefs, provenance: Provenance) {
        self.dateAdded = dateAdded
        self.id = id
        self.type = type
        self.specVersion = specVersion
        self.version = version
        self.revoked = revoked
        self.markings = markings
        self.provenance = provenance
    }
}

/// What happened to one object of a write.
public enum AddOutcome: Sendable, Equatable {
    /// Stored as a new version, with its `date_added`.
    case stored(dateAdded: Int64)
    /// The same version was already stored: a success, nothing written.
    case duplicate

    /// The objects of a batch that were stored as new versions, in order (the batch itself when none was a duplicate,
    /// which is the usual case: no copy is made then).
    public static func newlyStored(_ objects: [IncomingObject], _ outcomes: [AddOutcome]) -> [IncomingObject] {
        outcomes.contains(.duplicate) ? objects.indices.filter { outcomes[$0] != .duplicate }.map { objects[$0] } : objects
    }
}
