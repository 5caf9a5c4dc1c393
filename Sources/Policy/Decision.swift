/// The rule of SHARING.md that decided whether a reader receives an object version.
public enum Rule: String, Sendable, CaseIterable {
    case collectionNotReadable = "collection-not-readable"
    case unknownMarking = "unknown-marking"
    case unknownMarkingReceived = "unknown-marking-received"
    case submitter = "submitter"
    case releasabilityNotMatched = "releasability-not-matched"
    case clear = "tlp-clear"
    case authenticatedReader = "tlp-authenticated-reader"
    case anonymousReader = "tlp-anonymous-reader"
    case amberStrictPeer = "tlp-amber-strict-peer-not-named"
    case amberStrictOrg = "tlp-amber-strict-org"
    case amberStrictNamedPeer = "tlp-amber-strict-peer-named"
    case redNamed = "tlp-red-named"
    case redNotNamed = "tlp-red-not-named"
    case receivedAmberClient = "received-amber-owner-or-client"
    case receivedAmberPeer = "received-amber-not-forwarded"
    case receivedAmberNotClient = "received-amber-not-owner-or-client"
    case receivedAmberStrictOwner = "received-amber-strict-owner"
    case receivedAmberStrictOther = "received-amber-strict-not-owner"
    case receivedRedOwnerNamed = "received-red-owner-named"
    case receivedRedOther = "received-red-not-owner-or-not-named"

    /// The rule in plain words, as `meridian policy explain` prints it.
    public var explanation: String {
        switch self {
        case .collectionNotReadable: return "the reader has no read access to the collection; no marking or provenance overrides the collection rule"
        case .unknownMarking: return "a marking is not one the node understands (or the markings are malformed): only the submitter may read it"
        case .unknownMarkingReceived: return "a version received from a peer carries a marking the node does not understand: nobody may read it"
        case .submitter: return "the reader submitted this version on this node, and the submitter can always read its own submission"
        case .releasabilityNotMatched: return "the reader does not match every releasability marking (by org id, group or country code)"
        case .clear: return "TLP:CLEAR: every reader of the collection, anonymous too where the collection is public"
        case .authenticatedReader: return "TLP:GREEN or AMBER: every authenticated reader of the collection"
        case .anonymousReader: return "anonymous readers (and orgs reading a public collection they are not listed on) see TLP:CLEAR only"
        case .amberStrictPeer: return "TLP:AMBER+STRICT: a peer node may read it only when named in a releasability marking"
        case .amberStrictOrg: return "TLP:AMBER+STRICT: authenticated readers that are orgs, not peer nodes"
        case .amberStrictNamedPeer: return "TLP:AMBER+STRICT: a peer node named in a releasability marking"
        case .redNamed: return "TLP:RED: the reader is named in a releasability marking"
        case .redNotNamed: return "TLP:RED: only the submitter and orgs named in a releasability marking"
        case .receivedAmberClient: return "TLP:AMBER received from a peer: the node's owner and its clients"
        case .receivedAmberPeer: return "TLP:AMBER received from a peer is never forwarded to another peer node"
        case .receivedAmberNotClient: return "TLP:AMBER received from a peer: only the node's owner and the orgs declared its clients, not other partners"
        case .receivedAmberStrictOwner: return "TLP:AMBER+STRICT received from a peer: the node's owner"
        case .receivedAmberStrictOther: return "TLP:AMBER+STRICT received from a peer: the node's owner only"
        case .receivedRedOwnerNamed: return "TLP:RED received from a peer: the node's owner, named in a releasability marking"
        case .receivedRedOther: return "TLP:RED received from a peer: only the node's owner, and only if it is named"
        }
    }
}

/// Allow or deny, and the rule that decided.
public struct Decision: Sendable, Equatable, CustomStringConvertible {
    public let allowed: Bool
    public let rule: Rule
    /// What the rule looked at (the effective TLP, the unknown marking), for explanations; never object content.
    public let detail: String?

    public init(allowed: Bool, rule: Rule, detail: String?) {
        self.allowed = allowed
        self.rule = rule
        self.detail = detail
    }

    static func allow(_ rule: Rule, _ detail: String? = nil) -> Decision { Decision(allowed: true, rule: rule, detail: detail) }
    static func deny(_ rule: Rule, _ detail: String? = nil) -> Decision { Decision(allowed: false, rule: rule, detail: detail) }

    public var description: String {
        "\(allowed ? "allow" : "deny") [\(rule.rawValue)] \(rule.explanation)" + (detail.map { " (\($0))" } ?? "")
    }
}
