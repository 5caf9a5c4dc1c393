import Foundation
import Policy
import STIX
import Storage
import Transparency

extension MeridianNode {
    /// The `[transparency]` settings with their defaults (docs/CONFIG.md).
    public struct TransparencySettings: Sendable {
        public let collections: [NodeConfiguration.Collection]
        public let k: Int
        public let delayDays: Int
        public let dimensions: [TransparencyReport.Dimension]
        public let title: String
    }

    public var transparencySettings: TransparencySettings {
        let t = configuration.transparency
        let all = configuration.collections ?? []
        let chosen = t?.collections.map { names in names.compactMap { collection($0) } } ?? all
        return TransparencySettings(collections: chosen, k: t?.k ?? 5, delayDays: t?.delay_days ?? 30,
                                    dimensions: (t?.dimensions ?? TransparencyReport.Dimension.allCases.map(\.rawValue))
                                        .compactMap(TransparencyReport.Dimension.init(rawValue:)),
                                    title: t?.title ?? configuration.node.title)
    }

    /// The public report for the day `asOf` (`YYYY-MM-DD`, UTC): everything added up to the start of that day (or up
    /// to the instant `at`, for the report a running node serves) minus the delay, counted from the chosen collections. Objects are read only through ``read(_:query:limit:withBytes:for:endpoint:audited:)``
    /// as the node's owner, unaudited: nothing but aggregate counts leaves, and those pass through ``Suppression``.
    public func transparencyReport(asOf: String, at instant: Int64? = nil,
                                   publicKeys: [TransparencyReport.PublicKeyEntry] = []) async throws -> TransparencyReport {
        guard let start = TAXIITimestamp.parse(asOf + "T00:00:00Z") else {
            throw NodeConfiguration.Problem(description: "'\(asOf)' is not a date (YYYY-MM-DD)")
        }
        let settings = transparencySettings
        let through = (instant ?? start) - Int64(settings.delayDays) * 86_400_000_000
        let owner = Principal(org: configuration.node.owner, user: nil)
        let policy = try await policyState.fresh()
        let orgs = Dictionary(configuration.orgs.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let peers = configuration.peers ?? []
        let peerName = Dictionary(peers.map { ($0.org, $0.name) }, uniquingKeysWith: { a, _ in a })
        let sightingsCollection = configuration.correlation.flatMap { collection($0.sightings_collection) }
        var counts = TransparencyCounts()
        let parser = JSONParser()

        func month(_ microseconds: Int64) -> String { String(TAXIITimestamp.format(microseconds).prefix(7)) }
        func country(_ org: String?) -> String { org.flatMap { orgs[$0]?.country } ?? "unspecified" }

        /// Every version of `collection` the owner can read, up to `through`, handed to `body` with its bytes.
        func each(_ collection: NodeConfiguration.Collection, _ body: (StoredVersion, [UInt8]) -> Void) async throws {
            var after: Int64? = nil
            while true {
                let page = try await read(collection, query: ObjectQuery(addedAfter: after, versions: .all), limit: 1000,
                                          withBytes: true, for: owner, endpoint: "transparency", audited: false)
                for (i, version) in page.versions.enumerated() where version.dateAdded <= through {
                    body(version, page.bytes(at: i))
                }
                guard page.more, let last = page.versions.last, last.dateAdded <= through else { return }
                after = last.dateAdded
            }
        }

        for collection in settings.collections {
            let defaultTLP = collection.rule.defaultTLP
            let isSightings = collection.id.lowercased() == sightingsCollection?.id.lowercased()
            try await each(collection) { version, bytes in
                // Sightings made by correlation are the node's own: counted apart, not as shared versions.
                if isSightings && version.type == "sighting" && version.provenance.submittedBy == nil { return }
                let object = try? parser.parse(bytes)
                let category = Category.of(type: version.type, object: object)
                let tlp = Self.tlp(of: version.markings, in: policy.markings, default: defaultTLP)
                let received = version.provenance.receivedFrom
                let from = received ?? version.provenance.submittedBy
                let m = month(version.dateAdded)
                counts.addVersion(month: m, .init(category: category, tlp: tlp.rawValue, country: country(from)))
                if let received, let name = peerName[received] { counts.addReceived(month: m, peer: name) }
            }
        }
        if settings.dimensions.contains(.sightings), let sightingsCollection {
            try await each(sightingsCollection) { version, _ in
                if version.type == "sighting" && version.provenance.submittedBy == nil { counts.addSighting(month: month(version.dateAdded)) }
            }
        }
        if settings.dimensions.contains(.peers) {
            let sent = try await auditLog.versionsRead(by: Set(peers.map(\.org)), from: Set(settings.collections.map { $0.id.lowercased() }),
                                                       through: through)
            for row in sent { if let name = peerName[row.org] { counts.addSent(month: row.month, peer: name, count: row.count) } }
        }
        var countries = Set(configuration.orgs.compactMap(\.country)).sorted()
        if configuration.orgs.contains(where: { $0.country == nil }) { countries.append("unspecified") }
        let report = TransparencyReport.Settings(title: settings.title, asOf: asOf, countedThrough: TAXIITimestamp.format(through),
                                                 k: settings.k, delayDays: settings.delayDays, collections: settings.collections.count)
        return TransparencyReport.build(counts: counts, settings: report, dimensions: settings.dimensions, countries: countries,
                                        peers: peers.map(\.name), publicKeys: publicKeys)
    }

    /// The TLP a version is counted under: its object-level TLP marking (the most restrictive), else the collection's
    /// default, raised by a granular TLP marking, as the sharing policy reads it.
    static func tlp(of markings: MarkingRefs, in registry: MarkingRegistry, default defaultTLP: TLP) -> TLP {
        var object: TLP? = nil
        var granular: TLP = .clear
        for ref in markings.objectRefs { if case .tlp(let level)? = registry.kind(of: ref) { object = max(object ?? level, level) } }
        for ref in markings.granularRefs { if case .tlp(let level)? = registry.kind(of: ref) { granular = max(granular, level) } }
        return max(object ?? defaultTLP, granular)
    }
}
