import STIX

/// The node's sharing policy (SHARING.md): one pure decision for every path out. No I/O: it decides from the
/// reader, the version's markings and provenance, and the collection's rule.
public struct SharingPolicy: Sendable {
    public let partnership: Partnership
    public let markings: MarkingRegistry

    public init(partnership: Partnership, markings: MarkingRegistry) {
        self.partnership = partnership
        self.markings = markings
    }

    /// Whether `reader` receives a stored version of an object in a collection, and the rule that decided.
    public func decide(reader: Reader, markings versionMarkings: MarkingRefs, origin: VersionOrigin,
                       collection: CollectionRule) -> Decision {
        let access = partnership.access(reader, to: collection)
        guard access.canRead else { return .deny(.collectionNotReadable) }
        return decide(effectiveReader: access.effectiveReader, markings: versionMarkings, origin: origin,
                      defaultTLP: collection.defaultTLP)
    }

    /// The object rules, for a reader the collection rule already admitted (as `effectiveReader`).
    public func decide(effectiveReader reader: Reader, markings versionMarkings: MarkingRefs, origin: VersionOrigin,
                       defaultTLP: TLP) -> Decision {
        let received = origin.receivedFrom != nil
        let org = reader.org
        // What the node makes of each marking; anything it does not understand restricts.
        var objectTLP: TLP? = nil
        var granularTLP: TLP? = nil
        var releasability: [[String]] = []
        var unknown: String? = versionMarkings.malformed ? "malformed object_marking_refs or granular_markings" : nil
        for (refs, granular) in [(versionMarkings.objectRefs, false), (versionMarkings.granularRefs, true)] {
            for ref in refs {
                switch markings.kind(of: ref) {
                case .tlp(let level)?:
                    if granular { granularTLP = max(granularTLP ?? level, level) } else { objectTLP = max(objectTLP ?? level, level) }
                case .releasability(let entries)?: releasability.append(entries)
                case .statement?, .nonRestrictive?: break
                case .unrecognized(let why)?: unknown = unknown ?? "\(ref): \(why)"
                case nil: unknown = unknown ?? "\(ref) is not known to this node"
                }
            }
        }
        if let unknown {
            if received { return .deny(.unknownMarkingReceived, unknown) }
            if let org, org == origin.submittedBy { return .allow(.submitter, unknown) }
            return .deny(.unknownMarking, unknown)
        }
        if !received, let org, org == origin.submittedBy { return .allow(.submitter) }
        // Without an object-level TLP the collection's default applies; a granular TLP can raise it, never lower it.
        let tlp = max(objectTLP ?? defaultTLP, granularTLP ?? .clear)
        let detail = tlp.name
        // Releasability narrows what TLP allows, at every hop: the reader must match an entry of every such marking.
        let named = !releasability.isEmpty
        if named {
            guard let org, releasability.allSatisfy({ partnership.matches(org, releasableTo: $0) }) else {
                return .deny(.releasabilityNotMatched, detail)
            }
        }
        if tlp == .clear { return .allow(.clear, detail) }
        guard let org else { return .deny(.anonymousReader, detail) }
        let kind = partnership.kind(of: org)
        let isNode = kind == .node
        let isOwner = kind == .owner
        if !received {
            switch tlp {
            case .clear, .green, .amber: return .allow(.authenticatedReader, detail)
            case .amberStrict:
                if !isNode { return .allow(.amberStrictOrg, detail) }
                return named ? .allow(.amberStrictNamedPeer, detail) : .deny(.amberStrictPeer, detail)
            case .red:
                return named ? .allow(.redNamed, detail) : .deny(.redNotNamed, detail)
            }
        }
        switch tlp {
        case .clear, .green: return .allow(.authenticatedReader, detail)
        case .amber:
            // "The receiving node's owner and its clients": only orgs declared clients, never a partner or a peer.
            if isOwner || kind == .client { return .allow(.receivedAmberClient, detail) }
            return .deny(isNode ? .receivedAmberPeer : .receivedAmberNotClient, detail)
        case .amberStrict: return isOwner ? .allow(.receivedAmberStrictOwner, detail) : .deny(.receivedAmberStrictOther, detail)
        case .red: return isOwner && named ? .allow(.receivedRedOwnerNamed, detail) : .deny(.receivedRedOther, detail)
        }
    }
}
