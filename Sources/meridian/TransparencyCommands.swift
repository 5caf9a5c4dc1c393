import ArgumentParser
import Federation
import Foundation
import MeridianServer
import STIX
import Storage
import Transparency

struct TransparencyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transparency", abstract: "The public transparency report.",
                                                    subcommands: [Publish.self])

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the transparency report as static files: index.html, report.json and one SVG chart per table.",
            discussion: """
                The files are the same, byte for byte, for the same database and date (docs/TRANSPARENCY.md). The report \
                follows [transparency] in meridian.toml (defaults when absent: every collection, k = 5, 30 days' delay).
                Exit status: 0 written, 1 error, 2 usage.
                """)

        @OptionGroup var data: DataOption
        @Option(help: "The folder to write (created if missing).") var out: String
        @Option(help: "The day the report is made for, YYYY-MM-DD (default today, UTC).") var date: String?

        func validate() throws {
            if let date, TAXIITimestamp.parse(date + "T00:00:00Z") == nil {
                throw ValidationError("--date '\(date)' is not a date (YYYY-MM-DD)")
            }
        }

        func run() async throws {
            try await failing("transparency publish") {
                let node = try await data.directory.open()
                let day = date ?? String(TAXIITimestamp.format(Int64(Date().timeIntervalSince1970 * 1_000_000)).prefix(10))
                let report = try await node.transparencyReport(asOf: day, publicKeys: try await node.publicKeyEntries())
                let files = FileManager.default
                try files.createDirectory(atPath: out, withIntermediateDirectories: true)
                func write(_ name: String, _ text: String) throws {
                    try Data(text.utf8).write(to: URL(fileURLWithPath: (out as NSString).appendingPathComponent(name)))
                }
                try write("index.html", ReportPage.html(report))
                try write("report.json", report.json.serialized() + "\n")
                for table in report.tables { try write("\(table.id).svg", ReportPage.chart(table) + "\n") }
                Terminal.print("wrote the report for \(day) to \(out): index.html, report.json and \(report.tables.count) chart(s); "
                    + "\(report.withheld) count(s) withheld")
            }
        }
    }
}

struct Key: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The node's Ed25519 signing key, which signs audit checkpoints.",
                                                    subcommands: [List.self, Rotate.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the node's keys, newest first (public halves only).")
        @OptionGroup var data: DataOption

        func run() async throws {
            try await failing("key list") {
                let node = try await data.directory.open()
                let keys = try await node.publicKeyEntries()
                Terminal.table(["KEY ID", "PUBLIC KEY (BASE64)", "CREATED", "RETIRED"],
                               keys.map { [$0.id, $0.key, $0.created, $0.retired ?? "in use"] })
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retire the key in use (its private half is erased) and make a new one.",
            discussion: "Old public keys stay listed, so checkpoints signed with them still verify. A running serve signs with the new key from its next checkpoint.")
        @OptionGroup var data: DataOption

        func run() async throws {
            try await failing("key rotate") {
                let node = try await data.directory.open()
                let key = try await node.rotateSigningKey(by: nil)
                try await node.audit.flush()
                Terminal.print("new signing key \(key.id); the previous one is retired and stays listed")
            }
        }
    }
}

/// `meridian audit checkpoint`: sign a checkpoint now.
struct AuditCheckpoint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Sign a checkpoint of the audit log now (serve signs one every hour when the log moved).")
    @OptionGroup var data: DataOption

    func run() async throws {
        try await failing("audit checkpoint") {
            let node = try await data.directory.open()
            if let c = try await node.makeCheckpoint() {
                Terminal.print("checkpoint \(c.seq) signed with key \(c.keyID): head \(c.head)")
            } else {
                Terminal.print("no checkpoint: the audit log has not moved since the last one")
            }
        }
    }
}

/// The checks of `audit verify` against checkpoints: the node's own, copies its peers hold, or (for an outsider) an
/// exported log against a published checkpoint.
enum CheckpointVerification {
    /// Fetches `source` (a URL or a file): a checkpoints document (`/transparency/checkpoints/`) or one checkpoint.
    static func load(_ source: String) async throws -> (checkpoints: [Checkpoint], keys: [String: [UInt8]]) {
        let bytes: [UInt8]
        if source.hasPrefix("https://") || source.hasPrefix("http://") {
            guard let url = URL(string: source) else { throw ValidationError("--checkpoint '\(source)' is not a URL") }
            let client = try TAXIIClient(apiRoot: url.deletingLastPathComponent().absoluteString, credentials: .none)
            do {
                bytes = try await client.fetch(source)
                await client.shutdown()
            } catch {
                await client.shutdown()
                throw error
            }
        } else {
            guard let data = FileManager.default.contents(atPath: source) else { throw ValidationError("--checkpoint: cannot read \(source)") }
            bytes = Array(data)
        }
        guard let value = try? JSONParser().parse(bytes) else {
            throw NodeConfiguration.Problem(description: "\(source): not JSON")
        }
        var keys: [String: [UInt8]] = [:]
        for key in value["public_keys"]?.arrayValue ?? [] {
            if let id = key["id"]?.stringValue, let text = key["key"]?.stringValue, let raw = Data(base64Encoded: text) { keys[id] = Array(raw) }
        }
        let items = value["checkpoints"]?.arrayValue ?? [value]
        var checkpoints: [Checkpoint] = []
        for (i, item) in items.enumerated() {
            guard let c = Checkpoint(json: item) else { throw NodeConfiguration.Problem(description: "\(source): checkpoint \(i) is malformed") }
            checkpoints.append(c)
        }
        return (checkpoints, keys)
    }
}
