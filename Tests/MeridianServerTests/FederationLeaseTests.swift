import Foundation
@testable import MeridianServer
import Storage
import TestSupport
import Testing

/// With several replicas of a node on one database, one synchronises with the peers at a time (the `federation`
/// lease), and another takes over when it stops.
@Suite struct FederationLeaseTests {
    /// A node whose one peer listens nowhere: every sync fails (after the client's retries) and is tried again.
    static let config = """
        [node]
        title = "t"
        owner = "a"
        [[orgs]]
        id = "a"
        name = "A"
        [[orgs]]
        id = "node-b"
        name = "B"
        kind = "node"
        [[api_roots]]
        path = "root"
        title = "Root"
        [[collections]]
        id = "11111111-1111-4111-8111-111111111111"
        api_root = "root"
        alias = "shared"
        title = "C"
        read = ["a"]
        write = ["a"]
        [[peers]]
        name = "b"
        org = "node-b"
        api_root = "http://127.0.0.1:9/root/"
        interval_seconds = 1
        [[peers.pull]]
        remote = "22222222-2222-4222-8222-222222222222"
        local = "shared"
        """

    @Test func oneReplicaSynchronisesAtATimeAndAnotherTakesOverWhenItStops() async throws {
        let store = try await TestStores.nodeStore()
        let configuration = try NodeConfiguration.parse(Self.config)
        let directory = FileManager.default.temporaryDirectory.path
        let first = Synchronizer(node: try await MeridianNode(configuration: configuration, store: store), dataDirectory: directory)
        let second = Synchronizer(node: try await MeridianNode(configuration: configuration, store: store), dataDirectory: directory)
        let running = Task { await first.run() }
        try await Task.sleep(for: .milliseconds(300))
        let standingBy = Task { await second.run() }
        try await Task.sleep(for: .seconds(2))
        #expect(await first.rounds >= 1, "the first replica took the lease and synchronises")
        #expect(await second.rounds == 0, "the second waits while the first holds the lease")
        // The first stops (once its sync in progress ends): it gives the lease up, and the second takes over within its
        // retry interval.
        running.cancel()
        await running.value
        let before = ContinuousClock.now
        while await second.rounds == 0 && ContinuousClock.now - before < .seconds(15) {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(await second.rounds >= 1, "the second replica took over")
        standingBy.cancel()
        await standingBy.value
        await first.shutdown()
        await second.shutdown()
    }
}
