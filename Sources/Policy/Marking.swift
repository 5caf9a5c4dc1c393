import STIX

/// What a marking-definition means to the policy (SHARING.md, "Markings the node understands").
public enum MarkingKind: Sendable, Equatable {
    /// One of the nine fixed TLP ids, recognised by id alone.
    case tlp(TLP)
    /// A statement marking (`definition_type: statement`): does not restrict.
    case statement
    /// Meridian's releasability extension with a well-formed list.
    case releasability([String])
    /// Declared non-restrictive by the node's configuration.
    case nonRestrictive
    /// Anything else the node has seen under this id: another extension, a malformed list, a look-alike TLP, or two
    /// different definitions claiming the same id. Restrictive: visible only to the submitter, never forwarded.
    case unrecognized(String)

    /// What a stored marking-definition object means, judged from its content alone.
    public static func classify(_ definition: JSONValue) -> MarkingKind {
        guard case .object(let o) = definition, o["type"]?.stringValue == "marking-definition",
            let id = o["id"]?.stringValue
        else { return .unrecognized("not a marking-definition") }
        if let level = TLP(markingID: id) { return .tlp(level) }
        let extensions = o["extensions"]?.objectValue
        if let definitionType = o["definition_type"]?.stringValue {
            guard definitionType == "statement", extensions == nil || extensions?.isEmpty == true,
                o["definition"]?["statement"]?.stringValue != nil
            else { return .unrecognized("definition_type '\(definitionType)' under a non-TLP id is not a marking this node understands") }
            return .statement
        }
        guard let extensions, extensions.count == 1, let body = extensions[Releasability.extensionID] else {
            return .unrecognized("its extensions are not Meridian's releasability extension")
        }
        if let problem = Releasability.problem(in: body["releasable_to"]) { return .unrecognized("malformed releasability: \(problem)") }
        guard body["extension_type"]?.stringValue == "property-extension" else {
            return .unrecognized("the releasability extension must have extension_type 'property-extension'")
        }
        return .releasability(body["releasable_to"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }
}

/// The marking-definitions a node knows: stored in any of its collections, registered by an admin, or declared
/// non-restrictive in the configuration. TLP ids need no entry.
public struct MarkingRegistry: Sendable {
    public private(set) var kinds: [String: MarkingKind]

    public init(_ kinds: [String: MarkingKind] = [:]) {
        self.kinds = kinds
    }

    /// What the node makes of a marking reference; nil means the node does not know it (restrictive).
    public func kind(of id: String) -> MarkingKind? {
        if let level = TLP(markingID: id) { return .tlp(level) }
        return kinds[id]
    }

    /// Sets what `id` means, whatever was known before: the node owner's own decision (an admin registration or the
    /// configuration). TLP ids cannot be redefined.
    public mutating func set(_ id: String, as kind: MarkingKind) {
        guard TLP(markingID: id) == nil else { return }
        kinds[id] = kind
    }

    /// Records what `id` means. A different meaning for an id already known (other than by an admin) makes it
    /// unrecognized: when two definitions disagree, neither is trusted.
    public mutating func learn(_ id: String, as kind: MarkingKind) {
        guard TLP(markingID: id) == nil else { return }
        if let known = kinds[id], known != kind {
            kinds[id] = .unrecognized("two different definitions claim this id")
        } else {
            kinds[id] = kind
        }
    }
}

/// Where a stored version came from (SHARING.md, "Provenance"): recorded by the node, never read from the object.
public struct VersionOrigin: Sendable, Hashable {
    /// The authenticated org that posted it.
    public let submittedBy: String?
    /// The peer node it was pulled from or that pushed it.
    public let receivedFrom: String?

    public init(submittedBy: String?, receivedFrom: String?) {
        self.submittedBy = submittedBy
        self.receivedFrom = receivedFrom
    }
}
