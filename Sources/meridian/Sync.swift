import ArgumentParser
import Foundation
import MeridianServer
import Synchronization

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Synchronise with the peers in the configuration: pull their collections, push ours.",
        discussion: "Without --once, keeps synchronising every peer's interval_seconds until stopped. Exit status with --once: 0 all peers synchronised, 1 some failed, 2 error.")

    @OptionGroup var data: DataOption
    @Option(help: "Only this peer.") var peer: String?
    @Flag(help: "Synchronise once and exit.") var once = false

    func run() async throws {
        let node = try await failing("sync") { () -> MeridianNode in
            let node = try await data.directory.open()
            let names = (node.configuration.peers ?? []).map(\.name)
            if names.isEmpty { throw NodeConfiguration.Problem(description: "the configuration declares no [[peers]]") }
            if let peer, !names.contains(peer) {
                throw NodeConfiguration.Problem(description: "no peer named '\(peer)' (peers: \(names.joined(separator: ", ")))")
            }
            return node
        }
        // Progress of a round, peer by peer (a TAXII server does not say how many objects remain: no time left).
        let reports = Mutex<[String: ProgressReport]>([:])
        let synchronizer = Synchronizer(node: node, dataDirectory: data.directory.path) { peer, objects in
            reports.withLock { all in
                let report = all[peer] ?? ProgressReport("sync \(peer)")
                all[peer] = report
                report.update(objects: objects)
            }
        }
        if once {
            let results = await synchronizer.syncOnce(peer: peer)
            reports.withLock { for r in $0.values { r.finish() } }
            await node.correlator?.idle()
            try await node.audit.flush()
            await synchronizer.shutdown()
            for r in results { Terminal.print(r.description) }
            if results.contains(where: { !$0.errors.isEmpty }) { throw ExitCode(1) }
            return
        }
        await synchronizer.run()
    }
}
