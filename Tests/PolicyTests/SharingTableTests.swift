import Policy
import STIX
import Testing

/// One test per row and rule of SHARING.md's marking table and rules, on a fixed partnership:
/// owner `own` (FRA), client `min` (FRA, a ministry), partner `cert` (JPN), peer nodes `peer` (DEU) and `far` (AUS);
/// group `nato` = own, min, peer; group `ip4` = cert, far.
@Suite struct SharingTableTests {
    static let partnership = Partnership(
        owner: "own",
        organizations: [
            Organization(id: "own", name: "Owner CERT", country: "FRA", kind: .owner),
            Organization(id: "min", name: "Ministry", country: "FRA", kind: .client),
            Organization(id: "cert", name: "Partner CERT", country: "JPN", kind: .partner),
            Organization(id: "peer", name: "Peer node", country: "DEU", kind: .node),
            Organization(id: "far", name: "Far peer node", country: "AUS", kind: .node),
        ],
        groups: ["nato": ["own", "min", "peer"], "ip4": ["cert", "far"]])

    static let statement = "marking-definition--11111111-1111-4111-8111-111111111111"
    static let relNato = "marking-definition--22222222-2222-4222-8222-222222222222"
    static let relPeer = "marking-definition--33333333-3333-4333-8333-333333333333"
    static let relJPN = "marking-definition--44444444-4444-4444-8444-444444444444"
    static let relEmpty = "marking-definition--55555555-5555-4555-8555-555555555555"
    static let other = "marking-definition--66666666-6666-4666-8666-666666666666"
    static let declared = "marking-definition--77777777-7777-4777-8777-777777777777"

    static let policy = SharingPolicy(partnership: partnership, markings: MarkingRegistry([
        statement: .statement, relNato: .releasability(["nato"]), relPeer: .releasability(["peer", "own"]),
        relJPN: .releasability(["JPN"]), relEmpty: .releasability([]), other: .unrecognized("another extension"),
        declared: .nonRestrictive,
    ]))

    static let everyone = CollectionRule(read: ["nato", "ip4"], write: ["own"], isPublic: false, defaultTLP: .green)
    static let local = VersionOrigin(submittedBy: "min", receivedFrom: nil)
    static let received = VersionOrigin(submittedBy: "peer", receivedFrom: "peer")
    static let readers: [Reader] = [.anonymous, .organization("own"), .organization("min"), .organization("cert"),
                                    .organization("peer"), .organization("far")]

    /// The readers allowed among `readers`.
    func allowed(_ refs: [String], _ origin: VersionOrigin, collection: CollectionRule = everyone, granular: [String] = [],
                 malformed: Bool = false) -> Set<String> {
        Set(Self.readers.filter {
            Self.policy.decide(reader: $0, markings: MarkingRefs(objectRefs: refs, granularRefs: granular, malformed: malformed),
                               origin: origin, collection: collection).allowed
        }.map(\.description))
    }

    func tlp(_ level: TLP) -> String { level.v2ID }

    // MARK: - Column 1: on the node where it was submitted

    @Test func clearGoesToEveryReaderAndAnonymousWhereThePublicCollection() {
        #expect(allowed([tlp(.clear)], Self.local) == ["own", "min", "cert", "peer", "far"])
        let open = CollectionRule(read: ["nato", "ip4"], write: [], isPublic: true)
        #expect(allowed([tlp(.clear)], Self.local, collection: open) == ["anonymous", "own", "min", "cert", "peer", "far"])
    }

    @Test func greenAndAmberGoToEveryAuthenticatedReader() {
        #expect(allowed([tlp(.green)], Self.local) == ["own", "min", "cert", "peer", "far"])
        #expect(allowed([tlp(.amber)], Self.local) == ["own", "min", "cert", "peer", "far"])
    }

    @Test func amberStrictGoesToOrgsNotPeerNodesPlusNamedPeers() {
        #expect(allowed([tlp(.amberStrict)], Self.local) == ["own", "min", "cert"])
        #expect(allowed([tlp(.amberStrict), Self.relPeer], Self.local) == ["own", "min", "peer"])
    }

    @Test func redGoesOnlyToTheSubmitterAndNamedOrgs() {
        #expect(allowed([tlp(.red)], Self.local) == ["min"])
        #expect(allowed([tlp(.red), Self.relJPN], Self.local) == ["min", "cert"])
        #expect(allowed([tlp(.red), Self.relPeer], Self.local) == ["min", "own", "peer"])
    }

    // MARK: - Column 3: on a node that received it from a peer

    @Test func receivedClearAndGreenGoToEveryReader() {
        #expect(allowed([tlp(.clear)], Self.received) == ["own", "min", "cert", "peer", "far"])
        #expect(allowed([tlp(.green)], Self.received) == ["own", "min", "cert", "peer", "far"])
    }

    @Test func receivedAmberGoesToTheOwnerAndItsDeclaredClientsNeverAPartnerOrAnotherPeer() {
        #expect(allowed([tlp(.amber)], Self.received) == ["own", "min"])
        let partner = Self.policy.decide(reader: .organization("cert"), markings: MarkingRefs(objectRefs: [tlp(.amber)]),
                                         origin: Self.received, collection: Self.everyone)
        #expect(partner.rule == .receivedAmberNotClient)
    }

    /// Each kind of org on each TLP level, for versions received from a peer (third column) and submitted here by
    /// another org (first column): one row per kind, one column per level.
    @Test(arguments: [
        // kind, org, received: [clear, green, amber, amber+strict, red], local: [clear, green, amber, amber+strict, red]
        (OrgKind.owner, "own", [true, true, true, true, false], [true, true, true, true, false]),
        (.client, "min", [true, true, true, false, false], [true, true, true, true, false]),
        (.partner, "cert", [true, true, false, false, false], [true, true, true, true, false]),
        (.node, "peer", [true, true, false, false, false], [true, true, true, false, false]),
    ] as [(OrgKind, String, [Bool], [Bool])])
    func eachKindOnEachTLPLevel(kind: OrgKind, org: String, received: [Bool], local: [Bool]) {
        #expect(Self.partnership.kind(of: org) == kind)
        // Submitted here by `far`, so no reader of the table is the submitter.
        let elsewhere = VersionOrigin(submittedBy: "far", receivedFrom: nil)
        for (i, level) in [TLP.clear, .green, .amber, .amberStrict, .red].enumerated() {
            let refs = MarkingRefs(objectRefs: [tlp(level)])
            let r = Self.policy.decide(reader: .organization(org), markings: refs, origin: Self.received, collection: Self.everyone)
            let l = Self.policy.decide(reader: .organization(org), markings: refs, origin: elsewhere, collection: Self.everyone)
            #expect(r.allowed == received[i], "\(kind) reading received \(level.name): \(r)")
            #expect(l.allowed == local[i], "\(kind) reading local \(level.name): \(l)")
        }
        // Named in a releasability marking, the owner alone reads received RED; a named node reads local AMBER+STRICT.
        let named = MarkingRefs(objectRefs: [tlp(.red), Self.relNato])
        #expect(Self.policy.decide(reader: .organization(org), markings: named, origin: Self.received, collection: Self.everyone)
            .allowed == (kind == .owner))
    }

    @Test func theOwnerIsTheOwnerWhateverItsEntrySays() {
        let p = Partnership(owner: "own", organizations: [Organization(id: "own", name: "O", kind: .partner)], groups: [:])
        #expect(p.kind(of: "own") == .owner)
        #expect(p.kind(of: "stranger") == nil)
        #expect(Partnership(owner: "own", organizations: [Organization(id: "x", name: "X")], groups: [:]).kind(of: "x") == .partner)
    }

    @Test func receivedAmberStrictGoesToTheOwnerOnly() {
        #expect(allowed([tlp(.amberStrict)], Self.received) == ["own"])
        #expect(allowed([tlp(.amberStrict), Self.relPeer], Self.received) == ["own"])
    }

    @Test func receivedRedGoesToTheOwnerOnlyIfNamed() {
        #expect(allowed([tlp(.red)], Self.received).isEmpty)
        #expect(allowed([tlp(.red), Self.relNato], Self.received) == ["own"])
        #expect(allowed([tlp(.red), Self.relJPN], Self.received).isEmpty)
    }

    @Test func aReceivedVersionHasNoSubmitterHere() {
        // The peer that pushed it is not its submitter on this node: only the third column decides.
        #expect(!allowed([tlp(.amber)], Self.received).contains("peer"))
    }

    // MARK: - The other rules

    @Test func theCollectionRuleComesFirstForEveryoneTheOwnerAndSubmitterIncluded() {
        let natoOnly = CollectionRule(read: ["cert"], write: ["min"], isPublic: false)
        #expect(allowed([tlp(.clear)], Self.local, collection: natoOnly) == ["cert"])
        let d = Self.policy.decide(reader: .organization("min"), markings: MarkingRefs(objectRefs: [tlp(.clear)]), origin: Self.local,
                                   collection: natoOnly)
        #expect(d.rule == .collectionNotReadable)
    }

    @Test func anOrgNotListedOnAPublicCollectionReadsItAsAnonymous() {
        let open = CollectionRule(read: ["own"], write: [], isPublic: true)
        #expect(allowed([tlp(.green)], Self.local, collection: open) == ["own"])
        #expect(allowed([tlp(.clear)], Self.local, collection: open) == ["anonymous", "own", "min", "cert", "peer", "far"])
        // Not even its submitter privilege: min is not on the read list.
        #expect(!allowed([tlp(.red)], Self.local, collection: open).contains("min"))
    }

    @Test func unmarkedObjectsTakeTheCollectionDefault() {
        #expect(allowed([], Self.local) == ["own", "min", "cert", "peer", "far"])
        let strict = CollectionRule(read: ["nato", "ip4"], write: [], isPublic: true, defaultTLP: .amberStrict)
        #expect(allowed([], Self.local, collection: strict) == ["own", "min", "cert"])
        let clear = CollectionRule(read: ["nato"], write: [], isPublic: true, defaultTLP: .clear)
        #expect(allowed([], Self.local, collection: clear).contains("anonymous"))
    }

    @Test func theMostRestrictiveTLPWinsAndWhiteIsClear() {
        #expect(allowed([tlp(.clear), tlp(.red)], Self.local) == ["min"])
        #expect(allowed([TLP.clear.v1ID!, TLP.green.v1ID!], Self.local) == ["own", "min", "cert", "peer", "far"])
        let open = CollectionRule(read: ["nato", "ip4"], write: [], isPublic: true)
        #expect(allowed([TLP.clear.v1ID!], Self.local, collection: open).contains("anonymous"))
        #expect(allowed([TLP.amber.v1ID!, tlp(.amberStrict)], Self.local) == ["own", "min", "cert"])
    }

    @Test func aGranularTLPCanRaiseTheDefaultButNeverLowerIt() {
        let amber = CollectionRule(read: ["nato", "ip4"], write: [], isPublic: false, defaultTLP: .amberStrict)
        #expect(allowed([], Self.local, collection: amber, granular: [tlp(.clear)]) == ["own", "min", "cert"])
        #expect(allowed([], Self.local, granular: [tlp(.red)]) == ["min"])
        #expect(allowed([tlp(.green)], Self.local, granular: [tlp(.amberStrict)]) == ["own", "min", "cert"])
    }

    @Test func releasabilityNarrowsByOrgGroupOrCountryAndEveryMarkingMustMatch() {
        #expect(allowed([tlp(.green), Self.relNato], Self.local) == ["own", "min", "peer"])
        #expect(allowed([tlp(.green), Self.relJPN], Self.local) == ["min", "cert"])  // min: submitter
        #expect(allowed([tlp(.green), Self.relNato, Self.relPeer], Self.local) == ["own", "min", "peer"])
        #expect(allowed([tlp(.green), Self.relNato, Self.relJPN], Self.local) == ["min"])
        #expect(allowed([tlp(.green)], Self.local, granular: [Self.relJPN]) == ["min", "cert"])
    }

    @Test func anEmptyReleasabilityListMatchesNobodyAndAnonymousMatchesNothing() {
        #expect(allowed([tlp(.clear), Self.relEmpty], Self.local) == ["min"])
        let open = CollectionRule(read: ["nato", "ip4"], write: [], isPublic: true)
        #expect(!allowed([tlp(.clear), Self.relNato], Self.local, collection: open).contains("anonymous"))
    }

    @Test func statementAndDeclaredMarkingsDoNotRestrict() {
        #expect(allowed([tlp(.green), Self.statement, Self.declared], Self.local) == ["own", "min", "cert", "peer", "far"])
    }

    @Test func unknownMarkingsFailClosed() {
        let missing = "marking-definition--99999999-9999-4999-8999-999999999999"
        #expect(allowed([tlp(.clear), missing], Self.local) == ["min"])
        #expect(allowed([tlp(.clear), Self.other], Self.local) == ["min"])
        #expect(allowed([tlp(.clear)], Self.local, granular: [missing]) == ["min"])
        #expect(allowed([tlp(.clear)], Self.local, malformed: true) == ["min"])
        #expect(allowed([tlp(.clear), missing], Self.received).isEmpty)
        #expect(allowed([tlp(.clear)], Self.received, malformed: true).isEmpty)
        let d = Self.policy.decide(reader: .organization("own"), markings: MarkingRefs(objectRefs: [missing]), origin: Self.local,
                                   collection: Self.everyone)
        #expect(d.rule == .unknownMarking)
        #expect(d.description.contains(missing))
    }

    @Test func theSubmitterReadsItsOwnVersionWhateverTheMarkings() {
        let d = Self.policy.decide(reader: .organization("min"), markings: MarkingRefs(objectRefs: [tlp(.red), Self.relJPN]),
                                   origin: Self.local, collection: Self.everyone)
        #expect(d == Decision(allowed: true, rule: .submitter, detail: nil))
    }

    @Test func everyDecisionNamesItsRule() {
        let d = Self.policy.decide(reader: .organization("peer"), markings: MarkingRefs(objectRefs: [tlp(.amber)]),
                                   origin: Self.received, collection: Self.everyone)
        #expect(d.rule == .receivedAmberPeer)
        #expect(d.description.hasPrefix("deny [received-amber-not-forwarded]"))
        #expect(Set(Rule.allCases.map(\.rawValue)).count == Rule.allCases.count)
    }
}
