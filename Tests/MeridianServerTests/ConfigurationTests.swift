import Foundation
import MeridianServer
import Testing

@Suite struct ConfigurationTests {
    static let valid = """
        [node]
        title = "t"
        owner = "a"
        [[orgs]]
        id = "a"
        name = "A"
        country = "FR"
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
        #expect(c.collections?.count == 3)
    }

    @Test func aValidConfigurationLoads() throws {
        let c = try NodeConfiguration.parse(Self.valid)
        #expect(c.groups(of: "b") == ["g"])
        #expect(c.maxPageSize == 1000)
    }

    @Test func problemsNameTheKeyAndTheRule() {
        #expect(problem("not toml [") != nil)
        #expect(problem(Self.valid.replacingOccurrences(of: "title = \"t\"\n", with: ""))?.contains("node.title") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "owner = \"a\"", with: "owner = \"z\""))?.contains("node.owner") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "read = [\"g\"]", with: "read = [\"nobody\"]"))?.contains("neither an org nor a group") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "11111111-1111-4111-8111-111111111111", with: "abc"))?.contains("must be a UUID") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "country = \"FR\"", with: "country = \"France\""))?.contains("ISO 3166") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "path = \"root\"", with: "path = \"taxii2\"")) != nil)
    }

    @Test func accessFollowsTheReadAndWriteLists() throws {
        let c = try #require(try NodeConfiguration.parse(Self.valid).collections?.first)
        let a = CollectionAccess(collection: c, principal: Principal(org: "a", user: "u", groups: ["g"]))
        let b = CollectionAccess(collection: c, principal: Principal(org: "b", user: "v", groups: ["g"]))
        let outsider = CollectionAccess(collection: c, principal: Principal(org: "z", user: "w", groups: []))
        let anonymous = CollectionAccess(collection: c, principal: .anonymous)
        #expect((a.canRead, a.canWrite) == (true, true))
        #expect((b.canRead, b.canWrite) == (true, false))
        #expect(!outsider.isVisible)
        #expect(!anonymous.isVisible)
    }

    @Test func aPublicCollectionIsReadableByAnyoneButWritableOnlyByItsWriters() throws {
        var c = try #require(try NodeConfiguration.parse(Self.valid).collections?.first)
        c.public = true
        #expect(CollectionAccess(collection: c, principal: .anonymous) == CollectionAccess(collection: c, principal: Principal(org: "z", user: nil, groups: [])))
        #expect(CollectionAccess(collection: c, principal: .anonymous).canRead)
        #expect(!CollectionAccess(collection: c, principal: .anonymous).canWrite)
    }

    @Test func tokensHaveAnIdAndASecret() {
        #expect(APIToken("mrd_0123456789abcdef_" + String(repeating: "A", count: 43))?.id == "0123456789abcdef")
        #expect(APIToken("mrd_0123456789abcdef_short") == nil)
        #expect(APIToken("bearer-anything") == nil)
        #expect(APIToken("mrd_0123456789abcdeg_" + String(repeating: "A", count: 43)) == nil)
    }
}
