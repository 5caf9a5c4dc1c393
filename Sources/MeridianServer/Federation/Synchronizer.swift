import Federation
import Foundation
import Logging
import Metrics
import NIOCore
import Policy
import STIX
import Storage
import TAXII

/// Federation with peers: pulls their collections into local ones and pushes local collections to them, with
/// cursors persisted in the database so a sync resumes where it stopped, after a crash at any point, with nothing
/// duplicated (versions are stored by id and version) and nothing missed (a resumed pull re-reads the last instant).
///
/// What a peer receives is what the sharing policy lets its org read (pushes read through the node's read gate as
/// that org); what it sends is validated object by object and stored as received from it.
public actor Synchronizer {
    let node: MeridianNode
    let dataDirectory: String
    let logger = Logger(label: "meridian.federation")
    private var clients: [String: TAXIIClient] = [:]
    private var failures: [String: Int] = [:]

    /// Told the peer's name and the objects received from it so far in this round, after each page.
    let progress: (@Sendable (String, Int) -> Void)?

    public init(node: MeridianNode, dataDirectory: String, progress: (@Sendable (String, Int) -> Void)? = nil) {
        self.node = node
        self.dataDirectory = dataDirectory
        self.progress = progress
    }

    /// What one synchronisation with a peer did.
    public struct Report: Sendable, CustomStringConvertible {
        public let peer: String
        public var stored = 0
        public var duplicates = 0
        public var rejected = 0
        public var pushed = 0
        /// Versions deleted because the peer deleted them (pull), or deleted at the peer (push).
        public var deleted = 0
        /// Pushed deletions of versions the peer did not hold (never received, or already deleted there).
        public var absent = 0
        /// The peer's signed audit checkpoints newly kept, and why they could not be, if so (this does not fail a sync).
        public var checkpoints = 0
        public var checkpointProblem: String? = nil
        public var errors: [String] = []

        public var description: String {
            "\(peer): \(stored) stored, \(duplicates) already present, \(rejected) rejected, \(pushed) pushed, \(deleted) deleted"
                + (absent > 0 ? " (\(absent) deletion(s) of versions the peer did not hold)" : "")
                + (checkpoints > 0 ? ", \(checkpoints) checkpoint(s) witnessed" : "")
                + (checkpointProblem.map { "; checkpoints refused: " + $0 } ?? "")
                + (errors.isEmpty ? "" : "; errors: " + errors.joined(separator: "; "))
        }
    }

    var peers: [NodeConfiguration.Peer] { node.configuration.peers ?? [] }

    /// Synchronises with every peer (or the one named) once.
    public func syncOnce(peer name: String? = nil) async -> [Report] {
        var reports: [Report] = []
        for peer in peers where name == nil || peer.name == name {
            reports.append(await sync(peer))
        }
        return reports
    }

    /// How long the federation lease lasts without renewal: a replica that stops (or dies) leaves it to another
    /// within this time and ``leaseRetry`` (docs/SCALING.md).
    static let leaseSeconds = 30
    /// How often a replica that does not hold the lease asks for it.
    static let leaseRetry: Duration = .seconds(5)
    /// This process, as the holder of a lease.
    static let holder = "\(ProcessInfo.processInfo.hostName)#\(getpid())#\(UUID().uuidString.prefix(8))"
    /// The syncs with a peer ``run()`` started in this process (for tests: a replica without the lease starts none).
    private(set) var rounds = 0

    /// Synchronises with each peer every `interval_seconds`, backing off exponentially (up to 5 minutes) after
    /// failures, until the task is cancelled. Only the process holding the node's `federation` lease does: with
    /// several replicas on one database, one synchronises and the others wait to take over.
    public func run() async {
        let holder = "\(Self.holder)#\(ObjectIdentifier(self).hashValue)"
        var due: [String: ContinuousClock.Instant] = [:]
        func holdLease() async -> Bool {
            (try? await node.store.lease("federation", holder: holder, seconds: Self.leaseSeconds)) == true
        }
        while !Task.isCancelled {
            guard await holdLease() else {
                try? await Task.sleep(for: Self.leaseRetry)
                continue
            }
            let now = ContinuousClock.now
            for peer in peers where (due[peer.name] ?? now) <= now {
                guard !Task.isCancelled, await holdLease() else { break }
                // Renewed while a long sync runs, so the lease does not lapse under it.
                let renewing = Task {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(Self.leaseSeconds / 3))
                        _ = await holdLease()
                    }
                }
                rounds += 1
                let report = await sync(peer)
                renewing.cancel()
                let interval = Double(peer.interval_seconds ?? 60)
                let failed = !report.errors.isEmpty
                failures[peer.name] = failed ? (failures[peer.name] ?? 0) + 1 : 0
                let delay = failed ? min(300, interval * pow(2, Double(min(failures[peer.name]!, 8)))) : interval
                due[peer.name] = ContinuousClock.now + .milliseconds(Int(delay * 1000))
            }
            // Awake at least every third of the lease, to renew it.
            let renewal = ContinuousClock.now + .seconds(Self.leaseSeconds / 3)
            try? await Task.sleep(until: min(due.values.min() ?? renewal, renewal), clock: .continuous)
        }
        // Given up at once for the next replica, from a task not cancelled as this one is.
        let store = node.store
        await Task { try? await store.releaseLease("federation", holder: holder) }.value
    }

    public func shutdown() async {
        for client in clients.values { await client.shutdown() }
        clients = [:]
    }

    func sync(_ peer: NodeConfiguration.Peer) async -> Report {
        var report = Report(peer: peer.name)
        let dimensions = [("peer", peer.name)]
        do {
            try await node.refreshConfiguration()
            let client = try self.client(for: peer)
            for mapping in peer.pull ?? [] {
                do {
                    try await pull(peer, mapping, client, into: &report)
                } catch {
                    report.errors.append("pull \(mapping.remote) → \(mapping.local): \(error)")
                }
            }
            for mapping in peer.push ?? [] {
                do {
                    try await push(peer, mapping, client, into: &report)
                } catch {
                    report.errors.append("push \(mapping.local) → \(mapping.remote): \(error)")
                }
            }
            // Witness the peer's audit log: keep its signed checkpoints (docs/TRANSPARENCY.md).
            do {
                if let document = try await client.transparency("checkpoints/") {
                    report.checkpoints = try await node.storePeerCheckpoints(document, peer: peer.name)
                }
            } catch {
                report.checkpointProblem = "\(error)"
                Counter(label: "meridian_federation_checkpoint_errors_total", dimensions: dimensions).increment()
                logger.warning("the peer's checkpoints are malformed; kept none of them", metadata: ["peer": .string(peer.name),
                                                                                                    "problem": .string("\(error)")])
            }
        } catch {
            report.errors.append("\(error)")
        }
        Counter(label: "meridian_federation_objects_in_total", dimensions: dimensions).increment(by: report.stored)
        Counter(label: "meridian_federation_objects_out_total", dimensions: dimensions).increment(by: report.pushed)
        Counter(label: "meridian_federation_rejected_total", dimensions: dimensions).increment(by: report.rejected)
        if report.errors.isEmpty {
            Gauge(label: "meridian_federation_last_success_seconds", dimensions: dimensions).record(Date().timeIntervalSince1970)
            logger.info("synchronised", metadata: ["peer": .string(peer.name), "stored": .stringConvertible(report.stored),
                                                   "pushed": .stringConvertible(report.pushed), "rejected": .stringConvertible(report.rejected)])
        } else {
            Counter(label: "meridian_federation_errors_total", dimensions: dimensions).increment(by: report.errors.count)
            logger.warning("synchronisation failed", metadata: ["peer": .string(peer.name), "errors": .string(report.errors.joined(separator: "; "))])
        }
        return report
    }

    /// The copies of this node's checkpoints each peer holds (`/transparency/checkpoints/witnessed`), for `audit
    /// verify`; a peer that cannot be asked is reported to `problem` and skipped.
    public func witnessedCheckpoints(problem: (String, String) -> Void) async -> [(holder: String, checkpoint: Checkpoint)] {
        let owner = node.configuration.node.owner
        var held: [(holder: String, checkpoint: Checkpoint)] = []
        for peer in peers {
            do {
                guard let document = try await client(for: peer).transparency("checkpoints/witnessed") else {
                    problem(peer.name, "it publishes no witnessed checkpoints")
                    continue
                }
                for member in document["witnessed"]?.objectValue ?? JSONObject() {
                    for item in member.value.arrayValue ?? [] {
                        if let c = Checkpoint(json: item), c.node == owner { held.append(("peer '\(peer.name)'", c)) }
                    }
                }
            } catch {
                problem(peer.name, "\(error)")
            }
        }
        return held
    }

    func client(for peer: NodeConfiguration.Peer) throws -> TAXIIClient {
        if let c = clients[peer.name] { return c }
        func path(_ p: String) -> String { p.hasPrefix("/") ? p : (dataDirectory as NSString).appendingPathComponent(p) }
        func secret(_ file: String) throws -> String {
            guard let text = try? String(contentsOfFile: path(file), encoding: .utf8) else {
                throw FederationError(.transport, "peer '\(peer.name)': cannot read \(path(file))")
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let credentials: PeerCredentials
        if let token = peer.token_file {
            credentials = .bearer(try secret(token))
        } else if let user = peer.username, let file = peer.password_file {
            credentials = .basic(user: user, password: try secret(file))
        } else {
            credentials = .none
        }
        let client = try TAXIIClient(apiRoot: peer.api_root, credentials: credentials, caFile: peer.ca_file.map(path),
                                     pinnedCertificate: peer.pinned_certificate.map(path), maxBody: peer.max_page_bytes ?? 256 << 20,
                                     timeout: .seconds(Int64(peer.timeout_seconds ?? 60)))
        clients[peer.name] = client
        return client
    }

    // MARK: - Pull

    func pull(_ peer: NodeConfiguration.Peer, _ mapping: NodeConfiguration.Peer.Pull, _ client: TAXIIClient,
              into report: inout Report) async throws {
        guard let local = node.collection(mapping.local) else { return }
        let key = "federation.pull.\(peer.name).\(mapping.remote)"
        // Resume one microsecond before the newest date_added stored, so versions added at that same instant (which
        // some servers give a whole request) are read again rather than missed; storing them again changes nothing.
        var addedAfter = try await node.store.state(key).flatMap(TAXIITimestamp.parse).map { TAXIITimestamp.format($0 - 1) }
        var next: String? = nil
        // Where to follow the peer's policy changes from, taken before the first pull reads anything (docs/FEDERATION.md).
        let visibilityKey = "federation.visibility.\(peer.name).\(mapping.remote)"
        if try await node.store.state(visibilityKey) == nil, let start = try await client.visibility(collection: mapping.remote, after: "latest") {
            guard let answer = try? JSONParser().parse(start.body), answer.objectValue != nil else {
                throw FederationError(.malformed, "the peer's visibility answer is not a JSON object")
            }
            // A server that answers this path without the extension's cursor is not followed.
            if let through = answer["through"]?.stringValue { try await node.store.setState(visibilityKey, through) }
        }
        var pages = 0
        let limit = peer.page_size ?? 1000
        // The next page is requested as soon as its cursor is known, so the peer prepares it while this one is
        // validated and stored.
        var prefetched: Task<TAXIIClient.Response, any Error>? = nil
        defer { prefetched?.cancel() }
        var storing: Task<(stored: Int, duplicates: Int, rejected: Int), any Error>? = nil
        do {
        while true {
            let response: TAXIIClient.Response
            if let p = prefetched {
                response = try await p.value
                prefetched = nil
            } else {
                response = try await client.objects(collection: mapping.remote, addedAfter: addedAfter, next: next, limit: limit)
            }
            let (envelope, accepted) = try validated(response.body, from: peer, into: &report)
            if envelope["more"]?.boolValue == true, let n = envelope["next"]?.stringValue {
                let after = addedAfter
                prefetched = Task { try await client.objects(collection: mapping.remote, addedAfter: after, next: n, limit: limit) }
            }
            // The page is stored (and then its cursor saved) while the next one is validated; pages are stored in
            // order, each after the one before it has committed.
            try await finish(storing, into: &report)
            let last = response.header("X-TAXII-Date-Added-Last")
            let node = self.node
            let collection = local.id.lowercased()
            let batch = accepted
            storing = Task {
                let counts = try await self.store(batch, from: peer, in: collection)
                if let last, TAXIITimestamp.parse(last) != nil { try await node.store.setState(key, last) }
                return counts
            }
            pages += 1
            guard envelope["more"]?.boolValue == true else { break }
            if let n = envelope["next"]?.stringValue {
                next = n
            } else if let last, let t = TAXIITimestamp.parse(last) {
                let resumed = TAXIITimestamp.format(t - 1)
                // A full page of one instant without `next` cannot be paged past.
                guard resumed != addedAfter else { throw FederationError(.malformed, "the peer cannot page past objects added at \(last)") }
                addedAfter = resumed
                next = nil
            } else {
                throw FederationError(.malformed, "the page says more but gives neither next nor X-TAXII-Date-Added-Last")
            }
            if pages > 100_000 { throw FederationError(.malformed, "too many pages") }
        }
        } catch {
            // What was validated before the failure is still stored, in order, with its cursor.
            try? await finish(storing, into: &report)
            throw error
        }
        try await finish(storing, into: &report)
        try await pullDeletions(peer, mapping, client, local: local, into: &report)
        try await pullVisibility(peer, mapping, client, local: local, key: visibilityKey, into: &report)
    }

    /// The objects of a page from the peer, each parsed and validated on its own (on every core); the rejected ones
    /// are counted and logged. Throws when the page itself is not a TAXII envelope.
    func validated(_ body: [UInt8], from peer: NodeConfiguration.Peer, into report: inout Report) throws -> (JSONObject, [IncomingObject]) {
        let parser = JSONParser()
        let document: JSONDocument
        do {
            document = try parser.skimDocument(body)
        } catch {
            throw FederationError(.malformed, "the page is not valid JSON")
        }
        guard case .object(let envelope) = document.root else { throw FederationError(.malformed, "the page is not a TAXII envelope") }
        if let objects = envelope["objects"], objects.arrayValue == nil { throw FederationError(.malformed, "'objects' is not a list") }
        let ranges = document.elementRanges
        let validator = node.validator
        let checked = concurrentMap(count: ranges.count, concurrency: ProcessInfo.processInfo.activeProcessorCount) { i in
            ObjectCheck.check(body, range: ranges[i], index: i, parser: parser, validator: validator)
        }
        if let problem = ObjectCheck.syntaxError(checked) { throw FederationError(.malformed, "the page is not valid JSON: \(problem)") }
        var accepted: [IncomingObject] = []
        for outcome in checked {
            switch outcome {
            case .success(let incoming): accepted.append(incoming)
            case .failure(let rejection):
                report.rejected += 1
                logger.warning("object from peer rejected", metadata: ["peer": .string(peer.name), "id": .string(rejection.id),
                                                                       "reason": .string(rejection.reason)])
            }
        }
        return (envelope, accepted)
    }

    /// Stores what the peer sent as received from it, and records the write.
    func store(_ objects: [IncomingObject], from peer: NodeConfiguration.Peer, in collection: String) async throws
        -> (stored: Int, duplicates: Int, rejected: Int)
    {
        guard !objects.isEmpty else { return (0, 0, 0) }
        // A peer, too, adds at most max_versions_per_object versions of an object; the others are refused and logged.
        let over = try await node.overVersionLimit(objects, in: collection, submittedBy: peer.org)
        for (_, reason) in over { logger.warning("object from peer rejected", metadata: ["peer": .string(peer.name), "reason": .string(reason)]) }
        let objects = over.isEmpty ? objects : objects.indices.filter { over[$0] == nil }.map { objects[$0] }
        guard !objects.isEmpty else { return (0, 0, over.count) }
        let provenance = Provenance(submittedBy: peer.org, receivedFrom: peer.org)
        let outcomes = try await node.write(objects, to: collection, by: Principal(org: peer.org, user: nil), provenance: provenance)
        let duplicates = outcomes.filter { $0 == .duplicate }.count
        return (outcomes.count - duplicates, duplicates, over.count)
    }

    /// Stores the versions that the peer's policy changes made readable by this node after its pull cursor had moved
    /// past them (a marking-definition learned late, a group joined, a marking registered): a Meridian peer lists them
    /// (`visibility/`); other TAXII servers do not, and nothing happens (docs/FEDERATION.md says what that means).
    func pullVisibility(_ peer: NodeConfiguration.Peer, _ mapping: NodeConfiguration.Peer.Pull, _ client: TAXIIClient,
                        local: NodeConfiguration.Collection, key: String, into report: inout Report) async throws {
        guard let after = try await node.store.state(key) else { return }
        var response = try await client.visibility(collection: mapping.remote, after: after)
        var pages = 0
        while let page = response {
            let (envelope, accepted) = try validated(page.body, from: peer, into: &report)
            let (stored, duplicates, rejected) = try await store(accepted, from: peer, in: local.id.lowercased())
            report.stored += stored
            report.duplicates += duplicates
            report.rejected += rejected
            pages += 1
            if envelope["more"]?.boolValue == true, let next = envelope["next"]?.stringValue, pages < 100_000 {
                response = try await client.visibility(collection: mapping.remote, next: next)
                continue
            }
            guard let through = envelope["through"]?.stringValue, Int64(through) != nil else {
                throw FederationError(.malformed, "the peer's visibility page gives no 'through' cursor")
            }
            try await node.store.setState(key, through)
            break
        }
    }

    /// Waits for a page's storing to finish and counts what it stored.
    func finish(_ storing: Task<(stored: Int, duplicates: Int, rejected: Int), any Error>?, into report: inout Report) async throws {
        guard let storing else { return }
        let (stored, duplicates, rejected) = try await storing.value
        report.stored += stored
        report.duplicates += duplicates
        report.rejected += rejected
        progress?(report.peer, report.stored + report.duplicates + report.rejected)
    }

    /// Deletes the local copies, received from this peer, of versions the peer deleted (a Meridian peer lists them;
    /// other TAXII servers do not, and nothing happens). Local deletions leave tombstones in turn, so a deletion
    /// travels down a chain of nodes.
    func pullDeletions(_ peer: NodeConfiguration.Peer, _ mapping: NodeConfiguration.Peer.Pull, _ client: TAXIIClient,
                       local: NodeConfiguration.Collection, into report: inout Report) async throws {
        let key = "federation.deletions.\(peer.name).\(mapping.remote)"
        var after = try await node.store.state(key).flatMap { Int64($0) } ?? 0
        while let page = try await client.deletions(collection: mapping.remote, after: after) {
            for entry in page["deletions"]?.arrayValue ?? [] {
                guard let id = entry["id"]?.stringValue else { continue }
                let version = entry["version"]?.stringValue
                let copies = try await node.store.page(local.id.lowercased(), query: ObjectQuery(ids: [id], versions: .all), limit: 10_000,
                                                       withBytes: false) { $0.provenance.receivedFrom == peer.org && $0.version == version }
                for copy in copies.versions {
                    guard let text = copy.version, let t = TAXIITimestamp.parse(text) else { continue }
                    let collection = local.id.lowercased()
                    let deleted = try await node.store.delete(
                        id: id, from: collection, query: ObjectQuery(versions: .some(timestamps: [t], first: false, last: false)),
                        isDeletable: { _ in true },
                        audit: { _ in
                            AuditTrail.event("delete", by: Principal(org: peer.org, user: nil), [
                                "collection": .string(collection), "id": .string(id), "version": .string(text),
                                "reason": .string("deleted by peer \(peer.name)"),
                            ])
                        })
                    report.deleted += deleted
                }
            }
            guard let next = page["next"]?.stringValue.flatMap({ Int64($0) }), next > after else { break }
            after = next
            try await node.store.setState(key, String(after))
            if page["more"]?.boolValue != true { break }
        }
    }

    // MARK: - Push

    func push(_ peer: NodeConfiguration.Peer, _ mapping: NodeConfiguration.Peer.Push, _ client: TAXIIClient,
              into report: inout Report) async throws {
        guard let local = node.collection(mapping.local) else { return }
        let key = "federation.push.\(peer.name).\(local.id.lowercased()).\(mapping.remote)"
        var cursor = try await node.store.state(key).flatMap { Int64($0) }
        // The policy changes to look back at start from before the first push reads anything.
        let visibilityKey = "federation.pushvisibility.\(peer.name).\(local.id.lowercased()).\(mapping.remote)"
        if try await node.store.state(visibilityKey) == nil {
            try await node.store.setState(visibilityKey, String(try await node.latestPolicyChange()))
        }
        // The peer receives what its org may read: the read gate decides every version and audits what is sent.
        let reader = Principal(org: peer.org, user: "sync:" + peer.name)
        while true {
            let page = try await read(local, ObjectQuery(addedAfter: cursor, versions: .all), for: reader, mapping)
            guard let last = page.versions.last else { break }
            try await send(page, to: peer, mapping, client, into: &report)
            cursor = last.dateAdded
            try await node.store.setState(key, String(last.dateAdded))
            if !page.more { break }
        }
        try await pushDeletions(peer, mapping, client, local: local, reader: reader, into: &report)
        try await pushVisibility(peer, mapping, client, local: local, reader: reader, key: visibilityKey, into: &report)
    }

    /// A page of the local collection as the peer's org may read it.
    func read(_ local: NodeConfiguration.Collection, _ query: ObjectQuery, for reader: Principal,
              _ mapping: NodeConfiguration.Peer.Push) async throws -> ObjectPage {
        do {
            return try await node.read(local, query: query, limit: 500, withBytes: true, for: reader, endpoint: "federation-push")
        } catch is MeridianNode.ReadRefused {
            throw FederationError(.http, "org '\(reader.org ?? "")' has no read access to collection '\(mapping.local)'")
        }
    }

    /// Posts the versions of a page to the peer (all but those that came from it), waits for the status, and counts.
    func send(_ page: ObjectPage, to peer: NodeConfiguration.Peer, _ mapping: NodeConfiguration.Peer.Push, _ client: TAXIIClient,
              into report: inout Report) async throws {
        // Nothing goes back to the peer it came from.
        let outgoing = page.versions.indices.filter { page.versions[$0].provenance.receivedFrom != peer.org }
        guard !outgoing.isEmpty else { return }
        var envelope = Array(#"{"objects":["#.utf8)
        for (i, index) in outgoing.enumerated() {
            if i > 0 { envelope.append(UInt8(ascii: ",")) }
            envelope += page.bytes(at: index)
        }
        envelope += Array("]}".utf8)
        var status = try await client.add(collection: mapping.remote, envelope: envelope)
        var polls = 0
        while status["status"]?.stringValue != "complete", let id = status["id"]?.stringValue, polls < 120 {
            try await Task.sleep(for: .milliseconds(500))
            status = try await client.status(id)
            polls += 1
        }
        report.pushed += Int(status["success_count"]?.numberValue?.integer ?? 0)
        if let failed = status["failure_count"]?.numberValue?.integer, failed > 0 {
            report.errors.append("the peer refused \(failed) object(s) of collection \(mapping.local)")
        }
    }

    /// Pushes the versions that local policy changes (a marking-definition learned or registered, a configuration
    /// change) made readable by the peer's org after the push cursor had moved past them.
    func pushVisibility(_ peer: NodeConfiguration.Peer, _ mapping: NodeConfiguration.Peer.Push, _ client: TAXIIClient,
                        local: NodeConfiguration.Collection, reader: Principal, key: String, into report: inout Report) async throws {
        guard let after = try await node.store.state(key).flatMap({ Int64($0) }) else { return }
        let through = try await node.latestPolicyChange()
        guard through > after else { return }
        var cursor: MeridianNode.VisibilityCursor? = MeridianNode.VisibilityCursor(after: after, through: through, dateAdded: nil)
        while let current = cursor {
            let (page, next): (ObjectPage, MeridianNode.VisibilityCursor?)
            do {
                (page, next) = try await node.visibleAfterPolicyChanges(local, cursor: current, limit: 500, for: reader,
                                                                        endpoint: "federation-push")
            } catch is MeridianNode.ReadRefused {
                throw FederationError(.http, "org '\(peer.org)' has no read access to collection '\(mapping.local)'")
            }
            try await send(page, to: peer, mapping, client, into: &report)
            cursor = next
        }
        try await node.store.setState(key, String(through))
    }

    /// Sends TAXII DELETEs to the peer for local versions deleted since the last push that the peer could read. The
    /// peer lets the org that pushed a version delete it (docs/FEDERATION.md), so 404 means it does not hold that
    /// version; any other answer is a failure: reported, and the cursor stays before it so the next sync tries again.
    func pushDeletions(_ peer: NodeConfiguration.Peer, _ mapping: NodeConfiguration.Peer.Push, _ client: TAXIIClient,
                       local: NodeConfiguration.Collection, reader: Principal, into report: inout Report) async throws {
        let key = "federation.pushdeletions.\(peer.name).\(local.id.lowercased()).\(mapping.remote)"
        var after = try await node.store.state(key).flatMap { Int64($0) } ?? 0
        // A 404 means the peer does not hold the version only while the collection still exists for us with write
        // access (TAXII answers 404 for everything under a collection the caller can neither read nor write).
        var writable: Bool? = nil
        while true {
            let (tombstones, next, more) = try await node.deletions(local, after: after, limit: 500, for: reader)
            for t in tombstones where t.provenance.receivedFrom != peer.org {
                let status = try await client.delete(collection: mapping.remote, id: t.id, version: t.version)
                if status == 404 && writable == nil {
                    writable = try await client.collection(mapping.remote)?["can_write"]?.boolValue == true
                }
                switch status {
                case 200: report.deleted += 1
                case 404 where writable == true: report.absent += 1
                default:
                    if t.seq - 1 > after { try await node.store.setState(key, String(t.seq - 1)) }
                    throw FederationError(.http, "DELETE of \(t.id) (version \(t.version ?? "none")) at the peer answered HTTP \(status)"
                        + (status == 403 || status == 404
                            ? "; the peer must give this node's account there (\(peer.username.map { "user '\($0)'" } ?? "its token")) "
                                + "write access to collection \(mapping.remote)" : ""))
                }
            }
            guard next > after else { break }
            after = next
            try await node.store.setState(key, String(after))
            if !more { break }
        }
    }
}
