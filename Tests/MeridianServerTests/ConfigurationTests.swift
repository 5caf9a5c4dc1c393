import Foundation
@testable import MeridianServer
import Policy
import PostgreSQLStorage
import Testing

@Suite struct ConfigurationTests {
    static let valid = """
        [node]
        title = "t"
        owner = "a"
        [[orgs]]
        id = "a"
        name = "A"
        country = "FRA"
        [[orgs]]
        id = "b"
        name = "B"
        [[groups]]
        name = "g"
        members = ["a", "b"]
        [[api_roots]]
        path = "root"
        title = "Root"
        [[collections]]
        id = "11111111-1111-4111-8111-111111111111"
        api_root = "root"
        title = "C"
        read = ["g"]
        write = ["a"]
        """

    func problem(_ text: String) -> String? {
        do {
            _ = try NodeConfiguration.parse(text)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func theTemplateThatInitWritesIsValid() throws {
        let c = try NodeConfiguration.parse(DataDirectory.template(owner: "cert-x", title: "T"))
        #expect(c.node.owner == "cert-x")
        #expect(c.collections?.count == 4)
        #expect(c.correlation?.sightings_collection == "sightings")
        #expect(c.correlation?.warning_list == WarningList.defaults)
    }

    @Test func correlationMustNameADeclaredCollection() {
        let text = DataDirectory.template(owner: "cert-x", title: "T").replacingOccurrences(of: #"sightings_collection = "sightings""#,
                                                                                          with: #"sightings_collection = "nowhere""#)
        #expect(throws: NodeConfiguration.Problem.self) { try NodeConfiguration.parse(text) }
    }

    @Test func aValidConfigurationLoads() throws {
        let c = try NodeConfiguration.parse(Self.valid)
        #expect(c.partnership.groups(of: "b") == ["g"])
        #expect(c.maxPageSize == 1000)
    }

    @Test(arguments: [
        ("backend = \"mysql\"", "storage.backend must be sqlite or postgresql, not 'mysql'"),
        ("backend = \"postgresql\"", "storage.url is required when storage.backend = \"postgresql\""),
        ("backend = \"postgresql\"\nurl = \"postgresql://m:secret@db/node\"",
         "storage.url holds a password; put it in a file named by storage.password_file (mode 0600) instead"),
        ("backend = \"postgresql\"\nurl = \"mysql://m@db/node\"", "the database URL must look like postgresql://"),
        ("backend = \"postgresql\"\nurl = \"postgresql://m@db/node?sslmode=sometimes\"", "sslmode must be one of disable, prefer"),
        ("backend = \"postgresql\"\nurl = \"postgresql://m@db/node\"\npool_size = 0", "storage.pool_size must be between 1 and 1000"),
        ("backend = \"postgresql\"\nurl = \"postgresql://m@db/node\"\ntls = \"always\"", "storage.tls must be one of disable, prefer, require, verify-full"),
        ("url = \"postgresql://m@db/node\"", "storage: url, password_file, pool_size and tls are for backend = \"postgresql\""),
    ])
    func storageSettingsAreCheckedAndNeverHoldAPassword(settings: String, message: String) throws {
        let text = Self.valid + "\n[storage]\n" + settings + "\n"
        let found = try #require(problem(text))
        #expect(found.contains(message), "\(found)")
        #expect(!found.contains("secret"), "a password never reaches a message")
        // At a line of the [storage] table.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let table = lines.firstIndex(of: "[storage]")! + 1
        let line = Int(found.dropFirst("configuration:".count).prefix { $0.isNumber }) ?? 0
        #expect(line > table && line <= lines.count, "the line of the key: \(found)")
    }

    @Test func aPostgreSQLStorageTableIsReadWithItsDefaultsAndOverrides() throws {
        let configuration = try NodeConfiguration.parse(Self.valid + """

            [storage]
            backend = "postgresql"
            url = "postgresql://meridian@db.example:6432/node?sslmode=require"
            password_file = "db-password"
            pool_size = 4
            tls = "verify-full"
            """)
        let storage = try #require(configuration.storage)
        #expect(storage.kind == .postgresql)
        let location = try storage.location()
        #expect(location.host == "db.example" && location.port == 6432 && location.database == "node" && location.user == "meridian")
        #expect(location.poolSize == 4 && location.tls == .verifyFull && location.password == nil)
        #expect(try NodeConfiguration.parse(Self.valid).storage == nil)
    }

    @Test func problemsNameTheKeyAndTheRule() {
        #expect(problem("not toml [") != nil)
        #expect(problem(Self.valid.replacingOccurrences(of: "title = \"t\"\n", with: ""))?.contains("missing key `title` in `node`") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "owner = \"a\"", with: "owner = \"z\""))?.contains("node.owner") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "read = [\"g\"]", with: "read = [\"nobody\"]"))?.contains("neither an org nor a group") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "11111111-1111-4111-8111-111111111111", with: "abc"))?.contains("must be a UUID") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "country = \"FRA\"", with: "country = \"France\""))?.contains("ISO 3166") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "path = \"root\"", with: "path = \"taxii2\"")) != nil)
    }

    // MARK: - Unknown keys and types (issue 14, item 4)

    /// The full example of docs/CONFIG.md's sections: every table and array of tables, so each can be misspelt.
    static let everySection = DataDirectory.template(owner: "own", title: "T") + """

        [[orgs]]
        id = "node-de"
        name = "German node"
        country = "DEU"
        kind = "node"

        [audit]
        reads = true

        [[peers]]
        name = "de"
        org = "node-de"
        api_root = "https://de.example:8443/partnership/"
        interval_seconds = 60

        [[peers.pull]]
        remote = "22222222-2222-4222-8222-222222222222"
        local = "shared"

        [[peers.push]]
        local = "shared"
        remote = "33333333-3333-4333-8333-333333333333"

        """

    @Test func theFullExampleIsValid() throws {
        let c = try NodeConfiguration.parse(Self.everySection)
        #expect(c.peers?.first?.pull?.first?.local == "shared")
        #expect(c.partnership.kind(of: "node-de") == .node)
        #expect(c.partnership.kind(of: "own") == .owner)
        #expect(c.partnership.kind(of: "cert-partner") == .partner)
    }

    /// The text with the line holding `old` replaced by `new`, and that line's number.
    func replacing(_ old: String, with new: String, in text: String = everySection, after marker: String? = nil) -> (String, Int) {
        var lines = text.components(separatedBy: "\n")
        let start = marker.flatMap { m in lines.firstIndex { $0.hasPrefix(m) } } ?? 0
        let i = lines[start...].firstIndex { $0.hasPrefix(old) }!
        lines[i] = new + lines[i].dropFirst(old.count)
        return (lines.joined(separator: "\n"), i + 1)
    }

    @Test(arguments: [
        // (the start of a line, what it becomes, a line before it to look after, the suggestion expected)
        ("title = ", "titel = ", "[node]", "did you mean `title`?"),
        ("owner = ", "ownr = ", "[node]", "did you mean `owner`?"),
        ("host = ", "hots = ", "[server]", "did you mean `host`?"),
        ("country = ", "contry = ", "[[orgs]]", "did you mean `country`?"),
        ("kind = ", "knid = ", "[[orgs]]", "did you mean `kind`?"),
        ("members = ", "member = ", "[[groups]]", "did you mean `members`?"),
        ("path = ", "pth = ", "[[api_roots]]", "did you mean `path`?"),
        ("default_tlp = ", "defualt_tlp = ", "[[collections]]", "did you mean `default_tlp`?"),
        ("retro_window_days = ", "retro_window_day = ", "[correlation]", "did you mean `retro_window_days`?"),
        ("reads = ", "read = ", "[audit]", "did you mean `reads`?"),
        ("interval_seconds = ", "interval_second = ", "[[peers]]", "did you mean `interval_seconds`?"),
        ("remote = ", "remot = ", "[[peers.pull]]", "did you mean `remote`?"),
        ("local = ", "locl = ", "[[peers.push]]", "did you mean `local`?"),
        ("[server]", "[servr]", nil, "did you mean [server]?"),
        ("[correlation]", "[corelation]", nil, "did you mean [correlation]?"),
        ("[[peers.pull]]", "[[peers.pul]]", nil, "did you mean [[peers.pull]]?"),
        ("[[collections]]", "[[colections]]", nil, "did you mean [[collections]]?"),
    ] as [(String, String, String?, String)])
    func everyUnknownKeyIsRefusedWithItsLineAndTheClosestKnownKey(old: String, new: String, marker: String?, suggestion: String) throws {
        let (text, line) = replacing(old, with: new, after: marker)
        let message = try #require(problem(text))
        #expect(message.contains("configuration:\(line):"), "\(message)")
        #expect(message.contains("unknown"), "\(message)")
        #expect(message.contains(suggestion), "\(message)")
    }

    @Test func theOldNodeFlagIsRefusedNotIgnored() throws {
        // `nod = true` (or the older `node = true`) never makes a peer quietly into an org that reads AMBER+STRICT.
        let (text, line) = replacing("kind = \"node\"", with: "nod = true", after: "id = \"node-de\"")
        let message = try #require(problem(text))
        #expect(message.contains("configuration:\(line): unknown key `nod` in [orgs[2]]"), "\(message)")
        #expect(message.contains(#"did you mean `kind = "node"` (formerly `node`)?"#), "\(message)")
        let (old, _) = replacing("kind = \"node\"", with: "node = true", after: "id = \"node-de\"")
        #expect(problem(old)?.contains(#"unknown key `node` in [orgs[2]]; did you mean `kind = "node"` (formerly `node`)?"#) == true)
    }

    @Test func anUnknownKeyFarFromEveryKnownOneListsTheKnownKeys() throws {
        let (text, _) = replacing("[server]", with: "[server]\nverbosity = 3")
        let message = try #require(problem(text))
        #expect(message.contains("unknown key `verbosity` in [server]; known here: "), "\(message)")
        #expect(message.contains("`port`"), "\(message)")
    }

    @Test(arguments: [
        ("port = ", "port = \"8080\" #", "[server]", "`server.port` must be an integer, not a string"),
        ("max_page_size = ", "max_page_size = true #", "[node]", "`node.max_page_size` must be an integer, not a boolean"),
        ("members = ", "members = \"own\" #", "[[groups]]", "`groups[0].members` must be an array, not a string"),
        ("reads = ", "reads = \"yes\" #", "[audit]", "`audit.reads` must be a boolean (true or false), not a string"),
        ("sightings_collection = ", "sightings_collection = 4 #", "[correlation]",
         "`correlation.sightings_collection` must be a string, not an integer"),
        ("local = ", "local = [\"shared\"] #", "[[peers.pull]]", "`peers[0].pull[0].local` must be a string, not an array"),
    ] as [(String, String, String?, String)])
    func aValueOfTheWrongTypeNamesTheKeyTheTypeAndTheLine(old: String, new: String, marker: String?, expected: String) throws {
        let (text, line) = replacing(old, with: new, after: marker)
        let message = try #require(problem(text))
        #expect(message.contains(expected), "\(message)")
        #expect(message.contains("configuration:\(line):"), "\(message)")
    }

    @Test func aTableWrittenAsAValueIsRefused() throws {
        let message = try #require(problem("audit = true\n" + Self.valid))
        #expect(message.contains("configuration:1: `audit` must be a table, not a boolean"), "\(message)")
    }

    @Test func aMissingKeyNamesItsTableAndLine() throws {
        let (text, line) = replacing("name = \"Example partner CERT\"", with: "# no name")
        let message = try #require(problem(text))
        #expect(message.contains("missing key `name` in `orgs[1]`"), "\(message)")
        #expect(message.contains("configuration:\(line - 2):"), "\(message)")  // the [[orgs]] header
    }

    @Test func syntaxErrorsNameTheLine() throws {
        let message = try #require(problem("[node]\ntitle = \"t\"\nowner = \n"))
        #expect(message.contains("configuration:3:"), "\(message)")
    }

    @Test func malformedTOMLIsRefusedWithItsLineNotACrash() throws {
        // TOMLKit's parser (toml++), used before Meridian read TOML itself, asserted on these and ended the process;
        // scripts/fuzz.sh found them.
        let line = Self.valid.split(separator: "\n", omittingEmptySubsequences: false).count + 1
        for (text, rule) in [("[#]", "expected a key"), ("[[#", "expected a key"), ("[ =x]", "expected a key"),
                             ("[[ !a]]", "expected a key"), ("[.]", "expected a key"), ("[{]", "expected a key"),
                             ("[ [a]]", "expected a key"), ("[é]", "expected a key"), ("[audit]\nreads = [}", "expected a value"),
                             ("[audit]\nreads = {", "expected a key")] {
            let message = problem(Self.valid + "\n" + text + "\n")
            #expect(message?.contains(rule) == true, "\(text): \(message ?? "accepted")")
            let at = line + text.filter { $0 == "\n" }.count
            #expect(message?.contains("configuration:\(at): not valid TOML") == true, "\(text): \(message ?? "")")
        }
        // Lines inside values are not headers: a multi-line string, a comment.
        let inside = Self.valid.replacingOccurrences(of: "title = \"t\"", with: "title = \"\"\"\n[#] not a header\n\"\"\"")
        #expect(try NodeConfiguration.parse(inside).node.title == "[#] not a header\n")
        #expect(problem(Self.valid + "\n# [#] in a comment\n") == nil)
    }

    @Test func keysInArraysAndInlineTablesAreLocatedOnTheirOwnLine() throws {
        let text = Self.valid + """

            [[peers]]
            name = "p"
            org = "nato"
            api_root = "https://peer.example/api/"
            pull = [
              { remote = "a", local = "b" },
              { remote = "c", locale = "d" },
            ]
            """
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("locale") }! + 1
        let message = try #require(problem(text))
        #expect(message.hasPrefix("configuration:\(line): unknown key `locale`"), "\(message)")
    }

    @Test func theShapeCoversEveryField() {
        guard case .table(let top) = NodeConfiguration.shape, case .array(.table(let org))? = top["orgs"],
              case .array(.table(let peer))? = top["peers"], case .array(.table(let pull))? = peer["pull"]
        else { Issue.record("unexpected shape \(NodeConfiguration.shape)"); return }
        #expect(Set(top.keys) == ["node", "server", "limits", "orgs", "groups", "api_roots", "collections", "audit", "correlation", "peers",
                                 "transparency", "storage"])
        #expect(Set(org.keys) == ["id", "name", "country", "identity", "kind"])
        #expect(pull == ["remote": .string, "local": .string])
        #expect(org["id"] == .string)
    }

    // MARK: - Org kinds (issue 14, item 1)

    @Test func kindsAreCheckedAgainstTheOwner() throws {
        #expect(problem(Self.valid.replacingOccurrences(of: "name = \"B\"", with: "name = \"B\"\nkind = \"friend\""))?
            .contains("kind must be owner, client, partner or node, not 'friend'") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "name = \"B\"", with: "name = \"B\"\nkind = \"owner\""))?
            .contains("only the owner's org is the owner") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "name = \"A\"", with: "name = \"A\"\nkind = \"client\""))?
            .contains("its kind is owner") == true)
        let c = try NodeConfiguration.parse(Self.valid.replacingOccurrences(of: "name = \"B\"", with: "name = \"B\"\nkind = \"client\""))
        #expect(c.partnership.kind(of: "b") == .client)
        // Not declared a client: a partner.
        #expect(try NodeConfiguration.parse(Self.valid).partnership.kind(of: "b") == .partner)
    }

    @Test func aPeerMustBeAnOrgOfKindNode() throws {
        let text = Self.everySection.replacingOccurrences(of: "kind = \"node\"", with: "kind = \"client\"")
        #expect(problem(text)?.contains("org 'node-de' must be one of the orgs, with kind = \"node\"") == true)
    }

    @Test func accessFollowsTheReadAndWriteLists() throws {
        let c = try #require(try NodeConfiguration.parse(Self.valid).collections?.first)
        let partnership = try NodeConfiguration.parse(Self.valid).partnership
        let a = partnership.access(.organization("a"), to: c.rule)
        let b = partnership.access(.organization("b"), to: c.rule)
        let outsider = partnership.access(.organization("z"), to: c.rule)
        let anonymous = partnership.access(.anonymous, to: c.rule)
        #expect((a.canRead, a.canWrite) == (true, true))
        #expect((b.canRead, b.canWrite) == (true, false))
        #expect(!outsider.isVisible)
        #expect(!anonymous.isVisible)
    }

    @Test func aPublicCollectionIsReadableByAnyoneButWritableOnlyByItsWriters() throws {
        var c = try #require(try NodeConfiguration.parse(Self.valid).collections?.first)
        c.public = true
        let partnership = try NodeConfiguration.parse(Self.valid).partnership
        #expect(partnership.access(.anonymous, to: c.rule) == partnership.access(.organization("z"), to: c.rule))
        #expect(partnership.access(.anonymous, to: c.rule).canRead)
        #expect(!partnership.access(.anonymous, to: c.rule).canWrite)
    }

    @Test func tokensHaveAnIdAndASecret() {
        #expect(APIToken("mrd_0123456789abcdef_" + String(repeating: "A", count: 43))?.id == "0123456789abcdef")
        #expect(APIToken("mrd_0123456789abcdef_short") == nil)
        #expect(APIToken("bearer-anything") == nil)
        #expect(APIToken("mrd_0123456789abcdeg_" + String(repeating: "A", count: 43)) == nil)
    }
}
