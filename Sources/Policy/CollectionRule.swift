import STIX

/// A collection's access rule (SHARING.md, "Collections"): read and write lists of orgs and groups, a public flag,
/// and the TLP level of objects that carry none.
public struct CollectionRule: Sendable {
    public let read: [String]
    public let write: [String]
    public let isPublic: Bool
    public let defaultTLP: TLP

    public init(read: [String], write: [String], isPublic: Bool, defaultTLP: TLP = .green) {
        self.read = read
        self.write = write
        self.isPublic = isPublic
        self.defaultTLP = defaultTLP
    }
}

/// What a reader may do with a collection, and as whom it reads there.
public struct CollectionAccess: Sendable, Equatable {
    public let canRead: Bool
    public let canWrite: Bool
    /// Who the object rules see: an org not on a public collection's read list reads it exactly as anonymous does.
    public let effectiveReader: Reader

    /// Whether the collection exists at all for this reader (in lists, and for its endpoints).
    public var isVisible: Bool { canRead || canWrite }
}

extension Partnership {
    /// The collection rule for `reader`. It binds everyone, the node owner and the submitter included.
    public func access(_ reader: Reader, to collection: CollectionRule) -> CollectionAccess {
        guard let org = reader.org else {
            return CollectionAccess(canRead: collection.isPublic, canWrite: false, effectiveReader: .anonymous)
        }
        let onReadList = collection.read.contains { listEntry($0, covers: org) }
        let onWriteList = collection.write.contains { listEntry($0, covers: org) }
        return CollectionAccess(canRead: onReadList || collection.isPublic, canWrite: onWriteList,
                                effectiveReader: onReadList ? reader : .anonymous)
    }
}
