import Foundation
import HummingbirdBcrypt
@testable import MeridianServer
import Policy
import STIX
import Storage
import Testing

/// Every cache a node holds sees a change made by another process before the next decision that depends on it
/// (issue 14, item 6): verified credentials, the configuration's orgs, groups, kinds and collection rules, the
/// correlation index. (The marking registry: PolicyChangeTests.)
@Suite struct CacheFreshnessTests {
    static func path() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("meridian-fresh-\(UUID().uuidString)").path
    }

    @Test func rememberedCredentialsAreForgottenWhenAnotherProcessChangesThePassword() async throws {
        let (serving, other) = try await PolicyChangeTests.twoProcesses()
        try await serving.accounts.saveUser(name: "alice", org: "own", passwordHash: Bcrypt.hash("old password", cost: 4))
        let header = "Basic " + Data("alice:old password".utf8).base64EncodedString()
        #expect(try await serving.authenticator.principal(authorization: header).org == "own")
        // Remembered: a second request does not run bcrypt. Then `meridian user add alice` in another process.
        #expect(try await serving.authenticator.principal(authorization: header).org == "own")
        try await other.accounts.saveUser(name: "alice", org: "own", passwordHash: Bcrypt.hash("new password", cost: 4))
        await #expect(throws: Authenticator.Refused.self) { try await serving.authenticator.principal(authorization: header) }
        let renewed = "Basic " + Data("alice:new password".utf8).base64EncodedString()
        #expect(try await serving.authenticator.principal(authorization: renewed).user == "alice")
    }

    @Test func aRememberedTokenStopsWorkingWhenAnotherProcessRemovesIt() async throws {
        let (serving, other) = try await PolicyChangeTests.twoProcesses()
        try await serving.accounts.saveUser(name: "bot", org: "peer", passwordHash: Bcrypt.hash("unused password", cost: 4))
        let token = try await APIToken.issue(for: "bot", in: serving.accounts)
        let header = "Bearer " + token
        #expect(try await serving.authenticator.principal(authorization: header).org == "peer")
        #expect(try await other.accounts.removeToken(try #require(APIToken(token)).id))
        await #expect(throws: Authenticator.Refused.self) { try await serving.authenticator.principal(authorization: header) }
    }

    /// A data directory with the test configuration, opened as `serve` opens it.
    static func directory(_ config: String) async throws -> (DataDirectory, MeridianNode) {
        let directory = DataDirectory(path())
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        try config.write(toFile: directory.configurationPath, atomically: true, encoding: .utf8)
        return (directory, try await directory.open())
    }

    @Test func anEditedConfigurationDecidesTheNextRequest() async throws {
        let (directory, node) = try await Self.directory(PolicyChangeTests.config)
        _ = try await node.store.add([PolicyChangeTests.definition(PolicyChangeTests.relGroup, releasableTo: ["g"]),
                                      PolicyChangeTests.indicator(1, markings: [TLP.green.v2ID, PolicyChangeTests.relGroup])],
                                     to: PolicyChangeTests.collection, provenance: PolicyChangeTests.owner)
        func visible() async throws -> Int {
            try await node.refreshConfiguration()  // as each request does first
            return try await node.read(node.collection("c")!, query: ObjectQuery(types: ["indicator"], versions: .all), limit: 10,
                                       withBytes: false, for: Principal(org: "peer", user: nil), endpoint: "test").versions.count
        }
        #expect(try await visible() == 0)
        let before = try await node.latestPolicyChange()
        // The operator adds the peer to group g in meridian.toml: no restart.
        let joined = PolicyChangeTests.config.replacingOccurrences(of: #"members = ["own"]"#, with: #"members = ["own", "peer"]"#)
        try joined.write(toFile: directory.configurationPath, atomically: true, encoding: .utf8)
        #expect(try await visible() == 1)
        #expect(node.partnership.groups(of: "peer") == ["g"])
        #expect(try await node.latestPolicyChange() > before, "peers are told to look again")
        // A kind changed too: the peer becomes a partner (no longer a node), seen at once.
        try joined.replacingOccurrences(of: "name = \"Peer node\"\ncountry = \"DEU\"\nkind = \"node\"",
                                        with: "name = \"Peer node\"\ncountry = \"DEU\"\nkind = \"partner\"")
            .write(toFile: directory.configurationPath, atomically: true, encoding: .utf8)
        try await node.refreshConfiguration()
        #expect(node.partnership.kind(of: "peer") == .partner)
        // A file that no longer parses is refused: the configuration in force stays.
        try (joined + "\nnot = [valid").write(toFile: directory.configurationPath, atomically: true, encoding: .utf8)
        #expect(try await visible() == 1)
        #expect(node.partnership.kind(of: "peer") == .partner)
        // The collection rule too: the peer leaves the read list.
        try joined.replacingOccurrences(of: #"read = ["own", "peer", "other"]"#, with: #"read = ["own", "other"]"#)
            .write(toFile: directory.configurationPath, atomically: true, encoding: .utf8)
        try await node.refreshConfiguration()
        #expect(!node.access(Principal(org: "peer", user: nil), to: node.collection("c")!).canRead)
    }

    @Test func indicatorsStoredByAnotherProcessCorrelateInTheServer() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-fresh-\(UUID().uuidString).sqlite").path
        let configuration = try NodeConfiguration.parse(CorrelationTests.config())
        let serving = try await MeridianNode(configuration: configuration, store: SQLiteObjectStore(path: path))
        try await serving.correlator?.prepare()  // the server's index is built at start
        // `meridian import` in another process stores an indicator.
        let importing = try await MeridianNode(configuration: configuration, store: SQLiteObjectStore(path: path))
        let indicator = CorrelationTests.indicator(1, "[ipv4-addr:value = '198.51.100.7']")
        _ = try await importing.write([PolicyChangeTests.incoming(indicator)], to: "c0000000-0000-4000-8000-000000000001", by: nil,
                                      provenance: Provenance(submittedBy: "a", receivedFrom: nil))
        await importing.correlator?.idle()
        // An observation posted to the server matches it.
        try await CorrelationTests().post(serving, CorrelationTests.observation(1, ip: "198.51.100.7"), to: "observations", by: "c")
        #expect(try await CorrelationTests().sightings(serving, as: "a").count == 1)
    }
}
