import ArgumentParser
import DocumentInput
import Foundation
import Hummingbird
import HummingbirdBcrypt
import MeridianServer
import Storage

/// `meridian demo`: a working node with sample partner data, for a first look.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a local node with sample data: ATT&CK Enterprise and DISARM collections, a demo user.",
        discussion: "Creates the data directory on first use, imports data/attack/enterprise-attack-18.1.json.gz and data/disarm/DISARM.json.gz, then serves on 127.0.0.1.")

    @OptionGroup var data: DataOption
    @Option(help: "Port to listen on.") var port = 8080
    @Option(name: .customLong("samples"), help: "Folder holding the sample data.") var samples = "data"

    func run() async throws {
        let directory = data.directory
        let sampleFiles = [("attack/enterprise-attack-18.1.json.gz", "attack-enterprise"), ("disarm/DISARM.json.gz", "disarm")]
        let password = try await failing("demo") { () -> String? in
            guard !directory.exists else { return nil }
            // Checked before anything is created, so a failed first start leaves no half-made data directory behind.
            for (file, _) in sampleFiles where !FileManager.default.fileExists(atPath: (samples as NSString).appendingPathComponent(file)) {
                throw ValidationError("""
                    no sample data at \((samples as NSString).appendingPathComponent(file)): run this from the repository's \
                    root, or pass --samples with the path of its data folder
                    """)
            }
            let configuration = try directory.initialize(owner: "cert-example", title: "Meridian demo node")
            let node = try await directory.open()
            let password = "demo-" + UUID().uuidString.prefix(13).lowercased()
            try await node.accounts.saveUser(name: "analyst", org: configuration.node.owner, passwordHash: Bcrypt.hash(password, cost: 10))
            for (file, collection) in sampleFiles {
                let path = (samples as NSString).appendingPathComponent(file)
                let summary = try await Importer(node: node).run(path, collection: collection)
                Terminal.print("imported \(path) into \(collection): \(summary.stored) stored, \(summary.rejected.count) rejected")
            }
            let credentials = (directory.path as NSString).appendingPathComponent("demo-credentials.txt")
            try "user: analyst\npassword: \(password)\n".write(toFile: credentials, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: credentials)
            return password
        }
        var serve = try Serve.parse(["--data", directory.path, "--host", "127.0.0.1", "--port", String(port)])
        serve.allowPlainHTTP = false
        let (application, url, node) = try await failing("demo") { try await Serve.application(serve) }
        Terminal.print("""

            Meridian demo node: \(url)/taxii2/
              TAXII discovery:   \(url)/taxii2/
              API root:          \(url)/partnership/
              log in with HTTP Basic as user "analyst", password \(password ?? "in \((directory.path as NSString).appendingPathComponent("demo-credentials.txt"))")
              try:  curl -u analyst:PASSWORD -H 'Accept: application/taxii+json;version=2.1' \(url)/partnership/collections/
              or:   python3 -c "from taxii2client.v21 import Server; print([c.title for c in Server('\(url)/taxii2/', user='analyst', password='PASSWORD').api_roots[0].collections])"
            Stop with Ctrl-C.
            """)
        try await application.runService()
        await node.correlator?.idle()
        try await node.audit.flush()
    }
}
