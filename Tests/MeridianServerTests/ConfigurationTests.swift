import Foundation
@testable import MeridianServer
import Policy
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

    @Test func problemsNameTheKeyAndTheRule() {
        #expect(problem("not toml [") != nil)
        #expect(problem(Self.valid.replacingOccurrences(of: "title = \"t\"\n", with: ""))?.contains("node.title") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "owner = \"a\"", with: "owner = \"z\""))?.contains("node.owner") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "read = [\"g\"]", with: "read = [\"nobody\"]"))?.contains("neither an org nor a group") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "11111111-1111-4111-8111-111111111111", with: "abc"))?.contains("must be a UUID") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "country = \"FRA\"", with: "country = \"France\""))?.contains("ISO 3166") == true)
        #expect(problem(Self.valid.replacingOccurrences(of: "path = \"root\"", with: "path = \"taxii2\"")) != nil)
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
