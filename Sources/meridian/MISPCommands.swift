import ArgumentParser
import Foundation
import MeridianServer
import MISPFeed
import Policy

/// `meridian misp`: MISP's formats in and out.
struct MISPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "misp", abstract: "Read MISP events and feeds (docs/MISP.md).",
        subcommands: [Convert.self, ImportMISP.self, ExportMISP.self])

    struct Convert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert MISP JSON (events, lists, REST responses, feed directories) to a STIX 2.1 bundle on standard output.",
            discussion: """
                Follows misp-stix's mapping (docs/MISP.md); converting the same input again gives the same objects.
                Exit status: 0 converted, 2 the input cannot be read or converted (the message names the file, event, \
                attribute and rule).
                """)

        @Argument(help: "MISP JSON files (gzip allowed) or directories (a feed's, read through its manifest.json).")
        var paths: [String]
        @Option(help: "The most MISP JSON imported in one transaction, and read from any one file, in bytes (decompressed).")
        var maxBytes = 64 << 20

        func run() async throws {
            try await failing("misp convert") {
                let (objects, _) = try MISPImport.convert(paths, maxBytes: maxBytes)
                var out = Data(#"{"type":"bundle","id":"bundle--\#(UUID().uuidString.lowercased())","objects":["#.utf8)
                for (i, o) in objects.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    out.append(contentsOf: o)
                }
                out.append(contentsOf: Array("]}\n".utf8))
                FileHandle.standardOutput.write(out)
            }
        }
    }

    struct ImportMISP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import MISP events, lists, REST responses or a MISP feed directory into a collection.",
            discussion: """
                Every event is converted to STIX (docs/MISP.md) before anything is stored; then all of it is stored in \
                one transaction, with the same checks, summary and audit entry as `meridian import`. Files larger in \
                total than --max-bytes (or gzipped) are read twice: once to convert and check every file, then file by \
                file, each stored in a transaction of its own. Importing the same events again stores nothing new (the \
                ids are the MISP uuids).
                Exit status: 0 imported, 1 some converted objects were rejected, 2 error (nothing was imported).
                """)

        @OptionGroup var data: DataOption
        @Argument(help: "MISP JSON files (gzip allowed) or directories (a feed's, read through its manifest.json).")
        var paths: [String]
        @Option(help: "The collection's id or alias.") var collection: String
        @Option(help: "The most MISP JSON imported in one transaction, and read from any one file, in bytes (decompressed).")
        var maxBytes = 64 << 20
        @Flag(help: "Leave out of a sharing group the organisations that are no org of the partnership, instead of refusing the event.")
        var stricter = false

        func run() async throws {
            try await failing("misp import") {
                let node = try await data.directory.open()
                guard node.collection(collection) != nil else {
                    throw ValidationError("no collection with id or alias '\(collection)' in the configuration")
                }
                let options = try await MISPImport.options(for: node, stricter: stricter)
                let label = paths.joined(separator: " ")
                let bar = ProgressReport("misp import \(label)")
                let importer = Importer(node: node)
                // The files the paths stand for, a feed's read from its manifest once.
                let files = try paths.flatMap { try MISPImport.files($0) }
                if MISPImport.size(of: files) <= maxBytes, !files.contains(where: { $0.hasSuffix(".gz") }) {
                    // Small enough for one transaction: converted whole, then stored at once.
                    let (objects, events) = try MISPImport.convert(files, maxBytes: maxBytes, options: options)
                    try await MISPImport.registerMarkings(objects, on: node, by: nil)
                    let summary = try await importer.run(objects: objects, source: label, collection: collection) {
                        bar.update(objects: $0.objects, done: $0.done, total: $0.total)
                    }
                    bar.finish()
                    await node.correlator?.idle()
                    try report(summary, "\(label): \(events) events, \(objects.count) STIX objects: ")
                    return
                }
                // Larger: every file converted once to check it, then each converted again and stored on its own.
                var total = Importer.Summary(), made = 0
                let events = try await MISPImport.streamed(files, maxBytes: maxBytes, options: options, on: node, by: nil) { file, objects, position, count in
                    let summary = try await importer.run(objects: objects, source: file, collection: collection) { _ in }
                    total.stored += summary.stored
                    total.duplicates += summary.duplicates
                    total.rejected += summary.rejected
                    made += objects.count
                    bar.update(objects: made, done: position + 1, total: count)
                }
                bar.finish()
                await node.correlator?.idle()
                try report(total, "\(label): \(events) events, \(made) STIX objects: ")
            }
        }
    }

    struct ExportMISP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write a collection as a MISP feed (manifest.json, hashes.csv, one file per event) into a directory.",
            discussion: """
                The feed holds what --org may read, as `serve` serves it at /misp/feeds/{api_root}/{collection}/ to \
                that org's users (docs/MISP.md). Exit status: 0 written, 2 error.
                """)

        @OptionGroup var data: DataOption
        @Option(help: "The collection's id or alias.") var collection: String
        @Option(help: "Export what this org may read. The sharing policy applies.") var org: String
        @Option(help: "The directory to write the feed into (created if needed).") var out: String

        func run() async throws {
            try await failing("misp export") {
                let node = try await data.directory.open()
                guard let c = node.collection(collection) else {
                    throw ValidationError("no collection with id or alias '\(collection)' in the configuration")
                }
                guard node.configuration.orgs.contains(where: { $0.id == org }) else {
                    throw ValidationError("--org: '\(org)' is not an org of the configuration")
                }
                let principal = Principal(org: org, user: nil)
                guard node.access(principal, to: c).canRead else { throw ValidationError("org '\(org)' cannot read collection '\(collection)'") }
                let feed = try await MISPFeed.build(node: node, collection: c, for: principal, endpoint: "misp export")
                try feed.write(to: out)
                try await node.audit.flush()
                Terminal.print("\(out): \(feed.order.count) events")
            }
        }
    }
}
