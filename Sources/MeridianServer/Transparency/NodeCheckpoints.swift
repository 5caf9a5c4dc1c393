import Foundation
import STIX
import Storage
import Transparency

extension MeridianNode {
    var checkpointStore: CheckpointStore { CheckpointStore(store.checkpointRecords()) }

    static func now() -> Int64 { SQLiteObjectStore.now() }

    /// The node's public keys, newest first, as the report and the checkpoints list publish them.
    public func publicKeyEntries() async throws -> [TransparencyReport.PublicKeyEntry] {
        try await checkpointStore.keys().map {
            TransparencyReport.PublicKeyEntry(id: $0.id, key: Data($0.publicKey).base64EncodedString(), created: $0.created, retired: $0.retired)
        }
    }

    /// The key in use (made if the node has none yet).
    @discardableResult
    public func ensureSigningKey() async throws -> NodeKey {
        try await checkpointStore.currentKey(now: Self.now())
    }

    /// Retires the signing key in use and makes a new one; audited.
    public func rotateSigningKey(by principal: Principal?) async throws -> NodeKey {
        let key = try await checkpointStore.rotate(now: Self.now())
        try await audit.record(AuditTrail.event("key.rotate", by: principal, ["key_id": .string(key.id)]))
        return key
    }

    /// Signs a checkpoint of the audit log when it moved since the last one.
    @discardableResult
    public func makeCheckpoint() async throws -> Checkpoint? {
        try await audit.flush()
        return try await checkpointStore.checkpoint(auditLog, node: configuration.node.owner, now: Self.now())
    }

    /// `/transparency/checkpoints/`: the node, its public keys and its checkpoints, newest first.
    public func checkpointsDocument(limit: Int = 1000) async throws -> JSONValue {
        let keys = try await checkpointStore.keys()
        let checkpoints = try await checkpointStore.checkpoints(origin: CheckpointStore.ownOrigin, limit: limit)
        return .object(JSONObject([
            "node": .string(configuration.node.owner),
            "public_keys": .array(keys.map(Self.keyJSON)),
            "checkpoints": .array(checkpoints.map(\.json)),
        ]))
    }

    /// `/transparency/checkpoints/witnessed`: the checkpoints of peer nodes this node holds, by peer name.
    public func witnessedDocument(limit: Int = 1000) async throws -> JSONValue {
        var peers = JSONObject()
        for origin in try await checkpointStore.origins() where origin != CheckpointStore.ownOrigin {
            peers[origin] = .array(try await checkpointStore.checkpoints(origin: origin, limit: limit).map(\.json))
        }
        return .object(JSONObject(["witnessed": .object(peers)]))
    }

    static func keyJSON(_ key: NodeKey) -> JSONValue {
        .object(JSONObject([
            "id": .string(key.id), "algorithm": .string("Ed25519"), "key": .string(Data(key.publicKey).base64EncodedString()),
            "created": .string(key.created), "retired": key.retired.map { .string($0) } ?? .null,
        ]))
    }

    /// A peer's checkpoints document, as fetched: each checkpoint signed by a key the document lists is kept under
    /// the peer's name. Returns how many were new; throws when the document is malformed.
    public func storePeerCheckpoints(_ document: JSONValue, peer: String) async throws -> Int {
        guard let keys = document["public_keys"]?.arrayValue, let list = document["checkpoints"]?.arrayValue else {
            throw NodeConfiguration.Problem(description: "peer '\(peer)': the checkpoints document has no public_keys or checkpoints list")
        }
        var known: [String: [UInt8]] = [:]
        for key in keys {
            if let id = key["id"]?.stringValue, let text = key["key"]?.stringValue, let raw = Data(base64Encoded: text) { known[id] = Array(raw) }
        }
        var new = 0
        for (i, item) in list.enumerated() {
            guard let checkpoint = Checkpoint(json: item), checkpoint.isSigned(by: known) else {
                throw NodeConfiguration.Problem(description: "peer '\(peer)': checkpoint \(i) is malformed or not signed by a key it lists")
            }
            if try await checkpointStore.save(checkpoint, origin: peer) { new += 1 }
        }
        return new
    }

    /// What `audit verify` finds against checkpoints: the node's own, and `held` (copies of this node's checkpoints
    /// that others hold, each with who holds it). Each problem names the checkpoint it is about.
    public func checkCheckpoints(held: [(holder: String, checkpoint: Checkpoint)] = []) async throws -> (checked: Int, problems: [String]) {
        let keys = Dictionary(try await checkpointStore.keys().map { ($0.id, $0.publicKey) }, uniquingKeysWith: { a, _ in a })
        let own = try await checkpointStore.checkpoints(origin: CheckpointStore.ownOrigin, limit: .max).map { ("this node", $0) }
        var problems: [String] = []
        for (holder, c) in own + held {
            let name = "checkpoint \(c.seq) of \(c.at) (held by \(holder))"
            guard c.isSigned(by: keys) else {
                problems.append("\(name) is not signed by any key of this node (key \(c.keyID))")
                continue
            }
            guard let hash = try await auditLog.hash(of: c.seq) else {
                problems.append("\(name): the log has no entry \(c.seq); entries were removed after it was signed")
                continue
            }
            if hash != c.head {
                problems.append("\(name): entry \(c.seq) hashes to \(hash.prefix(16))…, not \(c.head.prefix(16))… as signed; the log was rewritten after this checkpoint")
            }
        }
        return (own.count + held.count, problems)
    }
}
