import ArgumentParser
import Foundation
import MeridianServer

/// `meridian misp`: MISP's formats in and out.
struct MISPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "misp", abstract: "Read MISP events and feeds (docs/MISP.md).",
        subcommands: [Convert.self, ImportMISP.self])

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
        @Option(help: "The most MISP JSON read, and the most STIX written, in bytes.")
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
                one transaction, with the same checks, summary and audit entry as `meridian import`. Importing the same \
                events again stores nothing new (the ids are the MISP uuids).
                Exit status: 0 imported, 1 some converted objects were rejected, 2 error (nothing was imported).
                """)

        @OptionGroup var data: DataOption
        @Argument(help: "MISP JSON files (gzip allowed) or directories (a feed's, read through its manifest.json).")
        var paths: [String]
        @Option(help: "The collection's id or alias.") var collection: String
        @Option(help: "The most MISP JSON read, and the most STIX made of it, in bytes.")
        var maxBytes = 64 << 20

        func run() async throws {
            try await failing("misp import") {
                let node = try await data.directory.open()
                guard node.collection(collection) != nil else {
                    throw ValidationError("no collection with id or alias '\(collection)' in the configuration")
                }
                let (objects, events) = try MISPImport.convert(paths, maxBytes: maxBytes)
                let label = paths.joined(separator: " ")
                let bar = ProgressReport("misp import \(label)")
                let summary = try await Importer(node: node).run(objects: objects, source: label, collection: collection) {
                    bar.update(objects: $0.objects, done: $0.done, total: $0.total)
                }
                bar.finish()
                await node.correlator?.idle()
                try report(summary, "\(label): \(events) events, \(objects.count) STIX objects: ")
            }
        }
    }
}
