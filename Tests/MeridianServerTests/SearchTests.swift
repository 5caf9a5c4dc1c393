import Foundation
import Logging
@testable import MeridianServer
import STIX
import Storage
import Testing

/// Search and references for the web pages (issue 17): the background indexer follows every write, whichever process
/// made it, and forgets deleted versions; what a reader may not see is never found, ranked or counted.
@Suite struct SearchTests {
    static let collectionID = "22222222-2222-4222-8222-222222222222"
    static let config = """
        [node]
        title = "Test"
        owner = "a"
        [[orgs]]
        id = "a"
        name = "A"
        country = "FRA"
        [[orgs]]
        id = "b"
        name = "B"
        country = "JPN"
        [[api_roots]]
        path = "root"
        title = "Root"
        [[collections]]
        id = "\(collectionID)"
        api_root = "root"
        alias = "shared"
        title = "Shared"
        read = ["a", "b"]
        write = ["a", "b"]
        """
    static let green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
    static let red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
    static let malware = "malware--0a0a0a0a-0000-4000-8000-000000000001"
    static let indicator = "indicator--0a0a0a0a-0000-4000-8000-000000000002"
    static let relationship = "relationship--0a0a0a0a-0000-4000-8000-000000000003"
    static let a = Principal(org: "a", user: "alice")
    static let b = Principal(org: "b", user: "bob")

    static func object(_ text: String) throws -> IncomingObject {
        let bytes = Array(text.utf8)
        return IncomingObject(object: try JSONParser().parse(bytes).objectValue!, bytes: bytes)!
    }

    static func store(_ store: any NodeStore, _ texts: [String]) async throws {
        let provenance = Provenance(submittedBy: "a", receivedFrom: nil)
        _ = try await store.add(try texts.map(object), to: collectionID, provenance: provenance,
                                audit: MeridianNode.writeEntry(collection: collectionID, by: nil, provenance: provenance))
    }

    /// A malware in two versions (the first TLP:GREEN, the second TLP:RED naming nobody, so only its submitter A reads
    /// it), an indicator of an address, and a relationship between them.
    static func seeded() async throws -> MeridianNode {
        let node = try await testNode(config)
        try await store(node.store, [
            #"{"type":"malware","spec_version":"2.1","id":"\#(malware)","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Harbour loader","is_family":true,"object_marking_refs":["\#(green)"]}"#,
            #"{"type":"malware","spec_version":"2.1","id":"\#(malware)","created":"2026-01-01T00:00:00.000Z","modified":"2026-02-01T00:00:00.000Z","name":"Harbour loader, now Kraken","is_family":true,"object_marking_refs":["\#(red)"]}"#,
            #"{"type":"indicator","spec_version":"2.1","id":"\#(indicator)","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","external_references":[{"source_name":"mitre-attack","external_id":"T1071"}],"object_marking_refs":["\#(green)"]}"#,
            #"{"type":"relationship","spec_version":"2.1","id":"\#(relationship)","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"indicates","source_ref":"\#(indicator)","target_ref":"\#(malware)","object_marking_refs":["\#(green)"]}"#,
        ])
        return node
    }

    static func words(_ text: String) -> SearchText { SearchText(text)! }

    @Test func searchFindsNamesValuesAndExternalIdsOnceIndexed() async throws {
        let node = try await Self.seeded()
        #expect(try await node.search(Self.words("Harbour"), for: Self.a).isEmpty)  // not indexed yet
        #expect(try await node.indexForSearch() == 4)
        #expect(try await node.indexForSearch() == 0)
        #expect(try await node.search(Self.words("harbour LOADER"), for: Self.a).map(\.version.id) == [Self.malware])
        #expect(try await node.search(Self.words("198.51.100.7"), for: Self.b).map(\.version.id) == [Self.indicator])
        #expect(try await node.search(Self.words("T1071"), for: Self.b).map(\.version.id) == [Self.indicator])
        #expect(try await node.search(Self.words("198.51.100.8"), for: Self.b).isEmpty)
        // Every word must occur.
        #expect(try await node.search(Self.words("Harbour 198.51.100.7"), for: Self.a).isEmpty)
    }

    @Test func aVersionTheReaderMayNotSeeIsNeverFoundNorStandsInForAnother() async throws {
        let node = try await Self.seeded()
        try await node.indexForSearch()
        // A reads both versions: the newest is the one found.
        let forA = try await node.search(Self.words("Harbour"), for: Self.a)
        #expect(forA.count == 1 && forA.first?.version.version == "2026-02-01T00:00:00.000Z")
        #expect(try await node.search(Self.words("Kraken"), for: Self.a).count == 1)
        // B reads only the first: "Kraken" is only in the hidden one, so nothing is found, not even the visible version.
        #expect(try await node.search(Self.words("Kraken"), for: Self.b).isEmpty)
        let forB = try await node.search(Self.words("Harbour"), for: Self.b)
        #expect(forB.count == 1 && forB.first?.version.version == "2026-01-01T00:00:00.000Z")
        // An org that may not read the collection finds nothing at all.
        #expect(try await node.search(Self.words("Harbour"), for: Principal(org: "c", user: "carl")).isEmpty)
        #expect(try await node.search(Self.words("Harbour"), for: Principal.anonymous).isEmpty)
    }

    @Test func referencesFollowTheReadersView() async throws {
        let node = try await Self.seeded()
        try await node.indexForSearch()
        #expect(try await node.referring(to: Self.malware, for: Self.b).map(\.version.id) == [Self.relationship])
        #expect(try await node.referring(to: Self.indicator, for: Self.b).map(\.version.id) == [Self.relationship])
        // The other end's name is the newest version the reader may see.
        #expect(try await node.latestNames(of: [Self.malware], for: Self.b) == [Self.malware: "Harbour loader"])
        #expect(try await node.latestNames(of: [Self.malware], for: Self.a) == [Self.malware: "Harbour loader, now Kraken"])
        #expect(try await node.latestNames(of: [Self.malware], for: Principal(org: "c", user: "carl")).isEmpty)
    }

    @Test func deletedVersionsLeaveTheIndexAndOtherProcessesWritesAreIndexed() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-search-\(UUID().uuidString).sqlite").path
        let node = try await MeridianNode(configuration: try NodeConfiguration.parse(Self.config), store: SQLiteObjectStore(path: path))
        // Another process (another store on the same file) writes; this node's indexer catches up.
        try await Self.store(try SQLiteObjectStore(path: path), [
            #"{"type":"indicator","spec_version":"2.1","id":"\#(Self.indicator)","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'evil.example.com']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":["\#(Self.green)"]}"#,
        ])
        #expect(try await node.indexForSearch() == 1)
        #expect(try await node.search(Self.words("evil.example.com"), for: Self.b).count == 1)
        let collection = try #require(node.collection("shared"))
        #expect(try await node.delete(id: Self.indicator, from: collection, query: ObjectQuery(versions: .all), for: Self.a) == 1)
        #expect(try await node.search(Self.words("evil.example.com"), for: Self.a).isEmpty)
        // Gone from the index itself, not only hidden by the gate.
        #expect(try await node.store.search(Self.words("evil.example.com"), in: [Self.collectionID], named: 10, limit: 10).isEmpty)
        #expect(try await node.store.referring(to: Self.malware, in: [Self.collectionID], limit: 10).isEmpty)
    }

    /// The serving indexer catching up on a backlog (after a bulk import) rests between batches, so another process's
    /// write (here a store on the same file that waits at most 1 s for the database) is never starved by it.
    @Test func anotherProcessWritesWhileTheIndexerCatchesUp() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-search-\(UUID().uuidString).sqlite").path
        let node = try await MeridianNode(configuration: try NodeConfiguration.parse(Self.config), store: SQLiteObjectStore(path: path))
        func indicator(_ i: Int) -> String {
            let id = String(format: "indicator--0b0b0b0b-0000-4000-8000-%012d", i)
            return #"{"type":"indicator","spec_version":"2.1","id":"\#(id)","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Backlog \#(i)","pattern":"[ipv4-addr:value = '10.\#(i >> 16).\#((i >> 8) & 255).\#(i & 255)']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":["\#(Self.green)"]}"#
        }
        let backlog = 20_000
        for start in stride(from: 0, to: backlog, by: 5_000) { try await Self.store(node.store, (start..<start + 5_000).map(indicator)) }
        let indexer = Task { await node.runSearchIndexer(logger: Logger(label: "test")) }
        defer { indexer.cancel() }
        func indexed() async throws -> Int {
            try await node.store.search(Self.words("Backlog"), in: [Self.collectionID], named: 0, limit: backlog + 5).count
        }
        while try await indexed() == 0 { try await Task.sleep(for: .milliseconds(10)) }
        let other = try SQLiteObjectStore(path: path, busyTimeout: 1)
        for i in 0..<5 { try await Self.store(other, [indicator(backlog + i)]) }
        // The writes happened while the backlog was being indexed, or the test proved nothing.
        #expect(try await indexed() < backlog)
    }

    @Test func membersWhoseNamesSQLiteQuotesAreIndexedToo() async throws {
        let node = try await Self.seeded()
        let note = "note--0a0a0a0a-0000-4000-8000-000000000010"
        try await Self.store(node.store, [
            #"{"type":"note","spec_version":"2.1","id":"\#(note)","created":"2026-03-01T00:00:00.000Z","modified":"2026-03-01T00:00:00.000Z","content":"Seen at a landing station","object_refs":["\#(Self.malware)"],"object_marking_refs":["\#(Self.green)"]}"#,
            #"{"type":"intrusion-set","spec_version":"2.1","id":"intrusion-set--0a0a0a0a-0000-4000-8000-000000000011","created":"2026-03-01T00:00:00.000Z","modified":"2026-03-01T00:00:00.000Z","name":"Example group","x_mitre_aliases":["Cable Cutters"],"object_marking_refs":["\#(Self.green)"]}"#,
            #"{"type":"file","spec_version":"2.1","id":"file--0a0a0a0a-0000-4000-8000-000000000012","hashes":{"SHA-256":"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"},"object_marking_refs":["\#(Self.green)"]}"#,
        ])
        try await node.indexForSearch()
        #expect(try await node.referring(to: Self.malware, for: Self.b).map(\.version.id).sorted() == [note, Self.relationship].sorted())
        #expect(try await node.search(Self.words("Cable Cutters"), for: Self.b).count == 1)
        #expect(try await node.search(Self.words("aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"), for: Self.b).count == 1)
        #expect(try await node.search(Self.words("landing station"), for: Self.b).map(\.version.id) == [note])
    }

    @Test func anExactIdOrNameComesFirstThenNamesHoldingEveryWord() async throws {
        let node = try await testNode(Self.config)
        func technique(_ n: Int, _ name: String, _ externalID: String) -> String {
            #"{"type":"attack-pattern","spec_version":"2.1","id":"attack-pattern--0a0a0a0a-0000-4000-8000-00000000002\#(n)","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"\#(name)","description":"Mentions T1059 and loader tools","external_references":[{"source_name":"mitre-attack","external_id":"\#(externalID)"}],"object_marking_refs":["\#(Self.green)"]}"#
        }
        // Stored oldest first: without ranking, the newest (last) would come first.
        try await Self.store(node.store, [technique(1, "Command and Scripting Interpreter", "T1059"),
                                          technique(2, "PowerShell", "T1059.001"), technique(3, "Loader tricks", "T1105")])
        try await node.indexForSearch()
        let names = { (q: String) in try await node.search(Self.words(q), for: Self.b).map { $0.version.id.suffix(2) } }
        #expect(try await names("T1059") == ["21", "23", "22"])
        #expect(try await names("loader") == ["23", "22", "21"])
        #expect(try await names("powershell") == ["22"])
    }

    @Test func anObjectNamedByTheWordsIsFoundHoweverManyNewerVersionsMentionThem() async throws {
        let node = try await testNode(Self.config)
        let named = #"{"type":"malware","spec_version":"2.1","id":"malware--0a0a0a0a-0000-4000-8000-000000000040","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Emotet","is_family":true,"object_marking_refs":["\#(Self.green)"]}"#
        let mentions = (0..<30).map { n in
            #"{"type":"indicator","spec_version":"2.1","id":"indicator--0a0a0a0a-0000-4000-8000-0000000001\#(String(format: "%02d", n))","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","description":"Delivers Emotet","pattern":"[ipv4-addr:value = '10.0.0.\#(n)']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":["\#(Self.green)"]}"#
        }
        try await Self.store(node.store, [named] + mentions)
        try await node.indexForSearch()
        // Only the 10 most recent mentions are candidates, but the object whose name is the word is looked for apart.
        let found = try await node.search(Self.words("emotet"), for: Self.b, limit: 5, named: 5, candidates: 10)
        #expect(found.first?.version.id == "malware--0a0a0a0a-0000-4000-8000-000000000040")
        #expect(found.count == 5)
        // Without the search of titles, it would not be among the candidates at all.
        let recent = try await node.store.search(Self.words("emotet"), in: [Self.collectionID], named: 0, limit: 10)
        #expect(recent.count == 10)
        #expect(try await node.search(Self.words("emotet"), for: Self.b, limit: 5, named: 0, candidates: 10).allSatisfy { $0.version.type == "indicator" })
    }

    @Test func valuesAreFoundWholeOrByTheEndOfADottedName() async throws {
        let node = try await testNode(Self.config)
        func indicator(_ n: Int, _ pattern: String) -> String {
            #"{"type":"indicator","spec_version":"2.1","id":"indicator--0a0a0a0a-0000-4000-8000-00000000003\#(n)","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"\#(pattern)","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":["\#(Self.green)"]}"#
        }
        try await Self.store(node.store, [
            indicator(1, "[ipv4-addr:value = '10.1.226.64']"), indicator(2, "[ipv4-addr:value = '10.1.226.6']"),
            indicator(3, "[url:value = 'https://login.example.com/a?b=c']"), indicator(4, "[email-addr:value = 'ops@mail.example.org']"),
        ])
        try await node.indexForSearch()
        let found = { (q: String) in try await node.search(Self.words(q), for: Self.b).map { $0.version.id.suffix(1) }.sorted() }
        #expect(try await found("10.1.226.64") == ["1"])
        #expect(try await found("10.1.226.6") == ["2"])
        // `?` and `=` are not part of a value: this is searched as a phrase of its words, and found so.
        #expect(try await found("https://login.example.com/a?b=c") == ["3"])
        #expect(try await found("login.example.com") == ["3"])
        #expect(try await found("example.com") == ["3"])
        #expect(try await found("mail.example.org") == ["4"])
        #expect(try await found("ops@mail.example.org") == ["4"])
        #expect(try await found("example") == ["3", "4"])  // words still match inside values
    }

    @Test func typedTextBecomesPhrasesAndNeverFTSSyntax() {
        #expect(SearchText("  ") == nil)
        #expect(SearchText("\" * - ()") == nil)
        #expect(SearchText("T1059  evil.example.com")?.matchExpression == #""T1059" AND "evilqdexampleqdcom""#)
        #expect(SearchText(#"a"b OR NEAR(x"#)?.matchExpression == #""ab" AND "OR" AND "NEAR(x""#)
        #expect(SearchText((0..<40).map(String.init).joined(separator: " "))?.words.count == 16)
        #expect(ValueTokens.tokens(in: "[url:value = 'https://login.example.com/a'] and T1059.001")
            == "urlqcvalue httpsqcqsqsloginqdexampleqdcomqsa exampleqdcomqsa loginqdexampleqdcom exampleqdcom t1059qd001")
    }
}
