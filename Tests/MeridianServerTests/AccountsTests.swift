import Foundation
import HummingbirdBcrypt
@testable import MeridianServer
import STIX
import Storage
import Testing

/// Account management (issue 16, item 1): users listed, removed, disabled and enabled; tokens listed, revoked and
/// expiring; each change in the audit log; failed sign-ins counted there. The serving process sees every change
/// made by another one (`meridian user …` while `serve` runs) before its next request.
@Suite struct AccountsTests {
    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// The audit log's entries with `action`, as JSON objects.
    static func auditEntries(_ node: MeridianNode, _ action: String) async throws -> [JSONObject] {
        var text: [UInt8] = []
        try await node.auditLog.export { text += $0 }
        return try text.split(separator: UInt8(ascii: "\n")).compactMap { line in
            let entry = try JSONParser().parse(Array(line)).objectValue
            return entry?["action"]?.stringValue == action ? entry : nil
        }
    }

    @Test func usersAreAddedListedDisabledEnabledAndRemovedAndEachChangeIsAudited() async throws {
        let (serving, admin) = try await PolicyChangeTests.twoProcesses()
        try await admin.addUser(name: "alice", org: "peer", password: "alice password 1", admin: false, by: nil)
        let header = Self.basic("alice", "alice password 1")
        #expect(try await serving.authenticator.principal(authorization: header).org == "peer")
        let token = try await admin.issueToken(for: "alice", lifetime: nil, by: nil)

        try await admin.setUserDisabled("alice", true, by: nil)
        #expect(try await admin.accounts.users().map(\.isDisabled) == [true])
        // Remembered credentials and the user's tokens stop working at once, in the serving process.
        await #expect(throws: Authenticator.Refused.self) { try await serving.authenticator.principal(authorization: header) }
        await #expect(throws: Authenticator.Refused.self) { try await serving.authenticator.principal(authorization: "Bearer " + token) }
        try await admin.setUserDisabled("alice", false, by: nil)
        #expect(try await serving.authenticator.principal(authorization: "Bearer " + token).user == "alice")

        try await admin.removeUser("alice", by: nil)
        #expect(try await admin.accounts.users().isEmpty)
        #expect(try await admin.accounts.tokens().isEmpty)
        await #expect(throws: Authenticator.Refused.self) { try await serving.authenticator.principal(authorization: header) }
        await #expect(throws: Authenticator.Refused.self) { try await serving.authenticator.principal(authorization: "Bearer " + token) }

        for action in ["user.add", "token.create", "user.disable", "user.enable", "user.remove"] {
            #expect(try await Self.auditEntries(admin, action).count == 1, "\(action)")
        }
        // Unknown users are named in the refusal.
        await #expect(throws: MeridianNode.AccountProblem.self) { try await admin.removeUser("alice", by: nil) }
        do {
            try await admin.setUserDisabled("nobody", true, by: nil)
        } catch let problem as MeridianNode.AccountProblem {
            #expect(problem.kind == .notFound)
            #expect(problem.description.contains("'nobody'"))
        }
    }

    @Test func anExistingUserIsMovedToAnotherOrgOnlyWhenAsked() async throws {
        let (node, _) = try await PolicyChangeTests.twoProcesses()
        try await node.addUser(name: "bob", org: "peer", password: "bob password 123", admin: false, by: nil)
        do {
            try await node.addUser(name: "bob", org: "other", password: "bob password 123", admin: false, by: nil)
            Issue.record("moved without --move")
        } catch let problem as MeridianNode.AccountProblem {
            #expect(problem.kind == .conflict)
            #expect(problem.description.contains("'peer'") && problem.description.contains("--move"))
        }
        #expect(try await node.accounts.user("bob")?.org == "peer")
        // The same org: a password change, no --move needed.
        try await node.addUser(name: "bob", org: "peer", password: "bob new password", admin: false, by: nil)
        try await node.addUser(name: "bob", org: "other", password: "bob new password", admin: false, move: true, by: nil)
        #expect(try await node.accounts.user("bob")?.org == "other")
        let changes = try await Self.auditEntries(node, "user.change")
        #expect(changes.last?["detail"]?["moved_from"]?.stringValue == "peer")
        // Bad input names what is wrong.
        for (name, org, password, admin, expected) in [
            ("carol", "nowhere", "carol password 1", false, "org 'nowhere'"),
            ("a b", "peer", "carol password 1", false, "user name 'a b'"),
            ("carol", "peer", "short", false, "12 characters"),
            ("carol", "peer", "carol password 1", true, "only users of the node owner"),
        ] {
            do {
                try await node.addUser(name: name, org: org, password: password, admin: admin, by: nil)
                Issue.record("accepted \(name) \(org)")
            } catch let problem as MeridianNode.AccountProblem {
                #expect(problem.description.contains(expected), "\(problem)")
            }
        }
    }

    @Test func tokensAreRevokedByIdOrUniquePrefixAndExpire() async throws {
        let (serving, admin) = try await PolicyChangeTests.twoProcesses()
        try await admin.addUser(name: "bot", org: "peer", password: "bot password 123", admin: false, by: nil)
        var tokens: [String] = []
        for _ in 0..<3 { tokens.append(try await admin.issueToken(for: "bot", lifetime: nil, by: nil)) }
        for token in tokens { #expect(try await serving.authenticator.principal(authorization: "Bearer " + token).user == "bot") }
        let ids = tokens.map { APIToken($0)!.id }
        #expect(Set(try await admin.accounts.tokens(of: "bot").map(\.id)) == Set(ids))

        // By a prefix of 6 characters: revoked at once in the serving process, the others still work.
        #expect(try await admin.revokeToken(String(ids[0].prefix(6)), by: nil).id == ids[0])
        await #expect(throws: Authenticator.Refused.self) { try await serving.authenticator.principal(authorization: "Bearer " + tokens[0]) }
        #expect(try await serving.authenticator.principal(authorization: "Bearer " + tokens[1]).user == "bot")
        // By the whole token text.
        #expect(try await admin.revokeToken(tokens[1], by: nil).id == ids[1])
        #expect(try await Self.auditEntries(admin, "token.revoke").count == 2)
        // Refusals name the problem: too short, unknown, not hex.
        for (text, expected) in [("ab", "at least its first 4"), ("0000000000000000", "no token has an id starting with"),
                                 ("zzzzzz", "16 hex digits")] {
            do {
                _ = try await admin.revokeToken(text, by: nil)
                if !ids[2].hasPrefix(text) { Issue.record("revoked \(text)") }
            } catch let problem as MeridianNode.AccountProblem {
                #expect(problem.description.contains(expected), "\(problem)")
            }
        }

        // A token that expires: accepted, remembered, then refused once its time is up, remembered or not.
        let brief = try await admin.issueToken(for: "bot", lifetime: 1.5, by: nil)
        #expect(try await admin.accounts.token(APIToken(brief)!.id)?.expiresAt != nil)
        #expect(try await serving.authenticator.principal(authorization: "Bearer " + brief).user == "bot")
        try await Task.sleep(for: .milliseconds(1700))
        await #expect(throws: Authenticator.Refused.self) { try await serving.authenticator.principal(authorization: "Bearer " + brief) }
        #expect(MeridianNode.duration("90d") == TimeInterval(90 * 86_400))
        #expect(MeridianNode.duration("12h") == TimeInterval(12 * 3_600))
        #expect(MeridianNode.duration("90") == nil)
        #expect(MeridianNode.duration("-5d") == nil)
        #expect(MeridianNode.duration("5w") == nil)
    }

    @Test func twoTokensSharingAPrefixAreNotRevokedByIt() async throws {
        let (node, _) = try await PolicyChangeTests.twoProcesses()
        try await node.addUser(name: "bot", org: "peer", password: "bot password 123", admin: false, by: nil)
        try await node.accounts.saveToken(id: "abcd000000000001", user: "bot", secretHash: [1])
        try await node.accounts.saveToken(id: "abcd000000000002", user: "bot", secretHash: [2])
        do {
            _ = try await node.revokeToken("abcd", by: nil)
            Issue.record("an ambiguous prefix revoked a token")
        } catch let problem as MeridianNode.AccountProblem {
            #expect(problem.kind == .conflict)
            #expect(problem.description.contains("abcd000000000001") && problem.description.contains("abcd000000000002"))
        }
        #expect(try await node.accounts.tokens().count == 2)
    }

    @Test func failedSignInsAreCountedInTheAuditLogByNameAndAddress() async throws {
        let (node, _) = try await PolicyChangeTests.twoProcesses()
        try await node.addUser(name: "alice", org: "peer", password: "alice password 1", admin: false, by: nil)
        for _ in 0..<3 {
            await #expect(throws: Authenticator.Refused.self) {
                try await node.authenticator.principal(authorization: Self.basic("alice", "wrong password"), from: "192.0.2.7")
            }
        }
        await #expect(throws: Authenticator.Refused.self) {
            try await node.authenticator.principal(authorization: Self.basic("mallory", "any password"), from: "198.51.100.9")
        }
        await #expect(throws: Authenticator.Refused.self) {
            try await node.authenticator.principal(authorization: "Bearer mrd_0123456789abcdef_" + String(repeating: "x", count: 40),
                                                   from: "198.51.100.9")
        }
        try await node.authenticator.flushFailures()
        let entries = try await Self.auditEntries(node, "auth.failed")
        let counts = Dictionary(uniqueKeysWithValues: entries.map {
            ("\($0["detail"]?["attempted"]?.stringValue ?? "") \($0["detail"]?["address"]?.stringValue ?? "")",
             $0["detail"]?["count"]?.numberValue?.text ?? "")
        })
        #expect(counts == ["alice 192.0.2.7": "3", "mallory 198.51.100.9": "1", "token 0123456789abcdef 198.51.100.9": "1"])
        // Counted once: a second flush writes nothing more.
        try await node.authenticator.flushFailures()
        #expect(try await Self.auditEntries(node, "auth.failed").count == 3)
    }
}
