/// One version of a STIX object: its id and the timestamp that tells versions apart.
///
/// STIX 2.1 §3.6: versions are told apart by `modified`; an object without `modified` (most cyber observables, and
/// objects that are never versioned) has a single version, keyed here by `created` when present.
public struct ObjectVersion: Sendable, Hashable, CustomStringConvertible {
    public let id: String
    /// `modified`, else `created`, else nil (an unversioned object).
    public let version: Timestamp?

    public init(id: String, version: Timestamp?) {
        self.id = id
        self.version = version
    }

    /// The version of `object`, or nil when it has no string `id`.
    public init?(of object: JSONObject) {
        guard let id = object["id"]?.stringValue else { return nil }
        let stamp = object["modified"]?.stringValue ?? object["created"]?.stringValue
        self.init(id: id, version: stamp.flatMap(Timestamp.init))
    }

    public var description: String { version.map { "\(id)@\($0)" } ?? id }
}
