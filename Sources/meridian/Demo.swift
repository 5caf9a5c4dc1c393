import ArgumentParser
import DocumentInput
import Foundation
import Hummingbird
import MeridianServer
import Policy
import STIX
import Storage

/// `meridian demo`: a working node with a small partnership and sample data, for a first look at the sharing policy
/// and correlation.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a local node with a sample partnership: five orgs and their users, ATT&CK, DISARM, and shared data under every TLP level.",
        discussion: """
            On first use, creates the data directory with a partnership (the owner, a client ministry, two foreign \
            partners in two groups, a peer node), one user per org (passwords printed, and kept in \
            demo-credentials.txt), imports ATT&CK Enterprise and DISARM, registers a releasability marking (REL TO \
            nato-example), and imports data/demo: the owner's objects under TLP:CLEAR, GREEN, AMBER, AMBER+STRICT and \
            RED, and a partner's observation that correlates with the owner's indicator into a sighting. Then serves \
            on 127.0.0.1. The README walks through what each user sees.
            """)

    @OptionGroup var data: DataOption
    @Option(help: "Port to listen on.") var port = 8080
    @Option(name: .customLong("samples"), help: "Folder holding the sample data.") var samples = "data"

    /// The demo's users: one per org, each with its role in the walkthrough.
    static let users: [(name: String, org: String, admin: Bool)] = [
        ("analyst", "cert-example", true), ("ministry", "ministry-example", false), ("north", "cert-north", false),
        ("south", "cert-south", false), ("east-node", "node-east", false),
    ]
    /// REL TO nato-example, which the owner's most sensitive samples carry (data/demo/cert-example.json).
    static let releasabilityID = "marking-definition--d3e0000a-0000-4000-8000-00000000a70e"

    func run() async throws {
        let directory = data.directory
        let credentialsPath = (directory.path as NSString).appendingPathComponent("demo-credentials.txt")
        let sampleFiles = [("attack/enterprise-attack-18.1.json.gz", "attack-enterprise", "cert-example"),
                           ("disarm/DISARM.json.gz", "disarm", "cert-example"),
                           ("demo/cert-example.json", "shared", "cert-example"), ("demo/cert-north.json", "shared", "cert-north")]
        try await failing("demo") {
            guard !directory.exists else { return }
            // Checked before anything is created, so a failed first start leaves no half-made data directory behind.
            for (file, _, _) in sampleFiles where !FileManager.default.fileExists(atPath: (samples as NSString).appendingPathComponent(file)) {
                throw ValidationError("""
                    no sample data at \((samples as NSString).appendingPathComponent(file)): run this from the repository's \
                    root, or pass --samples with the path of its data folder
                    """)
            }
            _ = try directory.initialize(text: Self.configurationText())
            let node = try await directory.open()
            var credentials = ""
            for user in Self.users {
                let password = "demo-" + UUID().uuidString.prefix(13).lowercased()
                try await node.addUser(name: user.name, org: user.org, password: password, admin: user.admin, by: nil)
                credentials += "\(user.name) \(password)\n"
            }
            let definition = Releasability.markingDefinition(id: Self.releasabilityID, name: "REL TO nato-example (demo)",
                                                             releasableTo: ["nato-example"], createdBy: nil,
                                                             created: "2026-11-20T00:00:00.000Z")
            _ = try await node.registerMarking(Array(definition.serialized().utf8), by: nil)
            for (file, collection, org) in sampleFiles {
                let path = (samples as NSString).appendingPathComponent(file)
                let summary = try await Importer(node: node, submittedBy: org).run(path, collection: collection)
                Terminal.print("imported \(path) into \(collection) as \(org): \(summary.stored) stored, \(summary.rejected.count) rejected")
            }
            await node.correlator?.idle()
            try await node.audit.flush()
            guard FileManager.default.createFile(atPath: credentialsPath, contents: Data(credentials.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw ValidationError("cannot write \(credentialsPath)")
            }
        }
        let passwords = Self.readCredentials(credentialsPath)
        var serve = try Serve.parse(["--data", directory.path, "--host", "127.0.0.1", "--port", String(port)])
        serve.allowPlainHTTP = false
        let dataPath = directory.path
        let serving = try await failing("demo") {
            try await Serve.prepare(serve) { url in Terminal.print(Self.banner(url: url, data: dataPath, passwords: passwords)) }
        }
        try await serving.run()
    }

    static func readCredentials(_ path: String) -> [String: String] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return Dictionary(text.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: " ")
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }, uniquingKeysWith: { a, _ in a })
    }

    static func banner(url: String, data: String, passwords: [String: String]) -> String {
        let analyst = passwords["analyst"] ?? "PASSWORD"
        let users = users.map { user in
            "    \(user.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(passwords[user.name] ?? "(see demo-credentials.txt)")  acts for \(user.org)\(user.admin ? " (admin)" : "")"
        }.joined(separator: "\n")
        return """

            Meridian demo node: \(url)/
              web pages:         \(url)/ui/  (sign in as analyst, password \(analyst), or as any user below)
              TAXII discovery:   \(url)/taxii2/
              API root:          \(url)/partnership/
              users (web sign-in or HTTP Basic), one per org; passwords also in \(data)/demo-credentials.txt:
            \(users)
              try:  curl -u analyst:\(analyst) -H 'Accept: application/taxii+json;version=2.1' \(url)/partnership/collections/
                    curl -u north:\(passwords["north"] ?? "PASSWORD") -H 'Accept: application/taxii+json;version=2.1' '\(url)/partnership/collections/shared/objects/?match[type]=indicator'
              why:  meridian policy explain --data \(data) --object indicator--d3e00000-0000-4000-8000-000000000006 --org cert-south
              or:   python3 -c "from taxii2client.v21 import Server; print([c.title for c in Server('\(url)/taxii2/', user='analyst', password='\(analyst)').api_roots[0].collections])"
            Stop with Ctrl-C.
            """
    }

    /// The demo partnership: every kind of org, two groups, the collections of `meridian init`.
    static func configurationText() -> String {
        """
        # The configuration `meridian demo` writes: a fictitious partnership (every name here is an example).
        # Every key is documented in docs/CONFIG.md.

        [node]
        title = "Meridian demo node"
        description = "A demo of a national CERT's node and its partnership (fictitious orgs)"
        contact = "cert@example.org"
        owner = "cert-example"

        [server]
        host = "127.0.0.1"
        port = 8080

        [[orgs]]
        id = "cert-example"
        name = "Example national CERT (the owner)"
        country = "FRA"
        kind = "owner"

        [[orgs]]
        id = "ministry-example"
        name = "Example ministry, a client the owner serves"
        country = "FRA"
        kind = "client"

        [[orgs]]
        id = "cert-north"
        name = "Example northern partner CERT"
        country = "NOR"
        kind = "partner"

        [[orgs]]
        id = "cert-south"
        name = "Example southern partner CERT"
        country = "AUS"
        kind = "partner"

        [[orgs]]
        id = "node-east"
        name = "Example eastern partner's node"
        country = "JPN"
        kind = "node"

        [[groups]]
        name = "partnership"
        members = ["cert-example", "ministry-example", "cert-north", "cert-south", "node-east"]

        [[groups]]
        name = "nato-example"
        members = ["cert-example", "cert-north"]

        [[groups]]
        name = "indo-pacific-example"
        members = ["cert-example", "cert-south", "node-east"]

        [[api_roots]]
        path = "partnership"
        title = "Partnership exchange"
        description = "Threat intelligence shared among the partnership"

        [[collections]]
        id = "\(UUID().uuidString.lowercased())"
        api_root = "partnership"
        alias = "attack-enterprise"
        title = "MITRE ATT&CK Enterprise"
        read = ["partnership"]
        write = ["cert-example"]
        default_tlp = "clear"

        [[collections]]
        id = "\(UUID().uuidString.lowercased())"
        api_root = "partnership"
        alias = "disarm"
        title = "DISARM disinformation framework"
        read = ["partnership"]
        write = ["cert-example"]
        default_tlp = "clear"

        [[collections]]
        id = "\(UUID().uuidString.lowercased())"
        api_root = "partnership"
        alias = "shared"
        title = "Partner submissions"
        description = "Read-write for every org of the partnership; each object's TLP and releasability decide who sees it"
        read = ["partnership"]
        write = ["partnership"]

        [[collections]]
        id = "\(UUID().uuidString.lowercased())"
        api_root = "partnership"
        alias = "sightings"
        title = "Sightings"
        description = "Matches of indicators against observations, made by the node"
        read = ["partnership"]
        write = ["cert-example"]

        [correlation]
        sightings_collection = "sightings"
        retro_window_days = 3650

        # The public report at /transparency/. A real node keeps the 30 days' delay; the demo counts at once so
        # that there is something to see.
        [transparency]
        delay_days = 0

        """
    }
}
