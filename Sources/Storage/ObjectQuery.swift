import NIOCore

/// Which object versions a read wants (TAXII 2.1 §3.4 filters), decoded and checked by the TAXII layer.
public struct ObjectQuery: Sendable {
    /// Which versions of each object.
    public enum Versions: Sendable, Equatable {
        case last
        case first
        case all
        /// Exact version timestamps (microseconds since 1970), with `first` and/or `last` possibly added.
        case some(timestamps: Set<Int64>, first: Bool, last: Bool)
    }

    /// Only versions added strictly after this `date_added`.
    public var addedAfter: Int64?
    public var ids: Set<String>?
    public var types: Set<String>?
    public var versions: Versions = .last
    /// Only these spec versions; nil means each object's latest, which for STIX 2.1 content is all of them.
    public var specVersions: Set<String>?
    /// Only versions that refer to at least one of these marking-definitions, object-level or granular.
    public var markings: Set<String>?
    /// Only the versions added at these `date_added` values (found by an index of the store: search, references).
    public var addedAt: Set<Int64>?

    public init(addedAfter: Int64? = nil, ids: Set<String>? = nil, types: Set<String>? = nil, versions: Versions = .last,
                specVersions: Set<String>? = nil, markings: Set<String>? = nil) {
        self.addedAfter = addedAfter
        self.ids = ids
        self.types = types
        self.versions = versions
        self.specVersions = specVersions
        self.markings = markings
    }

    /// True when a filter lists more than one value (its SQL then has a shape of its own). Lists of ids and of
    /// `date_added` values are bound as one JSON array instead, and do not count.
    var hasLists: Bool {
        let timestamps = if case .some(let t, _, _) = versions { t.count } else { 0 }
        return (types?.count ?? 0) > 1 || (specVersions?.count ?? 0) > 1 || timestamps > 1
            || (markings?.count ?? 0) > 1
    }
}

/// One page of a read, in ascending `date_added` order.
public struct ObjectPage: Sendable {
    public let versions: [StoredVersion]
    /// True when more matching versions follow the last one returned.
    public let more: Bool
    /// For a read with bytes, the stored JSON of every version in order, separated by commas: the elements of a
    /// TAXII envelope's `objects` list, read from the store straight into the buffer a response sends. Empty otherwise.
    public let objects: ByteBuffer
    /// Where each version's bytes lie in `objects`.
    private let ranges: [Range<Int>]
    /// The generation of the known marking-definitions the page was read at, in the same transaction: a decision
    /// made with a registry of another generation must be made again.
    public let markingGeneration: Int64

    public init(versions: [StoredVersion], more: Bool, objects: ByteBuffer = ByteBuffer(), ranges: [Range<Int>] = [],
                markingGeneration: Int64 = 0) {
        precondition(ranges.isEmpty || ranges.count == versions.count, "one range per version")
        self.versions = versions
        self.more = more
        self.objects = objects
        self.ranges = ranges
        self.markingGeneration = markingGeneration
    }

    /// A copy of the stored JSON of `versions[index]`; empty for a read without bytes.
    public func bytes(at index: Int) -> [UInt8] {
        guard !ranges.isEmpty else { return [] }
        let range = ranges[index]
        return objects.getBytes(at: objects.readerIndex + range.lowerBound, length: range.count)!
    }
}
