import ArgumentParser
import Foundation
import MeridianServer
import NIOCore
import Policy
import STIX
import Storage
import TAXII

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a collection's objects to standard output as a STIX bundle.")

    @OptionGroup var data: DataOption
    @Option(help: "The collection's id or alias.") var collection: String
    @Option(name: .customLong("type"), help: "Only these object types (comma-separated).") var types: String?
    @Option(name: .customLong("id"), help: "Only these object ids (comma-separated).") var ids: String?
    @Option(name: .customLong("added-after"), help: "Only versions added after this timestamp.") var addedAfter: String?
    @Option(name: .customLong("match-version"), help: "Which versions, as TAXII's match[version]: first, last (default), all, or timestamps (comma-separated).") var version: String?
    @Option(name: .customLong("org"), help: "Export what this org may read (default: the node owner). The sharing policy applies.")
    var org: String?

    func run() async throws {
        try await failing("export") {
            let node = try await data.directory.open()
            guard let c = node.collection(collection) else {
                throw NodeConfiguration.Problem(description: "no collection with id or alias '\(collection)'")
            }
            let reader = org ?? node.configuration.node.owner
            guard node.configuration.orgs.contains(where: { $0.id == reader }) else {
                throw NodeConfiguration.Problem(description: "--org: '\(reader)' is not an org of the configuration")
            }
            let principal = Principal(org: reader, user: nil)
            guard node.access(principal, to: c).canRead else {
                throw NodeConfiguration.Problem(description: "org '\(reader)' cannot read collection '\(collection)'")
            }
            var parameters: [(String, String)] = []
            if let types { parameters.append(("match[type]", types)) }
            if let ids { parameters.append(("match[id]", ids)) }
            if let addedAfter { parameters.append(("added_after", addedAfter)) }
            if let version { parameters.append(("match[version]", version)) }
            let filter = try Filter(parameters, endpoint: .objects, defaultLimit: 1000, maxLimit: 1000)
            let out = FileHandle.standardOutput
            // STIX forbids an empty `objects` list, so it is opened with the first object.
            out.write(Data(#"{"type":"bundle","id":"bundle--\#(UUID().uuidString.lowercased())""#.utf8))
            var first = true
            try await node.forEachPage(of: c, query: filter.query, pageSize: filter.limit, withBytes: true, for: principal, endpoint: "export") { page in
                if !page.versions.isEmpty {
                    out.write(Data((first ? #","objects":["# : ",").utf8))
                    out.write(Data(page.objects.readableBytesView))
                    first = false
                }
            }
            out.write(Data((first ? "}\n" : "]}\n").utf8))
            try await node.audit.flush()
        }
    }
}
