import Foundation
@testable import MeridianServer
import Policy
import PropertyBased
import STIX
import Storage
import TestSupport
import Testing

/// For random partnerships, collections, markings, releasability and provenance, every read path returns to every
/// reader exactly the versions SHARING.md allows: nothing more (no leak), nothing less (no over-filtering), with
/// `limit`, `more` and `first`/`last` counted over visible versions only.
@Suite struct ReadPathPropertyTests {
    struct Version {
        let id: String
        let modified: Int
        let objectRefs: [String]
        let granularRefs: [String]
        let submittedBy: String
        let receivedFrom: String?
    }

    /// A random world: orgs of every kind (the owner, clients, partners, peer nodes), two groups, one collection,
    /// marking-definitions and versions.
    struct World {
        var orgs: [(id: String, country: String, kind: OrgKind)] = []
        var groups: [String: [String]] = [:]
        var read: [String] = []
        var write: [String] = []
        var isPublic = false
        var defaultTLP: String? = nil
        /// Releasability markings by id, with their lists.
        var releasability: [String: [String]] = [:]
        var versions: [Version] = []

        static let statement = "marking-definition--5a5a5a5a-0000-4000-8000-000000000001"
        static let unknown = "marking-definition--5a5a5a5a-0000-4000-8000-00000000dead"
        static let tlpIDs = Array(TLP.v1IDs.keys) + Array(TLP.v2IDs.keys)

        init(seed: UInt64) {
            var g = SplitMix(state: seed)
            let countries = ["FRA", "DEU", "JPN", "AUS"]
            for i in 0..<Int.random(in: 3...6, using: &g) {
                let kind: OrgKind = i == 0 ? .owner : [.client, .partner, .node].randomElement(using: &g)!
                orgs.append(("o\(i)", countries.randomElement(using: &g)!, kind))
            }
            let ids = orgs.map(\.id)
            for name in ["g0", "g1"] { groups[name] = ids.filter { _ in Bool.random(using: &g) } }
            let entries = ids + ["g0", "g1"]
            read = entries.filter { _ in Int.random(in: 0..<3, using: &g) > 0 }
            write = [ids[0]]
            isPublic = Int.random(in: 0..<4, using: &g) == 0
            defaultTLP = [nil, "clear", "white", "green", "amber", "amber+strict", "red"].randomElement(using: &g)!
            for i in 0..<3 {
                let list = (entries + countries + ["INT", "nobody"]).filter { _ in Int.random(in: 0..<4, using: &g) == 0 }
                releasability["marking-definition--5a5a5a5a-0000-4000-8000-0000000001\(String(format: "%02d", i))"] = list
            }
            let markings = World.tlpIDs + [World.statement, World.unknown] + Array(releasability.keys)
            for n in 0..<Int.random(in: 10...30, using: &g) {
                let id = "indicator--5a5a5a5a-0000-4000-8000-\(String(format: "%012d", Int.random(in: 0..<8, using: &g)))"
                let received = Int.random(in: 0..<3, using: &g) == 0
                let nodes = orgs.filter { $0.kind == .node }.map(\.id)
                let receivedFrom = received ? nodes.randomElement(using: &g) : nil
                versions.append(Version(
                    id: id, modified: n,
                    objectRefs: markings.filter { _ in Int.random(in: 0..<6, using: &g) == 0 },
                    granularRefs: markings.filter { _ in Int.random(in: 0..<15, using: &g) == 0 },
                    submittedBy: receivedFrom ?? ids.randomElement(using: &g)!, receivedFrom: receivedFrom))
            }
        }

        var configuration: String {
            var t = """
                [node]
                title = "t"
                owner = "o0"
                max_page_size = 1000

                """
            for o in orgs { t += "[[orgs]]\nid = \"\(o.id)\"\nname = \"\(o.id)\"\ncountry = \"\(o.country)\"\nkind = \"\(o.kind.rawValue)\"\n" }
            for (name, members) in groups.sorted(by: { $0.key < $1.key }) {
                t += "[[groups]]\nname = \"\(name)\"\nmembers = [\(members.map { "\"\($0)\"" }.joined(separator: ","))]\n"
            }
            t += "[[api_roots]]\npath = \"r\"\ntitle = \"r\"\n"
            t += """
                [[collections]]
                id = "5a5a5a5a-0000-4000-8000-00000000c011"
                api_root = "r"
                alias = "c"
                title = "c"
                read = [\(read.map { "\"\($0)\"" }.joined(separator: ","))]
                write = [\(write.map { "\"\($0)\"" }.joined(separator: ","))]
                public = \(isPublic)

                """
            if let defaultTLP { t += "default_tlp = \"\(defaultTLP)\"\n" }
            return t
        }

        // MARK: The oracle: SHARING.md's table, written out as data.

        func member(_ org: String, of entry: String) -> Bool { entry == org || (groups[entry]?.contains(org) ?? false) }

        func expected(_ reader: String?, _ v: Version) -> Bool {
            let listed = reader.map { r in read.contains { member(r, of: $0) } } ?? false
            guard listed || isPublic else { return false }
            let r = listed ? reader : nil  // an unlisted org reads a public collection as anonymous
            let refs = v.objectRefs + v.granularRefs
            let isUnknown = refs.contains { $0 == World.unknown }
            let received = v.receivedFrom != nil
            if isUnknown { return !received && r == v.submittedBy }
            if !received && r == v.submittedBy { return true }
            let rank: [TLP: Int] = [.clear: 0, .green: 1, .amber: 2, .amberStrict: 3, .red: 4]
            let objectLevels = v.objectRefs.compactMap { TLP(markingID: $0) }
            let granularLevels = v.granularRefs.compactMap { TLP(markingID: $0) }
            let base = objectLevels.max { rank[$0]! < rank[$1]! }
                ?? (defaultTLP.map { $0 == "white" ? TLP.clear : TLP(rawValue: $0)! } ?? .green)
            let level = ([base] + granularLevels).max { rank[$0]! < rank[$1]! }!
            let lists = refs.compactMap { releasability[$0] }
            let org = orgs.first { $0.id == r }
            let matchesAll = org.map { o in lists.allSatisfy { list in list.contains { $0 == o.id || member(o.id, of: $0) || $0 == o.country } } } ?? false
            if !lists.isEmpty && !matchesAll { return false }
            let named = !lists.isEmpty && matchesAll
            guard let o = org else { return level == .clear }
            let isOwner = o.kind == .owner
            let isNode = o.kind == .node
            let table: [TLP: (local: Bool, received: Bool)] = [
                .clear: (true, true),
                .green: (true, true),
                .amber: (true, isOwner || o.kind == .client),
                .amberStrict: (!isNode || named, isOwner),
                .red: (named, isOwner && named),
            ]
            return received ? table[level]!.received : table[level]!.local
        }
    }

    static func node(for world: World) async throws -> MeridianNode {
        let node = try await MeridianNode(configuration: try NodeConfiguration.parse(world.configuration), store: TestStores.nodeStore())
        let collection = "5a5a5a5a-0000-4000-8000-00000000c011"
        var definitions: [IncomingObject] = [
            incoming(#"{"type":"marking-definition","spec_version":"2.1","id":"\#(World.statement)","created":"2020-01-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"s"}}"#)
        ]
        for (id, list) in world.releasability {
            let d = Releasability.markingDefinition(id: id, name: "rel", releasableTo: list, createdBy: nil, created: "2020-01-01T00:00:00.000Z")
            definitions.append(incoming(d.serialized()))
        }
        _ = try await node.store.add(definitions, to: collection, provenance: Provenance(submittedBy: "o0", receivedFrom: nil))
        for v in world.versions {
            let modified = String(format: "2021-01-01T00:00:%02d.000Z", v.modified)
            let refs = v.objectRefs.isEmpty ? "" : #","object_marking_refs":[\#(v.objectRefs.map { "\"\($0)\"" }.joined(separator: ","))]"#
            let granular = v.granularRefs.isEmpty ? "" : #","granular_markings":[\#(v.granularRefs.map { #"{"marking_ref":"\#($0)","selectors":["name"]}"# }.joined(separator: ","))]"#
            let text = #"{"type":"indicator","spec_version":"2.1","id":"\#(v.id)","created":"2021-01-01T00:00:00.000Z","modified":"\#(modified)"\#(refs)\#(granular)}"#
            _ = try await node.store.add([incoming(text)], to: collection,
                                         provenance: Provenance(submittedBy: v.submittedBy, receivedFrom: v.receivedFrom))
        }
        try await node.policyState.reload()
        return node
    }

    static func incoming(_ text: String) -> IncomingObject {
        let value = try! JSONParser().parse(text)
        return IncomingObject(object: value.objectValue!, bytes: Array(text.utf8))!
    }

    /// Every page of a read, following `more` the way a TAXII client follows `next`.
    static func walk(_ node: MeridianNode, _ reader: Principal, _ query: ObjectQuery, limit: Int) async throws -> [StoredVersion]? {
        let collection = node.collection("c")!
        guard node.access(reader, to: collection).canRead else { return nil }
        var q = query
        var out: [StoredVersion] = []
        while true {
            let page = try await node.read(collection, query: q, limit: limit, withBytes: true, for: reader, endpoint: "test")
            if page.more { #expect(page.versions.count == limit, "a page with more=true holds exactly limit versions") }
            out += page.versions
            guard page.more, let last = page.versions.last else { return out }
            q.addedAfter = last.dateAdded
        }
    }

    @Test func everyReaderReceivesExactlyWhatThePolicyAllowsOnEveryReadPath() async throws {
        await propertyCheck(count: 40, input: Gen.int(in: 0...Int.max)) { seed in
            let world = World(seed: UInt64(seed))
            do {
                let node = try await Self.node(for: world)
                let readers: [String?] = [nil] + world.orgs.map(\.id)
                for reader in readers {
                    let principal = Principal(org: reader, user: nil)
                    // Expected versions in submission order (date_added order), with their modified times.
                    let visible = world.versions.filter { world.expected(reader, $0) }
                    let byID = Dictionary(grouping: visible, by: \.id)
                    let limit = Int(UInt64(seed) % 5) + 1
                    guard let all = try await Self.walk(node, principal, ObjectQuery(types: ["indicator"], versions: .all), limit: limit) else {
                        #expect(visible.isEmpty, "no collection access, yet the oracle allows versions")
                        continue
                    }
                    #expect(all.map(\.id) == visible.map(\.id), "reader \(reader ?? "anonymous"), versions=all, seed \(seed)")
                    let last = try await Self.walk(node, principal, ObjectQuery(types: ["indicator"], versions: .last), limit: limit) ?? []
                    let expectedLast = visible.filter { v in byID[v.id]!.allSatisfy { $0.modified <= v.modified } }
                    #expect(last.map(\.id) == expectedLast.map(\.id), "reader \(reader ?? "anonymous"), versions=last, seed \(seed)")
                    let first = try await Self.walk(node, principal, ObjectQuery(types: ["indicator"], versions: .first), limit: limit) ?? []
                    let expectedFirst = visible.filter { v in byID[v.id]!.allSatisfy { $0.modified >= v.modified } }
                    #expect(first.map(\.id) == expectedFirst.map(\.id), "reader \(reader ?? "anonymous"), versions=first, seed \(seed)")
                    // Object by id and its versions: exactly the visible versions of that id.
                    for id in Set(world.versions.map(\.id)) {
                        let versions = try await Self.walk(node, principal, ObjectQuery(ids: [id], versions: .all), limit: 1000) ?? []
                        #expect(versions.count == (byID[id]?.count ?? 0), "reader \(reader ?? "anonymous"), id \(id), seed \(seed)")
                        // First and last of one object: its oldest and newest version this reader may see.
                        let newest = byID[id]?.max { $0.modified < $1.modified }.map { String(format: "2021-01-01T00:00:%02d.000Z", $0.modified) }
                        let oldest = byID[id]?.min { $0.modified < $1.modified }.map { String(format: "2021-01-01T00:00:%02d.000Z", $0.modified) }
                        let last = try await Self.walk(node, principal, ObjectQuery(ids: [id], versions: .last), limit: limit) ?? []
                        #expect(last.map(\.version) == (newest.map { [$0] } ?? []), "reader \(reader ?? "anonymous"), last of \(id), seed \(seed)")
                        let first = try await Self.walk(node, principal, ObjectQuery(ids: [id], versions: .first), limit: limit) ?? []
                        #expect(first.map(\.version) == (oldest.map { [$0] } ?? []), "reader \(reader ?? "anonymous"), first of \(id), seed \(seed)")
                    }
                    // Several ids at once, first and last together: each object's oldest and newest, in date_added order.
                    let ids = Set(world.versions.map(\.id).prefix(3))
                    let both = try await Self.walk(node, principal, ObjectQuery(ids: ids, versions: .some(timestamps: [], first: true, last: true)),
                                                   limit: limit) ?? []
                    let expectedBoth = visible.filter { v in
                        ids.contains(v.id) && (byID[v.id]!.allSatisfy { $0.modified <= v.modified } || byID[v.id]!.allSatisfy { $0.modified >= v.modified })
                    }
                    #expect(both.map(\.id) == expectedBoth.map(\.id), "reader \(reader ?? "anonymous"), first and last of \(ids), seed \(seed)")
                    // The manifest reads without bytes through the same gate.
                    let collection = node.collection("c")!
                    let manifest = try await node.read(collection, query: ObjectQuery(types: ["indicator"], versions: .all), limit: 1000,
                                                       withBytes: false, for: principal, endpoint: "manifest")
                    #expect(manifest.versions.count == visible.count)
                    #expect(!manifest.more)
                }
            } catch {
                Issue.record("seed \(seed): \(error)")
            }
        }
    }
}
